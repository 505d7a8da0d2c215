"""Reads of the team rooms, always scoped to the agent asking (membership on every read)."""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from conversations.models import Agent, SkillGroup
from conversations.rooms.models import (
    Room,
    RoomAttachment,
    RoomMember,
    RoomMention,
    RoomMessage,
    RoomReadPosition,
    UrgentAcknowledgement,
)
from conversations.rooms.protocol import room_message_payload
from conversations.rooms.text import ALL_NAMES, Mentionable

MAX_SEARCH_RESULTS = 50
PAGE = 200


def _in_group(agent: Agent):
    return Agent.skill_groups.through.objects.filter(
        agent_id=agent.pk, skillgroup_id=OuterRef("skill_group_id")
    )


def rooms_of(agent: Agent) -> QuerySet[Room]:
    """Every room the agent belongs to: their groups' team rooms (every team room for a
    supervisor), and the ad-hoc, direct and consult rooms they are a member of."""
    member = RoomMember.objects.filter(room_id=OuterRef("pk"), agent_id=agent.pk)
    team = Q(kind=Room.Kind.GROUP)
    if not agent.is_supervisor:
        team &= Exists(_in_group(agent))
    return Room.objects.select_related("skill_group").filter(team | Exists(member))


def room_for(agent: Agent, room_id: UUID | int | str) -> Room | None:
    """The room if the agent belongs to it, else None (the caller answers 404)."""
    try:
        pk = int(room_id)
    except (TypeError, ValueError):
        return None
    return rooms_of(agent).filter(pk=pk).first()


def member_ids(room: Room) -> list[int]:
    """The agents who belong to a room now."""
    if room.kind == Room.Kind.GROUP:
        return list(
            Agent.objects.filter(
                Q(skill_groups=room.skill_group_id)
                | Q(user__is_superuser=True)
                | Q(user__groups__name="Supervisors")
            )
            .distinct()
            .values_list("pk", flat=True)
        )
    return list(room.members.values_list("agent_id", flat=True))


def members(room: Room) -> QuerySet[Agent]:
    return Agent.objects.filter(pk__in=member_ids(room)).select_related("user")


def mentionables(room: Room) -> list[Mentionable]:
    """The names that can follow @ in a room: its members (display and user names), the
    skill groups (code and both names: their agents in the room), and everyone. Plain
    values, no model per member: a room of 200 agents is read for every message that
    has an @ in it."""
    username = f"user__{get_user_model().USERNAME_FIELD}"
    people = list(
        Agent.objects.filter(pk__in=member_ids(room)).values_list("pk", "display_name", username)
    )
    ids = frozenset(pk for pk, _, _ in people)
    names = [Mentionable(name, ids, group=name) for name in ALL_NAMES]
    for pk, display_name, user_name in people:
        names.append(Mentionable(display_name, frozenset({pk})))
        names.append(Mentionable(user_name, frozenset({pk})))
    by_group: dict[int, set[int]] = {}
    for agent_id, group_id in Agent.skill_groups.through.objects.filter(
        agent_id__in=ids
    ).values_list("agent_id", "skillgroup_id"):
        by_group.setdefault(group_id, set()).add(agent_id)
    for group in SkillGroup.objects.filter(pk__in=by_group):
        reached = frozenset(by_group[group.pk])
        for name in {group.code, group.name_zh, group.name_en}:
            names.append(Mentionable(name, reached, group=group.name))
    return names


def _read_seq(agent: Agent):
    return Coalesce(
        Subquery(
            RoomReadPosition.objects.filter(room_id=OuterRef("pk"), agent_id=agent.pk).values(
                "read_seq"
            )[:1]
        ),
        Value(0),
    )


