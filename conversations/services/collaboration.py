"""Agents working a conversation together: transfer, consulting colleagues, internal notes, tags.

Only the people of a conversation may do these: its assignee, a colleague
consulting on it, or a supervisor (NotAllowed otherwise). Internal notes go
to the conversation's staff group only, never to the customer's sockets.
"""

from __future__ import annotations

from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from conversations import events, selectors
from conversations.models import Agent, Conversation, InternalNote, Participant, SkillGroup
from conversations.protocol import note_payload
from conversations.rooms.services import join_consult_room
from conversations.services import routing
from conversations.services.messages import ConversationClosed, post_system_message
from conversations.services.workflow import NotAllowed
from helpdesk.languages import django_language
from helpdesk.realtime import publish_on_commit

MAX_NOTE = 4000
MAX_TAGS = 20
MAX_TAG = 40


class Unavailable(Exception):
    """The colleague or group asked for cannot take the conversation now."""


def _lock_open(conversation_id: UUID) -> Conversation:
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("customer", "assignee")
        .get(pk=conversation_id)
    )
    if conversation.status == Conversation.Status.CLOSED:
        raise ConversationClosed
    return conversation


def _check_may_work_on(conversation: Conversation, agent: Agent) -> None:
    if not selectors.may_work_on(conversation, agent):
        raise NotAllowed


def _say(conversation: Conversation, text) -> None:
    with override(django_language(conversation.language)):
        post_system_message(conversation_id=conversation.id, body=text(), meta={"event": "team"})


def _note(conversation: Conversation, agent: Agent, body: str, kind: str) -> InternalNote:
    note = InternalNote.objects.create(
        conversation=conversation, agent=agent, body=body[:MAX_NOTE], kind=kind
    )
    publish_on_commit(events.staff_group(conversation.id), events.note_event(note_payload(note)))
    return note


def _with_note(headline: str, note: str) -> str:
    """What happened, then what the agent wrote about it (if anything)."""
    return f"{headline}\n{note.strip()}" if note.strip() else headline


def transfer_to_agent(
    *, conversation_id: UUID, by: Agent, to_agent_id: int, note: str = ""
) -> Conversation:
    """Hand an assigned conversation to an online colleague with room, with a note for them.

    Locks the colleague's row first, then the conversation's (routing's order),
    and counts the colleague's load under the lock. The customer is told who
    takes over; the previous agent's freed capacity goes to the queue.
    """
    with transaction.atomic():
        target = routing.lock_agent(to_agent_id)
        conversation = _lock_open(conversation_id)
        _check_may_work_on(conversation, by)
        if conversation.status != Conversation.Status.ASSIGNED:
            raise NotAllowed
        previous = conversation.assignee
        if previous is not None and previous.pk == target.pk:
            return conversation
        if target.status != Agent.Status.ONLINE:
            raise Unavailable
        if selectors.agent_load(target.pk) >= target.capacity:
            raise routing.AtCapacity
        conversation.transfer_count += 1
        conversation.save(update_fields=["transfer_count"])
        handed_by = previous.display_name if previous else by.display_name
        routing.assign_locked(
            conversation,
            target,
            by="transfer",
            say=lambda agent: (
                _("%(from)s has passed your conversation to %(to)s, who can read all of it.")
                % {"from": handed_by, "to": agent.display_name}
            ),
        )
        _note(
            conversation,
            by,
            _with_note(_("Transferred to %(to)s.") % {"to": target.display_name}, note),
            InternalNote.Kind.TRANSFER,
        )
        Participant.objects.filter(
            conversation=conversation, agent=target, left_at__isnull=True
        ).update(left_at=timezone.now())
        if previous is not None:
            publish_on_commit(
                events.agent_group(previous.pk),
                events.released_event(conversation_id=conversation.id),
            )
            routing.route_on_commit(agent_id=previous.pk)
    return conversation


def transfer_to_group(
    *, conversation_id: UUID, by: Agent, group_code: str, note: str = ""
) -> Conversation:
    """Send a conversation to another skill group's queue, keeping its place in line
    (its first queue time); routing offers it to that group at once."""
    with transaction.atomic():
        group = SkillGroup.objects.filter(code=group_code).first()
        if group is None:
            raise Unavailable
        conversation = _lock_open(conversation_id)
        _check_may_work_on(conversation, by)
        previous = conversation.assignee
        conversation.skill_group = group
        conversation.transfer_count += 1
        conversation.save(update_fields=["skill_group", "transfer_count"])
        routing.requeue_locked(
            conversation,
            say=lambda: (
                _(
                    "Your conversation has been passed to our %(group)s team; you keep your place "
                    "in line."
                )
                % {"group": group.name_in(conversation.language)}
            ),
        )
        _note(
            conversation,
            by,
            _with_note(_("Transferred to the group %(group)s.") % {"group": group.name}, note),
            InternalNote.Kind.TRANSFER,
        )
        if previous is not None:
            routing.route_on_commit(agent_id=previous.pk)
    return conversation


