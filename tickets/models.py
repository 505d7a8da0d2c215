from datetime import datetime, time

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Func, Q
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.languages import BilingualName
from tickets import sla


class Priority(models.IntegerChoices):
    LOW = 10, _("Low")
    NORMAL = 20, _("Normal")
    HIGH = 30, _("High")
    URGENT = 40, _("Urgent")


class TicketType(BilingualName, models.Model):
    """What a ticket is about (question, complaint, repair…): admin can add types. The
    type says how urgent such a ticket usually is and which group handles it."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=80)
    name_en = models.CharField(_("name (English)"), max_length=80)
    urgency = models.PositiveSmallIntegerField(
        _("usual urgency"),
        choices=Priority.choices,
        default=Priority.NORMAL,
        help_text=_("The priority of a normal customer's ticket of this type."),
    )
    skill_group = models.ForeignKey(
        "conversations.SkillGroup",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handled by"),
        help_text=_("The group (department) such tickets go to."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("ticket type")
        verbose_name_plural = _("ticket types")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name


class BusinessCalendar(models.Model):
    """When the team works: a timezone, weekly opening hours and holidays. SLA clocks
    only run inside these hours."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    timezone = models.CharField(_("timezone"), max_length=64, default="Asia/Shanghai")

    class Meta:
        verbose_name = _("business-hours calendar")
        verbose_name_plural = _("business-hours calendars")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError({"timezone": _("Unknown timezone.")}) from None

    def as_calendar(self) -> sla.Calendar:
        hours: dict[int, list[tuple[time, time]]] = {}
        for opening in self.openings.all():
            hours.setdefault(opening.weekday, []).append((opening.opens, opening.closes))
        return sla.Calendar(
            timezone=self.timezone,
            hours={day: tuple(sorted(spans)) for day, spans in hours.items()},
            holidays=frozenset(self.holidays.values_list("date", flat=True)),
        )


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class OpeningHours(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="openings"
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes__gt=models.F("opens")), name="opening_closes_after_it_opens"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Holiday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=80, blank=True)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class SLAPolicy(models.Model):
    """Targets per priority × customer level, counted in a calendar's business hours
    (or around the clock without one)."""

    name = models.CharField(_("name"), max_length=80, unique=True)
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("business hours"),
        help_text=_("Empty: the clocks run around the clock."),
    )
    at_risk_ratio = models.FloatField(
        _("at risk after"),
        default=0.8,
        help_text=_("Share of the target used when a ticket counts as at risk (0.8 = 80%)."),
    )
    is_default = models.BooleanField(_("default policy"), default=False)
    notify_assignee = models.BooleanField(
        _("notify the assignee"),
        default=True,
        help_text=_("When a clock is at risk or breached, the ticket's assignee is told."),
    )
    notify_supervisors = models.BooleanField(
        _("notify supervisors"),
        default=True,
        help_text=_(
            "On a breach, the supervisors of the ticket's group are told (all supervisors when "
            "the group has none)."
        ),
    )
    raise_priority_on_breach = models.BooleanField(
        _("raise the priority on a breach"),
        default=False,
        help_text=_("A breached ticket becomes one step more urgent (up to urgent)."),
    )
    escalation_group = models.ForeignKey(
        "conversations.SkillGroup",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reassign on a breach to"),
        help_text=_("Empty: the ticket stays with its group and assignee."),
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_sla_policy"
            ),
            models.CheckConstraint(
                condition=Q(at_risk_ratio__gt=0, at_risk_ratio__lt=1),
                name="sla_at_risk_ratio_between_0_and_1",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SLATarget(models.Model):
    """Minutes of business time to the first response, between responses and to the
    resolution; an empty customer level applies to every level without its own row."""

    policy = models.ForeignKey(SLAPolicy, on_delete=models.CASCADE, related_name="targets")
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices)
    customer_level = models.CharField(
        _("customer level"),
        max_length=10,
        blank=True,
        help_text=_("Empty: any level without a row of its own."),
    )
    first_response_minutes = models.PositiveIntegerField(_("first response (minutes)"))
    next_response_minutes = models.PositiveIntegerField(
        _("next response (minutes)"), null=True, blank=True
    )
    resolution_minutes = models.PositiveIntegerField(_("resolution (minutes)"))

    class Meta:
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        ordering = ["policy", "-priority", "customer_level"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "priority", "customer_level"], name="sla_target_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy} · {self.get_priority_display()} · {self.customer_level or '*'}"


