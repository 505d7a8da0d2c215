"""Reads of tickets that more than one caller needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Case, Count, Prefetch, Q, QuerySet, When
from django.utils import timezone

from conversations.models import Conversation
from customers.models import Customer
from tickets.models import CollaborationRequest, Macro, Priority, Ticket, pk_of

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


def visible_tickets(agent) -> QuerySet[Ticket]:
    """What an agent may open: supervisors everything; agents the tickets assigned to
    them, those of their groups, those of no group yet, and those another team asked
    one of their groups about, while that request is open or accepted."""
    queryset = Ticket.objects.select_related("type", "customer", "skill_group", "assignee")
    if agent.is_supervisor:
        return queryset
    groups = agent.skill_groups.through.objects.filter(agent_id=agent.pk).values("skillgroup_id")
    asked = CollaborationRequest.objects.filter(
        to_group_id__in=groups, status__in=CollaborationRequest.ACTIVE_STATUSES
    ).values("ticket_id")
    return queryset.filter(
        Q(assignee_id=agent.pk)
        | Q(skill_group_id__in=groups)
        | Q(skill_group__isnull=True)
        | Q(pk__in=asked)
    )


@dataclass(frozen=True)
class TicketFilters:
    """The ticket list's filters, from the query string; unknown values are ignored."""

    status: str = "open"  # a status, "open" (every open status) or "" (all)
    priority: int | None = None
    type: str = ""
    group: str = ""
    assignee: str = ""  # "me", "none" or ""
    sla: str = ""  # "breached", "at_risk" (the policy's share used), "due_soon" (1 h) or ""
    level: str = ""
    q: str = ""

    @classmethod
    def from_query(cls, query) -> TicketFilters:
        status = query.get("status", "open")
        priority = query.get("priority", "")
        return cls(
            status=status if status in {"open", "", *Ticket.Status.values} else "open",
            priority=int(priority)
            if priority.isdigit() and int(priority) in Priority.values
            else None,
            type=query.get("type", "")[:40],
            group=query.get("group", "")[:40],
            assignee=query.get("assignee", "") if query.get("assignee") in ("me", "none") else "",
            sla=query.get("sla", "")
            if query.get("sla") in ("breached", "at_risk", "due_soon")
            else "",
            level=query.get("level", "") if query.get("level") in Customer.Level.values else "",
            q=query.get("q", "").strip()[:100],
        )


def ticket_list(agent, filters: TicketFilters, *, now=None) -> QuerySet[Ticket]:
    """The agent's visible tickets narrowed by `filters`, most urgent first, then oldest."""
    now = now or timezone.now()
    tickets = visible_tickets(agent)
    if filters.status == "open":
        tickets = tickets.filter(status__in=Ticket.OPEN_STATUSES)
    elif filters.status:
        tickets = tickets.filter(status=filters.status)
    if filters.priority:
        tickets = tickets.filter(priority=filters.priority)
    if filters.type:
        tickets = tickets.filter(type__code=filters.type)
    if filters.group:
        tickets = tickets.filter(skill_group__code=filters.group)
    if filters.assignee == "me":
        tickets = tickets.filter(assignee_id=agent.pk)
    elif filters.assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
    if filters.level:
        tickets = tickets.filter(customer__level=filters.level)
    if filters.sla == "breached":
        tickets = tickets.filter(
            Q(first_response_breached_at__isnull=False)
            | Q(next_response_breached_at__isnull=False)
            | Q(resolution_breached_at__isnull=False)
        )
    elif filters.sla == "at_risk":
        tickets = tickets.filter(
            Q(
                first_response_risk_at__lte=now,
                first_response_due__gt=now,
                first_response_breached_at__isnull=True,
            )
            | Q(
                next_response_risk_at__lte=now,
                next_response_due__gt=now,
                next_response_breached_at__isnull=True,
            )
            | Q(
                resolution_risk_at__lte=now,
                resolution_due__gt=now,
                resolution_breached_at__isnull=True,
            ),
            sla_paused_at__isnull=True,
        )
    elif filters.sla == "due_soon":
        soon = now + timedelta(hours=1)
        tickets = tickets.filter(
            Q(first_response_due__range=(now, soon)) | Q(resolution_due__range=(now, soon)),
            sla_paused_at__isnull=True,
        )
    if filters.q:
        pk = pk_of(filters.q)
        text = Q(subject__icontains=filters.q) | Q(customer__name__icontains=filters.q)
        tickets = tickets.filter(text | Q(pk=pk) if pk else text)
    return tickets.order_by("-priority", "created_at", "pk")