def invite_colleague(
    *, conversation_id: UUID, by: Agent, colleague_id: int, note: str = ""
) -> Participant:
    """Ask a colleague to consult: they see the conversation live and write notes, while the
    assignee keeps it. The customer is told; the colleague's desk is alerted."""
    with transaction.atomic():
        conversation = _lock_open(conversation_id)
        _check_may_work_on(conversation, by)
        colleague = Agent.objects.filter(pk=colleague_id).first()
        if colleague is None or colleague.pk == conversation.assignee_id:
            raise Unavailable
        participant = Participant.objects.filter(
            conversation=conversation, agent=colleague, left_at__isnull=True
        ).first()
        if participant is not None:
            return participant
        participant = Participant.objects.create(
            conversation=conversation, agent=colleague, invited_by=by
        )
        # The consultation has a room of its own in the team rooms.
        join_consult_room(
            conversation=conversation,
            agent_ids=[by.pk, colleague.pk, conversation.assignee_id],
            by=by,
        )
        _say(
            conversation,
            lambda: (
                _("%(agent)s has asked a colleague, %(colleague)s, to help.")
                % {"agent": by.display_name, "colleague": colleague.display_name}
            ),
        )
        _note(
            conversation,
            by,
            _with_note(
                _("Asked %(colleague)s to consult.") % {"colleague": colleague.display_name}, note
            ),
            InternalNote.Kind.CONSULT,
        )
        publish_on_commit(
            events.agent_group(colleague.pk),
            events.invited_event(
                conversation_id=conversation.id,
                customer=conversation.customer.display_name,
                by=by.display_name,
            ),
        )
        publish_on_commit(
            events.staff_group(conversation.id),
            events.conversation_changed_event(conversation_id=conversation.id),
        )
    return participant


def end_consultation(*, conversation_id: UUID, by: Agent, agent_id: int) -> bool:
    """A consulting colleague leaves (themselves, or sent off by the assignee or a supervisor)."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation_id)
        if by.pk != agent_id:
            _check_may_work_on(conversation, by)
        left = Participant.objects.filter(
            conversation=conversation, agent_id=agent_id, left_at__isnull=True
        ).update(left_at=timezone.now())
        if left:
            publish_on_commit(
                events.staff_group(conversation.id),
                events.conversation_changed_event(conversation_id=conversation.id),
            )
    return bool(left)


def add_internal_note(*, conversation_id: UUID, agent: Agent, body: str) -> InternalNote:
    """A note for colleagues on this conversation; never sent to the customer."""
    body = body.strip()
    if not body:
        raise ValueError("a note needs text")
    if len(body) > MAX_NOTE:
        raise ValueError(f"a note is at most {MAX_NOTE} characters")
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation_id)
        _check_may_work_on(conversation, agent)
        return _note(conversation, agent, body, InternalNote.Kind.NOTE)


def clean_tags(tags: list[str]) -> list[str]:
    """Tags as they are kept: trimmed, inner spaces collapsed, no empties, no repeats
    (case-insensitively, the first spelling kept), at most MAX_TAGS of MAX_TAG characters."""
    seen: dict[str, str] = {}
    for tag in tags:
        cleaned = " ".join(str(tag).split())[:MAX_TAG]
        if cleaned and cleaned.casefold() not in seen:
            seen[cleaned.casefold()] = cleaned
    if len(seen) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return list(seen.values())


def set_conversation_tags(*, conversation_id: UUID, agent: Agent, tags: list[str]) -> list[str]:
    """Replace a conversation's tags (closed ones too: tagging often happens at the end)."""
    cleaned = clean_tags(tags)
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation_id)
        _check_may_work_on(conversation, agent)
        if conversation.tags != cleaned:
            conversation.tags = cleaned
            conversation.save(update_fields=["tags", "updated_at"])
            publish_on_commit(
                events.staff_group(conversation.id),
                events.conversation_changed_event(conversation_id=conversation.id),
            )
    return cleaned
