"""Scheduled routing work (Celery Beat): the sweep behind the event-driven routing."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from conversations import presence
from conversations.models import Agent
from conversations.rooms import tasks as room_tasks  # noqa: F401 (registers its tasks)
from conversations.services import agents, care, privacy, routing


@shared_task
def route_waiting_task() -> int:
    """Every waiting conversation tried again: overflow to a fallback group once it has
    waited long enough, and anything a lost event left behind."""
    return routing.route_waiting()


@shared_task
def sweep_presence_task() -> int:
    """Agents marked online whose every desk socket has gone silent (a daphne process that
    died takes its sockets' goodbyes with it) become away and their work is requeued."""
    settled = timezone.now() - timedelta(seconds=settings.AGENT_AWAY_GRACE)
    gone = [
        agent_id
        for agent_id in Agent.objects.filter(status=Agent.Status.ONLINE)
        .exclude(status_changed_at__gt=settled)
        .values_list("pk", flat=True)
        if presence.live_sockets_now(agent_id) == 0
    ]
    for agent_id in gone:
        agents.desk_gone(agent_id=agent_id)
    return len(gone)


@shared_task
def send_outreach_task(outreach_id: int) -> int:
    """One claimed outreach, when it is due (enqueued on commit with its delay; a
    duplicate or late delivery of this task finds it sent and does nothing)."""
    return care.send_due_outreach(only=outreach_id)


@shared_task
def send_due_outreach_task() -> int:
    """Every claimed outreach that is due: the sweep that makes sure (Beat)."""
    return care.send_due_outreach()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def apply_retention_task() -> dict[str, int]:
    """The retention settings (docs/privacy.md): files of conversations closed longer than
    ATTACHMENT_RETENTION_DAYS deleted, conversations closed longer than
    CLOSED_CONVERSATION_RETENTION_DAYS erased. Batched and idempotent: a worker lost
    half-way leaves committed batches done, and the retry takes up the rest."""
    return {
        "attachments": privacy.purge_expired_attachments(),
        "conversations": privacy.anonymize_expired_conversations(),
    }
