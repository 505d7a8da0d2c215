import re
import secrets
import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from helpdesk.languages import BilingualName


class SkillGroup(BilingualName, models.Model):
    """A team agents belong to, by business (pre-sales, after-sales…) or customer level.

    How a waiting conversation finds its agent is set per group: the order of
    agents (round-robin or least load), whether the customer's dedicated
    agent and the agent who served them last come first, and where the
    conversation overflows to after waiting too long.
    """

    class Strategy(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round-robin (longest since last assignment)")
        LEAST_LOAD = "least_load", _("Least load (fewest open conversations)")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=80)
    name_en = models.CharField(_("name (English)"), max_length=80)
    strategy = models.CharField(
        _("assignment"), max_length=12, choices=Strategy.choices, default=Strategy.LEAST_LOAD
    )
    prefer_returning_agent = models.BooleanField(
        _("returning customer to their last agent"),
        default=True,
        help_text=_(
            "Give the conversation to the agent who served this customer last, if they are "
            "online with free capacity."
        ),
    )
    returning_window_hours = models.PositiveIntegerField(
        _("returning window (hours)"),
        default=72,
        help_text=_("How recent that last conversation must be."),
    )
    prefer_dedicated_agent = models.BooleanField(
        _("dedicated agent first"),
        default=False,
        help_text=_("Give the customer's dedicated agent (VIP service) the first chance."),
    )
    overflow_group = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("overflow to"),
        help_text=_("After the overflow wait, this group's agents may take the conversation too."),
    )
    overflow_after = models.PositiveIntegerField(_("overflow after (seconds)"), default=120)
    in_menu = models.BooleanField(
        _("in the customer's menu"),
        default=True,
        help_text=_("Customers can pick this group when they ask for a person."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("skill group")
        verbose_name_plural = _("skill groups")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name


class Agent(models.Model):
    """The support profile of a staff user: presence, capacity and skills."""

    class Status(models.TextChoices):
        ONLINE = "online", _("Online")
        AWAY = "away", _("Away")
        OFFLINE = "offline", _("Offline")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent"
    )
    display_name = models.CharField(_("display name"), max_length=80)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OFFLINE
    )
    capacity = models.PositiveSmallIntegerField(
        _("capacity"), default=5, help_text=_("Conversations this agent can hold at once.")
    )
    skill_groups = models.ManyToManyField(
        SkillGroup, related_name="agents", blank=True, verbose_name=_("skill groups")
    )
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    # Set when the status went to away because the agent's last desk closed
    # (not by their choice): opening the desk again brings them back online.
    away_on_disconnect = models.BooleanField(default=False, editable=False)
    last_assigned_at = models.DateTimeField(_("last assigned"), null=True, blank=True)

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_supervisor(self) -> bool:
        cached = getattr(self, "_is_supervisor", None)
        if cached is None:
            cached = self._is_supervisor = (
                self.user.is_superuser or self.user.groups.filter(name="Supervisors").exists()
            )
        return cached

    @property
    def unread_notices(self) -> int:
        """How many of their notices are unread (the desk's navigation shows it)."""
        return self.notices.filter(read_at__isnull=True).count()


