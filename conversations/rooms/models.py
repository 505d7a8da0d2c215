"""Team rooms: where agents talk to each other (docs/rooms.md).

Registered in the `conversations` app (conversations/models.py imports this
module). A room's messages are numbered per room (`seq`, their place) and every
change to a room's messages (a new one, an edit, a delete, tags, a pin) takes the
room's next `rev`: a device that was offline asks for everything after the last
`rev` it saw and gets each changed message once, in its current state.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from conversations.files import SAFE_INLINE_IMAGES
from conversations.models import Agent, Conversation, SkillGroup, StoredUpload


class Room(models.Model):
    class Kind(models.TextChoices):
        GROUP = "group", _("Team")
        ADHOC = "adhoc", _("Room")
        DIRECT = "direct", _("Direct messages")
        CONSULT = "consult", _("Consultation")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=80, blank=True)
    # A team's room: its members are the group's agents (and supervisors), read live from
    # the group, so nothing needs keeping in step when agents change groups.
    skill_group = models.OneToOneField(
        SkillGroup,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="room",
        verbose_name=_("skill group"),
    )
    # The consult room of a customer conversation (colleagues invited to it).
    conversation = models.OneToOneField(
        Conversation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="consult_room",
        verbose_name=_("conversation"),
    )
    # Direct messages: "<lower agent id>:<higher agent id>", one room per pair.
    direct_key = models.CharField(max_length=40, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(
        Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_seq = models.PositiveIntegerField(default=0)
    last_rev = models.PositiveBigIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("team room")
        verbose_name_plural = _("team rooms")
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="group") | Q(skill_group__isnull=False),
                name="room_group_has_group",
            ),
            models.CheckConstraint(
                condition=~Q(kind="consult") | Q(conversation__isnull=False),
                name="room_consult_has_conversation",
            ),
            models.CheckConstraint(
                condition=~Q(kind="direct") | Q(direct_key__isnull=False),
                name="room_direct_has_key",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title(self) -> str:
        if self.kind == self.Kind.GROUP and self.skill_group_id:
            return self.skill_group.name
        return self.name or str(self.get_kind_display())


class RoomMember(models.Model):
    """A member of an ad-hoc, direct or consult room (team rooms take the group's agents)."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="members")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="room_memberships")
    added_by = models.ForeignKey(
        Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("room member")
        verbose_name_plural = _("room members")
        constraints = [
            models.UniqueConstraint(fields=["agent", "room"], name="room_member_once"),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} in {self.room_id}"


class RoomReadPosition(models.Model):
    """How far one agent has read a room: one row for all their devices, only moving on."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    read_seq = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "room"], name="room_read_once"),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} read {self.room_id} to {self.read_seq}"


class RoomMessage(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", _("Message")
        CARD = "card", _("Card")
        SYSTEM = "system", _("System")

    class Priority(models.IntegerChoices):
        NORMAL = 0, pgettext_lazy("room message", "Normal")
        HIGH = 1, pgettext_lazy("room message", "High")
        URGENT = 2, pgettext_lazy("room message", "Urgent")

    class Tag(models.TextChoices):
        ORDER = "order", pgettext_lazy("room message", "Order")
        TECHNICAL = "technical", pgettext_lazy("room message", "Technical")
        COMPLAINT = "complaint", pgettext_lazy("room message", "Complaint")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    rev = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEXT)
    author = models.ForeignKey(
        Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="room_messages"
    )
    author_name = models.CharField(max_length=80, blank=True)
    body = models.TextField(_("message"), blank=True)
    # A ticket event's card: {"kind": "ticket", "event", "ticket", "number", "subject", …}.
    card = models.JSONField(default=dict, blank=True)
    # What the text points at (T-000123, a conversation's link): shown as live cards.
    refs = models.JSONField(default=list, blank=True)
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    reply_count = models.PositiveIntegerField(default=0)
    tags = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    tags_edited = models.BooleanField(
        default=False, help_text=_("Set by a person: edits of the text no longer retag it.")
    )
    priority = models.SmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    urgent_withdrawn_at = models.DateTimeField(null=True, blank=True)
    pinned_at = models.DateTimeField(null=True, blank=True)
    pinned_by = models.ForeignKey(
        Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    client_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("room message")
        verbose_name_plural = _("room messages")
        ordering = ["room", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["room", "seq"], name="room_message_seq"),
            models.UniqueConstraint(
                fields=["room", "client_id"],
                condition=~Q(client_id=""),
                name="room_message_client_id",
            ),
        ]
        indexes = [
            models.Index(fields=["room", "rev"], name="room_message_rev"),
            models.Index(fields=["created_at"], name="room_message_created"),
            models.Index(
                fields=["room", "-pinned_at"],
                condition=Q(pinned_at__isnull=False),
                name="room_message_pinned",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.body[:40]}"

    @property
    def is_urgent(self) -> bool:
        return self.priority == self.Priority.URGENT


def _room_attachment_path(instance, filename: str) -> str:
    # Never the uploaded name: a generated one, in a folder per room.
    return f"room-files/{instance.room_id}/{instance.id.hex}{instance.extension}"


class RoomAttachment(StoredUpload):
    """A file an agent sent into a room: checked by content like a conversation's
    attachments (conversations/files.py), stored under a generated name, served only to
    the room's members while its message is not deleted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="attachments")
    # Empty until the message that carries it is sent.
    message = models.ForeignKey(
        RoomMessage, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    uploaded_by = models.ForeignKey(
        Agent, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("uploaded by")
    )
    file = models.FileField(upload_to=_room_attachment_path, max_length=200)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("room attachment")
        verbose_name_plural = _("room attachments")
        ordering = ["created_at"]
        indexes = [models.Index(fields=["created_at"], name="room_attachment_created")]

    @property
    def is_image(self) -> bool:
        return self.content_type in SAFE_INLINE_IMAGES


class RoomMention(models.Model):
    """An agent named in a message (@name), or reached through a group (@team, @all)."""

    message = models.ForeignKey(RoomMessage, on_delete=models.CASCADE, related_name="mentions")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="room_mentions")
    # Copied from the message: unread mentions are counted from this row alone.
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveIntegerField()
    via = models.CharField(max_length=80, blank=True, help_text=_("The group named, if any."))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "agent"], name="room_mention_once"),
        ]
        indexes = [models.Index(fields=["agent", "room", "seq"], name="room_mention_unread")]

    def __str__(self) -> str:
        return f"@{self.agent_id} in {self.message_id}"


class RoomMessageRevision(models.Model):
    """What a message said before an edit or a delete, and who did it."""

    class Action(models.TextChoices):
        EDIT = "edit", _("Edited")
        DELETE = "delete", _("Deleted")

    message = models.ForeignKey(RoomMessage, on_delete=models.CASCADE, related_name="revisions")
    action = models.CharField(max_length=8, choices=Action.choices)
    body = models.TextField()
    by = models.ForeignKey(Agent, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.action} {self.message_id}"


class UrgentAcknowledgement(models.Model):
    """One addressee of an urgent message: acknowledged or not, how often reminded."""

    message = models.ForeignKey(RoomMessage, on_delete=models.CASCADE, related_name="acks")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="urgent_acks")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    reminders = models.PositiveIntegerField(default=0)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "agent"], name="urgent_ack_once"),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(acknowledged_at__isnull=True),
                name="urgent_ack_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} · {self.message_id}"
