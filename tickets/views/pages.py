"""The desk's ticket pages (server-rendered): the list, a ticket, its replies and changes,
and a ticket made from a chat. Thin: the reads are selectors, the writes services."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from conversations import selectors as conversation_selectors
from conversations.models import Agent, SkillGroup
from conversations.views.access import agent_required, visible_or_404
from customers.models import Customer
from tickets import selectors, services
from tickets.models import CLOCK_LABELS, Priority, SavedView, Ticket, TicketType
from tickets.views import collaboration

PAGE_SIZE = 50
# The timeline stores values as they are stored; people read their labels.
FIELD_LABELS = {
    "status": dict(Ticket.Status.choices),
    "priority": {str(value): label for value, label in Priority.choices},
}


def _ticket_or_404(agent, ticket_id: int) -> Ticket:
    ticket = selectors.visible_tickets(agent).filter(pk=ticket_id).first()
    if ticket is None:
        raise Http404(_("No such ticket."))
    return ticket


def _choices() -> dict:
    return {
        "statuses": Ticket.Status.choices,
        "priorities": Priority.choices,
        "types": TicketType.objects.all(),
        "groups": SkillGroup.objects.all(),
        "levels": Customer.Level.choices,
    }


@agent_required
def ticket_list(request):
    """The list under the filters of the query string, 50 a page with a capped count,
    the views as tabs with their counts, a form to save the filters as a view and the
    bulk bar; the same number of queries whatever the page, its size and the views."""
    agent = request.agent
    filters = selectors.TicketFilters.from_query(request.GET)
    page = selectors.ticket_page(agent, filters, request.GET.get("page"), per_page=PAGE_SIZE)
    views = selectors.list_views(agent)
    counts = selectors.view_counts(agent, views)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "tickets/list.html",
        {
            "page": page,
            "filters": filters,
            "query": query.urlencode(),
            "now": timezone.now(),
            "collab_waiting": selectors.waiting_request_count(request.agent),
            "tabs": [
                {"view": view, "count": count, "active": view.filters == filters}
                for view, count in zip(views, counts, strict=True)
            ],
            "count_cap": selectors.VIEW_COUNT_CAP,
            "saved_filters": filters.as_query(),
            "agents": Agent.objects.order_by("display_name"),
            "my_groups": selectors.MY_GROUPS,
            "scopes": SavedView.Scope.choices,
        }
        | _choices(),
    )


@agent_required
def ticket_detail(request, ticket_id: int):
    ticket = _ticket_or_404(request.agent, ticket_id)
    events = list(ticket.events.select_related("actor"))
    for event in events:
        labels = FIELD_LABELS.get(event.field, {})
        event.old_label = labels.get(event.old, event.old)
        event.new_label = labels.get(event.new, event.new)
        event.clock_label = CLOCK_LABELS.get(event.field, event.field)
    collaboration.label_timeline(events)
    timeline = sorted(
        [*ticket.comments.select_related("author"), *events],
        key=lambda item: (item.created_at, item.pk),
    )
    return render(
        request,
        "tickets/detail.html",
        {
            "ticket": ticket,
            "timeline": timeline,
            "conversations": ticket.conversations.order_by("-created_at"),
            "agents": Agent.objects.order_by("display_name"),
            "now": timezone.now(),
        }
        | _choices()
        | selectors.ticket_automation(request.agent, ticket)
        | collaboration.ticket_panel(request.agent, ticket),
    )


@require_POST
@agent_required
def ticket_comment(request, ticket_id: int):
    ticket = _ticket_or_404(request.agent, ticket_id)
    try:
        services.add_comment(
            ticket_id=ticket.pk,
            body=request.POST.get("body", ""),
            public=request.POST.get("visibility") != "internal",
            author=request.user,
        )
    except services.TicketInputError as error:
        return _refused(request, ticket, str(error))
    return redirect("tickets:detail", ticket_id=ticket.pk)


@require_POST
@agent_required
def ticket_change(request, ticket_id: int):
    ticket = _ticket_or_404(request.agent, ticket_id)
    form = request.POST
    changes: dict = {}
    if "status" in form:
        changes["status"] = form["status"]
    if "priority" in form:
        changes["priority"] = int(form["priority"]) if form["priority"].isdigit() else -1
    if "type" in form:
        changes["type"] = form["type"]
    if "tags" in form:
        changes["tags"] = form["tags"]
    if "group" in form:
        group = SkillGroup.objects.filter(code=form["group"]).first() if form["group"] else None
        if form["group"] and group is None:
            return _refused(request, ticket, _("Unknown group."))
        changes["skill_group"] = group
    if "assignee" in form:
        agent = (
            Agent.objects.filter(pk=form["assignee"]).first()
            if form["assignee"].isdigit()
            else None
        )
        if form["assignee"] and agent is None:
            return _refused(request, ticket, _("Unknown agent."))
        changes["assignee"] = agent
    try:
        services.change_ticket(ticket_id=ticket.pk, actor=request.user, **changes)
    except services.TicketInputError as error:
        return _refused(request, ticket, str(error))
    except services.TicketClosed:
        return _refused(request, ticket, _("This ticket is closed."))
    return redirect("tickets:detail", ticket_id=ticket.pk)


@require_POST
@agent_required
def ticket_from_conversation(request, conversation_id: UUID):
    """ "Create ticket" in a chat: pre-filled with the transcript and the bot's understanding."""
    conversation = visible_or_404(request.agent, conversation_id)
    if not conversation_selectors.may_work_on(conversation, request.agent):
        raise Http404(_("No such conversation."))
    try:
        ticket = services.ticket_from_conversation(
            conversation=conversation,
            subject=request.POST.get("subject", ""),
            type_code=request.POST.get("type", ""),
            actor=request.user,
        )
    except services.TicketInputError as error:
        messages.error(request, str(error))
        return redirect("desk:conversation", conversation_id=conversation.id)
    messages.success(request, _("Ticket %(number)s opened.") % {"number": ticket.number})
    return redirect("tickets:detail", ticket_id=ticket.pk)


def _refused(request, ticket: Ticket, text: str):
    messages.error(request, text)
    response = redirect("tickets:detail", ticket_id=ticket.pk)
    response.status_code = 303
    return response
