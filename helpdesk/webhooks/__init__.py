"""Partner events (contracts/partner-api.md, "Webhooks"): written to the outbox by services.

A service calls `emit(event, data)` inside its transaction: the event exists if
and only if the change it describes committed. Once the transaction commits, a
Celery task makes its deliveries to the partners' subscriptions and sends them
(helpdesk/webhooks/deliveries.py); a job that writes events by SQL calls
`fan_out_on_commit()` for the same. Celery Beat's sweep catches anything those
tasks missed.
"""

from __future__ import annotations

import json
import logging

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from helpdesk.models import WEBHOOK_EVENTS, OutboundEvent
from helpdesk.redis_clients import key, sync_redis

logger = logging.getLogger(__name__)


def emit(event: str, data: dict) -> OutboundEvent:
    return emit_many([(event, data)])[0]


def emit_many(items: list[tuple[str, dict]]) -> list[OutboundEvent]:
    """Several events in one write, in their order (a batch job)."""
    rows = []
    for event, data in items:
        if event not in WEBHOOK_EVENTS:
            raise ValueError(f"unknown webhook event {event!r}")
        # Times and ids as the API writes them (ISO-8601, strings), whatever was passed.
        rows.append(
            OutboundEvent(event=event, data=json.loads(json.dumps(data, cls=DjangoJSONEncoder)))
        )
    made = OutboundEvent.objects.bulk_create(rows)
    if made:
        fan_out_on_commit()
    return made


def fan_out_on_commit() -> None:
    """Once the current transaction commits, deliver the events it wrote: one Celery
    task a transaction, however many events it emitted. Nothing when it rolls back."""
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        callback is _enqueue_delivery for _sids, callback, _robust in connection.run_on_commit
    ):
        return
    transaction.on_commit(_enqueue_delivery)


# While a delivery task is queued and has not started, the commits after it need no task
# of their own: it fans out whatever was committed before it starts (the live chat
# writes an event a message; a task each would be hundreds a second). The mark expires
# by itself should the task be lost; Beat's sweep covers that gap too.
PENDING_TTL = 10  # seconds


def _pending_key() -> str:
    return key("webhooks", "fan-out-pending")


def _enqueue_delivery() -> None:
    from helpdesk.tasks import deliver_webhooks_task

    try:
        if not sync_redis().set(_pending_key(), 1, nx=True, ex=PENDING_TTL):
            return  # a task waits to start: it will see this commit
        deliver_webhooks_task.delay()
    except Exception:  # the broker is away: Beat's sweep delivers within 15 s
        logger.warning("could not enqueue webhook delivery; the sweep will make it")


def delivery_started() -> None:
    """A delivery task starts (before it reads the outbox): a commit from now on enqueues
    another."""
    try:
        sync_redis().delete(_pending_key())
    except Exception:
        logger.warning("could not clear the pending webhook delivery mark")