CLOCKS = ("first_response", "next_response", "resolution")
CLOCK_LABELS = {
    "first_response": pgettext_lazy("SLA clock", "first response"),
    "next_response": pgettext_lazy("SLA clock", "next response"),
    "resolution": pgettext_lazy("SLA clock", "resolution"),
}
# Ticket.OPEN_STATUSES, for the indexes (a class's Meta cannot see the class's names).
OPEN_STATUSES = ["new", "open", "pending_customer", "pending_internal", "reopened"]
# A clock that is running: it has a due time, is not breached yet, and its ticket does not
# wait on the customer. The breach job's index, and the list's "due soon" and "at risk".
RUNNING = Q(due__isnull=False, breached_at__isnull=True, paused=False)


class ClockValue:
    """A field of one of the ticket's SLA clocks, read as an attribute of the ticket
    (`ticket.resolution_due`): None while that clock has no row. Read-only: the clocks
    are changed through tickets/services/clock.py, which saves them."""

    def __init__(self, clock: str, field: str):
        self.clock, self.field = clock, field

    def __get__(self, ticket, owner=None):
        if ticket is None:
            return self
        row = ticket.sla_clocks.get(self.clock)
        return None if row is None else getattr(row, self.field)

    def __set__(self, ticket, value):
        raise AttributeError(
            f"{self.clock}_{self.field} is a TicketClock's: change it through "
            "tickets.services.clock"
        )


