"""Routing: a waiting conversation meets an agent with free capacity.

Locks, always in this order: an agent's row, then a conversation's row.

- Whatever gives an agent a conversation (routing, a Take, a transfer) locks
  the agent's row first (`SELECT … FOR UPDATE`) and counts the agent's open
  conversations under that lock, so two assignments to one agent are counted
  one after the other and no agent goes over capacity.
- It then locks the conversation's row and takes it only if it is still
  waiting with no assignee (PostgreSQL re-reads a locked row before it
  returns it), so a conversation is never assigned twice.
- Releasing capacity (a close, a transfer away) needs no agent lock: a count
  that only goes down cannot break the limit.

Routing runs at once, not on a timer: after the commit that queued a
conversation (`route_conversation`: its best agents in turn), and after the
commit that gave an agent room — a close, a transfer, coming online
(`fill_agent`: the head of the agent's queue until the agent is full). A
Celery Beat sweep (`route_waiting`) is the safety net, and what lets a
conversation overflow to another group once it has waited long enough.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from uuid import UUID

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from conversations import events, selectors
from conversations.models import Agent, Conversation
from conversations.services.messages import post_system_message
from conversations.services.queue import announce_queue
from helpdesk.languages import django_language
from helpdesk.realtime import publish_on_commit

logger = logging.getLogger(__name__)


class AtCapacity(Exception):
    """The agent already holds as many conversations as their capacity allows."""


def publish_status(conversation: Conversation) -> None:
    """The conversation's status to everyone in it, and "the lists changed" to the desks."""
    publish_on_commit(
        events.conversation_group(conversation.id),
        events.status_event(selectors.live_status(conversation)),
    )
    publish_on_commit(events.DESK_GROUP, events.queue_changed_event())


def lock_agent(agent_id: int) -> Agent:
    """The agent's row, locked until the end of the transaction (first, before any
    conversation row)."""
    return Agent.objects.select_for_update(of=("self",)).select_related("user").get(pk=agent_id)


def assign_locked(
    conversation: Conversation, agent: Agent, *, by: str, announce: bool = True
) -> None:
    """Give a locked, waiting conversation to a locked agent: the row, the system line,
    the events. The caller holds both locks and has checked capacity."""
    now = timezone.now()
    group_id = conversation.skill_group_id
    was_queued = conversation.status == Conversation.Status.QUEUED
    conversation.status = Conversation.Status.ASSIGNED
    conversation.assignee = agent
    conversation.assigned_at = conversation.assigned_at or now  # the first person's arrival
    conversation.queued_at = conversation.queued_at or now
    conversation.save(
        update_fields=["status", "assignee", "assigned_at", "queued_at", "updated_at"]
    )
    agent.last_assigned_at = now
    agent.save(update_fields=["last_assigned_at"])
    if announce:
        with override(django_language(conversation.language)):
            post_system_message(
                conversation_id=conversation.id,
                body=_("%(agent)s has joined the conversation.") % {"agent": agent.display_name},
                meta={"event": "assigned", "agent": agent.display_name},
            )
    publish_status(conversation)
    publish_on_commit(
        events.agent_group(agent.pk),
        events.assigned_event(
            conversation_id=conversation.id,
            customer=conversation.customer.display_name,
            by=by,
        ),
    )
    if was_queued:
        announce_queue(group_id)


def requeue_locked(conversation: Conversation, *, say: Callable[[], str]) -> None:
    """Put a locked conversation back in its queue, keeping its first queue time (so it comes
    before later arrivals); tell the customer `say()` in their language; route after commit."""
    previous = conversation.assignee_id
    conversation.status = Conversation.Status.QUEUED
    conversation.assignee = None
    conversation.queued_at = conversation.queued_at or timezone.now()
    conversation.save(
        update_fields=["status", "assignee", "queued_at", "skill_group", "updated_at"]
    )
    with override(django_language(conversation.language)):
        post_system_message(conversation_id=conversation.id, body=say(), meta={"event": "queued"})
    publish_status(conversation)
    if previous:
        publish_on_commit(
            events.agent_group(previous), events.released_event(conversation_id=conversation.id)
        )
    announce_queue(conversation.skill_group_id)
    route_on_commit(conversation_id=conversation.id)


def fill_agent(*, agent_id: int, also: UUID | None = None) -> list[UUID]:
    """Give an online agent the head of their queue until they are full.

    The queue is the agent's groups' waiting conversations (and those that
    have overflowed to them), VIP first, then the longest wait; `also` adds
    one more conversation to it (routing offering a customer to their
    dedicated or returning agent). Returns the conversations assigned.
    """
    assigned: list[UUID] = []
    with transaction.atomic():
        agent = lock_agent(agent_id)
        if agent.status != Agent.Status.ONLINE:
            return assigned
        room = agent.capacity - selectors.agent_load(agent.pk)
        eligible = selectors.queue_for(agent)
        if also is not None:
            eligible |= Q(pk=also, status=Conversation.Status.QUEUED, assignee__isnull=True)
        while room > 0:
            head = (
                Conversation.objects.select_for_update(of=("self",))
                .select_related("customer")
                .filter(eligible)
                .order_by("-priority", "queued_at", "created_at")
                .first()
            )
            if head is None:
                break
            assign_locked(head, agent, by="routing")
            assigned.append(head.pk)
            room -= 1
    return assigned


def route_conversation(*, conversation_id: UUID) -> Agent | None:
    """Find a waiting conversation its agent: each of its candidates in turn gets the
    head of their queue (which is this conversation, or one that waited longer),
    until this one is taken. Returns its agent, or None while it waits."""
    conversation = (
        Conversation.objects.select_related("skill_group__overflow_group")
        .filter(pk=conversation_id, status=Conversation.Status.QUEUED)
        .first()
    )
    if conversation is None:
        return None
    for candidate in selectors.candidate_agents(conversation):
        fill_agent(agent_id=candidate.pk, also=conversation.pk)
        holder = (
            Conversation.objects.filter(pk=conversation_id)
            .values_list("status", "assignee_id")
            .first()
        )
        if holder is None or holder[0] != Conversation.Status.QUEUED:
            return Agent.objects.filter(pk=holder[1]).first() if holder else None
    return None


def route_on_commit(*, conversation_id: UUID | None = None, agent_id: int | None = None) -> None:
    """Route once the current transaction commits (it queued a conversation or freed an
    agent); a failure is logged and left to the sweep."""

    def run():
        try:
            if conversation_id is not None:
                route_conversation(conversation_id=conversation_id)
            if agent_id is not None:
                fill_agent(agent_id=agent_id)
        except Exception:
            logger.exception("routing after commit failed; the sweep will retry")

    transaction.on_commit(run)


def route_waiting(*, limit: int = 500) -> int:
    """The sweep: try every waiting conversation again, oldest first (overflow, and anything
    an event missed). Returns how many found an agent."""
    waiting = list(
        Conversation.objects.filter(status=Conversation.Status.QUEUED)
        .order_by("-priority", "queued_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(route_conversation(conversation_id=pk) is not None for pk in waiting)
