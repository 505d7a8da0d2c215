"""SLA breaches: found every minute by Celery Beat, each recorded exactly once."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from tickets.models import CLOCKS, Ticket, TicketEvent

BREACH_BATCH = 1000


def record_breaches(*, now: datetime | None = None) -> list[tuple[int, str]]:
    """Mark every running clock whose due time has passed as breached, each exactly once,
    with an SLA row in the ticket's timeline; returns the (ticket id, clock) pairs marked.

    Two runs at once (two workers, a retried task) share the work: each locks the rows
    it takes (SKIP LOCKED) and sets the breach time in the same transaction, so a row
    one run marked is no longer due for the other. A paused clock never breaches.
    """
    now = now or timezone.now()
    marked: list[tuple[int, str]] = []
    with transaction.atomic():
        for clock in CLOCKS:
            due = Ticket.objects.filter(
                **{f"{clock}_due__lte": now, f"{clock}_breached_at__isnull": True},
                sla_paused_at__isnull=True,
            )
            ids = list(
                due.select_for_update(skip_locked=True, of=("self",))
                .order_by(f"{clock}_due")
                .values_list("pk", flat=True)[:BREACH_BATCH]
            )
            if not ids:
                continue
            Ticket.objects.filter(pk__in=ids).update(**{f"{clock}_breached_at": now})
            TicketEvent.objects.bulk_create(
                TicketEvent(ticket_id=pk, kind=TicketEvent.Kind.SLA, field=clock, new="breached")
                for pk in ids
            )
            marked += [(pk, clock) for pk in ids]
    return marked
