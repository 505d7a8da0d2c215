"""The SLA clocks of a ticket: which target applies, the due times, pauses.

Times are business time of the ticket's SLA policy (tickets/sla.py). These
functions change the ticket object only; the service that calls them holds the
row lock and saves.
"""

from __future__ import annotations

from datetime import datetime

from tickets import sla
from tickets.models import SLAPolicy, SLATarget, Ticket


def calendar_of(policy: SLAPolicy | None) -> sla.Calendar | None:
    """The policy's calendar, read once per policy object (a change may need it several
    times: the pause, the due times, the next response)."""
    if policy is None or policy.calendar_id is None:
        return None
    if not hasattr(policy, "_sla_calendar"):
        policy._sla_calendar = policy.calendar.as_calendar()
    return policy._sla_calendar


def target_for(policy: SLAPolicy | None, *, priority: int, level: str) -> SLATarget | None:
    """The policy's row for this priority and level, else its row for any level."""
    if policy is None:
        return None
    rows = {
        row.customer_level: row
        for row in policy.targets.filter(priority=priority, customer_level__in=[level, ""])
    }
    return rows.get(level) or rows.get("")


def due_after(ticket: Ticket, minutes: int | None, calendar, *, since: datetime) -> datetime | None:
    if minutes is None:
        return None
    return sla.add_business_time(since, minutes * 60 + ticket.sla_paused_seconds, calendar)


def recompute_due_times(ticket: Ticket) -> None:
    """First response and resolution due from the creation, plus the business time spent
    waiting on the customer; nothing while the clock is paused or the ticket is done."""
    if ticket.sla_paused_at is not None:
        return
    target = target_for(ticket.sla_policy, priority=ticket.priority, level=ticket.customer.level)
    if target is None:
        ticket.first_response_due = ticket.resolution_due = None
        return
    calendar = calendar_of(ticket.sla_policy)
    ticket.first_response_due = (
        None
        if ticket.first_responded_at
        else due_after(ticket, target.first_response_minutes, calendar, since=ticket.created_at)
    )
    ticket.resolution_due = (
        None
        if ticket.status in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED)
        else due_after(ticket, target.resolution_minutes, calendar, since=ticket.created_at)
    )


def pause_clocks(ticket: Ticket, now: datetime) -> None:
    if ticket.sla_paused_at is None:
        ticket.sla_paused_at = now


def resume_clocks(ticket: Ticket, now: datetime) -> None:
    if ticket.sla_paused_at is None:
        return
    ticket.sla_paused_seconds += max(
        0.0, sla.business_seconds_between(ticket.sla_paused_at, now, calendar_of(ticket.sla_policy))
    )
    ticket.sla_paused_at = None
    recompute_due_times(ticket)


def next_response_due(ticket: Ticket, now: datetime) -> datetime | None:
    target = target_for(ticket.sla_policy, priority=ticket.priority, level=ticket.customer.level)
    if target is None or target.next_response_minutes is None or not ticket.first_responded_at:
        return None
    return sla.add_business_time(
        now, target.next_response_minutes * 60, calendar_of(ticket.sla_policy)
    )


def default_policy() -> SLAPolicy | None:
    return (
        SLAPolicy.objects.select_related("calendar")
        .prefetch_related("calendar__openings", "calendar__holidays")
        .filter(is_default=True)
        .first()
    )
