"""Saved views of the desk's ticket list: save the current filters under a name, and
manage one's own (rename, move, delete). Thin: the checks and writes are
tickets.services.saved_views; another agent's view is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from conversations.models import SkillGroup
from conversations.views.access import agent_required
from tickets import selectors
from tickets.models import SavedView
from tickets.services import TicketInputError
from tickets.services import saved_views as services

FILTER_PREFIX = "filter_"  # the save form's fields of the filters: filter_status, …


@require_http_methods(["GET", "POST"])
@agent_required
def saved_views(request):
    """GET: the agent's views to manage, and those shared with them. POST: save the
    filters the form carries as a new view, then show it."""
    if request.method == "POST":
        return _save(request)
    views = list(selectors.saved_views(request.agent))
    for view in views:
        view.link_query = urlencode(view.query)
    return render(
        request,
        "tickets/saved_views.html",
        {
            "mine": [view for view in views if view.owner_id == request.agent.pk],
            "shared": [view for view in views if view.owner_id != request.agent.pk],
            "max_name": services.MAX_NAME,
        },
    )


def _save(request):
    form = request.POST
    filters = {
        key.removeprefix(FILTER_PREFIX): form.get(key, "")
        for key in form
        if key.startswith(FILTER_PREFIX)
    }
    group = None
    if form.get("scope") == SavedView.Scope.GROUP and form.get("group"):
        group = SkillGroup.objects.filter(code=form["group"].replace("\x00", "")[:40]).first()
    try:
        view = services.save_view(
            owner=request.agent,
            name=form.get("name", ""),
            filters=filters,
            scope=form.get("scope", SavedView.Scope.PRIVATE),
            skill_group=group,
        )
    except TicketInputError as error:
        messages.error(request, str(error))
        return _back_to_list(filters if _known(filters) else {})
    messages.success(request, _("View %(name)s saved.") % {"name": view.name})
    return _back_to_list(view.filters)


@require_POST
@agent_required
def rename_view(request, view_id: int):
    try:
        services.rename_view(owner=request.agent, view_id=view_id, name=request.POST.get("name"))
    except SavedView.DoesNotExist:
        raise Http404(_("No such view.")) from None
    except TicketInputError as error:
        messages.error(request, str(error))
    return _back_to_views()


@require_POST
@agent_required
def move_view(request, view_id: int):
    try:
        services.move_view(
            owner=request.agent,
            view_id=view_id,
            step=-1 if request.POST.get("direction") == "up" else 1,
        )
    except SavedView.DoesNotExist:
        raise Http404(_("No such view.")) from None
    return _back_to_views()


@require_POST
@agent_required
def delete_view(request, view_id: int):
    try:
        services.delete_view(owner=request.agent, view_id=view_id)
    except SavedView.DoesNotExist:
        raise Http404(_("No such view.")) from None
    messages.success(request, _("View deleted."))
    return _back_to_views()


def _known(filters: dict) -> bool:
    try:
        selectors.TicketFilters.from_saved(filters)
    except selectors.InvalidFilters:
        return False
    return True


def _back_to_list(query: dict):
    url = reverse("tickets:list")
    return redirect(f"{url}?{urlencode(query)}" if query else url, permanent=False)


def _back_to_views():
    response = redirect("tickets:views")
    response.status_code = 303
    return response
