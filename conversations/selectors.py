"""Reads of conversations, scoped to who is asking."""

from __future__ import annotations

from uuid import UUID

from django.db.models import Q, QuerySet

from conversations.models import Agent, Conversation, Message


def queue_position(conversation: Conversation) -> int:
    """1 for the conversation waiting longest in the queue."""
    return (
        Conversation.objects.filter(
            status=Conversation.Status.QUEUED, queued_at__lt=conversation.queued_at
        ).count()
        + 1
    )


def messages_after(conversation_id: UUID, after_seq: int, limit: int = 1000) -> list[Message]:
    return list(
        Message.objects.filter(conversation_id=conversation_id, seq__gt=after_seq)
        .prefetch_related("attachment_set")
        .order_by("seq")[:limit]
    )


def latest_customer_message(conversation_id: UUID) -> Message | None:
    return (
        Message.objects.filter(conversation_id=conversation_id, sender=Message.Sender.CUSTOMER)
        .order_by("-seq")
        .first()
    )


def agent_for_user(user) -> Agent | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    return Agent.objects.filter(user=user).select_related("user").first()


def visible_conversations(agent: Agent) -> QuerySet[Conversation]:
    """What an agent may open: waiting ones, their own, and everything for supervisors."""
    queryset = Conversation.objects.select_related("customer", "assignee")
    if agent.is_supervisor:
        return queryset
    return queryset.filter(
        Q(assignee=agent) | Q(status__in=Conversation.WAITING_STATUSES, assignee__isnull=True)
    )


def waiting_conversations(agent: Agent) -> QuerySet[Conversation]:
    """Waiting for a person first (oldest first), then chats still with the bot."""
    return (
        visible_conversations(agent)
        .filter(status__in=Conversation.WAITING_STATUSES, assignee__isnull=True, last_seq__gt=0)
        .order_by("-status", "queued_at", "created_at")  # queued before bot
    )


def my_conversations(agent: Agent) -> QuerySet[Conversation]:
    return (
        visible_conversations(agent)
        .filter(assignee=agent, status=Conversation.Status.ASSIGNED)
        .order_by("-last_message_at")
    )
