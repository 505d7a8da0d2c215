"""The agent desk: lists, the conversation pane and its actions (thin)."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from conversations import selectors, services
from conversations.protocol import attachment_payload
from conversations.views.access import agent_required, visible_or_404
from knowledge.markdown import plain_text
from knowledge.search import search_articles


def _desk_strings() -> dict:
    return {
        "customer": _("Customer"),
        "you": _("You"),
        "status": {
            "bot": _("With the bot"),
            "queued": _("Waiting for an agent"),
            "assigned": _("With an agent"),
            "closed": _("Closed"),
        },
        "errors": {
            "forbidden": _("Take the conversation before replying."),
            "closed": _("This conversation is closed."),
            "rate_limited": _("You are sending messages too quickly."),
            "too_long": _("That message is too long (at most 4000 characters)."),
            "not_found": _("No such conversation."),
        },
    }


def _lists_context(agent) -> dict:
    return {
        "desk_strings": _desk_strings(),
        "waiting": list(selectors.waiting_conversations(agent)[:100]),
        "mine": list(selectors.my_conversations(agent)[:100]),
    }


@agent_required
def desk_home(request):
    return render(request, "conversations/desk.html", {**_lists_context(request.agent)})


@agent_required
def desk_lists(request):
    return render(request, "conversations/_lists.html", _lists_context(request.agent))


@agent_required
def desk_conversation(request, conversation_id: UUID):
    conversation = visible_or_404(request.agent, conversation_id)
    history = selectors.messages_after(conversation.id, 0, limit=5000)
    for message in history:
        message.files = [attachment_payload(a) for a in message.attachment_set.all()]
    return render(
        request,
        "conversations/desk.html",
        {
            **_lists_context(request.agent),
            "conversation": conversation,
            "history": history,
            "is_mine": conversation.assignee_id == request.agent.pk,
            "suggestions": _suggestions(conversation),
        },
    )


def _suggestions(conversation) -> list:
    """Articles for the customer's latest message: the agent's one-click answers."""
    latest = selectors.latest_customer_message(conversation.id)
    if latest is None:
        return []
    return [
        {
            "hit": hit,
            "text": f"{hit.article.title}\n{plain_text(hit.article.body)[:600]}\n/help/a/{hit.article.slug}/",
        }
        for hit in search_articles(latest.body, language=conversation.language, limit=3)
    ]


@agent_required
def desk_suggestions(request, conversation_id: UUID):
    conversation = visible_or_404(request.agent, conversation_id)
    return render(
        request, "conversations/_suggestions.html", {"suggestions": _suggestions(conversation)}
    )


@require_POST
@agent_required
def desk_take(request, conversation_id: UUID):
    conversation = visible_or_404(request.agent, conversation_id)
    try:
        services.take_conversation(conversation_id=conversation.id, agent=request.agent)
    except services.AlreadyTaken:
        messages.error(request, _("Another agent has already taken this conversation."))
        return redirect("desk:home")
    except services.ConversationClosed:
        messages.error(request, _("This conversation is closed."))
    return redirect("desk:conversation", conversation_id=conversation.id)


@require_POST
@agent_required
def desk_close(request, conversation_id: UUID):
    conversation = visible_or_404(request.agent, conversation_id)
    try:
        services.close_conversation(conversation_id=conversation.id, agent=request.agent)
    except services.NotAllowed:
        raise PermissionDenied(_("Only the assigned agent can close this conversation.")) from None
    messages.success(request, _("Conversation closed."))
    return redirect("desk:home")
