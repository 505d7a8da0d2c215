"""API keys for partners (contracts/partner-api.md, "Authentication and scopes")."""

import hashlib
import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
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


# What a supervisor's "send test event" sends: an event of its own kind, which no
# subscription can choose, delivered to the one subscription it was sent for.
TEST_EVENT = "webhook.test"


class NextVal(models.Func):
    """The next value of a PostgreSQL sequence (a column's database default)."""

    function = "nextval"
    output_field = models.BigIntegerField()


OUTBOUND_EVENT_SEQUENCE = "helpdesk_outboundevent_seq"


class OutboundEvent(models.Model):
    """An event of the partner contract's webhooks ("Webhooks"), written in the transaction
    of the change it tells of: the outbox that deliveries to subscriptions are made from.
    The id is the delivery id a receiver de-duplicates on."""

    # Time-ordered: the outbox is written in bulk (the breach job) and read in order.
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    event = models.CharField(
        _("event"), max_length=40, choices=[(e, e) for e in [*WEBHOOK_EVENTS, TEST_EVENT]]
    )
    data = models.JSONField(_("data"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    # The order events were written in, from a sequence PostgreSQL fills in (also for the
    # rows the breach job inserts by SQL). Two events of one ticket are written under its
    # row lock, so the later change always has the larger number: deliveries keep that
    # order per subscription (helpdesk/webhooks/services.py).
    seq = models.BigIntegerField(
        _("sequence"), db_default=NextVal(models.Value(OUTBOUND_EVENT_SEQUENCE)), editable=False
    )
    # When its deliveries were made (one per subscription of the event); NULL until then.
    fanned_out_at = models.DateTimeField(_("fanned out"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("outbound event")
        verbose_name_plural = _("outbound events")
        ordering = ["-created_at"]
        indexes = [
            # Only the events still to fan out: a few rows, whatever the outbox's size.
            models.Index(
                fields=["seq"], condition=Q(fanned_out_at__isnull=True), name="outbound_to_fan_out"
            ),
        ]

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


SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def new_webhook_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class WebhookSubscription(models.Model):
    """A partner's subscription (contracts/partner-api.md, "Webhooks"): the events it wants
    POSTed to its URL, signed with its secret. Owned by the API key that made it (a
    supervisor may make one for a key in admin); only that key sees it through the API.

    The secret is kept as it is (signing needs it) and shown once, when it is made.
    `consecutive_failures` counts failed attempts since the last success; at
    WEBHOOK_DISABLE_AFTER the subscription is disabled (`disabled_at`, with the reason)
    and the supervisors are told, once."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.CASCADE, related_name="webhooks", verbose_name=_("API key")
    )
    url = models.URLField(_("URL"), max_length=2000)
    secret = models.CharField(_("secret"), max_length=100, default=new_webhook_secret)
    events = ArrayField(
        models.CharField(max_length=40, choices=[(e, e) for e in WEBHOOK_EVENTS]),
        verbose_name=_("events"),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    consecutive_failures = models.PositiveIntegerField(
        _("consecutive failures"), default=0, editable=False
    )
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True, editable=False)
    disabled_reason = models.CharField(
        _("why disabled"), max_length=300, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["api_key", "url"], name="webhook_url_once_per_key"),
        ]

    def __str__(self) -> str:
        return self.url


# A delivery in one of these states is still to be made (or being made).
OPEN_DELIVERY_STATES = ["pending", "sending"]


class WebhookDelivery(models.Model):
    """One event for one subscription: made once (unique), claimed by one worker at a time
    (SELECT … FOR UPDATE SKIP LOCKED), retried until it is delivered or given up.

    `due_at` is when it is next attempted while pending, and when the worker's claim
    lapses while sending (a worker that died: another takes it again). `attempts` is the
    claim's number: a result is recorded only by the claim that still holds it, so a
    delivery is never finished twice. `seq` and `subject` (the event's sequence number
    and its ticket or conversation) keep one subject's events in order."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    event = models.ForeignKey(
        OutboundEvent,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("event"),
        db_index=False,  # the unique constraint's index begins with it
    )
    subscription = models.ForeignKey(
        WebhookSubscription,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("subscription"),
        db_index=False,  # delivery_by_subscription
    )
    seq = models.BigIntegerField(_("sequence"))
    subject = models.CharField(_("subject"), max_length=100, blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    due_at = models.DateTimeField(_("due"), default=timezone.now)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "subscription"], name="webhook_delivery_once"),
        ]
        indexes = [
            # What is due, in the outbox's order (a burst fans out with one due time).
            models.Index(
                fields=["due_at", "seq"],
                condition=Q(state__in=OPEN_DELIVERY_STATES),
                name="delivery_due",
            ),
            models.Index(
                fields=["subscription", "subject", "seq"],
                condition=Q(state__in=OPEN_DELIVERY_STATES),
                name="delivery_open_by_subject",
            ),
            models.Index(fields=["subscription", "-id"], name="delivery_by_subscription"),
            # The finished ones by age: what the retention job prunes, oldest first.
            models.Index(
                fields=["finished_at"],
                condition=Q(state__in=["delivered", "failed"]),
                name="delivery_finished",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.subscription_id}"


class WebhookAttempt(models.Model):
    """One POST of a delivery, as it went: the status code or the error, how long it took
    and the beginning of the response."""

    delivery = models.ForeignKey(
        WebhookDelivery,
        on_delete=models.CASCADE,
        related_name="attempt_log",
        verbose_name=_("delivery"),
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    status_code = models.PositiveSmallIntegerField(_("status"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    response_excerpt = models.TextField(_("response (beginning)"), blank=True)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error}"


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


class AuditEntry(models.Model):
    """One security-relevant action (docs/security.md, "Audit log"): who did what to what,
    from where, when. Written by helpdesk.audit.record, in the transaction of the action it
    tells of; never changed or deleted afterwards (admin shows it read-only to supervisors).

    `actor_name` keeps the user name as it was (the user may be renamed or deleted; for a
    failed login it is the name that was typed, whether such a user exists or not)."""

    class Action(models.TextChoices):
        LOGIN = "login", _("Logged in")
        LOGIN_FAILED = "login_failed", _("Login failed")
        LOCKED_OUT = "locked_out", _("Locked out")
        LOGOUT = "logout", _("Logged out")
        USER_ACCESS_CHANGED = "user_access_changed", _("User's access changed")
        GROUP_PERMISSIONS_CHANGED = "group_permissions_changed", _("Group's permissions changed")
        PASSWORD_SET = "password_set", _("Password set by an administrator")
        API_KEY_CREATED = "api_key_created", _("API key created")
        API_KEY_REVOKED = "api_key_revoked", _("API key revoked")
        EXPORT = "export", _("Export")
        CUSTOMERS_MERGED = "customers_merged", _("Customers merged")
        MERGE_UNDONE = "merge_undone", _("Customer merge undone")
        CUSTOMER_ERASED = "customer_erased", _("Customer erased")
        DELETED = "deleted", _("Deleted in admin")

    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    action = models.CharField(_("action"), max_length=30, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_name = models.CharField(_("actor's name"), max_length=150, blank=True)
    target_type = models.CharField(_("target type"), max_length=100, blank=True)
    target_id = models.CharField(_("target id"), max_length=100, blank=True)
    target_repr = models.CharField(_("target"), max_length=200, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["action", "-created_at"], name="audit_by_action"),
            models.Index(fields=["target_type", "target_id"], name="audit_by_target"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.target_repr}".strip()

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("audit entries are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("audit entries are never deleted")
