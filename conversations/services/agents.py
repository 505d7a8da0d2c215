"""Agents' presence: online, away, offline; and what happens to their work when they go."""

from __future__ import annotations

from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations import events
from conversations.models import Agent, AgentStatusLog, Conversation
from conversations.services import routing
from helpdesk.realtime import publish_on_commit


def set_agent_status(*, agent_id: int, status: str, automatic: bool = False) -> Agent:
    """Change an agent's status. Coming online drains the queue into their free capacity
    at once (after commit). `automatic` marks an away that the desk's closing caused, which
    the desk's reopening undoes."""
    if status not in Agent.Status.values:
        raise ValueError(f"unknown status {status!r}")
    with transaction.atomic():
        agent = routing.lock_agent(agent_id)
        changed = agent.status != status
        agent.status = status
        agent.away_on_disconnect = automatic and status == Agent.Status.AWAY
        if changed:
            agent.status_changed_at = timezone.now()
            _log_status(agent)
        agent.save(update_fields=["status", "away_on_disconnect", "status_changed_at"])
        if changed:
            publish_on_commit(
                events.DESK_GROUP, events.presence_event(agent_id=agent.pk, status=status)
            )
        if status == Agent.Status.ONLINE:
            routing.route_on_commit(agent_id=agent.pk)
    return agent


def _log_status(agent: Agent) -> None:
    """End the agent's current stretch in the status log and start one in the new status
    (under the agent's row lock, so stretches never overlap)."""
    now = agent.status_changed_at
    AgentStatusLog.objects.filter(agent=agent, ended_at__isnull=True).update(ended_at=now)
    AgentStatusLog.objects.create(agent=agent, status=agent.status, started_at=now)


def desk_opened(*, agent_id: int) -> Agent:
    """An agent's desk connected: an offline agent starts work, and an agent who was made
    away because their desk closed is back; an away the agent chose stays."""
    agent = Agent.objects.get(pk=agent_id)
    agent.last_seen_at = timezone.now()
    agent.save(update_fields=["last_seen_at"])
    if agent.status == Agent.Status.OFFLINE or agent.away_on_disconnect:
        return set_agent_status(agent_id=agent_id, status=Agent.Status.ONLINE)
    return agent


def desk_gone(*, agent_id: int) -> list[UUID]:
    """The agent's last desk has been closed for the grace period: they are away, and the
    conversations they held go back to their queues (ahead of later arrivals, since they
    keep their first queue time) for routing to hand to someone else at once. Returns the
    conversations requeued."""
    requeued: list[UUID] = []
    with transaction.atomic():
        agent = routing.lock_agent(agent_id)
        if agent.status == Agent.Status.ONLINE:
            set_agent_status(agent_id=agent_id, status=Agent.Status.AWAY, automatic=True)
        held = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("customer")
            .filter(assignee_id=agent_id, status=Conversation.Status.ASSIGNED)
        )
        for conversation in held:
            routing.requeue_locked(
                conversation,
                say=lambda: (
                    _("%(agent)s has been disconnected. We are finding you another person.")
                    % {"agent": agent.display_name}
                ),
            )
            requeued.append(conversation.pk)
    return requeued
