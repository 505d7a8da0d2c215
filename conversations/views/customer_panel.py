"""The customer 360° panel beside a conversation: its fragment and the notes and tags
agents keep on the customer (thin: customers.services writes, selectors read)."""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from conversations import selectors
from conversations.views.access import agent_required, from_page_script, visible_or_404
from conversations.views.desk import conversation_page
from customers import services
from customers.models import CustomerNote, CustomerTag

PANEL_TEMPLATE = "conversations/_customer_panel.html"


def panel_context(conversation, agent, *, error: str = "") -> dict:
    return {
        "conversation": conversation,
        "panel": selectors.customer_panel(conversation, agent),
        "panel_error": error,
    }


def _done(request, conversation):
    """After a write: the refreshed panel for the page's fetch, else back to the page."""
    if from_page_script(request):
        return render(request, PANEL_TEMPLATE, panel_context(conversation, request.agent))
    return redirect(reverse("desk:conversation", args=[conversation.id]) + "#customer-panel")


def _refused(request, conversation, error: services.InvalidInput):
    """Bad input: 400 with the reason in the panel (the whole page without JavaScript)."""
    if from_page_script(request):
        return render(
            request,
            PANEL_TEMPLATE,
            panel_context(conversation, request.agent, error=str(error)),
            status=400,
        )
    return conversation_page(request, conversation, panel_error=str(error), status=400)


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
