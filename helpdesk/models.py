"""API keys for partners (contracts/partner-api.md, "Authentication and scopes")."""

import hashlib
import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.ids import uuid7

SCOPES = [
    ("customers", _("Customers")),
    ("orders", _("Orders")),
    ("conversations", _("Conversations")),
    ("tickets", _("Tickets")),
    ("knowledge", _("Knowledge base")),
    ("bot", _("Bot")),
    ("webhooks", _("Webhooks")),
    ("analytics", _("Analytics")),
]
KEY_PREFIX = "lhk_"


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKey(models.Model):
    """A partner's key: shown once, stored as a SHA-256 hash, scoped, revocable, expiring."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, editable=False, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = ArrayField(models.CharField(max_length=20, choices=SCOPES), verbose_name=_("scopes"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @classmethod
    def issue(
        cls, *, name: str, scopes: list[str], expires_at=None, created_by=None
    ) -> tuple["ApiKey", str]:
        """A new key; the raw value is returned once and never stored."""
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            name=name,
            prefix=raw[: len(KEY_PREFIX) + 6],
            key_hash=hash_key(raw),
            scopes=sorted(set(scopes)),
            expires_at=expires_at,
            created_by=created_by,
        )
        return key, raw


WEBHOOK_EVENTS = [
    "conversation.created",
    "conversation.assigned",
    "conversation.closed",
    "message.created",
    "ticket.created",
    "ticket.updated",
    "ticket.sla_breached",
    "survey.answered",
    "customer.updated",
]


class OutboundEvent(models.Model):
    """An event of the partner contract's webhooks ("Webhooks"), written in the transaction
    of the change it tells of: the outbox that deliveries to subscriptions are made from.
    The id is the delivery id a receiver de-duplicates on."""

    # Time-ordered: the outbox is written in bulk (the breach job) and read in order.
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    event = models.CharField(_("event"), max_length=40, choices=[(e, e) for e in WEBHOOK_EVENTS])
    data = models.JSONField(_("data"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("outbound event")
        verbose_name_plural = _("outbound events")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event} {self.id}"

    def envelope(self) -> dict:
        """The body a webhook delivery POSTs."""
        return {
            "id": str(self.id),
            "event": self.event,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "data": self.data,
        }


class IdempotencyKey(models.Model):
    """A partner's `Idempotency-Key` for one POST (contracts/partner-api.md, "Conventions"):
    which request it was first sent with (a hash) and the response it got, replayed to a
    retry (helpdesk/idempotency.py). One row per (API key, key); kept 24 hours."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    # Written with the response, in the transaction that claimed the key: a committed row
    # always has both.
    response_status = models.PositiveSmallIntegerField(null=True)
    # The JSON text as first sent: a replay has the same body, keys in the same order
    # (a jsonb column would reorder them).
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_once"),
        ]

    def __str__(self) -> str:
        return self.key
