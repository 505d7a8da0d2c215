"""A conversation's life: handoff to a person, taken by an agent, read, closed."""

from __future__ import annotations

from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from conversations import events, hooks, selectors, webhooks
from conversations.models import (
    Agent,
    Conversation,
    Message,
    OfflineMessage,
    Participant,
    SkillGroup,
)
from conversations.services import care, recommendations, routing
from conversations.services.messages import (
    ConversationClosed,
    post_customer_message,
    post_system_message,
)
from conversations.services.queue import announce_queue
from customers.models import Customer
from helpdesk.languages import django_language
from helpdesk.realtime import publish_on_commit
from knowledge import assistant


class AlreadyTaken(Exception):
    """Another agent holds this conversation."""


class NotAllowed(Exception):
    """The acting person may not do this to this conversation."""


class NobodyOnline(Exception):
    """A message can be left only while no agent can take the conversation."""


def request_handoff(
    *,
    conversation_id: UUID,
    skill_group_code: str | None = None,
    reason: str = "request",
) -> Conversation:
    """The conversation joins its skill group's queue and routing looks for an agent at once.

    The group is the one named (the customer's pick from the menu, or the
    bot's from the intent or article), else the one already set; VIP
    customers come first in every queue. Idempotent: a queued or assigned
    conversation is returned unchanged. Routing runs after commit.
    """
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("customer")
            .get(pk=conversation_id)
        )
        if conversation.status == Conversation.Status.CLOSED:
            raise ConversationClosed
        if conversation.status != Conversation.Status.BOT:
            return conversation
        if skill_group_code:
            group = SkillGroup.objects.filter(code=skill_group_code).first()
            if group is not None:
                conversation.skill_group = group
        conversation.status = Conversation.Status.QUEUED
        conversation.queued_at = timezone.now()
        conversation.handoff_reason = reason[:20]
        conversation.priority = (
            Conversation.Priority.VIP
            if conversation.customer.level == Customer.Level.VIP
            else Conversation.Priority.NORMAL
        )
        conversation.save(
            update_fields=[
                "skill_group",
                "status",
                "queued_at",
                "handoff_reason",
                "priority",
                "updated_at",
            ]
        )
        with override(django_language(conversation.language)):
            post_system_message(
                conversation_id=conversation.id,
                body=_("Connecting you to a person. Please wait a moment."),
                meta={"event": "queued"},
            )
        if conversation.priority > Conversation.Priority.NORMAL:
            announce_queue(conversation.skill_group_id)  # ahead of others: their places move
        routing.route_on_commit(conversation_id=conversation.id)  # then the status is told
    return conversation


def take_conversation(*, conversation_id: UUID, agent: Agent) -> Conversation:
    """An agent takes a waiting conversation by hand.

    Locks the agent's row, then the conversation's (routing's order): of two
    agents taking at once exactly one wins and the other gets AlreadyTaken;
    an agent at capacity gets AtCapacity. Taking one's own is a no-op.
    """
    with transaction.atomic():
        locked_agent = routing.lock_agent(agent.pk)
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("assignee", "customer")
            .get(pk=conversation_id)
        )
        if conversation.assignee_id == agent.pk and conversation.is_open:
            return conversation
        if conversation.status == Conversation.Status.CLOSED:
            raise ConversationClosed
        if conversation.assignee_id is not None:
            raise AlreadyTaken
        if selectors.agent_load(agent.pk) >= locked_agent.capacity:
            raise routing.AtCapacity
        routing.assign_locked(conversation, locked_agent, by="take")
    return conversation


def close_conversation(
    *, conversation_id: UUID, agent: Agent | None = None, resolution: str = ""
) -> Conversation:
    """Close a conversation (by its agent or a supervisor, or by the system when agent is
    None) with a resolution code. The agent's freed capacity goes to the queue at once.
    Emits `conversation.closed` after the closing line's `message.created`."""
    if resolution and resolution not in Conversation.Resolution.values:
        raise ValueError(f"unknown resolution {resolution!r}")
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
        if conversation.status == Conversation.Status.CLOSED:
            return conversation
        if agent is not None and conversation.assignee_id != agent.pk and not agent.is_supervisor:
            raise NotAllowed
        was_assigned = conversation.status == Conversation.Status.ASSIGNED
        was_queued = conversation.status == Conversation.Status.QUEUED
        conversation.status = Conversation.Status.CLOSED
        conversation.closed_at = timezone.now()
        conversation.resolution = resolution
        conversation.save(update_fields=["status", "closed_at", "resolution", "updated_at"])
        Participant.objects.filter(conversation=conversation, left_at__isnull=True).update(
            left_at=conversation.closed_at
        )
        last_reply = (
            Message.objects.filter(conversation=conversation, sender=Message.Sender.AGENT)
            .order_by("-seq")
            .first()
        )
        if last_reply is not None and resolution != Conversation.Resolution.SPAM:
            # What the person answered is offered beside the bot's unanswered questions.
            assistant.record_agent_resolution(
                conversation_id=conversation.id, reply=last_reply.body
            )
        with override(django_language(conversation.language)):
            post_system_message(
                conversation_id=conversation.id,
                body=_("The conversation has ended. Thank you!"),
                meta={"event": "closed", "resolution": resolution},
            )
        webhooks.conversation_closed(conversation)
        routing.publish_status(conversation)
        if was_queued:
            announce_queue(conversation.skill_group_id)
        if was_assigned and conversation.assignee_id:
            routing.route_on_commit(agent_id=conversation.assignee_id)
        care.plan_after_close(conversation)
        recommendations.offer_after_close(conversation=conversation)
        hooks.conversation_closed(conversation)  # e.g. a ticket when it was not resolved
    return conversation


def leave_message(
    *, conversation_id: UUID, client_id: str, body: str, contact: str = ""
) -> OfflineMessage:
    """No one can take the conversation now: the customer leaves a message instead.

    The message joins the history, is kept for a person to answer later (the
    tickets app opens a ticket from it, through the closed hook), and the
    conversation closes. Refused with
    NobodyOnline while an agent could take it; a second call returns the first.
    """
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("customer")
            .get(pk=conversation_id)
        )
        existing = OfflineMessage.objects.filter(conversation=conversation).first()
        if existing is not None:
            return existing
        if conversation.status == Conversation.Status.CLOSED:
            raise ConversationClosed
        if conversation.status == Conversation.Status.ASSIGNED or (
            selectors.waiting_agents(conversation.skill_group_id).exists()
        ):
            raise NobodyOnline
        post_customer_message(conversation_id=conversation.id, client_id=client_id, body=body)
        left = OfflineMessage.objects.create(
            conversation=conversation,
            customer=conversation.customer,
            skill_group_id=conversation.skill_group_id,
            body=body,
            contact=contact.strip()[:120],
        )
        was_queued = conversation.status == Conversation.Status.QUEUED
        conversation.status = Conversation.Status.CLOSED
        conversation.closed_at = timezone.now()
        conversation.resolution = Conversation.Resolution.LEFT_MESSAGE
        conversation.save(update_fields=["status", "closed_at", "resolution", "updated_at"])
        with override(django_language(conversation.language)):
            post_system_message(
                conversation_id=conversation.id,
                body=_(
                    "Thank you, we have your message. A person will answer it as soon as someone "
                    "is back."
                ),
                meta={"event": "left_message"},
            )
        webhooks.conversation_closed(conversation)
        routing.publish_status(conversation)
        if was_queued:
            announce_queue(conversation.skill_group_id)
        hooks.conversation_closed(conversation, offline_message=left)  # a ticket answers it
    return left


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