def _count(queryset) -> Subquery:
    return Coalesce(
        Subquery(
            queryset.order_by()
            .values(queryset.model._meta.get_field("room").attname)
            .annotate(n=Count("*"))
            .values("n")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )


def with_unread(rooms: QuerySet[Room], agent: Agent) -> QuerySet[Room]:
    """Rooms with `read_seq`, `unread` (others' messages after it, deletes not counted)
    and `mentions` (of this agent after it): one query for all of them."""
    rooms = rooms.annotate(read_seq=_read_seq(agent))
    unread = RoomMessage.objects.filter(
        room_id=OuterRef("pk"), seq__gt=OuterRef("read_seq"), deleted_at__isnull=True
    ).exclude(author_id=agent.pk)
    mentions = RoomMention.objects.filter(
        room_id=OuterRef("pk"),
        agent_id=agent.pk,
        seq__gt=OuterRef("read_seq"),
        message__deleted_at__isnull=True,
    )
    return rooms.annotate(unread=_count(unread), mentions=_count(mentions))


def room_list(agent: Agent) -> list[Room]:
    """The agent's rooms for the navigation: most recent activity first, with unread counts;
    a direct room is named after the colleague (one more query when there are any)."""
    rooms = list(
        with_unread(rooms_of(agent), agent).order_by(
            F("last_message_at").desc(nulls_last=True), "pk"
        )
    )
    direct = {r.pk: r for r in rooms if r.kind == Room.Kind.DIRECT}
    if direct:
        others = RoomMember.objects.filter(room_id__in=direct).exclude(agent_id=agent.pk)
        for member in others.select_related("agent"):
            direct[member.room_id].name = member.agent.display_name
    return rooms


def unread_totals(agent: Agent) -> dict:
    """The navigation's badges: unread messages and mentions over all the agent's rooms."""
    rooms = room_list(agent)
    return {
        "unread": sum(r.unread for r in rooms),
        "mentions": sum(r.mentions for r in rooms),
    }


def unread_of(agent: Agent, room: Room) -> Room:
    return with_unread(Room.objects.filter(pk=room.pk), agent).get()


def _messages(room: Room) -> QuerySet[RoomMessage]:
    return (
        RoomMessage.objects.filter(room=room)
        .select_related("author", "pinned_by")
        .prefetch_related("mentions", "acks__agent", "attachments")
    )


def timeline(
    room: Room, *, tag: str = "", before_seq: int | None = None, limit: int = PAGE
) -> list[RoomMessage]:
    """The room's latest top-level messages (replies live in their thread), oldest first."""
    messages = _messages(room)
    # Filtered by a tag, replies that carry it show too; otherwise they live in threads.
    messages = messages.filter(tags__contains=[tag]) if tag else messages.filter(parent=None)
    if before_seq is not None:
        messages = messages.filter(seq__lt=before_seq)
    return list(reversed(messages.order_by("-seq")[:limit]))


def thread(room: Room, root_id: UUID) -> tuple[RoomMessage, list[RoomMessage]] | None:
    root = _messages(room).filter(pk=root_id, parent__isnull=True).first()
    if root is None:
        return None
    return root, list(_messages(room).filter(parent=root).order_by("seq"))


def pinned(room: Room) -> list[RoomMessage]:
    return list(
        _messages(room)
        .filter(pinned_at__isnull=False, deleted_at__isnull=True)
        .order_by("-pinned_at")[:20]
    )


def changes_after(room: Room, after_rev: int, *, limit: int = 10_000) -> list[RoomMessage]:
    """Every message new or changed since `after_rev`, once each, in the order of change."""
    return list(_messages(room).filter(rev__gt=after_rev).order_by("rev")[:limit])


def message_in(room: Room, message_id: UUID | str) -> RoomMessage | None:
    try:
        pk = UUID(str(message_id))
    except ValueError:
        return None
    return _messages(room).filter(pk=pk).first()


def attachment_for(room: Room, attachment_id: UUID, agent: Agent) -> RoomAttachment | None:
    """An attachment of the room that may be opened: its message's while that message is
    not deleted, or the agent's own upload not sent yet; None otherwise (404)."""
    return (
        RoomAttachment.objects.filter(pk=attachment_id, room=room)
        .filter(
            Q(message__isnull=False, message__deleted_at__isnull=True)
            | Q(message__isnull=True, uploaded_by=agent)
        )
        .first()
    )


def search(agent: Agent, query: str, *, limit: int = MAX_SEARCH_RESULTS) -> list[RoomMessage]:
    """Messages containing `query` in any room the agent belongs to, newest first."""
    query = query.strip()
    if not query:
        return []
    return list(
        RoomMessage.objects.filter(
            room__in=rooms_of(agent).values("pk"),
            deleted_at__isnull=True,
            body__icontains=query,
        )
        .select_related("room", "room__skill_group", "author")
        .order_by("-created_at")[:limit]
    )


def acknowledgements(message: RoomMessage) -> list[UrgentAcknowledgement]:
    return list(
        UrgentAcknowledgement.objects.filter(message=message)
        .select_related("agent")
        .order_by("agent__display_name")
    )


def pending_urgent(agent: Agent) -> list[UrgentAcknowledgement]:
    """Urgent messages the agent has still to acknowledge (not withdrawn, not deleted)."""
    return list(
        UrgentAcknowledgement.objects.filter(
            agent=agent,
            acknowledged_at__isnull=True,
            message__urgent_withdrawn_at__isnull=True,
            message__deleted_at__isnull=True,
        )
        .select_related("message", "message__room", "message__room__skill_group", "message__author")
        .order_by("created_at")
    )


def direct_partner(room: Room, agent: Agent) -> Agent | None:
    if room.kind != Room.Kind.DIRECT:
        return None
    return members(room).exclude(pk=agent.pk).first()


def resume_payloads(room: Room, after_rev: int, *, limit: int) -> list[dict]:
    """Every message of the room new or changed since `after_rev`, once each in the order
    of change, as payloads: four reads whatever their number (a device back after a day
    away may have missed thousands). The mentions, acknowledgements and files are read by
    the window of revs and grouped here: Django's prefetch builds a related manager per
    message and object, which was half of a 5,000-message catch-up."""
    messages = list(
        RoomMessage.objects.filter(room=room, rev__gt=after_rev).order_by("rev")[:limit]
    )
    if not messages:
        return []
    window = {"message__room": room, "message__rev__gt": after_rev}
    window["message__rev__lte"] = messages[-1].rev
    mentions = defaultdict(list)
    for message_id, agent_id in RoomMention.objects.filter(**window).values_list(
        "message_id", "agent_id"
    ):
        mentions[message_id].append(agent_id)
    attachments = defaultdict(list)
    for attachment in RoomAttachment.objects.filter(**window):
        attachments[attachment.message_id].append(attachment)
    acks = defaultdict(list)
    if any(message.is_urgent for message in messages):
        for ack in UrgentAcknowledgement.objects.filter(**window).select_related("agent"):
            acks[ack.message_id].append(ack)
    return [
        room_message_payload(
            message,
            mentions=mentions[message.pk],
            acks=acks[message.pk],
            attachments=attachments[message.pk],
        )
        for message in messages
    ]