class AgentStatusLog(models.Model):
    """One stretch of an agent's presence: a status from `started_at` until `ended_at`
    (empty while it lasts). Written by `set_agent_status` with every change, so online
    time and occupancy can be measured (docs/metrics.md)."""

    agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, related_name="status_log", verbose_name=_("agent")
    )
    status = models.CharField(_("status"), max_length=10, choices=Agent.Status.choices)
    started_at = models.DateTimeField(_("from"))
    ended_at = models.DateTimeField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("agent status period")
        verbose_name_plural = _("agent status log")
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["agent", "started_at"], name="agent_status_log_agent"),
            models.Index(
                fields=["ended_at"],
                condition=Q(status="online"),
                name="agent_status_log_online",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["agent"],
                condition=Q(ended_at__isnull=True),
                name="agent_status_log_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.status} {self.started_at:%Y-%m-%d %H:%M}"


class DedicatedAgent(models.Model):
    """The agent a (VIP) customer is looked after by: routing offers them the customer first."""

    customer = models.OneToOneField(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="dedicated_agent",
        verbose_name=_("customer"),
    )
    agent = models.ForeignKey(
        Agent, on_delete=models.CASCADE, related_name="dedicated_customers", verbose_name=_("agent")
    )

    class Meta:
        verbose_name = _("dedicated agent")
        verbose_name_plural = _("dedicated agents")

    def __str__(self) -> str:
        return f"{self.customer} → {self.agent}"


class Conversation(models.Model):
    class Channel(models.TextChoices):
        WEB = "web", _("Web")
        APP = "app", _("App")
        WECHAT = "wechat", _("WeChat")
        MINIPROGRAM = "miniprogram", _("Mini-program")
        # Channels a partner relays through the API (POST /api/v1/inbound/messages/).
        SMS = "sms", _("SMS")
        EMAIL = "email", _("Email")

    class Status(models.TextChoices):
        BOT = "bot", _("With the bot")
        QUEUED = "queued", _("Waiting for an agent")
        ASSIGNED = "assigned", _("With an agent")
        CLOSED = "closed", _("Closed")

    class Resolution(models.TextChoices):
        RESOLVED = "resolved", _("Resolved")
        NOT_RESOLVED = "not_resolved", _("Not resolved")
        SPAM = "spam", _("Spam")
        LEFT_MESSAGE = "left_message", _("Left a message")

    class Priority(models.IntegerChoices):
        NORMAL = 0, _("Normal")
        VIP = 1, _("VIP")

    OPEN_STATUSES = (Status.BOT, Status.QUEUED, Status.ASSIGNED)
    # Where the chat protocol's sessions open (the widget, apps, mini-programs)…
    CHAT_CHANNELS = (Channel.WEB, Channel.APP, Channel.WECHAT, Channel.MINIPROGRAM)
    # …and the channels whose messages a partner relays (contracts/partner-api.md).
    INBOUND_CHANNELS = (
        Channel.APP,
        Channel.WECHAT,
        Channel.MINIPROGRAM,
        Channel.SMS,
        Channel.EMAIL,
    )
    WAITING_STATUSES = (Status.BOT, Status.QUEUED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="conversations",
        verbose_name=_("customer"),
    )
    channel = models.CharField(
        _("channel"), max_length=16, choices=Channel.choices, default=Channel.WEB
    )
    language = models.CharField(_("language"), max_length=2, default="zh")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.BOT
    )
    assignee = models.ForeignKey(
        Agent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
        verbose_name=_("assignee"),
    )
    skill_group = models.ForeignKey(
        SkillGroup,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
        verbose_name=_("skill group"),
    )
    priority = models.SmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    handoff_reason = models.CharField(_("handoff reason"), max_length=20, blank=True)
    resolution = models.CharField(
        _("resolution"), max_length=14, choices=Resolution.choices, blank=True
    )
    tags = ArrayField(
        models.CharField(max_length=40), verbose_name=_("tags"), default=list, blank=True
    )
    transfer_count = models.PositiveSmallIntegerField(_("transfers"), default=0)
    last_seq = models.PositiveIntegerField(_("last seq"), default=0)
    customer_read_seq = models.PositiveIntegerField(default=0)
    agent_read_seq = models.PositiveIntegerField(default=0)
    page = models.JSONField(_("page"), default=dict, blank=True)
    # What the bot keeps between turns (pending intent, slots, fallbacks in a row).
    bot_context = models.JSONField(_("bot context"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    last_message_at = models.DateTimeField(_("last message"), null=True, blank=True)
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True)
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # When its texts and files were erased (the customer's erasure, or the retention of
    # closed conversations): the row, its messages' senders, times and bot metadata stay,
    # so every metric counts it as before.
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "queued_at"], name="conv_status_queued"),
            models.Index(fields=["assignee", "status"], name="conv_assignee_status"),
            models.Index(fields=["customer", "status"], name="conv_customer_status"),
            # The queue: who is next, VIP first, then the longest wait.
            models.Index(
                "skill_group",
                models.F("priority").desc(),
                "queued_at",
                condition=Q(status="queued"),
                name="conv_queue",
            ),
            GinIndex(fields=["tags"], name="conv_tags"),
            # The partner API's list, newest first (a cursor over created_at, id), and its
            # ?updated_after=.
            models.Index(fields=["created_at", "id"], name="conv_created"),
            models.Index(fields=["updated_at"], name="conv_updated"),
            # The retention job: closed conversations not erased yet, oldest first.
            models.Index(
                fields=["closed_at", "id"],
                condition=Q(status="closed", erased_at__isnull=True),
                name="conv_retention",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="assigned") | Q(assignee__isnull=False),
                name="conv_assigned_has_assignee",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} · {self.get_status_display()}"

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED


