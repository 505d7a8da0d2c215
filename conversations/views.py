"""Server-rendered pages: the customer chat and the agent desk (thin)."""

from __future__ import annotations

from functools import wraps
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from conversations import selectors, services
from conversations.files import SAFE_INLINE_IMAGES
from conversations.models import Attachment
from conversations.protocol import ATTACHMENT_SALT, attachment_payload
from helpdesk.languages import activate_from_query, content_language
from knowledge.markdown import plain_text
from knowledge.search import search_articles


def chat_page(request):
    """The customer chat (plain JS speaking contracts/chat-protocol.md)."""
    activate_from_query(request)
    language = content_language()
    return render(
        request,
        "conversations/chat.html",
        {"chat_language": language, "chat_strings": _chat_strings()},
    )


def _chat_strings() -> dict:
    return {
        "bot": _("Our assistant is here for you, day and night."),
        "queued": _("Waiting for an agent: you are number %(position)s in line."),
        "assigned": _("%(agent)s is helping you."),
        "closed": _("This conversation has ended."),
        "reconnecting": _("Connection lost. Reconnecting…"),
        "rate_limited": _("You are sending messages too quickly. Please wait a moment."),
        "too_long": _("That message is too long (at most 4000 characters)."),
        "closed_error": _("This conversation has ended."),
        "error": _("The message could not be sent."),
        "agent_typing": _("The agent is typing…"),
        "upload_failed": _("The file could not be sent: %(reason)s"),
        "uploading": _("Sending the file…"),
        "recording": _("Recording… tap 🎤 again to send."),
        "not_found": _("The file could not be sent."),
        "helpful": _("👍 Yes"),
        "not_helpful": _("👎 No"),
        "thanks_rating": _("Thanks for telling us!"),
        "bot_typing": _("The assistant is typing…"),
    }


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


def agent_required(view):
    """Logged-in staff with an agent profile; anyone else is sent away (403)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        agent = selectors.agent_for_user(request.user)
        if agent is None:
            raise PermissionDenied(_("This page is for agents."))
        request.agent = agent
        return view(request, *args, **kwargs)

    return wrapper


def _lists_context(agent) -> dict:
    return {
        "desk_strings": _desk_strings(),
        "waiting": list(selectors.waiting_conversations(agent)[:100]),
        "mine": list(selectors.my_conversations(agent)[:100]),
    }


def _visible_or_404(agent, conversation_id: UUID):
    conversation = selectors.visible_conversations(agent).filter(pk=conversation_id).first()
    if conversation is None:
        raise Http404(_("No such conversation."))
    return conversation


@agent_required
def desk_home(request):
    return render(request, "conversations/desk.html", {**_lists_context(request.agent)})


@agent_required
def desk_lists(request):
    return render(request, "conversations/_lists.html", _lists_context(request.agent))


@agent_required
def desk_conversation(request, conversation_id: UUID):
    conversation = _visible_or_404(request.agent, conversation_id)
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
    conversation = _visible_or_404(request.agent, conversation_id)
    return render(
        request, "conversations/_suggestions.html", {"suggestions": _suggestions(conversation)}
    )


@require_POST
@agent_required
def desk_take(request, conversation_id: UUID):
    conversation = _visible_or_404(request.agent, conversation_id)
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
    conversation = _visible_or_404(request.agent, conversation_id)
    try:
        services.close_conversation(conversation_id=conversation.id, agent=request.agent)
    except services.NotAllowed:
        raise PermissionDenied(_("Only the assigned agent can close this conversation.")) from None
    messages.success(request, _("Conversation closed."))
    return redirect("desk:home")


def attachment_file(request, attachment_id: UUID, signature: str):
    """The file, as a download (inline only for plain images), with nosniff and a strict CSP.

    The link carries a signature of the attachment id that expires; it is only
    ever given to the conversation's customer and its agents. A logged-in
    agent who may see the conversation is let in without one.
    """
    attachment = Attachment.objects.select_related("conversation").filter(pk=attachment_id).first()
    if attachment is None or not (
        _signed(signature, attachment) or _agent_may_see(request, attachment)
    ):
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    inline = attachment.content_type in SAFE_INLINE_IMAGES
    response = FileResponse(
        handle,
        content_type=attachment.content_type,
        as_attachment=not inline,
        filename=attachment.name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
    )
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _signed(signature: str, attachment: Attachment) -> bool:
    try:
        value = signing.loads(
            signature, salt=ATTACHMENT_SALT, max_age=settings.ATTACHMENT_URL_MAX_AGE
        )
    except signing.BadSignature:
        return False
    return value == attachment.id.hex


def _agent_may_see(request, attachment: Attachment) -> bool:
    agent = selectors.agent_for_user(request.user)
    if agent is None:
        return False
    return selectors.visible_conversations(agent).filter(pk=attachment.conversation_id).exists()