def available_macros(agent) -> QuerySet[Macro]:
    """The active macros an agent may apply: those for every agent and those of the
    agent's groups (supervisors: all), in their order."""
    macros = Macro.objects.filter(is_active=True).order_by("position", "pk")
    if agent.is_supervisor:
        return macros
    groups = agent.skill_groups.through.objects.filter(agent_id=agent.pk).values("skillgroup_id")
    mine = Macro.skill_groups.through.objects.filter(skillgroup_id__in=groups).values("macro_id")
    return macros.filter(Q(skill_groups__isnull=True) | Q(pk__in=mine)).distinct()


def ticket_automation(agent, ticket: Ticket) -> dict:
    """What the ticket page shows of automation: the macros the agent may apply and the
    confirmation the ticket waits for, if any."""
    return {
        "macros": list(available_macros(agent)),
        "awaiting_confirmation": ticket.confirmation_requests.filter(
            answered_at__isnull=True
        ).first(),
    }


def partner_tickets() -> QuerySet[Ticket]:
    """Every ticket, with what the partner API shows of it: type, customer, group,
    assignee and SLA policy joined, the conversations' ids prefetched — two queries for a
    page of any size. The partner (a key with the tickets scope) sees all tickets."""
    return Ticket.objects.select_related(
        "type", "customer", "skill_group", "assignee", "sla_policy"
    ).prefetch_related(
        Prefetch("conversations", queryset=Conversation.objects.only("id").order_by("created_at"))
    )


# --- collaboration requests ------------------------------------------------------------

REQUESTS_SENT = 50


def _requests() -> QuerySet[CollaborationRequest]:
    return CollaborationRequest.objects.select_related("ticket", "from_agent", "to_group", "owner")


def visible_requests(agent) -> QuerySet[CollaborationRequest]:
    """The requests an agent may open and act on: supervisors all; agents those they sent,
    those to their groups, and those on tickets they may see."""
    if agent.is_supervisor:
        return _requests()
    groups = agent.skill_groups.through.objects.filter(agent_id=agent.pk).values("skillgroup_id")
    return _requests().filter(
        Q(from_agent_id=agent.pk)
        | Q(to_group_id__in=groups)
        | Q(ticket_id__in=visible_tickets(agent).values("pk"))
    )


def requests_for_my_groups(agent) -> QuerySet[CollaborationRequest]:
    """Open and accepted requests to the agent's groups, the most overdue first."""
    groups = agent.skill_groups.through.objects.filter(agent_id=agent.pk).values("skillgroup_id")
    return (
        _requests()
        .filter(to_group_id__in=groups, status__in=CollaborationRequest.ACTIVE_STATUSES)
        .order_by("due_at", "pk")
    )


def requests_sent_by(agent, *, limit: int = REQUESTS_SENT) -> QuerySet[CollaborationRequest]:
    """The agent's own requests, open ones first, then the latest."""
    return (
        _requests()
        .filter(from_agent_id=agent.pk)
        .order_by(
            Case(
                When(status__in=CollaborationRequest.ACTIVE_STATUSES, then=0),
                default=1,
            ),
            "-created_at",
            "-pk",
        )[:limit]
    )


def waiting_request_count(agent) -> int:
    """How many requests wait on the agent's groups (the tickets list's link says it)."""
    return requests_for_my_groups(agent).count()


def ticket_requests(ticket: Ticket) -> list[CollaborationRequest]:
    """A ticket's requests, open ones first, then the latest."""
    return list(
        _requests()
        .filter(ticket=ticket)
        .order_by(
            Case(
                When(status__in=CollaborationRequest.ACTIVE_STATUSES, then=0),
                default=1,
            ),
            "-created_at",
            "-pk",
        )
    )
