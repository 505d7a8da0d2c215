"""Who a new ticket goes to: the department's group, with the group's routing strategy.

The same strategies as live chat (SkillGroup: dedicated agent first, the agent who
served the customer last, then round-robin or least load), counted in tickets: an
agent's load is their open tickets, round-robin is the longest since their last
ticket. Only agents at work (online or away) take tickets; with nobody at work the
ticket waits in the group, unassigned. Choices in one group are made one at a time
(a transaction-level advisory lock per group), so two tickets opened at once do not
both go to the same "least loaded" agent.
"""

from __future__ import annotations

import zlib
from datetime import timedelta

from django.db import connection
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations import selectors as conversation_selectors
from conversations.models import Agent, DedicatedAgent, SkillGroup
from conversations.services.notices import notify
from tickets.models import Ticket

AT_WORK = (Agent.Status.ONLINE, Agent.Status.AWAY)
LOCK_NAMESPACE = 0x71C7  # advisory lock keys (namespace, group) of ticket assignment


def _lock_group(group: SkillGroup) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)",
            [LOCK_NAMESPACE, zlib.crc32(group.code.encode()) & 0x7FFFFFFF],
        )


def choose_assignee(ticket: Ticket) -> Agent | None:
    """The agent of the ticket's group who should take it, or None. Call inside the
    transaction that saves the assignment."""
    group = ticket.skill_group
    if group is None:
        return None
    _lock_group(group)
    candidates = list(
        Agent.objects.filter(skill_groups=group, status__in=AT_WORK, user__is_active=True)
        .annotate(
            open_tickets=Count("tickets", filter=Q(tickets__status__in=Ticket.OPEN_STATUSES)),
            last_ticket_at=Max("tickets__assigned_at"),
        )
        .order_by("pk")
    )
    if not candidates:
        return None
    by_id = {agent.pk: agent for agent in candidates}
    if group.prefer_dedicated_agent:
        dedicated = (
            DedicatedAgent.objects.filter(customer_id=ticket.customer_id)
            .values_list("agent_id", flat=True)
            .first()
        )
        if dedicated in by_id:
            return by_id[dedicated]
    if group.prefer_returning_agent:
        last = conversation_selectors.last_agents([ticket.customer_id], exclude=[]).get(
            ticket.customer_id
        )
        window = timedelta(hours=group.returning_window_hours)
        if last and last[0] in by_id and timezone.now() - last[1] <= window:
            return by_id[last[0]]
    never = timezone.now() - timedelta(days=36500)
    if group.strategy == SkillGroup.Strategy.ROUND_ROBIN:
        return min(candidates, key=lambda a: (a.last_ticket_at or never, a.pk))
    return min(candidates, key=lambda a: (a.open_tickets, a.last_ticket_at or never, a.pk))


def tell_assignee(ticket: Ticket, *, by=None) -> None:
    """The new assignee hears of it (not when they took the ticket themselves)."""
    agent = ticket.assignee
    if agent is None or (by is not None and agent.user_id == getattr(by, "pk", None)):
        return
    number, subject = ticket.number, ticket.subject
    notify(
        agents=[agent],
        kind="ticket_assigned",
        key=f"ticket:{ticket.pk}:assigned:{ticket.assigned_at.isoformat()}",
        text=lambda: (
            _("Ticket %(number)s is yours: %(subject)s") % {"number": number, "subject": subject}
        ),
        url=f"/desk/tickets/{ticket.pk}/",
    )
