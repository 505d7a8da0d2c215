"""Collaboration requests in the desk: asking another team from the ticket page, the
requests page (for my groups, sent by me), and the steps (accept, answer, decline,
withdraw). Thin: the reads are selectors, the writes tickets/services/collaboration.py."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from conversations.models import SkillGroup
from conversations.views.access import agent_required
from customers.models import Customer
from tickets import selectors
from tickets.models import CollaborationRequest, Priority, Ticket, TicketEvent
from tickets.services import collaboration as service
from tickets.services.clock import calendar_of

# The due times the form offers (minutes); the setting's default is added if missing.
DUE_CHOICES = (30, 60, 120, 240, 480, 1440)


def _due_label(minutes: int) -> str:
    if minutes % 60:
        return _("%(n)d min") % {"n": minutes}
    return _("%(n)d h") % {"n": minutes // 60}


def mark_actions(agent, requests: list[CollaborationRequest]) -> list[CollaborationRequest]:
    """Say on each request what this agent may do with it (the buttons shown), and put its
    summary in the reader's words; one query for the agent's groups."""
    group_ids = service.group_ids_of(agent)
    levels = dict(Customer.Level.choices)
    priorities = dict(Priority.choices)
    now = timezone.now()
    for collaboration in requests:
        active = collaboration.is_active
        collaboration.may_respond = active and service.may_respond(
            agent, collaboration, group_ids=group_ids
        )
        collaboration.may_withdraw = active and service.may_withdraw(agent, collaboration)
        collaboration.is_late = active and collaboration.due_at <= now
        context = collaboration.context or {}
        collaboration.summary = {
            "subject": context.get("subject", ""),
            "customer": context.get("customer", ""),
            "level": levels.get(context.get("level"), context.get("level", "")),
            "priority": priorities.get(context.get("priority"), ""),
            "customer_said": context.get("customer_said", ""),
            "conversation_url": reverse("desk:conversation", args=[context["conversation"]])
            if context.get("conversation")
            else "",
        }
    return requests


def ticket_panel(agent, ticket: Ticket) -> dict:
    """What the ticket page shows of collaboration: the ticket's requests with the actions
    this agent may take, and the form's teams (every team but the ticket's own) and due
    times."""
    default = settings.TICKET_COLLABORATION_DUE_MINUTES
    choices = sorted({*DUE_CHOICES, default})
    return {
        "collab_requests": mark_actions(agent, selectors.ticket_requests(ticket)),
        "collab_groups": SkillGroup.objects.exclude(pk=ticket.skill_group_id)
        if ticket.skill_group_id
        else SkillGroup.objects.all(),
        "collab_due_choices": [(minutes, _due_label(minutes)) for minutes in choices],
        "collab_due_default": default,
        "collab_business_hours": calendar_of(ticket.sla_policy) is not None,
        "collab_max_note": service.MAX_NOTE,
        "collab_max_answer": service.MAX_ANSWER,
    }


def label_timeline(events: list[TicketEvent]) -> None:
    """Collaboration rows keep the team's code; people read the team's name."""
    codes = {event.old for event in events if event.kind == TicketEvent.Kind.COLLAB}
    if not codes:
        return
    names = {group.code: group.name for group in SkillGroup.objects.filter(code__in=codes)}
    for event in events:
        if event.kind == TicketEvent.Kind.COLLAB:
            event.group_label = names.get(event.old, event.old)


@agent_required
def request_list(request):
    agent = request.agent
    return render(
        request,
        "tickets/requests.html",
        {
            "for_us": mark_actions(agent, list(selectors.requests_for_my_groups(agent))),
            "sent": mark_actions(agent, list(selectors.requests_sent_by(agent))),
            "now": timezone.now(),
            "collab_max_answer": service.MAX_ANSWER,
        },
    )


@require_POST
@agent_required
def request_help(request, ticket_id: int):
    """The ticket page's "Request help from another team"."""
    ticket = selectors.visible_tickets(request.agent).filter(pk=ticket_id).first()
    if ticket is None:
        raise Http404(_("No such ticket."))
    back = reverse("tickets:detail", args=[ticket.pk])
    group = SkillGroup.objects.filter(code=request.POST.get("group", "")[:40]).first()
    if group is None:
        return _refused(request, back, _("Choose the team to ask."))
    due = request.POST.get("due", "")
    minutes = int(due) if due.isdigit() and len(due) <= 6 else (None if due == "" else -1)
    try:
        service.request_collaboration(
            ticket_id=ticket.pk,
            agent=request.agent,
            group=group,
            note=request.POST.get("note", ""),
            due_minutes=minutes,
        )
    except service.CollaborationNotAllowed:
        raise Http404(_("No such ticket.")) from None
    except service.CollaborationError as error:
        return _refused(request, back, str(error))
    messages.success(request, _("%(group)s has been asked.") % {"group": group.name})
    return redirect(back)


@require_POST
@agent_required
def request_accept(request, request_id: int):
    return _step(request, request_id, service.accept, _("You have accepted the request."))


@require_POST
@agent_required
def request_answer(request, request_id: int):
    return _step(
        request,
        request_id,
        service.answer,
        _("Your answer is on the ticket."),
        text=request.POST.get("text", ""),
    )


@require_POST
@agent_required
def request_decline(request, request_id: int):
    return _step(
        request,
        request_id,
        service.decline,
        _("You have declined the request."),
        reason=request.POST.get("reason", ""),
    )


@require_POST
@agent_required
def request_withdraw(request, request_id: int):
    return _step(request, request_id, service.withdraw, _("The request is withdrawn."))


def _step(request, request_id: int, step, done: str, **fields):
    """One step on a request the agent may see (404 otherwise); back to the page it came
    from: the requests page, else the ticket while the agent may still open it."""
    collaboration = selectors.visible_requests(request.agent).filter(pk=request_id).first()
    if collaboration is None:
        raise Http404(_("No such request."))
    try:
        step(request_id=collaboration.pk, agent=request.agent, **fields)
    except (service.CollaborationError, service.CollaborationNotAllowed) as error:
        return _refused(request, _back(request, collaboration), str(error))
    messages.success(request, done)
    return redirect(_back(request, collaboration))


def _back(request, collaboration: CollaborationRequest) -> str:
    if request.POST.get("next") != "requests" and (
        selectors.visible_tickets(request.agent).filter(pk=collaboration.ticket_id).exists()
    ):
        return reverse("tickets:detail", args=[collaboration.ticket_id])
    return reverse("tickets:requests")


def _refused(request, url: str, text: str):
    messages.error(request, text)
    response = redirect(url)
    response.status_code = 303
    return response
