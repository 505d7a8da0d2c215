"""Error pages: JSON in DRF's shape for the API, a page in the visitor's language elsewhere."""

import sys

from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from helpdesk.uploads import PathInFileName

# Seconds a client is told to wait before trying again while the database is away.
DATABASE_RETRY_AFTER = 5


def _respond(request, status: int, code: str, message: str):
    # The API, and the desk's own scripts (fetch), read the reason as JSON.
    if request.path.startswith("/api/") or request.headers.get("X-Requested-With") == "fetch":
        return JsonResponse({"detail": message, "code": code}, status=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def bad_request(request, exception=None):
    # Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE as a suspicious request
    # (400); the contract's answer to a body too large is 413.
    if isinstance(exception, RequestDataTooBig):
        return _respond(request, 413, "too_large", _("The request body is too large."))
    if isinstance(exception, PathInFileName):
        return _respond(request, 400, "bad_file_name", str(exception))
    return _respond(request, 400, "bad_request", _("The request could not be understood."))


def forbidden(request, exception=None):
    return _respond(request, 403, "forbidden", _("You do not have access to this page."))


def not_found(request, exception=None):
    return _respond(request, 404, "not_found", _("This page does not exist."))


def server_error(request):
    # Django calls this while handling the uncaught exception, so it is still at hand.
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return database_unavailable(request)
    return _respond(request, 500, "server_error", _("Something went wrong on our side."))


def database_unavailable(request):
    """The database could not be reached (restarting, failing over, out of connections).
    Nothing of the request was written: a transaction that cannot commit rolls back.
    The pool checks each connection it hands out, so once PostgreSQL is back the next
    request works, without restarting the app (docs/faults.md)."""
    response = _respond(
        request,
        503,
        "database_unavailable",
        _("The service is briefly unavailable. Please try again in a moment."),
    )
    response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response
