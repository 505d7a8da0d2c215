"""Error pages: JSON in DRF's shape for the API, a page in the visitor's language elsewhere."""

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def _respond(request, status: int, code: str, message: str):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "code": code}, status=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def bad_request(request, exception=None):
    # Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE as a suspicious request
    # (400); the contract's answer to a body too large is 413.
    if isinstance(exception, RequestDataTooBig):
        return _respond(request, 413, "too_large", _("The request body is too large."))
    return _respond(request, 400, "bad_request", _("The request could not be understood."))


def forbidden(request, exception=None):
    return _respond(request, 403, "forbidden", _("You do not have access to this page."))


def not_found(request, exception=None):
    return _respond(request, 404, "not_found", _("This page does not exist."))


def server_error(request):
    return _respond(request, 500, "server_error", _("Something went wrong on our side."))
