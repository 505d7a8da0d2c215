"""Collaboration requests: the agent working a ticket asks another team for help.

open → accepted (an agent of the team owns it) → answered; or declined by the team; or
withdrawn by the sender. Every step locks the request's row, checks who is acting
(CollaborationNotAllowed) and the state the request is in (CollaborationError, with a
message a person can act on), writes a "collab" row in the ticket's timeline with the
actor, and tells the people concerned through the desk's notices (each once per
request and step) — all in one transaction: a step that fails leaves no trace.

Who may act: the target team's agents and supervisors accept, answer and decline; the
sender and supervisors withdraw; only an agent who may see the ticket asks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations.models import Agent, SkillGroup
from conversations.services.notices import notify
from tickets import sla
from tickets.models import CollaborationRequest, Ticket, TicketEvent
from tickets.selectors import visible_tickets
from tickets.services.clock import calendar_of

MAX_NOTE = 2000
MAX_ANSWER = 4000
MIN_DUE_MINUTES = 5
MAX_DUE_MINUTES = 7 * 24 * 60
# What of the customer's own words travels with the request.
CONTEXT_TEXT = 500
OVERDUE_BATCH = 500
NOTICE_KIND = "collaboration"
# How much of a note or an answer a notice repeats.
NOTICE_EXCERPT = 120

Status = CollaborationRequest.Status


class CollaborationError(ValueError):
    """A step the input or the request's state does not allow; the message says why."""


class CollaborationNotAllowed(PermissionError):
    """The acting agent may not take this step on this request (or see this ticket)."""


# --- who may act --------------------------------------------------------------------


def group_ids_of(agent: Agent) -> set[int]:
    return set(agent.skill_groups.values_list("pk", flat=True))


def may_respond(
    agent: Agent, collaboration: CollaborationRequest, *, group_ids: set[int] | None = None
) -> bool:
    """Accept, answer, decline: the asked team's agents and supervisors."""
    if agent.is_supervisor:
        return True
    return collaboration.to_group_id in (group_ids_of(agent) if group_ids is None else group_ids)


def may_withdraw(agent: Agent, collaboration: CollaborationRequest) -> bool:
    return agent.is_supervisor or collaboration.from_agent_id == agent.pk


# --- helpers ------------------------------------------------------------------------


def _clean(value, *, field: str, limit: int, required: bool = True) -> str:
    if not isinstance(value, str):
        raise CollaborationError(_("%(field)s must be text.") % {"field": field})
    value = value.strip()
    if required and not value:
        raise CollaborationError(_("%(field)s may not be empty.") % {"field": field})
    if len(value) > limit:
        raise CollaborationError(
            _("%(field)s is too long (at most %(limit)d characters).")
            % {"field": field, "limit": limit}
        )
    return value


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= NOTICE_EXCERPT else text[: NOTICE_EXCERPT - 1] + "…"


def _event(collaboration: CollaborationRequest, step: str, agent: Agent | None, new: str = ""):
    """The timeline row of a step: `field` is the step, `old` the asked team's code (the
    page shows its name), `new` the note, the answer or the reason."""
    return TicketEvent(
        ticket_id=collaboration.ticket_id,
        kind=TicketEvent.Kind.COLLAB,
        actor=agent.user if agent is not None else None,
        field=step,
        old=collaboration.to_group.code,
        new=new,
    )


def _tell(
    collaboration: CollaborationRequest,
    step: str,
    agents: Iterable[Agent | int | None],
    text: Callable[[], str],
) -> None:
    notify(
        agents=[a for a in agents if a is not None],
        kind=NOTICE_KIND,
        key=f"collaboration:{collaboration.pk}:{step}",
        text=text,
        url=reverse("tickets:detail", args=[collaboration.ticket_id]),
    )


def _lock(request_id: int) -> CollaborationRequest:
    return (
        CollaborationRequest.objects.select_for_update(of=("self",))
        .select_related("ticket", "to_group", "from_agent", "owner")
        .get(pk=request_id)
    )


