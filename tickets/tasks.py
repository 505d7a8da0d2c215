"""Scheduled ticket work (Celery Beat)."""

from __future__ import annotations

from celery import shared_task

from tickets import services
from tickets.services.collaboration import record_overdue_requests


@shared_task(acks_late=True, reject_on_worker_lost=True)
def record_breaches_task() -> int:
    """Every minute: clocks that ran out are marked breached, each exactly once (a run
    killed half-way is redone, and what it committed is not due any more)."""
    return len(services.record_breaches())


@shared_task(acks_late=True, reject_on_worker_lost=True)
def warn_at_risk_task() -> int:
    """Every minute: clocks that used the policy's at-risk share are warned, each once."""
    return len(services.warn_at_risk())


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_time_rules_task() -> int:
    """Every five minutes: time-based automation rules fire on the tickets that have waited
    long enough, each at most once per ticket (a second worker or a redone run skips
    what is recorded)."""
    from tickets.services.automation import run_time_rules

    return len(run_time_rules())


@shared_task(acks_late=True, reject_on_worker_lost=True)
def collaboration_overdue_task() -> int:
    """Every minute: collaboration requests past their due time without an answer are
    marked overdue and their people told, each exactly once."""
    return len(record_overdue_requests())
