"""The SLA clocks of a ticket: which target applies, the due times, pauses.

Times are business time of the ticket's SLA policy (tickets/sla.py). The clocks
are TicketClock rows (ticket.sla_clocks). These functions change the ticket's
objects only; the service that calls them holds the ticket's row lock and saves
the ticket, then its clocks (save_clocks).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from tickets import sla
from tickets.models import SLAPolicy, SLATarget, Ticket, TicketClock


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


def clock_of(ticket: Ticket, clock: str) -> TicketClock:
    """The ticket's clock `clock`, a new (unsaved) one if it never ran."""
    row = ticket.sla_clocks.get(clock)
    if row is None:
        row = ticket.sla_clocks[clock] = TicketClock(ticket=ticket, clock=clock)
    return row


def set_clock(
    ticket: Ticket, clock: str, minutes: int | None, calendar, *, since: datetime, paused: float
) -> None:
    """Run `clock` for `minutes` of business time from `since` (plus `paused` seconds spent
    waiting on the customer): its due time, and when it is at risk (the policy's share of
    the target used). A warning already given stays given while the clock is still at risk
    (a pause and resume does not warn twice); it is taken back when the clock moved out of
    the risk zone (a lower priority, a longer target), so it can warn again later."""
    if minutes is None:
        stop_clock(ticket, clock)
        return
    ratio = ticket.sla_policy.at_risk_ratio if ticket.sla_policy else 0.8
    row = clock_of(ticket, clock)
    row.due = sla.add_business_time(since, minutes * 60 + paused, calendar)
    row.risk_at = sla.add_business_time(since, minutes * 60 * ratio + paused, calendar)
    if row.warned_at is not None and row.risk_at > timezone.now():
        row.warned_at = None


def stop_clock(ticket: Ticket, *clocks: str) -> None:
    """The clock is answered or no longer applies: nothing is due, nothing at risk."""
    for clock in clocks:
        row = ticket.sla_clocks.get(clock)
        if row is not None:
            row.due = row.risk_at = None


def save_clocks(ticket: Ticket) -> None:
    """Write the ticket's clocks that changed (in one statement), each paused while the
    ticket waits on the customer and knowing whether the ticket is open. The caller
    holds the ticket's row lock, as every writer of clocks does: no other transaction
    changes them meanwhile."""
    changed = []
    for row in ticket.sla_clocks.values():
        row.paused = ticket.sla_paused_at is not None
        row.ticket_open = ticket.is_open
        if row.pk is None or row.state != row.saved_state:
            changed.append(row)
    if not changed:
        return
    TicketClock.objects.bulk_create(
        changed,
        update_conflicts=True,
        unique_fields=["ticket", "clock"],
        update_fields=[name for name in TicketClock.STATE],
    )
    for row in changed:
        row.saved_state = row.state


def recompute_due_times(ticket: Ticket) -> None:
    """First response and resolution due from the creation, plus the business time spent
    waiting on the customer; nothing while the clock is paused or the ticket is done."""
    if ticket.sla_paused_at is not None:
        return
    target = target_for(ticket.sla_policy, priority=ticket.priority, level=ticket.customer.level)
    if target is None:
        stop_clock(ticket, "first_response", "resolution")
        return
    calendar = calendar_of(ticket.sla_policy)
    since, paused = ticket.created_at, ticket.sla_paused_seconds
    if ticket.first_responded_at:
        stop_clock(ticket, "first_response")
    else:
        set_clock(
            ticket,
            "first_response",
            target.first_response_minutes,
            calendar,
            since=since,
            paused=paused,
        )
    if ticket.status in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED):
        stop_clock(ticket, "resolution")
    else:
        set_clock(
            ticket, "resolution", target.resolution_minutes, calendar, since=since, paused=paused
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


def start_next_response(ticket: Ticket, now: datetime) -> None:
    """The customer wrote again after the first response: the next-response clock starts
    afresh (a breach or warning of an earlier round stays in the timeline)."""
    target = target_for(ticket.sla_policy, priority=ticket.priority, level=ticket.customer.level)
    if target is None or target.next_response_minutes is None or not ticket.first_responded_at:
        stop_clock(ticket, "next_response")
        return
    row = clock_of(ticket, "next_response")
    row.breached_at = row.warned_at = None
    set_clock(
        ticket,
        "next_response",
        target.next_response_minutes,
        calendar_of(ticket.sla_policy),
        since=now,
        paused=0.0,
    )


def default_policy() -> SLAPolicy | None:
    return (
        SLAPolicy.objects.select_related("calendar")
        .prefetch_related("calendar__openings", "calendar__holidays")
        .filter(is_default=True)
        .first()
    )
