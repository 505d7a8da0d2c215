"""Which browser origins may open a websocket."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import validate_host


def origin_of(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"origin":
            return value.decode("latin-1")
    return None


def origin_allowed(origin: str | None, *, required: bool) -> bool:
    """True when `origin` may connect.

    Browsers always send Origin; native apps and mini-programs often do not, so
    a missing Origin is allowed only where `required` is False (the customer
    chat, whose token is the credential). The agent desk rides on a session
    cookie and always requires a matching Origin.
    """
    if origin is None:
        return not required
    if origin in settings.WEBSOCKET_ALLOWED_ORIGINS:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    return validate_host(parts.hostname, settings.ALLOWED_HOSTS)