def _wrong_state(collaboration: CollaborationRequest) -> CollaborationError:
    if collaboration.status == Status.ACCEPTED:
        owner = collaboration.owner.display_name if collaboration.owner else "—"
        return CollaborationError(
            _("%(agent)s has accepted this request already.") % {"agent": owner}
        )
    return CollaborationError(
        {
            Status.ANSWERED: _("This request has been answered already."),
            Status.DECLINED: _("This request has been declined."),
            Status.WITHDRAWN: _("This request has been withdrawn."),
        }.get(collaboration.status, _("This request cannot change now."))
    )


def _not_a_member(collaboration: CollaborationRequest) -> CollaborationNotAllowed:
    return CollaborationNotAllowed(
        _("Only %(group)s or a supervisor can do this.") % {"group": collaboration.to_group.name}
    )


def due_time(ticket: Ticket, minutes: int, *, now: datetime) -> datetime:
    """`minutes` from now in the business hours of the ticket's SLA policy (around the
    clock without a calendar, or with one that never opens)."""
    try:
        return sla.add_business_time(now, minutes * 60, calendar_of(ticket.sla_policy))
    except ValueError:
        return now + timedelta(minutes=minutes)


def ticket_summary(ticket: Ticket) -> dict:
    """What travels with a request: the ticket as the sender sees it now. Codes, not
    labels: the page shows them in the reader's language."""
    said = ticket.comments.filter(from_customer=True).order_by("-created_at", "-pk").first()
    conversation = ticket.conversations.order_by("-created_at").first()
    return {
        "subject": ticket.subject,
        "customer": ticket.customer.display_name,
        "level": ticket.customer.level,
        "priority": ticket.priority,
        "customer_said": (said.body if said else "")[:CONTEXT_TEXT],
        "conversation": str(conversation.pk) if conversation else "",
    }


# --- the steps ------------------------------------------------------------------------


