"""Scheduled platform work (Celery Beat)."""

from __future__ import annotations

from celery import shared_task

from helpdesk import audit
from helpdesk.idempotency import forget_expired_keys
from helpdesk.webhooks import deliveries, delivery_started, retention


@shared_task(acks_late=True)
def forget_idempotency_keys_task() -> int:
    """Every hour: partners' Idempotency-Keys older than 24 h are deleted (an expired key
    is ignored anyway; this keeps the table small)."""
    return forget_expired_keys()


@shared_task(acks_late=True)
def deliver_webhooks_task() -> int:
    """After a commit that emitted partner events, and every 15 s (the sweep): make the
    deliveries of the new events and send what is due (helpdesk/webhooks/deliveries.py).
    Safe on many workers at once. A run that used its time hands on to a fresh task.
    Returns how many were delivered."""
    delivery_started()
    deliveries.fan_out()
    run = deliveries.deliver_due()
    if run.more:
        deliver_webhooks_task.delay()
    return run.delivered


@shared_task(acks_late=True)
def prune_webhooks_task() -> dict[str, int]:
    """Every hour: finished deliveries with their attempts, and the outbox's events, past
    their retention are deleted, in batches (helpdesk/webhooks/retention.py); nothing
    still to be sent. Safe to repeat and to run on several workers at once. Returns how
    many of each went."""
    pruned = retention.prune()
    return {"events": pruned.events, "deliveries": pruned.deliveries, "attempts": pruned.attempts}


@shared_task(acks_late=True)
def prune_audit_log_task() -> int:
    """Daily: audit entries past AUDIT_RETENTION_DAYS are deleted (helpdesk/audit.py)."""
    return audit.prune()
