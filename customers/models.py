import re
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import ExtractDay, ExtractMonth
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.languages import BilingualName


def default_timezone() -> str:
    return settings.TIME_ZONE


def validate_timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("Unknown timezone: %(name)s"), params={"name": value}) from None


class Customer(models.Model):
    """A person the shop talks to, on any channel: one customer, one history."""

    class Language(models.TextChoices):
        ZH = "zh", "中文"
        EN = "en", "English"

    class Level(models.TextChoices):
        NORMAL = "normal", _("Normal")
        SILVER = "silver", _("Silver")
        GOLD = "gold", _("Gold")
        VIP = "vip", _("VIP")

    # Each level's benefits, told to a customer who reaches it.
    LEVEL_BENEFITS = {
        Level.SILVER: _("free shipping on every order"),
        # xgettext:no-python-format
        Level.GOLD: _("free shipping, priority service and 5% off every order"),
        # xgettext:no-python-format
        Level.VIP: _("a dedicated agent, free express shipping and 10% off every order"),
    }
    LEVEL_RANK = {level: rank for rank, level in enumerate(Level.values)}

    class Segment(models.TextChoices):
        """Computed from activity (customers.services.segments): never set by hand."""

        NEW = "new", pgettext_lazy("customer segment", "New")
        RETURNING = "returning", pgettext_lazy("customer segment", "Returning")
        VIP = "vip", pgettext_lazy("customer segment", "VIP")
        OCCASIONAL = "occasional", pgettext_lazy("customer segment", "Occasional")

    external_id = models.CharField(
        _("external id"),
        max_length=128,
        unique=True,
        null=True,
        blank=True,
        help_text=_("The shop's own id for this customer, vouched for by its backend."),
    )
    name = models.CharField(_("name"), max_length=120, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.ZH
    )
    level = models.CharField(_("level"), max_length=10, choices=Level.choices, default=Level.NORMAL)
    timezone = models.CharField(
        _("timezone"),
        max_length=64,
        default=default_timezone,
        validators=[validate_timezone],
        help_text=_("IANA name, e.g. Asia/Shanghai: birthdays and quiet hours are local."),
    )
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    attributes = models.JSONField(
        _("attributes"),
        default=dict,
        blank=True,
        help_text=_("What the shop's systems keep about the customer (the partner API)."),
    )
    segment = models.CharField(
        _("segment"),
        max_length=12,
        choices=Segment.choices,
        default=Segment.NEW,
        editable=False,
        help_text=_(
            "VIP: level VIP. Returning: two conversations or more, or a paid order. New: first "
            "seen within 30 days. Occasional: the rest (seen once, long ago)."
        ),
    )
    conversation_count = models.PositiveIntegerField(
        _("conversations"),
        default=0,
        editable=False,
        help_text=_("How many conversations the customer has started."),
    )
    points = models.IntegerField(
        _("points"), default=0, help_text=_("The balance; every change is a points entry.")
    )
    care_opt_out = models.BooleanField(
        _("no care messages"),
        default=False,
        help_text=_("The customer asked for no surveys, greetings or reminders."),
    )
    quiet_start = models.TimeField(
        _("quiet hours from"),
        null=True,
        blank=True,
        help_text=_("Local time; care messages wait until the quiet hours end."),
    )
    quiet_end = models.TimeField(_("quiet hours until"), null=True, blank=True)
    # The birthday's month × 100 + day, indexed: the birthday job finds today's among a
    # million customers without reading them all.
    birthday_md = models.GeneratedField(
        expression=ExtractMonth("birthday") * 100 + ExtractDay("birthday"),
        output_field=models.IntegerField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Set once by customers.services.privacy.erase_customer: the row stays (its id is in
    # every metric), its personal data is gone, and nothing links to it again.
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at"]
        permissions = [
            ("export_customer", _("Can export everything about a customer")),
            ("erase_customer", _("Can erase a customer's personal data")),
        ]
        indexes = [
            # The birthday planner's chunks: one day's customers in the order of their ids.
            models.Index(
                fields=["birthday_md", "id"],
                condition=models.Q(birthday__isnull=False),
                name="customer_birthday_id",
            ),
            # Admin's segment filter, newest first.
            models.Index("segment", models.F("created_at").desc(), name="customer_segment"),
            # The partner API's ?updated_after= (a sync's "what changed since").
            models.Index(fields=["updated_at"], name="customer_updated"),
            # The partner API's ?level=, newest first (its cursor is the id).
            models.Index(fields=["level", "id"], name="customer_level"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.erased_at is not None:
            return _("Erased customer %(number)s") % {"number": self.pk}
        if self.name:
            return self.name
        return _("Visitor %(number)s") % {"number": self.pk}

    @property
    def is_identified(self) -> bool:
        return bool(self.external_id)


class Order(models.Model):
    """An order of the shop (filled by the demo data now, by the partner API later)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting payment")
        PAID = "paid", _("Paid, awaiting shipment")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        CANCELLED = "cancelled", _("Cancelled")
        RETURNED = "returned", _("Returned")

    number = models.CharField(_("order number"), max_length=32, unique=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="orders", verbose_name=_("customer")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    items = models.JSONField(_("items"), default=list, blank=True)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2, default=0)
    carrier = models.CharField(_("carrier"), max_length=60, blank=True)
    tracking_number = models.CharField(
        _("tracking number"), max_length=40, blank=True, db_index=True
    )
    placed_at = models.DateTimeField(_("placed"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    tracking_events = models.JSONField(
        _("tracking events"),
        default=list,
        blank=True,
        help_text=_("[{time, place, status}], newest last"),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at"]
        indexes = [
            # A customer's latest orders (the 360° panel) without sorting them all.
            models.Index("customer", models.F("placed_at").desc(), name="order_customer_placed"),
            # The partner API's ?updated_after=.
            models.Index(fields=["updated_at"], name="order_updated"),
        ]

    def __str__(self) -> str:
        return self.number


class Coupon(models.Model):
    """A coupon issued to a customer: claimed, then redeemed once, until it expires."""

    # Unique by `coupon_code_unique` (a constraint: no second, LIKE index as a unique
    # field would get; the birthday job issues a million coupons at once).
    code = models.CharField(_("code"), max_length=40)
    # Indexed by `coupon_once_per_campaign`, which begins with the customer.
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="coupons",
        verbose_name=_("customer"),
        db_index=False,
    )
    # Indexed by `coupon_once_per_campaign` with the customer.
    campaign = models.SlugField(_("campaign"), max_length=60, db_index=False)
    title = models.CharField(_("title"), max_length=120)
    amount = models.DecimalField(_("amount off"), max_digits=10, decimal_places=2)
    minimum_spend = models.DecimalField(
        _("minimum spend"), max_digits=10, decimal_places=2, default=0
    )
    issued_at = models.DateTimeField(_("issued"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    redeemed_at = models.DateTimeField(_("redeemed"), null=True, blank=True)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "campaign"], name="coupon_once_per_campaign"
            ),
            models.UniqueConstraint(fields=["code"], name="coupon_code_unique"),
        ]

    def __str__(self) -> str:
        return self.code


class AfterSalesRequest(models.Model):
    """A return, exchange or repair a customer asked for (through the bot or an agent)."""

    class Kind(models.TextChoices):
        RETURN = "return", _("Return")
        EXCHANGE = "exchange", _("Exchange")
        REPAIR = "repair", _("Repair")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        DONE = "done", _("Done")

    number = models.CharField(_("number"), max_length=20, unique=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="after_sales", verbose_name=_("customer")
    )
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="after_sales", verbose_name=_("order")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=40)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("after-sales request")
        verbose_name_plural = _("after-sales requests")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "kind"],
                condition=models.Q(status="open"),
                name="after_sales_one_open_per_order_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class CustomerNote(models.Model):
    """What agents want each other to know about a customer ("avoid price talk"): shared by
    every agent, on every conversation of that customer."""

    MAX_LENGTH = 2000

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="notes", verbose_name=_("customer")
    )
    body = models.TextField(_("note"), max_length=MAX_LENGTH)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("author"),
    )
    last_edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("last edited by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer note")
        verbose_name_plural = _("customer notes")
        ordering = ["-created_at"]
        indexes = [
            models.Index("customer", models.F("created_at").desc(), name="cnote_customer_created")
        ]

    def __str__(self) -> str:
        return self.body[:60]


class CustomerTag(models.Model):
    """A label on a customer: set by an agent, by an automatic rule (`rule`, with what
    made it match in `detail`), or by the shop's systems through the partner API.
    Automatic tags come and go with their rule, the partner's with its `PUT`; manual ones
    are only ever changed by people."""

    MAX_LENGTH = 40

    class Source(models.TextChoices):
        MANUAL = "manual", _("Manual")
        AUTO = "auto", _("Automatic")
        API = "api", _("Partner API")

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="tags", verbose_name=_("customer")
    )
    name = models.CharField(_("name"), max_length=MAX_LENGTH)
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.MANUAL
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    rule = models.ForeignKey(
        "TagRule",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tags",
        verbose_name=_("rule"),
    )
    detail = models.CharField(_("from what"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer tag")
        verbose_name_plural = _("customer tags")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "name"], name="ctag_once_per_customer"),
            models.CheckConstraint(
                condition=~models.Q(source="auto") | models.Q(rule__isnull=False),
                name="ctag_auto_has_rule",
            ),
        ]
        indexes = [
            models.Index(fields=["rule", "customer"], name="ctag_rule_customer"),
            # The partner API's ?tag=: the customers carrying a tag.
            models.Index(fields=["name", "customer"], name="ctag_name_customer"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """The tag's name in the reader's language (a rule names its tag in both)."""
        return self.rule.name if self.rule_id else self.name


class PointsEntry(models.Model):
    """A change of a customer's points balance, once per `key` (a reward is never paid
    twice for the same reason)."""

    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="points_entries",
        verbose_name=_("customer"),
    )
    points = models.IntegerField(_("points"))
    reason = models.CharField(_("reason"), max_length=120)
    key = models.CharField(_("key"), max_length=200, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        ordering = ["-created_at"]
        indexes = [
            models.Index("customer", models.F("created_at").desc(), name="points_customer_recent")
        ]

    def __str__(self) -> str:
        return f"{self.points:+d} {self.reason}"


class CareCampaign(models.Model):
    """One kind of outreach the shop makes by itself (a survey after a chat, a birthday
    greeting, an order reminder, a VIP's regular check-in): its timing, its message and
    email subject in both languages, its reward."""

    class Kind(models.TextChoices):
        SURVEY = "survey", _("Satisfaction survey after a conversation")
        BIRTHDAY = "birthday", _("Birthday greeting")
        ORDER_SHIPPED = "order_shipped", _("Order shipped")
        ORDER_DELIVERED = "order_delivered", _("Order delivered")
        FOLLOW_UP = "follow_up", _("Follow-up of a problem left unresolved")
        LEVEL_UP = "level_up", _("Membership upgrade")
        TICKET_FOLLOW_UP = "ticket_follow_up", _("Follow-up of a ticket still open")
        VIP_REVISIT = "vip_revisit", _("VIP revisit by their dedicated agent")

    # Campaigns whose outreach is work for an agent (a check-in to make), not a message
    # to the customer: neither quiet hours nor the customer's daily cap apply.
    AGENT_KINDS = frozenset({Kind.VIP_REVISIT})

    # What a message or subject may name, each filled by plain replacement.
    PLACEHOLDERS = (
        "name",
        "order",
        "carrier",
        "tracking",
        "coupon",
        "amount",
        "level",
        "benefits",
        "ticket",
    )
    MAX_SUBJECT = 200

    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    delay_minutes = models.PositiveIntegerField(
        _("delay (minutes)"),
        default=0,
        help_text=_("After the occasion (a conversation closing, an order shipping)."),
    )
    expire_hours = models.PositiveIntegerField(
        _("give up after (hours)"),
        default=24,
        help_text=_("Not sent at all when it could not go out this long after it was due."),
    )
    every_days = models.PositiveIntegerField(
        _("every (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(366)],
        help_text=_("VIP revisit: one check-in per customer in each period of this many days."),
    )
    reward_points = models.PositiveIntegerField(
        _("reward (points)"), default=0, help_text=_("For answering a survey.")
    )
    coupon_amount = models.DecimalField(
        _("coupon (amount off)"),
        max_digits=10,
        decimal_places=2,
        default=0,
        help_text=_("A coupon issued with the message; 0 for none."),
    )
    coupon_days = models.PositiveIntegerField(_("coupon valid (days)"), default=30)
    subject_zh = models.CharField(
        _("email subject (Chinese)"),
        max_length=MAX_SUBJECT,
        default="",
        help_text=_(
            "The subject of the email (for a VIP revisit: of the agent's ticket); the same "
            "placeholders as the message."
        ),
    )
    subject_en = models.CharField(_("email subject (English)"), max_length=MAX_SUBJECT, default="")
    text_zh = models.TextField(
        _("message (Chinese)"),
        help_text=_(
            "Placeholders: {name}, {order}, {carrier}, {tracking}, {coupon}, {amount}, "
            "{level}, {benefits}, {ticket}."
        ),
    )
    text_en = models.TextField(_("message (English)"))

    class Meta:
        verbose_name = _("care campaign")
        verbose_name_plural = _("care campaigns")
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()

    def text_in(self, language: str) -> str:
        return self.text_zh if language.startswith("zh") else self.text_en

    def subject_in(self, language: str) -> str:
        return self.subject_zh if language.startswith("zh") else self.subject_en

    def clean(self) -> None:
        """A subject is one line; a text names only the placeholders there are (a typo
        such as {nmae} would reach every customer as it is)."""
        errors = {}
        for field in ("subject_zh", "subject_en"):
            value = getattr(self, field) or ""
            if "\r" in value or "\n" in value:
                errors[field] = _("A subject is one line.")
        for field in ("subject_zh", "subject_en", "text_zh", "text_en"):
            unknown = sorted(
                set(_BRACED.findall(getattr(self, field) or "")) - set(self.PLACEHOLDERS)
            )
            if unknown and field not in errors:
                errors[field] = _("Unknown placeholder: %(names)s. Known: %(known)s.") % {
                    "names": ", ".join("{" + name + "}" for name in unknown),
                    "known": ", ".join("{" + name + "}" for name in self.PLACEHOLDERS),
                }
        if errors:
            raise ValidationError(errors)


# A word in braces: what a template author meant as a placeholder.
_BRACED = re.compile(r"\{(\w+)\}")


class Outreach(models.Model):
    """This outreach to this customer for this occasion ("birthday:2026",
    "order:LM20261103:delivered", "conversation:<id>"): claimed, unique, before anything is
    sent, so that a retry, a second worker or a second Beat never sends twice. It holds
    the outcome."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Not sent")
        EXPIRED = "expired", _("Too late, not sent")

    # No index of their own: `outreach_once_per_occasion` begins with the campaign and
    # `outreach_customer_sent` with the customer (the birthday job writes a million rows,
    # and every index is written for each).
    campaign = models.ForeignKey(
        CareCampaign,
        on_delete=models.CASCADE,
        related_name="outreach",
        verbose_name=_("campaign"),
        db_index=False,
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="outreach",
        verbose_name=_("customer"),
        db_index=False,
    )
    occasion = models.CharField(_("occasion"), max_length=120)
    due_at = models.DateTimeField(_("due"))
    expires_at = models.DateTimeField(_("expires"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    channel = models.CharField(_("sent through"), max_length=20, blank=True)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    # What it was about and where it went (ids of other apps' rows: this app imports none).
    subject = models.CharField(_("about"), max_length=64, blank=True)
    conversation_id = models.UUIDField(_("conversation"), null=True, blank=True)
    created_at = models.DateTimeField(_("claimed"), auto_now_add=True)
    # An email's is when it was handed to the mail backend: while it is "being sent" it
    # already counts towards the customer's daily cap.
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outreach")
        verbose_name_plural = _("outreach")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "customer", "occasion"], name="outreach_once_per_occasion"
            )
        ]
        indexes = [
            # The sender's queue, in its order (due, then id): a batch is the index's
            # first rows, never a sort of everything pending (a million at 09:00).
            models.Index(
                fields=["due_at", "id"],
                condition=models.Q(status="pending"),
                name="outreach_due_queue",
            ),
            # A customer's messages of the last day (the daily cap): only what went out.
            models.Index(
                "customer",
                models.F("sent_at").desc(),
                condition=models.Q(sent_at__isnull=False),
                name="outreach_customer_recent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} · {self.occasion}"


class LevelChange(models.Model):
    """A customer's membership level changing: the level's history, with who or what
    changed it."""

    class Source(models.TextChoices):
        ADMIN = "admin", _("Back-office")
        API = "api", _("Partner API")
        SYSTEM = "system", _("System")
        MERGE = "merge", _("Customer merge")

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="level_changes", verbose_name=_("customer")
    )
    old = models.CharField(_("from"), max_length=10, choices=Customer.Level.choices)
    new = models.CharField(_("to"), max_length=10, choices=Customer.Level.choices)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    created_at = models.DateTimeField(_("changed"), auto_now_add=True)

    class Meta:
        verbose_name = _("level change")
        verbose_name_plural = _("level changes")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index("customer", models.F("created_at").desc(), name="level_customer_recent")
        ]

    def __str__(self) -> str:
        return f"{self.old} → {self.new}"

    @property
    def is_upgrade(self) -> bool:
        return Customer.LEVEL_RANK[self.new] > Customer.LEVEL_RANK[self.old]


class CustomerIdentity(models.Model):
    """One way a customer is known on a channel: the shop's account, an app user, a WeChat
    or mini-program openid, an email, a phone. A verified identity belongs to one customer
    only (it is how a channel's message finds its customer, and two customers holding the
    same verified identity are one person: they are merged). An unverified one is only a
    claim (an email typed into a chat): it is kept on that customer, never looked up, never
    merged on."""

    class Kind(models.TextChoices):
        ACCOUNT = "account", _("Shop account")
        WEB = "web", _("Web visitor")
        APP = "app", _("App user")
        WECHAT = "wechat", _("WeChat openid")
        MINIPROGRAM = "miniprogram", _("Mini-program openid")
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")

    class Method(models.TextChoices):
        IDENTITY_HASH = "identity_hash", _("Identity hash from the shop's backend")
        PARTNER_API = "partner_api", _("Partner API")
        AGENT = "agent", _("Confirmed by an agent")
        IMPORT = "import", _("Recorded before identities were kept")

    MAX_VALUE = 200

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="identities", verbose_name=_("customer")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    value = models.CharField(_("value"), max_length=MAX_VALUE)
    verified = models.BooleanField(_("verified"), default=False)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verified_by = models.CharField(
        _("verified by"), max_length=20, choices=Method.choices, blank=True
    )
    verified_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    source = models.CharField(
        _("claimed through"),
        max_length=40,
        blank=True,
        help_text=_("Where the identity came from: a chat session, the partner API, admin."),
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("channel identity")
        verbose_name_plural = _("channel identities")
        ordering = ["kind", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value"],
                condition=models.Q(verified=True),
                name="identity_verified_once",
            ),
            models.UniqueConstraint(
                fields=["customer", "kind", "value"], name="identity_once_per_customer"
            ),
            models.CheckConstraint(
                condition=models.Q(verified=False) | ~models.Q(verified_by=""),
                name="identity_verified_says_how",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class CustomerMerge(models.Model):
    """Two customers found to be one person: `merged_id` was merged into `survivor_id`.

    Keeps what is needed to undo it exactly: the merged-away customer as it was, the ids of
    the rows that moved (by model), rows changed to make room (a coupon renamed, a
    duplicate outreach skipped), rows dropped as duplicates (serialized), and the survivor's
    fields as they were before. Plain ids, not foreign keys: the merged-away customer no
    longer exists, and the history must outlive the survivor's own later merges."""

    class How(models.TextChoices):
        IDENTITY = "identity", _("A verified identity matched")
        ADMIN = "admin", _("By hand in the back-office")
        DESK = "desk", _("By hand in the desk")

    survivor_id = models.BigIntegerField(_("kept customer"), db_index=True)
    merged_id = models.BigIntegerField(_("merged-away customer"), db_index=True)
    merged_name = models.CharField(_("merged-away name"), max_length=120, blank=True)
    how = models.CharField(_("how"), max_length=10, choices=How.choices)
    reason = models.CharField(_("why"), max_length=500, blank=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("merged by"),
    )
    merged_snapshot = models.JSONField(_("merged-away customer"), default=list)
    survivor_before = models.JSONField(_("kept customer before"), default=dict)
    moved = models.JSONField(_("moved rows"), default=dict)
    changed = models.JSONField(_("rows changed to make room"), default=list)
    dropped = models.JSONField(_("duplicates dropped"), default=list)
    created_at = models.DateTimeField(_("merged"), auto_now_add=True)
    undone_at = models.DateTimeField(_("undone"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("undone by"),
    )
    undo_reason = models.CharField(_("why undone"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("merge_customers", _("Can merge two customers")),
            ("unmerge_customers", _("Can undo a customer merge")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["merged_id"],
                condition=models.Q(undone_at__isnull=True),
                name="merge_once_per_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.merged_id} → #{self.survivor_id}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None

    def moved_count(self) -> int:
        return sum(len(ids) for ids in self.moved.values())


class TagRule(BilingualName, models.Model):
    """A tag that puts itself on customers: "≥ 2 complaints in 90 days → 售后维权客户 /
    after-sales dispute". Re-evaluated when a conversation closes, when an order changes,
    and nightly; a customer who no longer matches loses the tag (manual tags are never
    touched)."""

    class Kind(models.TextChoices):
        INTENT = "intent", _("Conversations where the bot understood an intent")
        ARTICLE = "article", _("Conversations the bot answered with an article")
        COMPLAINT = "complaint", _("Complaints (complaint tickets and complaints in chats)")
        EMOTION = "emotion", _("Conversations where the bot sensed anger or distress")
        CATEGORY = "category", _("Orders with items of a category")
        SPEND = "spend", _("Amount spent")

    # The kinds whose `value` names what is counted.
    NEEDS_VALUE = (Kind.INTENT, Kind.ARTICLE, Kind.CATEGORY)

    name_zh = models.CharField(_("tag (Chinese)"), max_length=CustomerTag.MAX_LENGTH, unique=True)
    name_en = models.CharField(_("tag (English)"), max_length=CustomerTag.MAX_LENGTH)
    kind = models.CharField(_("what is counted"), max_length=12, choices=Kind.choices)
    value = models.CharField(
        _("which"),
        max_length=100,
        blank=True,
        help_text=_("The intent code, article slug or product category; empty for the others."),
    )
    threshold = models.DecimalField(
        _("at least"),
        max_digits=12,
        decimal_places=2,
        default=1,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("How many (conversations, complaints, orders), or the amount spent."),
    )
    window_days = models.PositiveIntegerField(
        _("within (days)"),
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("automatic tag rule")
        verbose_name_plural = _("automatic tag rules")
        ordering = ["name_zh"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        self.value = self.value.strip()
        if self.kind in self.NEEDS_VALUE and not self.value:
            raise ValidationError({"value": _("Say which intent, article or category.")})
        if self.kind not in self.NEEDS_VALUE:
            self.value = ""


class PrecedenceRule(models.Model):
    """A rule admin keeps in order: the enabled ones are tried by precedence and the first
    that matches wins; it says its message in the customer's language."""

    name = models.CharField(_("name"), max_length=80)
    enabled = models.BooleanField(_("enabled"), default=True)
    position = models.PositiveSmallIntegerField(
        _("precedence"), default=0, help_text=_("Lower first: the first rule that matches wins.")
    )
    message_zh = models.CharField(_("message (Chinese)"), max_length=300)
    message_en = models.CharField(_("message (English)"), max_length=300)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name

    def message_in(self, language: str) -> str:
        return self.message_en if language.startswith("en") else self.message_zh


class InvitationRule(PrecedenceRule):
    """When to invite a visitor to chat (the chat page and the widget): on which pages, after
    how long, for which segment, after a recent order; the first enabled rule that matches,
    in order of precedence, is shown."""

    url_pattern = models.CharField(
        _("page URL pattern"),
        max_length=300,
        blank=True,
        help_text=_(
            "* stands for any characters. Starting with / it matches the page's path (and "
            "query), e.g. /products/*; otherwise the whole URL. Empty: every page."
        ),
    )
    min_seconds = models.PositiveIntegerField(
        _("seconds on the page"),
        default=20,
        help_text=_("Shown once the visitor has been this long on the page."),
    )
    segment = models.CharField(
        _("segment"),
        max_length=12,
        choices=Customer.Segment.choices,
        blank=True,
        help_text=_("Empty: any visitor."),
    )
    recent_order_days = models.PositiveIntegerField(
        _("ordered within (days)"),
        null=True,
        blank=True,
        help_text=_("Only customers with a paid order in this many days. Empty: no condition."),
    )

    class Meta(PrecedenceRule.Meta):
        verbose_name = _("chat invitation rule")
        verbose_name_plural = _("chat invitation rules")


class Invitation(models.Model):
    """One invitation shown to one visitor on one page, and their answer (once)."""

    class Answer(models.TextChoices):
        NONE = "", _("No answer")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    rule = models.ForeignKey(
        InvitationRule,
        on_delete=models.CASCADE,
        related_name="invitations",
        verbose_name=_("rule"),
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations",
        verbose_name=_("customer"),
    )
    visitor = models.CharField(
        _("visitor"), max_length=64, blank=True, help_text=_("The browser's own random id.")
    )
    # Where: "chat" (the chat page) or the widget site's key (this app imports no other).
    source = models.CharField(_("shown on"), max_length=40)
    page_url = models.CharField(_("page"), max_length=2000, blank=True)
    language = models.CharField(_("language"), max_length=2, default="zh")
    answer = models.CharField(
        _("answer"), max_length=10, choices=Answer.choices, default=Answer.NONE, blank=True
    )
    conversation_id = models.UUIDField(_("conversation"), null=True, blank=True)
    created_at = models.DateTimeField(_("shown"), auto_now_add=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("chat invitation")
        verbose_name_plural = _("chat invitations")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                "visitor",
                models.F("created_at").desc(),
                condition=~models.Q(visitor=""),
                name="invitation_visitor_recent",
            ),
            models.Index(
                "customer", models.F("created_at").desc(), name="invitation_customer_recent"
            ),
            models.Index(fields=["rule", "answer"], name="invitation_rule_answer"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} · {self.get_answer_display()}"


class RecommendationRule(PrecedenceRule):
    """What to recommend after an interaction: related products or a coupon offer, for a
    topic (an intent or a knowledge category) and the customer's order history."""

    class Kind(models.TextChoices):
        PRODUCTS = "products", _("Related products")
        COUPON = "coupon", _("Coupon offer")

    class Moment(models.TextChoices):
        ANSWER = "answer", _("After the bot's answer")
        CLOSE = "close", _("When the conversation closes")

    moment = models.CharField(
        _("shown"), max_length=10, choices=Moment.choices, default=Moment.ANSWER
    )
    topic = models.CharField(
        _("topic"),
        max_length=80,
        blank=True,
        help_text=_(
            "An intent (e.g. logistics_tracking) or a knowledge category's slug (e.g. "
            "product-help) the conversation was about. Empty: any topic."
        ),
    )
    order_category = models.CharField(
        _("bought category"),
        max_length=80,
        blank=True,
        help_text=_(
            'The "category" of an item in the customer\'s orders (e.g. audio). Empty: no condition.'
        ),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PRODUCTS)
    coupon_title_zh = models.CharField(_("coupon title (Chinese)"), max_length=120, blank=True)
    coupon_title_en = models.CharField(_("coupon title (English)"), max_length=120, blank=True)
    coupon_amount = models.DecimalField(
        _("coupon (amount off)"), max_digits=10, decimal_places=2, default=0
    )
    coupon_minimum_spend = models.DecimalField(
        _("coupon minimum spend"), max_digits=10, decimal_places=2, default=0
    )
    coupon_days = models.PositiveIntegerField(_("coupon valid (days)"), default=14)
    coupon_url = models.URLField(
        _("where to use the coupon"), blank=True, help_text=_("The shop's page the link opens.")
    )
    conversion_days = models.PositiveIntegerField(
        _("conversion window (days)"),
        default=7,
        help_text=_(
            "An order with a recommended product, or the coupon redeemed, this many days after "
            "it was shown counts as a conversion."
        ),
    )

    class Meta(PrecedenceRule.Meta):
        verbose_name = _("recommendation rule")
        verbose_name_plural = _("recommendation rules")

    def clean(self):
        if self.kind == self.Kind.COUPON and (self.coupon_amount <= 0 or not self.coupon_url):
            raise ValidationError(_("A coupon offer needs an amount and where to use it."))

    def coupon_title_in(self, language: str) -> str:
        return self.coupon_title_en if language.startswith("en") else self.coupon_title_zh


class RecommendedProduct(models.Model):
    """A product a recommendation rule offers."""

    rule = models.ForeignKey(
        RecommendationRule,
        on_delete=models.CASCADE,
        related_name="products",
        verbose_name=_("rule"),
    )
    sku = models.CharField(_("SKU"), max_length=64)
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    url = models.URLField(_("product page"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("recommended product")
        verbose_name_plural = _("recommended products")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.sku

    def name_in(self, language: str) -> str:
        return self.name_en if language.startswith("en") else self.name_zh


class Recommendation(models.Model):
    """A recommendation shown in one conversation (at most one per conversation): what was
    offered, the clicks, and the conversion (once)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    rule = models.ForeignKey(
        RecommendationRule,
        on_delete=models.CASCADE,
        related_name="recommendations",
        verbose_name=_("rule"),
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="recommendations",
        verbose_name=_("customer"),
    )
    conversation_id = models.UUIDField(_("conversation"), unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=RecommendationRule.Kind.choices)
    topic = models.CharField(_("topic"), max_length=80, blank=True)
    # What was offered, as it was then: [{sku, name, url}] (the rule may change later).
    offers = models.JSONField(_("offers"), default=list, blank=True)
    skus = ArrayField(models.CharField(max_length=64), verbose_name=_("SKUs"), default=list)
    coupon = models.ForeignKey(
        Coupon,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("coupon"),
    )
    shown_at = models.DateTimeField(_("shown"), auto_now_add=True)
    convert_until = models.DateTimeField(_("converts until"))
    clicks = models.PositiveIntegerField(_("clicks"), default=0)
    first_clicked_at = models.DateTimeField(_("first click"), null=True, blank=True)
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)
    converted_by = models.CharField(
        _("converted by"), max_length=40, blank=True, help_text=_("The order or the coupon.")
    )

    class Meta:
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")
        ordering = ["-shown_at"]
        indexes = [
            # A customer's recommendations still waiting for a conversion (order upserts).
            models.Index(
                "customer",
                "convert_until",
                condition=models.Q(converted_at__isnull=True),
                name="recommendation_open",
            ),
            models.Index(fields=["rule", "shown_at"], name="recommendation_rule"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} · {self.conversation_id}"
