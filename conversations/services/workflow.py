"""A conversation's life: handoff to a person, taken by an agent, read, closed."""

from __future__ import annotations

from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from conversations import events
from conversations.models import Agent, Conversation, Message
from conversations.protocol import status_payload
from conversations.selectors import queue_position
from conversations.services.messages import ConversationClosed, post_system_message
from helpdesk.realtime import publish_on_commit
from knowledge import assistant


class AlreadyTaken(Exception):
    """Another agent holds this conversation."""


class NotAllowed(Exception):
    """The acting person may not do this to this conversation."""


def _publish_status(conversation: Conversation) -> None:
    position = (
        queue_position(conversation) if conversation.status == Conversation.Status.QUEUED else None
    )
    publish_on_commit(
        events.conversation_group(conversation.id),
        events.status_event(status_payload(conversation, queue_position=position)),
    )
    publish_on_commit(events.DESK_GROUP, events.queue_changed_event())


def request_handoff(*, conversation_id: UUID) -> Conversation:
    """The customer asks for a person: a bot conversation joins the queue.

    Idempotent: a queued or assigned conversation is returned unchanged.
    """
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if conversation.status == Conversation.Status.CLOSED:
            raise ConversationClosed
        if conversation.status != Conversation.Status.BOT:
            return conversation
        conversation.status = Conversation.Status.QUEUED
        conversation.queued_at = timezone.now()
        conversation.save(update_fields=["status", "queued_at", "updated_at"])
        with override(conversation.language):
            post_system_message(
                conversation_id=conversation.id,
                body=_("Connecting you to a person. Please wait a moment."),
                meta={"event": "queued"},
            )
        _publish_status(conversation)
    return conversation


def take_conversation(*, conversation_id: UUID, agent: Agent) -> Conversation:
    """An agent takes a waiting conversation.

    Locks the conversation row: of two agents taking at once, exactly one wins
    and the other gets AlreadyTaken. Taking one's own conversation is a no-op.
    """
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("assignee")
            .get(pk=conversation_id)
        )
        if conversation.assignee_id == agent.pk:
            return conversation
        if conversation.status == Conversation.Status.CLOSED:
            raise ConversationClosed
        if conversation.assignee_id is not None:
            raise AlreadyTaken
        now = timezone.now()
        conversation.status = Conversation.Status.ASSIGNED
        conversation.assignee = agent
        conversation.assigned_at = now
        conversation.queued_at = conversation.queued_at or now
        conversation.save(
            update_fields=["status", "assignee", "assigned_at", "queued_at", "updated_at"]
        )
        with override(conversation.language):
            post_system_message(
                conversation_id=conversation.id,
                body=_("%(agent)s has joined the conversation.") % {"agent": agent.display_name},
                meta={"event": "assigned", "agent": agent.display_name},
            )
        _publish_status(conversation)
    return conversation


def close_conversation(*, conversation_id: UUID, agent: Agent | None = None) -> Conversation:
    """Close a conversation (by its agent, or by the system when agent is None)."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if conversation.status == Conversation.Status.CLOSED:
            return conversation
        if agent is not None and conversation.assignee_id != agent.pk and not agent.is_supervisor:
            raise NotAllowed
        conversation.status = Conversation.Status.CLOSED
        conversation.closed_at = timezone.now()
        conversation.save(update_fields=["status", "closed_at", "updated_at"])
        last_reply = (
            Message.objects.filter(conversation=conversation, sender=Message.Sender.AGENT)
            .order_by("-seq")
            .first()
        )
        if last_reply is not None:
            # What the person answered is offered beside the bot's unanswered questions.
            assistant.record_agent_resolution(
                conversation_id=conversation.id, reply=last_reply.body
            )
        with override(conversation.language):
            post_system_message(
                conversation_id=conversation.id,
                body=_("The conversation has ended. Thank you!"),
                meta={"event": "closed"},
            )
        _publish_status(conversation)
    return conversation


def mark_read(*, conversation_id: UUID, reader: str, up_to_seq: int) -> int:
    """Record a read receipt (never moves backwards, never past the last seq).

    Returns the stored position and publishes it when it moved.
    """
    field = "customer_read_seq" if reader == "customer" else "agent_read_seq"
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        target = max(0, min(up_to_seq, conversation.last_seq))
        current = getattr(conversation, field)
        if target <= current:
            return current
        setattr(conversation, field, target)
        conversation.save(update_fields=[field])
        publish_on_commit(
            events.conversation_group(conversation_id),
            events.read_event(conversation_id=conversation_id, reader=reader, up_to_seq=target),
        )
    return target
