"""Issuing and revoking partners' API keys, each with its audit entry."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from helpdesk import audit
from helpdesk.models import ApiKey


def issue_api_key(
    *, name: str, scopes: list[str], expires_at: datetime | None = None, by=None
) -> tuple[ApiKey, str]:
    """A new key and its raw value (shown once, never stored), with its audit entry in the
    same transaction."""
    with transaction.atomic():
        key, raw = ApiKey.issue(name=name, scopes=scopes, expires_at=expires_at, created_by=by)
        audit.record(
            action=audit.Action.API_KEY_CREATED,
            actor=by,
            target=key,
            details={
                "scopes": key.scopes,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return key, raw


def revoke_api_keys(*, key_ids: list[int], by=None) -> int:
    """Revokes those of the keys still active (locked, so a key is revoked and audited
    once however many supervisors press the button); returns how many."""
    with transaction.atomic():
        keys = list(
            ApiKey.objects.select_for_update()
            .filter(pk__in=key_ids, revoked_at__isnull=True)
            .order_by("pk")
        )
        now = timezone.now()
        for key in keys:
            key.revoked_at = now
            key.save(update_fields=["revoked_at"])
            audit.record(action=audit.Action.API_KEY_REVOKED, actor=by, target=key)
    return len(keys)
