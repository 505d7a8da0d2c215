"""Reads of tickets that more than one caller needs."""

from __future__ import annotations

from django.db.models import Count, Q

from tickets.models import Ticket

PANEL_TICKETS = 5


def customer_tickets(*, customer_id: int, agent=None) -> dict:
    """The customer's tickets for the 360° panel: the latest few with their type, and the
    counts (all, open), in two queries whatever their number. Registered as a panel
    section by TicketsConfig (`agent` is the viewer: every agent sees a customer's
    tickets in the panel, as they see the customer)."""
    latest = list(
        Ticket.objects.filter(customer_id=customer_id)
        .select_related("type")
        .order_by("-created_at")[:PANEL_TICKETS]
    )
    counts = Ticket.objects.filter(customer_id=customer_id).aggregate(
        total=Count("pk"), open=Count("pk", filter=Q(status__in=Ticket.OPEN_STATUSES))
    )
    return {"tickets": {"latest": latest, "count": counts["total"], "open": counts["open"]}}
