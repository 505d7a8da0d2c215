"""Rooms and who is in them: team rooms follow the skill groups, ad-hoc rooms, direct
messages, and the consult room of a conversation a colleague is invited to."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from conversations import events as desk_events
from conversations.models import Agent, Conversation, SkillGroup
from conversations.rooms import events
from conversations.rooms.models import Room, RoomMember
from helpdesk.realtime import publish_all_on_commit

MAX_NAME = 80
MAX_MEMBERS = 500


class RoomInputError(ValueError):
    """Input a person can correct; the message says what is wrong."""


class RoomNotAllowed(Exception):
    """The agent may not do this in this room (403)."""


def _tell_rooms_changed(agent_ids) -> None:
    publish_all_on_commit(
        [(desk_events.agent_group(pk), events.rooms_changed_event()) for pk in sorted(agent_ids)]
    )


def ensure_group_room(group: SkillGroup) -> Room:
    """The team room of a skill group, made once (called when a group is saved, and by the
    migration for the groups there were)."""
    room = Room.objects.filter(skill_group=group).first()
    if room is not None:
        return room
    try:
        with transaction.atomic():
            room = Room.objects.create(kind=Room.Kind.GROUP, skill_group=group)
    except IntegrityError:
        return Room.objects.get(skill_group=group)
    _tell_rooms_changed(group.agents.values_list("pk", flat=True))
    return room


def _active_agents(agent_ids) -> list[Agent]:
    try:
        ids = {int(pk) for pk in agent_ids}
    except (TypeError, ValueError):
        raise RoomInputError(_("Unknown colleague.")) from None
    found = list(Agent.objects.filter(pk__in=ids, user__is_active=True))
    if len(found) != len(ids):
        raise RoomInputError(_("Unknown colleague."))
    return found


def create_room(*, by: Agent, name: str, member_ids: list[int]) -> Room:
    """An ad-hoc room named `name` with its creator and the colleagues chosen."""
    name = (name or "").strip()
    if not name:
        raise RoomInputError(_("A room needs a name."))
    if len(name) > MAX_NAME:
        raise RoomInputError(_("A room's name has at most %(n)d characters.") % {"n": MAX_NAME})
    people = _active_agents(member_ids)
    if len(people) >= MAX_MEMBERS:
        raise RoomInputError(_("A room has at most %(n)d members.") % {"n": MAX_MEMBERS})
    with transaction.atomic():
        room = Room.objects.create(kind=Room.Kind.ADHOC, name=name, created_by=by)
        ids = {by.pk, *(a.pk for a in people)}
        RoomMember.objects.bulk_create(
            [RoomMember(room=room, agent_id=pk, added_by=by) for pk in ids]
        )
        _tell_rooms_changed(ids)
    return room


def add_members(*, room: Room, by: Agent, member_ids: list[int]) -> int:
    """Colleagues added to an ad-hoc room by one of its members; how many were new."""
    if room.kind != Room.Kind.ADHOC:
        raise RoomNotAllowed
    people = _active_agents(member_ids)
    with transaction.atomic():
        made = RoomMember.objects.bulk_create(
            [RoomMember(room=room, agent=a, added_by=by) for a in people],
            ignore_conflicts=True,
        )
        if RoomMember.objects.filter(room=room).count() > MAX_MEMBERS:
            raise RoomInputError(_("A room has at most %(n)d members.") % {"n": MAX_MEMBERS})
        _tell_rooms_changed(a.pk for a in people)
    return len(made)


def leave_room(*, room: Room, agent: Agent) -> None:
    """An agent leaves an ad-hoc room (team rooms follow the groups; direct rooms stay)."""
    if room.kind not in (Room.Kind.ADHOC, Room.Kind.CONSULT):
        raise RoomNotAllowed
    with transaction.atomic():
        RoomMember.objects.filter(room=room, agent=agent).delete()
        _tell_rooms_changed([agent.pk])


def direct_room(*, agent: Agent, other_id: int) -> Room:
    """The direct-message room of two agents, made the first time either opens it."""
    (other,) = _active_agents([other_id])
    if other.pk == agent.pk:
        raise RoomInputError(_("A direct conversation needs someone else."))
    low, high = sorted((agent.pk, other.pk))
    key = f"{low}:{high}"
    room = Room.objects.filter(direct_key=key).first()
    if room is not None:
        return room
    try:
        with transaction.atomic():
            room = Room.objects.create(kind=Room.Kind.DIRECT, direct_key=key, created_by=agent)
            RoomMember.objects.bulk_create(
                [RoomMember(room=room, agent_id=low), RoomMember(room=room, agent_id=high)]
            )
            _tell_rooms_changed([low, high])
    except IntegrityError:
        room = Room.objects.get(direct_key=key)
    return room


def join_consult_room(*, conversation: Conversation, agent_ids: list[int], by: Agent) -> Room:
    """The consult room of a conversation, with these agents in it (made on the first
    invitation). Runs inside the invitation's transaction."""
    room, _ = Room.objects.get_or_create(
        conversation=conversation,
        defaults={
            "kind": Room.Kind.CONSULT,
            "name": conversation.customer.display_name[:MAX_NAME],
            "created_by": by,
        },
    )
    ids = {pk for pk in agent_ids if pk}
    RoomMember.objects.bulk_create(
        [RoomMember(room=room, agent_id=pk, added_by=by) for pk in ids], ignore_conflicts=True
    )
    _tell_rooms_changed(ids)
    return room
