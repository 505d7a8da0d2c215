"""The audit log of security-relevant actions (docs/security.md, "Audit log").

`record` is called by the service that does the action, inside its transaction, so the
entry exists exactly when the action happened. The acting request's IP address comes
from `AuditMiddleware` (a context variable), so services need not be handed the request.
"""

from __future__ import annotations

import ipaddress
from contextvars import ContextVar
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from helpdesk.models import AuditEntry

Action = AuditEntry.Action

_current_ip: ContextVar[str | None] = ContextVar("audit_ip", default=None)


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or, behind AUTH_TRUSTED_PROXIES proxies, the
    address the outermost of them saw (X-Forwarded-For read from the right, so a client
    cannot choose its own address by sending the header)."""
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.AUTH_TRUSTED_PROXIES
    if proxies:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


class AuditMiddleware:
    """Makes the request's client address known to `record` for the request's length."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _current_ip.reset(token)


def _user_name(user) -> str:
    return (user.get_username() if user is not None else "")[:150]


def record(
    *,
    action: str,
    actor=None,
    actor_name: str | None = None,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: object = "",
    target_repr: str = "",
    details: dict | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """One audit entry. `target` (a model instance) fills the target's type, id and text;
    otherwise they are given. The IP is the current request's unless given. Call it inside
    the transaction of the action it records."""
    if actor is not None and not actor.is_authenticated:
        actor = None
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or target.pk
        target_repr = target_repr or str(target)
    return AuditEntry.objects.create(
        action=action,
        actor=actor,
        actor_name=(actor_name if actor_name is not None else _user_name(actor))[:150],
        target_type=target_type[:100],
        target_id=str(target_id)[:100],
        target_repr=str(target_repr)[:200],
        details=details or {},
        ip=ip or _current_ip.get(),
    )


PRUNE_SQL = """
DELETE FROM helpdesk_auditentry WHERE id IN (
    SELECT id FROM helpdesk_auditentry WHERE created_at < %(cutoff)s
    ORDER BY created_at LIMIT %(batch)s FOR UPDATE SKIP LOCKED
)
"""


def prune(*, now: datetime | None = None, batch: int = 5000) -> int:
    """Delete the entries older than AUDIT_RETENTION_DAYS (0: keep them all), oldest
    first, a batch per transaction. The only way an entry goes: the model refuses to
    delete one, and admin offers no delete. Returns how many went."""
    if settings.AUDIT_RETENTION_DAYS <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    deleted = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(PRUNE_SQL, {"cutoff": cutoff, "batch": batch})
            count = cursor.rowcount
        deleted += count
        if count < batch:
            return deleted
