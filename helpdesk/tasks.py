"""Scheduled platform work (Celery Beat)."""

from __future__ import annotations

from celery import shared_task

from helpdesk.idempotency import forget_expired_keys


@shared_task(acks_late=True)
def forget_idempotency_keys_task() -> int:
    """Every hour: partners' Idempotency-Keys older than 24 h are deleted (an expired key
    is ignored anyway; this keeps the table small)."""
    return forget_expired_keys()