def request_collaboration(
    *,
    ticket_id: int,
    agent: Agent,
    group: SkillGroup,
    note: str,
    due_minutes: int | None = None,
) -> CollaborationRequest:
    """Ask `group` about a ticket the agent may see, with the ticket's summary attached;
    the answer is due `due_minutes` (default TICKET_COLLABORATION_DUE_MINUTES) of the
    ticket's business hours from now. The group's agents (but the sender) are told.
    One open request per team and ticket; a closed ticket, the ticket's own team or a
    team with nobody else in it are refused."""
    note = _clean(note, field=_("The question"), limit=MAX_NOTE)
    if not isinstance(group, SkillGroup):
        raise CollaborationError(_("Choose the team to ask."))
    minutes = settings.TICKET_COLLABORATION_DUE_MINUTES if due_minutes is None else due_minutes
    if (
        not isinstance(minutes, int)
        or isinstance(minutes, bool)
        or not MIN_DUE_MINUTES <= minutes <= MAX_DUE_MINUTES
    ):
        raise CollaborationError(
            _("The answer must be due in %(min)d minutes to %(max)d days.")
            % {"min": MIN_DUE_MINUTES, "max": MAX_DUE_MINUTES // (24 * 60)}
        )
    now = timezone.now()
    with transaction.atomic():
        ticket = (
            visible_tickets(agent)
            .select_related("sla_policy__calendar")
            .filter(pk=ticket_id)
            .first()
        )
        if ticket is None:
            raise CollaborationNotAllowed(_("No such ticket."))
        if ticket.status == Ticket.Status.CLOSED:
            raise CollaborationError(_("This ticket is closed."))
        if ticket.skill_group_id == group.pk:
            raise CollaborationError(
                _("The ticket is with %(group)s already: ask another team.") % {"group": group.name}
            )
        members = list(group.agents.exclude(pk=agent.pk).values_list("pk", flat=True))
        if not members:
            raise CollaborationError(
                _("Nobody else is in %(group)s yet: a supervisor can add people to it.")
                % {"group": group.name}
            )
        already = _("%(group)s has an open request on this ticket already.") % {"group": group.name}
        if CollaborationRequest.objects.filter(
            ticket=ticket, to_group=group, status__in=CollaborationRequest.ACTIVE_STATUSES
        ).exists():
            raise CollaborationError(already)
        try:
            with transaction.atomic():
                collaboration = CollaborationRequest.objects.create(
                    ticket=ticket,
                    from_agent=agent,
                    to_group=group,
                    note=note,
                    context=ticket_summary(ticket),
                    due_at=due_time(ticket, minutes, now=now),
                )
        except IntegrityError:
            # Asked by someone else in the same instant.
            raise CollaborationError(already) from None
        _event(collaboration, "requested", agent, note).save()
        _tell(
            collaboration,
            "requested",
            members,
            lambda: (
                _("%(agent)s asks %(group)s about %(number)s: %(note)s")
                % {
                    "agent": agent.display_name,
                    "group": group.name,
                    "number": ticket.number,
                    "note": _excerpt(note),
                }
            ),
        )
    return collaboration


def accept(*, request_id: int, agent: Agent) -> CollaborationRequest:
    """An agent of the asked team (or a supervisor) takes an open request: they own it and
    the sender is told."""
    with transaction.atomic():
        collaboration = _lock(request_id)
        if not may_respond(agent, collaboration):
            raise _not_a_member(collaboration)
        if collaboration.status != Status.OPEN:
            raise _wrong_state(collaboration)
        collaboration.status = Status.ACCEPTED
        collaboration.owner = agent
        collaboration.accepted_at = timezone.now()
        collaboration.save(update_fields=["status", "owner", "accepted_at"])
        _event(collaboration, "accepted", agent, agent.display_name).save()
        _tell(
            collaboration,
            "accepted",
            [collaboration.from_agent_id] if collaboration.from_agent_id != agent.pk else [],
            lambda: (
                _("%(agent)s (%(group)s) is looking into your question on %(number)s.")
                % {
                    "agent": agent.display_name,
                    "group": collaboration.to_group.name,
                    "number": collaboration.ticket.number,
                }
            ),
        )
    return collaboration


def answer(*, request_id: int, agent: Agent, text: str) -> CollaborationRequest:
    """The asked team answers an open or accepted request (the one answering owns it if
    nobody did); the answer is a row in the ticket's timeline, the sender is told."""
    text = _clean(text, field=_("The answer"), limit=MAX_ANSWER)
    with transaction.atomic():
        collaboration = _lock(request_id)
        if not may_respond(agent, collaboration):
            raise _not_a_member(collaboration)
        if not collaboration.is_active:
            raise _wrong_state(collaboration)
        collaboration.status = Status.ANSWERED
        collaboration.owner = collaboration.owner or agent
        collaboration.answer = text
        collaboration.answered_at = timezone.now()
        collaboration.save(update_fields=["status", "owner", "answer", "answered_at"])
        _event(collaboration, "answered", agent, text).save()
        _tell(
            collaboration,
            "answered",
            [collaboration.from_agent_id] if collaboration.from_agent_id != agent.pk else [],
            lambda: (
                _("%(agent)s (%(group)s) answered your question on %(number)s: %(answer)s")
                % {
                    "agent": agent.display_name,
                    "group": collaboration.to_group.name,
                    "number": collaboration.ticket.number,
                    "answer": _excerpt(text),
                }
            ),
        )
    return collaboration


def decline(*, request_id: int, agent: Agent, reason: str = "") -> CollaborationRequest:
    """The asked team declines an open or accepted request, saying why if it wants; the
    sender is told."""
    reason = _clean(reason, field=_("The reason"), limit=MAX_ANSWER, required=False)
    with transaction.atomic():
        collaboration = _lock(request_id)
        if not may_respond(agent, collaboration):
            raise _not_a_member(collaboration)
        if not collaboration.is_active:
            raise _wrong_state(collaboration)
        collaboration.status = Status.DECLINED
        collaboration.answer = reason
        collaboration.declined_at = timezone.now()
        collaboration.save(update_fields=["status", "answer", "declined_at"])
        _event(collaboration, "declined", agent, reason).save()
        _tell(
            collaboration,
            "declined",
            [collaboration.from_agent_id] if collaboration.from_agent_id != agent.pk else [],
            lambda: (
                (
                    _("%(group)s declined your request on %(number)s: %(reason)s")
                    if reason
                    else _("%(group)s declined your request on %(number)s.")
                )
                % {
                    "group": collaboration.to_group.name,
                    "number": collaboration.ticket.number,
                    "reason": _excerpt(reason),
                }
            ),
        )
    return collaboration


def withdraw(*, request_id: int, agent: Agent) -> CollaborationRequest:
    """The sender (or a supervisor) takes back an open or accepted request; its owner, if
    someone took it, is told."""
    with transaction.atomic():
        collaboration = _lock(request_id)
        if not may_withdraw(agent, collaboration):
            raise CollaborationNotAllowed(
                _("Only the sender or a supervisor can withdraw this request.")
            )
        if not collaboration.is_active:
            raise _wrong_state(collaboration)
        collaboration.status = Status.WITHDRAWN
        collaboration.withdrawn_at = timezone.now()
        collaboration.save(update_fields=["status", "withdrawn_at"])
        _event(collaboration, "withdrawn", agent).save()
        _tell(
            collaboration,
            "withdrawn",
            [collaboration.owner_id] if collaboration.owner_id != agent.pk else [],
            lambda: (
                _("%(agent)s withdrew the request to %(group)s on %(number)s.")
                % {
                    "agent": agent.display_name,
                    "group": collaboration.to_group.name,
                    "number": collaboration.ticket.number,
                }
            ),
        )
    return collaboration


def record_overdue_requests(*, now: datetime | None = None) -> list[int]:
    """Mark every open or accepted request whose due time has passed as overdue, each
    exactly once, with a timeline row; its owner (or the whole team while nobody owns it)
    and its sender are told once. Returns the ids marked.

    Two runs at once (two workers, a retried task) share the work: each locks the rows it
    takes (SKIP LOCKED) and sets `overdue_at` in the same transaction, so a row one run
    marked is no longer due for the other; the notices' keys make a retry tell no one twice.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            CollaborationRequest.objects.filter(
                status__in=CollaborationRequest.ACTIVE_STATUSES,
                overdue_at__isnull=True,
                due_at__lte=now,
            )
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("ticket", "to_group", "from_agent", "owner")
            .order_by("due_at", "pk")[:OVERDUE_BATCH]
        )
        if not due:
            return []
        ids = [collaboration.pk for collaboration in due]
        CollaborationRequest.objects.filter(pk__in=ids).update(overdue_at=now)
        TicketEvent.objects.bulk_create(
            _event(collaboration, "overdue", None) for collaboration in due
        )
        members: dict[int, list[int]] = {}
        for group_id, agent_id in SkillGroup.agents.through.objects.filter(
            skillgroup_id__in={c.to_group_id for c in due if c.owner_id is None}
        ).values_list("skillgroup_id", "agent_id"):
            members.setdefault(group_id, []).append(agent_id)
        for collaboration in due:
            answering = (
                [collaboration.owner_id]
                if collaboration.owner_id
                else members.get(collaboration.to_group_id, [])
            )
            _tell(
                collaboration,
                "overdue",
                [*answering, collaboration.from_agent_id],
                _overdue_text(collaboration),
            )
    return ids


def _overdue_text(collaboration: CollaborationRequest) -> Callable[[], str]:
    def text() -> str:
        return _("The request to %(group)s on %(number)s has had no answer since %(due)s.") % {
            "group": collaboration.to_group.name,
            "number": collaboration.ticket.number,
            "due": timezone.localtime(collaboration.due_at).strftime("%Y-%m-%d %H:%M"),
        }

    return text
