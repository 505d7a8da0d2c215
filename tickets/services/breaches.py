"""SLA clocks running out: warned when at risk, recorded and acted on when breached.

Celery Beat runs `record_breaches` and `warn_at_risk` every minute. Each works in
batches, one transaction per batch: the rows are taken with SELECT … FOR UPDATE
SKIP LOCKED and marked in that transaction together with everything done about
them (timeline rows, notices, priority and group changes, partner events), so a
clock is warned once and breached once, and acted on once, however many workers
run and whatever is retried. A paused clock is neither at risk nor breached.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.models import Agent
from conversations.services.notices import Draft, notify_many
from tickets import events
from tickets.models import CLOCK_LABELS, CLOCKS, Priority, Ticket, TicketEvent
from tickets.services import assignment
from tickets.services.tickets import change_ticket

BREACH_BATCH = 1000
# A run stops taking new batches after this long; the next minute's run goes on.
RUN_BUDGET_SECONDS = 45.0


def _supervisors() -> list[tuple[int, set[int]]]:
    """(agent id, their skill group ids) of every supervisor."""
    rows = (
        Agent.objects.filter(user__is_active=True)
        .filter(Q(user__is_superuser=True) | Q(user__groups__name="Supervisors"))
        .distinct()
        .prefetch_related("skill_groups")
    )
    return [(agent.pk, {g.pk for g in agent.skill_groups.all()}) for agent in rows]


def _supervisors_of(ticket: Ticket, supervisors: list[tuple[int, set[int]]]) -> list[int]:
    """The supervisors of the ticket's group, or every supervisor when it has none."""
    own = [pk for pk, groups in supervisors if ticket.skill_group_id in groups]
    return own or [pk for pk, _groups in supervisors]


def _take(clock: str, marked: str, condition: Q, batch: int) -> list[Ticket]:
    ids = list(
        Ticket.objects.filter(condition, sla_paused_at__isnull=True)
        .select_for_update(skip_locked=True, of=("self",))
        .order_by(marked)
        .values_list("pk", flat=True)[:batch]
    )
    if not ids:
        return []
    return list(
        Ticket.objects.filter(pk__in=ids)
        .select_related("customer", "type", "skill_group", "assignee", "sla_policy")
        .prefetch_related("conversations")  # the partner event's ticket lists them
        .order_by(marked, "pk")
    )


def _in_batches(step: Callable[[datetime], list[tuple[int, str]]], now) -> list[tuple[int, str]]:
    done: list[tuple[int, str]] = []
    started = time.monotonic()
    while time.monotonic() - started < RUN_BUDGET_SECONDS:
        with transaction.atomic():
            marked = step(now)
        if not marked:
            break
        done += marked
    return done


def record_breaches(*, now: datetime | None = None, batch: int = BREACH_BATCH):
    """Mark every running clock whose due time has passed as breached, each exactly once,
    and act on it as the ticket's SLA policy says: an SLA row in the timeline; a notice to
    the assignee and to the group's supervisors; one step more urgent; moved to the
    escalation group (and its next agent); a `ticket.sla_breached` partner event.
    Returns the (ticket id, clock) pairs marked."""
    return _in_batches(lambda at: _breach_batch(at, batch), now or timezone.now())


def _breach_batch(now: datetime, batch: int) -> list[tuple[int, str]]:
    for clock in CLOCKS:
        tickets = _take(
            clock,
            f"{clock}_due",
            Q(**{f"{clock}_due__lte": now, f"{clock}_breached_at__isnull": True}),
            batch,
        )
        if tickets:
            _breached(tickets, clock, now)
            return [(t.pk, clock) for t in tickets]
    return []


