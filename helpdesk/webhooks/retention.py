"""How long the outbox and the delivery log are kept (docs/api.md, "Webhooks", "Retention").

Every partner event is a row of the outbox (one a chat message), and every delivery and
attempt a row of the log, so Celery Beat prunes them (`prune_webhooks_task`, hourly):

- a delivery that is finished (delivered, or failed: given up) goes with its attempts
  WEBHOOK_DELIVERY_RETENTION_DAYS after it finished;
- an event goes WEBHOOK_EVENT_RETENTION_DAYS after it was written, once it has been fanned
  out and no delivery of it is left: one nobody subscribed to, or whose deliveries the
  log no longer keeps (a delivery in the log shows its event, so the event stays as
  long as the log does).

What is still to do is never touched: an event not yet fanned out, a delivery pending,
being sent or waiting for a retry (and so its event). Each is a batch of
WEBHOOK_PRUNE_BATCH rows per statement and transaction, oldest first, taken with
SKIP LOCKED, until none is left: no long transaction, no table lock, and two runs at once
share the work. Order is not at stake: a delivery waits only for its subject's earlier
deliveries that are pending or sending (never pruned), the fan-out reads only events not
fanned out (never pruned), and sequence numbers come from a sequence, never reused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

PRUNE_DELIVERIES_SQL = """
WITH batch AS (
    SELECT id FROM helpdesk_webhookdelivery
    WHERE state IN ('delivered', 'failed') AND finished_at < %(cutoff)s
    ORDER BY finished_at
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
),
attempts AS (
    DELETE FROM helpdesk_webhookattempt a USING batch WHERE a.delivery_id = batch.id
    RETURNING 1
),
deliveries AS (
    DELETE FROM helpdesk_webhookdelivery d USING batch WHERE d.id = batch.id
    RETURNING 1
)
SELECT (SELECT count(*) FROM deliveries), (SELECT count(*) FROM attempts)
"""

# Deliveries are made only by the fan-out, in the statement that marks the event fanned
# out (or with a test event, in its transaction): an old, fanned-out event with none gets
# none later.
PRUNE_EVENTS_SQL = """
WITH batch AS (
    SELECT e.id FROM helpdesk_outboundevent e
    WHERE e.created_at < %(cutoff)s AND e.fanned_out_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM helpdesk_webhookdelivery d WHERE d.event_id = e.id)
    ORDER BY e.created_at
    LIMIT %(batch)s
    FOR UPDATE OF e SKIP LOCKED
)
DELETE FROM helpdesk_outboundevent e USING batch WHERE e.id = batch.id
"""


@dataclass
class Pruned:
    """What a run deleted."""

    events: int = 0
    deliveries: int = 0
    attempts: int = 0


def prune(*, now: datetime | None = None, batch: int | None = None) -> Pruned:
    """Delete the finished deliveries (with their attempts) and the events past their
    retention, a batch per transaction until none is left; safe to run while deliveries
    are made and sent, and on several workers at once. Returns how many rows went."""
    now = now or timezone.now()
    size = batch or settings.WEBHOOK_PRUNE_BATCH
    pruned = Pruned()
    delivery_cutoff = now - timedelta(days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS)
    while True:
        deliveries, attempts = _run(PRUNE_DELIVERIES_SQL, cutoff=delivery_cutoff, batch=size)
        pruned.deliveries += deliveries
        pruned.attempts += attempts
        if deliveries < size:
            break
    event_cutoff = now - timedelta(days=settings.WEBHOOK_EVENT_RETENTION_DAYS)
    while True:
        events = _run(PRUNE_EVENTS_SQL, cutoff=event_cutoff, batch=size)
        pruned.events += events
        if events < size:
            break
    return pruned


def _run(sql: str, *, cutoff: datetime, batch: int, tries: int = 3):
    """One batch in its own transaction: the counts the statement selects, else the
    number of rows it deleted."""
    conflicts = 0
    while True:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, {"cutoff": cutoff, "batch": batch})
                return cursor.fetchone() if cursor.description else cursor.rowcount
        except IntegrityError:
            # An attempt recorded for a delivery of the batch as it went (a claim whose
            # lease lapsed long ago, answered at last): the batch rolled back whole and
            # is taken again.
            conflicts += 1
            if conflicts >= tries:
                raise
