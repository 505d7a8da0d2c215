"""The signature of a webhook delivery (contracts/partner-api.md, "Webhooks").

    X-Helpdesk-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

The key is the subscription's secret as given (`whsec_…`, its UTF-8 bytes); the
message is the time, a dot and the body exactly as sent. A receiver recomputes it,
compares in constant time and refuses an old `t` (a replayed request). docs/api.md
shows a receiver doing so.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Helpdesk-Signature"
# How old a signature a receiver should accept, in seconds (`verify`'s default).
TOLERANCE = 300


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of "<timestamp>.<body>" under the secret."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The X-Helpdesk-Signature value for this body, signed now (or at `timestamp`)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={sign(secret, body, t)}"


def verify(
    secret: str, header: str, body: bytes, *, tolerance: int = TOLERANCE, now: float | None = None
) -> bool:
    """Whether a delivery's header signs this body with this secret, made within
    `tolerance` seconds of now. What a receiver does; the helpdesk itself only signs."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _eq, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp)
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))
