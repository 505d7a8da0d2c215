"""The ticket list's bulk bar: one change to the chosen tickets (a form POST, no script
needed). Thin: what may change and for whom is tickets.services.bulk."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from conversations.models import Agent, SkillGroup
from conversations.views.access import agent_required
from tickets.models import number_of
from tickets.services import TicketInputError
from tickets.services.bulk import BulkResult, bulk_change

NUMBERS_SHOWN = 10  # in a message; the rest as "…"


@require_POST
@agent_required
def ticket_bulk(request):
    form = request.POST
    back = _back(request)
    ids, unreadable = [], 0
    for value in form.getlist("ticket"):
        if value.isdecimal() and len(value) < 19:
            ids.append(int(value))
        else:
            unreadable += 1
    try:
        changes = _changes(request)
        result = bulk_change(actor=request.agent, ticket_ids=ids, **changes)
    except TicketInputError as error:
        messages.error(request, str(error))
        return _see_other(back)
    clean = not (result.skipped_count or result.not_visible or unreadable)
    messages.add_message(
        request,
        messages.SUCCESS if clean else messages.WARNING,
        summary(result, unreadable=unreadable),
    )
    return _see_other(back)


def _changes(request) -> dict:
    """The bar's fields as bulk_change takes them; an empty field changes nothing."""
    form = request.POST
    changes: dict = {}
    if form.get("status"):
        changes["status"] = form["status"]
    if form.get("priority"):
        priority = form["priority"]
        changes["priority"] = int(priority) if priority.isdecimal() and len(priority) < 4 else -1
    assignee = "me" if form.get("quick") == "assign_me" else form.get("assignee", "")
    if assignee == "me":
        changes["assignee"] = request.agent
    elif assignee == "none":
        changes["assignee"] = None
    elif assignee:
        agent = (
            Agent.objects.filter(pk=assignee).first()
            if assignee.isdecimal() and len(assignee) < 19
            else None
        )
        if agent is None:
            raise TicketInputError(_("Unknown agent."))
        changes["assignee"] = agent
    group = form.get("group", "").replace("\x00", "")
    if group == "none":
        changes["skill_group"] = None
    elif group:
        changes["skill_group"] = SkillGroup.objects.filter(code=group[:40]).first()
        if changes["skill_group"] is None:
            raise TicketInputError(_("Unknown group."))
    if form.get("tag", "").strip():
        changes["add_tag"] = form["tag"]
    return changes


def summary(result: BulkResult, *, unreadable: int = 0) -> str:
    """What happened, in one message: changed, already so, skipped and why, ignored (with
    `unreadable` ids that were no ticket number at all)."""
    parts = [
        ngettext("%(n)d ticket changed.", "%(n)d tickets changed.", result.changed_count)
        % {"n": result.changed_count}
    ]
    if result.unchanged:
        parts.append(
            ngettext(
                "%(n)d ticket was already so.",
                "%(n)d tickets were already so.",
                len(result.unchanged),
            )
            % {"n": len(result.unchanged)}
        )
    if result.closed:
        parts.append(
            ngettext(
                "%(n)d closed ticket skipped: %(numbers)s.",
                "%(n)d closed tickets skipped: %(numbers)s.",
                len(result.closed),
            )
            % {"n": len(result.closed), "numbers": _numbers(result.closed)}
        )
    for pk, reason in list(result.refused.items())[:NUMBERS_SHOWN]:
        parts.append(
            _("%(number)s skipped: %(reason)s") % {"number": number_of(pk), "reason": reason}
        )
    ignored = len(result.not_visible) + unreadable
    if ignored:
        parts.append(
            ngettext(
                "%(n)d ticket not found or not yours to see: ignored.",
                "%(n)d tickets not found or not yours to see: ignored.",
                ignored,
            )
            % {"n": ignored}
        )
    return " ".join(parts)


def _numbers(ids: list[int]) -> str:
    shown = ", ".join(number_of(pk) for pk in ids[:NUMBERS_SHOWN])
    return shown + (" …" if len(ids) > NUMBERS_SHOWN else "")


def _back(request) -> str:
    """Back to the list as it was (its filters and page): only a path of the list."""
    url = request.POST.get("next", "")
    list_url = reverse("tickets:list")
    if url.startswith(list_url) and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return list_url


def _see_other(url: str):
    response = redirect(url)
    response.status_code = 303
    return response
