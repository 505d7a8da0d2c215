import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class SkillGroup(models.Model):
    """A team agents belong to, by business (pre-sales, after-sales…) or customer level."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=80)
    name_en = models.CharField(_("name (English)"), max_length=80)

    class Meta:
        verbose_name = _("skill group")
        verbose_name_plural = _("skill groups")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh


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

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_supervisor(self) -> bool:
        return self.user.is_superuser or self.user.groups.filter(name="Supervisors").exists()


class Conversation(models.Model):
    class Channel(models.TextChoices):
        WEB = "web", _("Web")
        APP = "app", _("App")
        WECHAT = "wechat", _("WeChat")
        MINIPROGRAM = "miniprogram", _("Mini-program")

    class Status(models.TextChoices):
        BOT = "bot", _("With the bot")
        QUEUED = "queued", _("Waiting for an agent")
        ASSIGNED = "assigned", _("With an agent")
        CLOSED = "closed", _("Closed")

    OPEN_STATUSES = (Status.BOT, Status.QUEUED, Status.ASSIGNED)
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

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "queued_at"], name="conv_status_queued"),
            models.Index(fields=["assignee", "status"], name="conv_assignee_status"),
            models.Index(fields=["customer", "status"], name="conv_customer_status"),
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


class Attachment(models.Model):
    """A file a customer or an agent sent: checked by content, stored under a generated name."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="attachments"
    )
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachment_set"
    )
    uploaded_by = models.CharField(_("uploaded by"), max_length=10, choices=Message.Sender.choices)
    name = models.CharField(
        _("name"),
        max_length=200,
        help_text=_("The sender's file name, cleaned; shown, never used as a path."),
    )
    content_type = models.CharField(_("content type"), max_length=100)
    extension = models.CharField(max_length=10)
    size = models.PositiveBigIntegerField(_("size"))
    file = models.FileField(upload_to=_attachment_path, max_length=200)
    transcript = models.TextField(
        _("transcript"), blank=True, help_text=_("Speech-to-text of a voice note.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def kind(self) -> str:
        return self.content_type.split("/", 1)[0]
