"""`Idempotency-Key` for the partner API's POSTs (contracts/partner-api.md, "Conventions").

A retry with the same key (per API key) and the same request (method, path, JSON body)
gets the first response, status and body, and changes nothing more; the same key with
another request is 409. A key is forgotten KEY_LIFETIME after its first use.

Race-safe by inserting first: the key's row is inserted in the transaction that does the
work and stores the response. A concurrent request with the same key waits on the unique
index until that transaction ends; then it finds the committed row and replays it, or,
when the first one failed and rolled back, does the work itself. Only successful (2xx)
responses are kept: a refused request can be corrected and sent again with the same key.

Usage, on the post() of a view using PartnerAPIMixin:

    @extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER], ...)
    @idempotent
    def post(self, request): ...
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from helpdesk.models import ApiKey, IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_LIFETIME = timedelta(hours=24)
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Up to 255 visible ASCII characters (a UUID is a good key). A retry with "
    "the same key and body returns the first response (with `Idempotent-Replayed: true`) "
    "and creates nothing more; the same key with another body is 409. Keys are kept 24 h.",
)


class IdempotencyKeyReused(APIException):
    status_code = 409
    default_detail = _("This Idempotency-Key was already used with a different request.")
    default_code = "idempotency_key_reused"


def request_hash(request) -> str:
    """The request a key stands for: method, path and the JSON body, key order aside."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), cls=JSONEncoder)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(method):
    """Make a view's POST honour `Idempotency-Key` (see the module's docstring). Without
    the header the view runs as it would."""

    @functools.wraps(method)
    def post(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return method(view, request, *args, **kwargs)
        if not KEY_PATTERN.fullmatch(key):
            raise ValidationError(
                {"detail": _("Idempotency-Key must be 1 to 255 visible ASCII characters.")}
            )
        assert isinstance(request.auth, ApiKey), "idempotent views need an API key"
        fingerprint = request_hash(request)  # parses the body: a bad one is refused here
        with transaction.atomic():
            record, claimed = _claim(api_key=request.auth, key=key, fingerprint=fingerprint)
            if not claimed:
                return _replay(record, fingerprint)
            response = method(view, request, *args, **kwargs)
            if 200 <= response.status_code < 300:
                record.response_status = response.status_code
                record.response_body = json.dumps(response.data, cls=JSONEncoder)
                record.save(update_fields=["response_status", "response_body"])
            else:
                transaction.set_rollback(True)
            return response

    return post


def _claim(*, api_key: ApiKey, key: str, fingerprint: str) -> tuple[IdempotencyKey, bool]:
    """The key's row, and whether this request inserted it (and so does the work). An
    expired row is deleted first; a concurrent claim blocks on its row lock or on the
    unique index until the other transaction ends."""
    IdempotencyKey.objects.filter(
        api_key=api_key, key=key, created_at__lte=timezone.now() - KEY_LIFETIME
    ).delete()
    return IdempotencyKey.objects.get_or_create(
        api_key=api_key, key=key, defaults={"request_hash": fingerprint}
    )


def _replay(record: IdempotencyKey, fingerprint: str) -> Response:
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused
    response = Response(json.loads(record.response_body), status=record.response_status)
    response[REPLAYED_HEADER] = "true"
    return response


def forget_expired_keys() -> int:
    """Delete the keys past their lifetime; the number deleted."""
    deleted, _by_model = IdempotencyKey.objects.filter(
        created_at__lte=timezone.now() - KEY_LIFETIME
    ).delete()
    return deleted