class Message(models.Model):
    class Sender(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        BOT = "bot", _("Bot")
        AGENT = "agent", _("Agent")
        SYSTEM = "system", _("System")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    seq = models.PositiveIntegerField(_("seq"))
    sender = models.CharField(_("sender"), max_length=10, choices=Sender.choices)
    sender_name = models.CharField(_("sender name"), max_length=120, blank=True)
    agent = models.ForeignKey(
        Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    body = models.TextField(_("body"))
    client_id = models.CharField(_("client id"), max_length=64, blank=True)
    meta = models.JSONField(_("meta"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["conversation", "seq"]
        constraints = [
            # Also the index for "messages after seq N" (resume).
            models.UniqueConstraint(fields=["conversation", "seq"], name="msg_conversation_seq"),
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                condition=~Q(client_id=""),
                name="msg_conversation_client_id",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.sender}: {self.body[:40]}"


def _attachment_path(instance, filename: str) -> str:
    # Never the uploaded name: a generated one, in a folder per conversation.
    return f"attachments/{instance.conversation_id.hex}/{instance.id.hex}{instance.extension}"


class StoredUpload(models.Model):
    """What every stored upload keeps, a conversation's attachment or a team room's: what it
    really is (checked by content: conversations/files.py) and the sender's name for
    display; the file itself lies under a generated name (each kind's `file`)."""

    name = models.CharField(
        _("name"),
        max_length=200,
        help_text=_("The sender's file name, cleaned; shown, never used as a path."),
    )
    content_type = models.CharField(_("content type"), max_length=100)
    extension = models.CharField(max_length=10)
    size = models.PositiveBigIntegerField(_("size"))

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @classmethod
    def from_checked(cls, checked, **fields):
        """A new row for an upload that passed conversations.files.check_upload."""
        return cls(
            name=checked.name,
            content_type=checked.kind.content_type,
            extension=checked.kind.extension,
            size=checked.size,
            **fields,
        )

    @property
    def kind(self) -> str:
        return self.content_type.split("/", 1)[0]


class Attachment(StoredUpload):
    """A file a customer or an agent sent: checked by content, stored under a generated name."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="attachments"
    )
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachment_set"
    )
    uploaded_by = models.CharField(_("uploaded by"), max_length=10, choices=Message.Sender.choices)
    file = models.FileField(upload_to=_attachment_path, max_length=200)
    transcript = models.TextField(
        _("transcript"), blank=True, help_text=_("Speech-to-text of a voice note.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at"]


class Participant(models.Model):
    """A colleague invited to consult on a conversation: sees it live, writes notes, and
    is not its assignee."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="participants"
    )
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="consultations")
    invited_by = models.ForeignKey(
        Agent, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("invited by")
    )
    joined_at = models.DateTimeField(_("invited"), auto_now_add=True)
    left_at = models.DateTimeField(_("left"), null=True, blank=True)

    class Meta:
        verbose_name = _("consulting colleague")
        verbose_name_plural = _("consulting colleagues")
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "agent"],
                condition=Q(left_at__isnull=True),
                name="participant_once_at_a_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent} · {self.conversation_id}"


class InternalNote(models.Model):
    """What agents write about a conversation for each other; never sent to the customer."""

    class Kind(models.TextChoices):
        NOTE = "note", _("Note")
        TRANSFER = "transfer", _("Transfer")
        CONSULT = "consult", _("Consultation")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="internal_notes"
    )
    agent = models.ForeignKey(
        Agent, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("author")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.NOTE)
    body = models.TextField(_("note"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("internal note")
        verbose_name_plural = _("internal notes")
        ordering = ["created_at"]
        indexes = [models.Index(fields=["conversation", "created_at"], name="note_conversation")]

    def __str__(self) -> str:
        return self.body[:60]


class CannedReply(models.Model):
    """A ready answer an agent inserts with `/shortcut` in the composer."""

    class Language(models.TextChoices):
        ZH = "zh", "中文"
        EN = "en", "English"

    shortcut = models.SlugField(
        _("shortcut"), max_length=40, help_text=_("Typed after a slash: /shortcut")
    )
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(
        _("text"),
        max_length=4000,
        help_text=_("{name} is replaced by the customer's name, {agent} by the agent's."),
    )
    skill_group = models.ForeignKey(
        SkillGroup,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="canned_replies",
        verbose_name=_("skill group"),
        help_text=_("Empty: offered to every agent."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["shortcut", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["shortcut", "language"], name="canned_reply_shortcut_language"
            ),
        ]

    def __str__(self) -> str:
        return f"/{self.shortcut} ({self.language})"


class OfflineMessage(models.Model):
    """What a customer left when no agent was online; a later issue turns it into a ticket."""

    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, related_name="offline_message"
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="offline_messages"
    )
    skill_group = models.ForeignKey(
        SkillGroup, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(_("message"), max_length=4000)
    contact = models.CharField(
        _("contact"), max_length=120, blank=True, help_text=_("Where to answer: email or phone.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True)

    class Meta:
        verbose_name = _("offline message")
        verbose_name_plural = _("offline messages")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.body[:60]


class Notice(models.Model):
    """Something an agent must see (a ticket assigned to them, an SLA at risk or breached, a
    collaboration request): kept until read, shown live on their desk. Written in both
    languages when it is made; `key` makes each notice happen once per agent."""

    # Indexed by `notice_once_per_agent`, which begins with the agent.
    agent = models.ForeignKey(
        Agent,
        on_delete=models.CASCADE,
        related_name="notices",
        verbose_name=_("agent"),
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=40)
    key = models.CharField(_("key"), max_length=200)
    text_zh = models.CharField(_("text (Chinese)"), max_length=500)
    text_en = models.CharField(_("text (English)"), max_length=500)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "key"], name="notice_once_per_agent")
        ]
        indexes = [
            models.Index(
                fields=["agent", "-created_at"],
                condition=models.Q(read_at__isnull=True),
                name="notice_unread",
            )
        ]

    def __str__(self) -> str:
        return self.text_en

    def text_in(self, language: str) -> str:
        return self.text_zh if language.startswith("zh") else self.text_en


class Survey(models.Model):
    """A satisfaction survey sent into a conversation after it closed (chat protocol:
    `survey` / `survey.answer`): answered once, 1–5, with an optional comment."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,
        related_name="surveys",
        verbose_name=_("conversation"),
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="surveys",
        verbose_name=_("customer"),
    )
    # Where it was asked: the customer's open chat when there is one, else the
    # conversation itself.
    delivered_in = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("asked in"),
    )
    outreach = models.OneToOneField(
        "customers.Outreach",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="survey",
        verbose_name=_("outreach"),
    )
    question = models.CharField(_("question"), max_length=500)
    reward_points = models.PositiveIntegerField(_("reward (points)"), default=0)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__gte=1, score__lte=5),
                name="survey_score_1_to_5",
            )
        ]
        indexes = [
            models.Index(
                fields=["-answered_at"],
                condition=models.Q(answered_at__isnull=False),
                name="survey_answered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id} {self.score or '–'}"


def _site_key() -> str:
    return secrets.token_urlsafe(12)


# scheme://host[:port] as a browser sends it in Origin: a DNS name or an IP address (IPv6
# in brackets), and nothing else (it goes into a CSP header as it is).
ORIGIN_PATTERN = re.compile(
    r"https?://([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:[0-9]{1,5})?", re.IGNORECASE
)


def validate_origins(value: str) -> None:
    """One origin a line: scheme, host and port only (https://shop.example.com)."""
    for line in value.splitlines():
        origin = line.strip()
        if origin and not ORIGIN_PATTERN.fullmatch(origin):
            raise ValidationError(
                _("Not an origin: %(origin)s (scheme://host[:port], nothing after)."),
                params={"origin": origin},
            )


class WidgetSite(models.Model):
    """A shop site that embeds the chat widget: the key its script tag names
    (`data-channel`), the origins allowed to show it, its language."""

    class Language(models.TextChoices):
        AUTO = "", _("The visitor's browser")
        ZH = "zh", "中文"
        EN = "en", "English"

    name = models.CharField(_("name"), max_length=80)
    key = models.SlugField(
        _("key"),
        max_length=40,
        unique=True,
        default=_site_key,
        help_text=_('The script tag\'s data-channel="…".'),
    )
    allowed_origins = models.TextField(
        _("allowed origins"),
        validators=[validate_origins],
        help_text=_(
            "One a line, e.g. https://www.shop.example: only pages of these origins may show "
            "the widget and frame the chat."
        ),
    )
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, blank=True, default=""
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("widget site")
        verbose_name_plural = _("widget sites")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def origins(self) -> list[str]:
        return [line.strip().lower() for line in self.allowed_origins.splitlines() if line.strip()]

    def allows(self, origin: str | None) -> bool:
        return bool(origin) and self.enabled and origin.lower() in self.origins


# Team rooms live in a module of their own, registered with this app.
from conversations.rooms.models import (  # noqa: E402, F401
    Room,
    RoomAttachment,
    RoomMember,
    RoomMention,
    RoomMessage,
    RoomMessageRevision,
    RoomReadPosition,
    UrgentAcknowledgement,
)
