"""The customer 360° panel beside a conversation: its fragment and the notes and tags
agents keep on the customer (thin: customers.services writes, selectors read)."""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from conversations import selectors
from conversations.views.access import agent_required, from_page_script, visible_or_404
from conversations.views.desk import conversation_page
from customers import selectors as customer_selectors
from customers import services
from customers.models import Customer, CustomerMerge, CustomerNote, CustomerTag
from customers.services import merge as merging

PANEL_TEMPLATE = "conversations/_customer_panel.html"


def panel_context(conversation, agent, *, error: str = "", extra: dict | None = None) -> dict:
    return {
        "conversation": conversation,
        "panel": selectors.customer_panel(conversation, agent),
        "panel_error": error,
        **(extra or {}),
    }


def _done(request, conversation):
    """After a write: the refreshed panel for the page's fetch, else back to the page."""
    if from_page_script(request):
        return render(request, PANEL_TEMPLATE, panel_context(conversation, request.agent))
    return redirect(reverse("desk:conversation", args=[conversation.id]) + "#customer-panel")


def _refused(request, conversation, error: Exception, *, extra: dict | None = None):
    """Bad input: 400 with the reason in the panel (the whole page without JavaScript)."""
    return _show(request, conversation, error=str(error), status=400, extra=extra)


def _show(request, conversation, *, error: str = "", status: int = 200, extra=None):
    """The panel with more in it (a merge's search or preview): the fragment for the page's
    script, else the whole page."""
    if from_page_script(request):
        return render(
            request,
            PANEL_TEMPLATE,
            panel_context(conversation, request.agent, error=error, extra=extra),
            status=status,
        )
    return conversation_page(
        request, conversation, panel_error=error, status=status, panel_extra=extra
    )


@require_GET
@agent_required
def customer_panel(request, conversation_id: UUID):
    conversation = visible_or_404(request.agent, conversation_id)
    return render(request, PANEL_TEMPLATE, panel_context(conversation, request.agent))


@require_POST
@agent_required
def add_note(request, conversation_id: UUID):
    conversation = visible_or_404(request.agent, conversation_id)
    try:
        services.add_customer_note(
            customer_id=conversation.customer_id,
            author=request.user,
            body=request.POST.get("body", ""),
        )
    except services.InvalidInput as error:
        return _refused(request, conversation, error)
    return _done(request, conversation)


@require_POST
@agent_required
def edit_note(request, conversation_id: UUID, note_id: int):
    conversation = visible_or_404(request.agent, conversation_id)
    note = get_object_or_404(CustomerNote, pk=note_id, customer_id=conversation.customer_id)
    try:
        services.edit_customer_note(
            note=note, editor=request.user, body=request.POST.get("body", "")
        )
    except services.InvalidInput as error:
        return _refused(request, conversation, error)
    return _done(request, conversation)


@require_POST
@agent_required
def delete_note(request, conversation_id: UUID, note_id: int):
    conversation = visible_or_404(request.agent, conversation_id)
    note = get_object_or_404(CustomerNote, pk=note_id, customer_id=conversation.customer_id)
    try:
        services.delete_customer_note(
            note=note, user=request.user, is_supervisor=request.agent.is_supervisor
        )
    except services.NotAllowed:
        raise PermissionDenied(_("Only the note's author or a supervisor deletes it.")) from None
    return _done(request, conversation)


@require_POST
@agent_required
def add_tag(request, conversation_id: UUID):
    conversation = visible_or_404(request.agent, conversation_id)
    try:
        services.add_customer_tag(
            customer_id=conversation.customer_id,
            name=request.POST.get("name", ""),
            created_by=request.user,
        )
    except services.InvalidInput as error:
        return _refused(request, conversation, error)
    return _done(request, conversation)


@require_POST
@agent_required
def remove_tag(request, conversation_id: UUID, tag_id: int):
    conversation = visible_or_404(request.agent, conversation_id)
    tag = get_object_or_404(CustomerTag, pk=tag_id, customer_id=conversation.customer_id)
    try:
        services.remove_customer_tag(tag=tag)
    except services.InvalidInput as error:
        return _refused(request, conversation, error)
    return _done(request, conversation)


@require_GET
@agent_required
def merge_search(request, conversation_id: UUID):
    """Find the other customer this one may be (name, number, account, email, phone)."""
    conversation = visible_or_404(request.agent, conversation_id)
    q = request.GET.get("q", "")
    if not isinstance(q, str) or len(q) > customer_selectors.MAX_QUERY:
        return _refused(
            request,
            conversation,
            ValueError(
                _("Search with at most %(n)s characters.") % {"n": customer_selectors.MAX_QUERY}
            ),
        )
    found = customer_selectors.find_customers(q, exclude=conversation.customer_id)
    return _show(request, conversation, extra={"merge_search": {"q": q.strip(), "found": found}})


@require_http_methods(["GET", "POST"])
@agent_required
def merge_with(request, conversation_id: UUID, customer_id: int):
    """GET: what merging this conversation's customer with that one would move, and who
    stays (the one with a shop account, else this conversation's customer). POST: merge,
    with the agent and the reason recorded."""
    conversation = visible_or_404(request.agent, conversation_id)
    other = get_object_or_404(Customer, pk=customer_id)
    if other.pk == conversation.customer_id:
        raise Http404(_("That is this conversation's customer."))
    source, target = merging.merge_direction(current=conversation.customer, other=other)
    offer = {
        "other": other,
        "source": source,
        "target": target,
        "brings": merging.merge_preview(source=source, target=target),
    }
    if request.method == "GET":
        return _show(request, conversation, extra={"merge_offer": offer})
    reason = request.POST.get("reason", "")
    if len(reason) > merging.MAX_REASON:
        error = ValueError(_("The reason is at most %(n)s characters.") % {"n": merging.MAX_REASON})
        return _refused(request, conversation, error, extra={"merge_offer": offer})
    try:
        merging.merge_customers(
            source_id=source.pk,
            target_id=target.pk,
            how=CustomerMerge.How.DESK,
            by=request.user,
            reason=reason,
        )
    except merging.MergeRefused as refused:
        return _refused(request, conversation, refused)
    conversation.refresh_from_db()
    return _done(request, conversation)