class Ticket(models.Model):
    """Whatever could not be settled at once, with a deadline and an owner."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", _("Open")
        PENDING_CUSTOMER = "pending_customer", _("Pending customer")
        PENDING_INTERNAL = "pending_internal", _("Pending internal")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")
        REOPENED = "reopened", _("Reopened")

    class Source(models.TextChoices):
        CHAT = "chat", _("Chat")
        API = "api", _("API")
        AGENT = "agent", _("Agent")
        EMAIL = "email", _("Email")

    OPEN_STATUSES = (
        Status.NEW,
        Status.OPEN,
        Status.PENDING_CUSTOMER,
        Status.PENDING_INTERNAL,
        Status.REOPENED,
    )

    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    # No index of their own on type, customer, assignee, SLA policy and creator: a
    # breach or any change writes a new version of the row into every index of the
    # table. The customer's and the assignee's are covered by `ticket_customer_recent`
    # and `ticket_assignee_status`; the others are only read when a type, a policy or
    # a user is deleted (rare, and refused for the first two while tickets use them).
    type = models.ForeignKey(
        TicketType,
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("type"),
        db_index=False,
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("customer"),
        db_index=False,
    )
    conversations = models.ManyToManyField(
        "conversations.Conversation",
        blank=True,
        related_name="tickets",
        verbose_name=_("conversations"),
    )
    skill_group = models.ForeignKey(
        "conversations.SkillGroup",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("group"),
    )
    assignee = models.ForeignKey(
        "conversations.Agent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("assignee"),
        db_index=False,
    )
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    tags = ArrayField(
        models.CharField(max_length=40), default=list, blank=True, verbose_name=_("tags")
    )
    sla_policy = models.ForeignKey(
        SLAPolicy,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("SLA policy"),
        db_index=False,
    )
    sla_paused_at = models.DateTimeField(
        _("SLA paused since"),
        null=True,
        blank=True,
        help_text=_("Set while the ticket waits on the customer: the clocks stand still."),
    )
    sla_paused_seconds = models.FloatField(
        _("business time paused (s)"),
        default=0,
        help_text=_("Business time spent waiting on the customer, added to every target."),
    )
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    # The clocks themselves are TicketClock rows, apart from this wide and much-indexed
    # row: the breach job marks a clock by writing its small row only. Read here as
    # ticket.<clock>_<field> (prefetch "clocks" when reading many tickets).
    first_response_due = ClockValue("first_response", "due")
    next_response_due = ClockValue("next_response", "due")
    resolution_due = ClockValue("resolution", "due")
    first_response_risk_at = ClockValue("first_response", "risk_at")
    next_response_risk_at = ClockValue("next_response", "risk_at")
    resolution_risk_at = ClockValue("resolution", "risk_at")
    first_response_warned_at = ClockValue("first_response", "warned_at")
    next_response_warned_at = ClockValue("next_response", "warned_at")
    resolution_warned_at = ClockValue("resolution", "warned_at")
    first_response_breached_at = ClockValue("first_response", "breached_at")
    next_response_breached_at = ClockValue("next_response", "breached_at")
    resolution_breached_at = ClockValue("resolution", "breached_at")
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
        db_index=False,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at"]
        indexes = [
            GinIndex(fields=["tags"], name="ticket_tags_gin"),
            models.Index(
                fields=["status", "-priority", "created_at"], name="ticket_status_priority"
            ),
            models.Index(fields=["customer", "-created_at"], name="ticket_customer_recent"),
            # The desk's list at a million tickets (docs/benchmarks.md): in its order,
            # the open ones (the default list; covering what visibility and the
            # count read) and all; the open ones of an assignee, of a group,
            # unassigned. The SLA filters read the clocks' own indexes (TicketClock).
            models.Index(
                fields=["-priority", "created_at", "id"],
                include=["assignee", "skill_group", "customer"],
                condition=Q(status__in=OPEN_STATUSES),
                name="ticket_open_queue",
            ),
            models.Index(fields=["-priority", "created_at", "id"], name="ticket_queue"),
            models.Index(
                fields=["assignee", "-priority", "created_at", "id"],
                condition=Q(status__in=OPEN_STATUSES),
                name="ticket_open_assignee",
            ),
            models.Index(
                fields=["skill_group", "-priority", "created_at", "id"],
                condition=Q(status__in=OPEN_STATUSES),
                name="ticket_open_group",
            ),
            models.Index(
                fields=["-priority", "created_at", "id"],
                include=["skill_group"],
                condition=Q(status__in=OPEN_STATUSES, assignee__isnull=True),
                name="ticket_open_unassigned",
            ),
            # The list's search: the subject's pairs of characters (see `bigrams`), of
            # the open tickets (the default list: they are the table's last rows) and
            # of the others, apart: a change to an open ticket writes to one of them.
            GinIndex(
                Func(F("subject"), function="ticket_text_bigrams"),
                condition=Q(status__in=OPEN_STATUSES),
                name="ticket_open_subject_bigrams",
            ),
            GinIndex(
                Func(F("subject"), function="ticket_text_bigrams"),
                condition=~Q(status__in=OPEN_STATUSES),
                name="ticket_done_subject_bigrams",
            ),
            models.Index(
                fields=["assignee", "status"],
                condition=Q(assignee__isnull=False),
                name="ticket_assignee_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    @property
    def number(self) -> str:
        return number_of(self.pk)

    @cached_property
    def sla_clocks(self) -> dict[str, "TicketClock"]:
        """The ticket's clocks by name (those that ever ran): from a prefetch of "clocks"
        when there is one, else one query. tickets.services.clock changes these objects
        and saves them (save_clocks)."""
        if self.pk is None:
            return {}
        rows = self.__dict__.get("clock_rows")  # tickets.selectors.with_clocks
        if rows is not None:
            return {row["clock"]: TicketClock.from_json(self, row) for row in rows}
        return {row.clock: row for row in self.clocks.all()}

    def refresh_from_db(self, *args, **kwargs) -> None:
        self.__dict__.pop("sla_clocks", None)
        super().refresh_from_db(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


def number_of(pk: int | None) -> str:
    """The number people use: T-000123 (the primary key, zero-padded)."""
    return f"T-{pk:06d}" if pk else ""


def pk_of(number: str) -> int | None:
    """T-000123, t-123 or 123 → 123; anything else → None."""
    text = number.strip().upper().removeprefix("T-")
    return int(text) if text.isdecimal() and 0 < int(text) < 2**63 else None


class TicketClock(models.Model):
    """One SLA clock of a ticket (first response, next response, resolution): when it
    runs out, from when it counts as at risk, and when the jobs warned of it and recorded
    its breach. A row exists once the clock has run; a stopped clock (answered, resolved)
    keeps its row without a due time, and its breach stays recorded.

    Apart from the ticket so that the breach and at-risk jobs (tickets/services/
    breaches.py) write one narrow row a clock, in this table's few indexes, instead of
    a new version of the ticket's row in every index of tickets_ticket. Written only
    under the ticket's row lock: by the ticket services through tickets/services/
    clock.py, and by the jobs, which lock the tickets first."""

    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.CASCADE,
        related_name="clocks",
        verbose_name=_("ticket"),
        db_index=False,  # ticket_clock_once starts with it
    )
    clock = models.CharField(
        _("clock"), max_length=20, choices=[(clock, CLOCK_LABELS[clock]) for clock in CLOCKS]
    )
    due = models.DateTimeField(
        _("due"), null=True, blank=True, help_text=_("Empty: the clock is stopped.")
    )
    risk_at = models.DateTimeField(_("at risk from"), null=True, blank=True)
    warned_at = models.DateTimeField(_("at-risk warning"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached"), null=True, blank=True)
    paused = models.BooleanField(
        _("paused"),
        default=False,
        help_text=_("The ticket waits on the customer: the clock stands still."),
    )
    ticket_open = models.BooleanField(
        _("ticket open"),
        default=True,
        help_text=_("The ticket's status is an open one (the list's breached tickets)."),
    )

    class Meta:
        verbose_name = _("SLA clock")
        verbose_name_plural = _("SLA clocks")
        ordering = ["ticket", "clock"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "clock"], name="ticket_clock_once"),
        ]
        indexes = [
            # The breach job, most overdue first; the list's "due within the hour".
            models.Index(
                fields=["due"], include=["ticket"], condition=RUNNING, name="ticket_clock_running"
            ),
            # The list's "at risk": running clocks past their at-risk time.
            models.Index(
                fields=["risk_at"],
                include=["due", "ticket"],
                condition=RUNNING & Q(risk_at__isnull=False),
                name="ticket_clock_risk",
            ),
            # The at-risk job: those not warned yet.
            models.Index(
                fields=["risk_at"],
                condition=RUNNING & Q(risk_at__isnull=False, warned_at__isnull=True),
                name="ticket_clock_to_warn",
            ),
            # The list's "breached" open tickets.
            models.Index(
                fields=["ticket"],
                condition=Q(breached_at__isnull=False, ticket_open=True),
                name="ticket_clock_breached",
            ),
        ]

    def __str__(self) -> str:
        return f"{number_of(self.ticket_id)} · {CLOCK_LABELS.get(self.clock, self.clock)}"

    STATE = ("due", "risk_at", "warned_at", "breached_at", "paused", "ticket_open")

    @classmethod
    def from_db(cls, db, field_names, values):
        row = super().from_db(db, field_names, values)
        row.saved_state = row.state
        return row

    @property
    def state(self) -> tuple:
        return tuple(getattr(self, name) for name in self.STATE)

    @classmethod
    def from_json(cls, ticket: Ticket, row: dict) -> "TicketClock":
        """A clock as tickets.selectors.with_clocks reads it (JSON, times as ISO text)."""
        times = {
            name: datetime.fromisoformat(row[name]) if row[name] else None
            for name in ("due", "risk_at", "warned_at", "breached_at")
        }
        clock = cls(
            ticket=ticket,
            id=row["id"],
            clock=row["clock"],
            paused=row["paused"],
            ticket_open=row["ticket_open"],
            **times,
        )
        clock.saved_state = clock.state
        return clock


def breached_tickets(*, open_only: bool = False) -> Q:
    """A ticket with any clock breached (the list's "breached" filter, the API's);
    `open_only`: of the open tickets only, read from their own index."""
    clocks = TicketClock.objects.filter(breached_at__isnull=False)
    if open_only:
        clocks = clocks.filter(ticket_open=True)
    return Q(pk__in=clocks.values("ticket_id"))


class TicketComment(models.Model):
    """A reply to the customer (public) or a note for colleagues (internal); written by an
    agent (author) or by the customer (from_customer)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    via = models.CharField(
        _("through"),
        max_length=120,
        blank=True,
        help_text=_("The partner API key that wrote it, when no person did."),
    )
    from_customer = models.BooleanField(_("from the customer"), default=False)
    public = models.BooleanField(_("public"), default=True)
    body = models.TextField(_("text"))
    # Where a public reply reached the customer: the chat it was posted in. A reply to a
    # customer with no chat open waits here until they open one.
    delivered_in = models.ForeignKey(
        "conversations.Conversation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("delivered in"),
    )
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_customer=True, public=False),
                name="customer_comments_are_public",
            ),
        ]
        indexes = [
            models.Index(
                fields=["ticket"],
                condition=Q(public=True, from_customer=False, delivered_at__isnull=True),
                name="ticket_reply_undelivered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id and number_of(self.ticket_id)} · {self.body[:40]}"


class TicketEvent(models.Model):
    """The timeline: every change, who made it, old → new."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        CHANGED = "changed", _("Changed")
        COMMENTED = "commented", _("Commented")
        SLA = "sla", _("SLA")
        ASSIGNED = "assigned", _("Assigned")
        RULE = "rule", _("Rule")
        MACRO = "macro", _("Macro")
        FLOW = "flow", _("Preset flow")
        COLLAB = "collab", _("Collaboration")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    via = models.CharField(
        _("through"),
        max_length=120,
        blank=True,
        help_text=_("The partner API key that made the change, when no person did."),
    )
    field = models.CharField(_("field"), max_length=40, blank=True)
    old = models.TextField(_("old value"), blank=True)
    new = models.TextField(_("new value"), blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{number_of(self.ticket_id)} {self.kind} {self.field}".strip()


# --- automation (tickets/rules.py is the vocabulary, tickets/services/automation.py runs it)

RULE_HELP_CONDITIONS = _(
    'A list; every condition must hold. Example: [{"field": "status", "op": "is", '
    '"value": "pending_customer"}, {"field": "hours_pending", "op": "gte", "value": 48, '
    '"business": true}]. Fields: status, priority, type, skill_group, customer_level, '
    "source, tags, subject, description, text, hours_since_created, hours_since_updated, "
    "hours_pending, assigned, replied, changed. See docs/tickets.md."
)
ACTION_HELP = _(
    'A list, carried out in order. Example: [{"action": "set", "field": "priority", '
    '"value": "high"}, {"action": "add_tag", "value": "vip"}, {"action": "reply", '
    '"zh": "您好 {customer}", "en": "Hello {customer}"}, {"action": "notify", "to": '
    '["assignee", "group", "supervisors"]}, {"action": "webhook"}]. Actions: set, add_tag, '
    "remove_tag, reply, note, notify, webhook, refund_status. Placeholders: {number}, "
    "{customer}, {subject}, {status}, {priority}, {type}, {group}, {assignee}."
)


class AutomationRule(models.Model):
    """When a ticket is created, is updated, or has waited long enough, and every
    condition holds, the actions are carried out. Active rules run in `position` order,
    each seeing what the ones before changed; what rules change never triggers rules."""

    class Trigger(models.TextChoices):
        CREATED = "created", _("A ticket is created")
        UPDATED = "updated", _("A ticket is updated")
        TIME = "time", _("Time passes (checked every few minutes, once per ticket)")

    name = models.CharField(_("name"), max_length=120, unique=True)
    trigger = models.CharField(_("when"), max_length=10, choices=Trigger.choices)
    conditions = models.JSONField(
        _("conditions"), default=list, blank=True, help_text=RULE_HELP_CONDITIONS
    )
    actions = models.JSONField(_("actions"), default=list, help_text=ACTION_HELP)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("automation rule")
        verbose_name_plural = _("automation rules")
        ordering = ["position", "id"]
        indexes = [
            models.Index(
                fields=["trigger", "position"],
                condition=Q(is_active=True),
                name="rule_active_by_trigger",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from tickets import rules

        errors = rules.definition_errors(
            conditions=self.conditions, actions=self.actions, trigger=self.trigger
        )
        if errors:
            raise ValidationError(errors)


class RuleRun(models.Model):
    """A time-based rule fired on a ticket. Written in the transaction that carries out
    its actions, under the ticket's row lock and a unique constraint: at most once per
    rule and ticket, however many workers run."""

    rule = models.ForeignKey(AutomationRule, on_delete=models.CASCADE, related_name="runs")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="rule_runs")
    ran_at = models.DateTimeField(_("ran"), auto_now_add=True)

    class Meta:
        verbose_name = _("rule run")
        verbose_name_plural = _("rule runs")
        ordering = ["-ran_at"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "ticket"], name="rule_runs_once_per_ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} · {number_of(self.ticket_id)}"


class Macro(BilingualName, models.Model):
    """A named bundle of actions an agent applies to a ticket in one click (the same
    actions as rules); limited to agents of some groups, or for everyone."""

    name_zh = models.CharField(_("name (Chinese)"), max_length=80, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=80, unique=True)
    actions = models.JSONField(_("actions"), default=list, help_text=ACTION_HELP)
    skill_groups = models.ManyToManyField(
        "conversations.SkillGroup",
        blank=True,
        related_name="+",
        verbose_name=_("for groups"),
        help_text=_("Empty: every agent may apply it."),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("macro")
        verbose_name_plural = _("macros")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from tickets import rules

        errors = rules.definition_errors(actions=self.actions)
        if errors:
            raise ValidationError(errors)


class ConfirmationRequest(models.Model):
    """A preset flow told the customer something (where their refund stands) and waits
    for them to confirm it: their next reply answers it, and a confirmation resolves
    the ticket. One unanswered request per ticket."""

    class Flow(models.TextChoices):
        REFUND_STATUS = "refund_status", _("Refund status")

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="confirmation_requests"
    )
    flow = models.CharField(_("flow"), max_length=20, choices=Flow.choices)
    asked_at = models.DateTimeField(_("asked"), auto_now_add=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    confirmed = models.BooleanField(
        _("confirmed"), null=True, help_text=_("Empty: not answered, or asked again.")
    )

    class Meta:
        verbose_name = _("confirmation request")
        verbose_name_plural = _("confirmation requests")
        ordering = ["-asked_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"],
                condition=Q(answered_at__isnull=True),
                name="one_open_confirmation_per_ticket",
            ),
        ]

    def __str__(self) -> str:
        return f"{number_of(self.ticket_id)} · {self.get_flow_display()}"


class CollaborationRequest(models.Model):
    """A question the agent working a ticket asks another team (R&D about a fault, billing
    about a charge), with the ticket's summary attached as it was when asked.

    open → accepted (one of the group's agents owns it) → answered; or declined by the
    group, or withdrawn by the sender. While it is open or accepted the group's agents
    may see the ticket. Every step is a service in tickets/services/collaboration.py.
    """

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("collaboration request", "Waiting")
        ACCEPTED = "accepted", pgettext_lazy("collaboration request", "Accepted")
        ANSWERED = "answered", pgettext_lazy("collaboration request", "Answered")
        DECLINED = "declined", pgettext_lazy("collaboration request", "Declined")
        WITHDRAWN = "withdrawn", pgettext_lazy("collaboration request", "Withdrawn")

    ACTIVE_STATUSES = (Status.OPEN, Status.ACCEPTED)

    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.CASCADE,
        related_name="collaboration_requests",
        verbose_name=_("ticket"),
    )
    from_agent = models.ForeignKey(
        "conversations.Agent",
        on_delete=models.SET_NULL,
        null=True,
        related_name="sent_collaboration_requests",
        verbose_name=_("asked by"),
    )
    to_group = models.ForeignKey(
        "conversations.SkillGroup",
        on_delete=models.PROTECT,
        related_name="collaboration_requests",
        verbose_name=_("asked team"),
    )
    owner = models.ForeignKey(
        "conversations.Agent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_collaboration_requests",
        verbose_name=_("taken by"),
    )
    note = models.TextField(_("question"))
    context = models.JSONField(
        _("ticket summary"),
        default=dict,
        help_text=_(
            "The ticket as the sender saw it: subject, customer, level, priority, "
            "the customer's latest words, the conversation."
        ),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    due_at = models.DateTimeField(_("answer due"))
    answer = models.TextField(
        _("answer"), blank=True, help_text=_("The answer, or why the team declined.")
    )
    created_at = models.DateTimeField(_("asked"), auto_now_add=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    declined_at = models.DateTimeField(_("declined"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    overdue_at = models.DateTimeField(
        _("overdue since"),
        null=True,
        blank=True,
        help_text=_("Set once when the due time passed without an answer (people are told)."),
    )

    class Meta:
        verbose_name = _("collaboration request")
        verbose_name_plural = _("collaboration requests")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One open question per team and ticket: a second one would split the answers.
            models.UniqueConstraint(
                fields=["ticket", "to_group"],
                condition=Q(status__in=["open", "accepted"]),
                name="collaboration_once_per_team_while_open",
            ),
            models.CheckConstraint(
                condition=~Q(status="answered") | ~Q(answer=""),
                name="collaboration_answered_has_an_answer",
            ),
        ]
        indexes = [
            models.Index(
                fields=["to_group", "due_at"],
                condition=Q(status__in=["open", "accepted"]),
                name="collaboration_open_by_team",
            ),
            models.Index(
                fields=["due_at"],
                condition=Q(status__in=["open", "accepted"], overdue_at__isnull=True),
                name="collaboration_running",
            ),
            models.Index(fields=["from_agent", "-created_at"], name="collaboration_sent"),
        ]

    def __str__(self) -> str:
        return f"{number_of(self.ticket_id)} → {self.to_group}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


BIGRAMS = "ticket_text_bigrams"  # an SQL function of the tickets' migration 0006


def bigrams(expression) -> Func:
    """The pairs of consecutive characters of a text, lower-cased, as an array (SQL:
    ticket_text_bigrams). A text contains a search only if it has every pair of the
    search: with the subjects' pairs in a GIN index, PostgreSQL without pg_trgm finds
    "耳机" or "refund" in a million subjects without reading them all. Some
    microseconds a call: an index condition, not a filter to run on every row."""
    return Func(expression, function=BIGRAMS, output_field=ArrayField(models.TextField()))


class SavedView(models.Model):
    """A set of filters of the desk's ticket list kept under a name: for its owner, or
    (a supervisor's) shared with everyone or with a skill group. The filters are those
    of tickets.selectors.TicketFilters, checked when saved."""

    class Scope(models.TextChoices):
        PRIVATE = "private", _("Only me")
        EVERYONE = "everyone", _("Everyone")
        GROUP = "group", _("A group")

    owner = models.ForeignKey(
        "conversations.Agent",
        on_delete=models.CASCADE,
        related_name="saved_ticket_views",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=60)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    scope = models.CharField(
        _("shared with"), max_length=10, choices=Scope.choices, default=Scope.PRIVATE
    )
    skill_group = models.ForeignKey(
        "conversations.SkillGroup",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("group"),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["owner", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="saved_view_name_once"),
            models.CheckConstraint(
                condition=Q(scope="group", skill_group__isnull=False)
                | (~Q(scope="group") & Q(skill_group__isnull=True)),
                name="saved_view_group_with_group_scope",
            ),
        ]
        indexes = [models.Index(fields=["scope", "skill_group"], name="saved_view_shared")]

    def __str__(self) -> str:
        return self.name

    @property
    def query(self) -> dict[str, str]:
        """The filters as the list's query string has them."""
        return {name: "" if value is None else str(value) for name, value in self.filters.items()}