def _breached(tickets: list[Ticket], clock: str, now: datetime) -> None:
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(**{f"{clock}_breached_at": now})
    for ticket in tickets:
        setattr(ticket, f"{clock}_breached_at", now)
    TicketEvent.objects.bulk_create(
        TicketEvent(ticket=t, kind=TicketEvent.Kind.SLA, field=clock, new="breached")
        for t in tickets
    )
    supervisors = _supervisors()
    drafts = []
    for ticket in tickets:
        policy = ticket.sla_policy
        agents = []
        if policy is None or policy.notify_assignee:
            agents.append(ticket.assignee_id)
        if policy is None or policy.notify_supervisors:
            agents += _supervisors_of(ticket, supervisors)
        drafts.append(_draft(ticket, clock, "sla_breached", agents, _breached_text))
    notify_many(drafts)
    events.sla_breached(tickets, clock=clock)
    for ticket in tickets:
        policy = ticket.sla_policy
        if policy is None:
            continue
        changes: dict = {}
        if policy.raise_priority_on_breach and ticket.priority < Priority.URGENT:
            steps = list(Priority.values)
            changes["priority"] = steps[steps.index(ticket.priority) + 1]
        if policy.escalation_group_id and policy.escalation_group_id != ticket.skill_group_id:
            changes["skill_group"] = policy.escalation_group
            changes["assignee"] = None
        if changes and ticket.status != Ticket.Status.CLOSED:
            changed = change_ticket(ticket_id=ticket.pk, actor=None, **changes)
            if "skill_group" in changes:
                _reassign(changed)


def _reassign(ticket: Ticket) -> None:
    agent = assignment.choose_assignee(ticket)
    if agent is not None:
        change_ticket(ticket_id=ticket.pk, actor=None, assignee=agent)


def warn_at_risk(*, now: datetime | None = None, batch: int = BREACH_BATCH):
    """Warn once per clock run when a clock has used the policy's at-risk share of its
    target (and is not breached yet): an SLA row in the timeline and a notice to the
    assignee, or to the group's supervisors while nobody has the ticket. Returns the
    (ticket id, clock) pairs warned."""
    return _in_batches(lambda at: _warn_batch(at, batch), now or timezone.now())


def _warn_batch(now: datetime, batch: int) -> list[tuple[int, str]]:
    for clock in CLOCKS:
        tickets = _take(
            clock,
            f"{clock}_risk_at",
            Q(
                **{
                    f"{clock}_risk_at__lte": now,
                    f"{clock}_warned_at__isnull": True,
                    f"{clock}_breached_at__isnull": True,
                    f"{clock}_due__gt": now,
                }
            ),
            batch,
        )
        if tickets:
            _warned(tickets, clock, now)
            return [(t.pk, clock) for t in tickets]
    return []


def _warned(tickets: list[Ticket], clock: str, now: datetime) -> None:
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(**{f"{clock}_warned_at": now})
    TicketEvent.objects.bulk_create(
        TicketEvent(ticket=t, kind=TicketEvent.Kind.SLA, field=clock, new="at_risk")
        for t in tickets
    )
    supervisors = _supervisors()
    drafts = []
    for ticket in tickets:
        if ticket.sla_policy is not None and not ticket.sla_policy.notify_assignee:
            continue
        agents = (
            [ticket.assignee_id] if ticket.assignee_id else _supervisors_of(ticket, supervisors)
        )
        drafts.append(_draft(ticket, clock, "sla_at_risk", agents, _at_risk_text))
    notify_many(drafts)


def _draft(ticket: Ticket, clock: str, kind: str, agents, text) -> Draft:
    number, subject = ticket.number, ticket.subject
    due = getattr(ticket, f"{clock}_due")
    return Draft(
        agents=agents,
        kind=kind,
        key=f"ticket:{ticket.pk}:{kind}:{clock}:{due.isoformat() if due else ''}",
        text=lambda: text(number, subject, clock, due),
        url=f"/desk/tickets/{ticket.pk}/",
    )


def _breached_text(number, subject, clock, due) -> str:
    return _("SLA breached on %(number)s (%(clock)s): %(subject)s") % {
        "number": number,
        "clock": CLOCK_LABELS[clock],
        "subject": subject,
    }


def _at_risk_text(number, subject, clock, due) -> str:
    return _("%(number)s is at risk: %(clock)s due %(due)s — %(subject)s") % {
        "number": number,
        "clock": CLOCK_LABELS[clock],
        "due": timezone.localtime(due).strftime("%m-%d %H:%M") if due else "—",
        "subject": subject,
    }
