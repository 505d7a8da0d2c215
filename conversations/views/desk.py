"""The agent desk: lists, the conversation pane and its actions (thin)."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from conversations import selectors, services
from conversations.files import UploadRefused
from conversations.models import Agent, Conversation, Message, SkillGroup
from conversations.protocol import attachment_payload
from conversations.services.attachments import store_attachment
from conversations.views.access import agent_required, from_page_script, visible_or_404
from conversations.views.files import refused_upload_response
from knowledge.markdown import plain_text
from knowledge.search import search_articles


def _desk_strings() -> dict:
    return {
        "customer": _("Customer"),
        "you": _("You"),
        "note": _("Internal note"),
        "understood": _("Bot understood"),
        "intent": _("intent"),
        "article": _("article"),
        "confidence": _("confidence"),
        "assigned": _("New conversation for you: %(customer)s"),
        "invited": _("%(agent)s asks you to consult on %(customer)s"),
        "uploading": _("Sending the file…"),
        "upload_failed": _("The file could not be sent: %(reason)s"),
        "minutes": _("%(n)s min"),
        "panel_failed": _("That change could not be saved."),
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
            "bad_frame": _("The message could not be sent."),
        },
    }


def _lists_context(agent) -> dict:
    context = {
        "desk_strings": _desk_strings(),
        "mine": list(selectors.my_conversations(agent)[:100]),
        "consulting": list(selectors.consulting_conversations(agent)[:50]),
        "queues": selectors.group_queues(agent),
        "with_bot": list(selectors.bot_conversations(agent)),
        "now": timezone.now(),
    }
    if agent.is_supervisor:
        context["all_open"] = list(selectors.all_open_conversations())
        context["show_all"] = True
    return context


@agent_required
def desk_home(request):
    return render(request, "conversations/desk.html", {**_lists_context(request.agent)})


@agent_required
def desk_lists(request):
    return render(request, "conversations/_lists.html", _lists_context(request.agent))


def _history(conversation) -> list:
    """Messages and internal notes in one timeline (notes by time, between messages)."""
    timeline = []
    for message in selectors.messages_after(conversation.id, 0, limit=5000):
        message.files = [attachment_payload(a) for a in message.attachment_set.all()]
        timeline.append(message)
    notes = list(selectors.internal_notes(conversation.id))
    for note in notes:
        note.is_note = True
    if notes:
        timeline = sorted([*timeline, *notes], key=lambda item: item.created_at)
    return timeline


@agent_required
def desk_conversation(request, conversation_id: UUID):
    return conversation_page(request, visible_or_404(request.agent, conversation_id))


def conversation_page(
    request,
    conversation,
    *,
    panel_error: str = "",
    status: int = 200,
    panel_extra: dict | None = None,
):
    """The conversation with its customer's 360° panel (`panel_error`: why a panel form was
    refused, shown in the panel with `status` 400; `panel_extra`: more for the panel, such
    as a merge's search or preview)."""
    agent = request.agent
    is_mine = conversation.assignee_id == agent.pk
    may_work = selectors.may_work_on(conversation, agent)
    return render(
        request,
        "conversations/desk.html",
        {
            **_lists_context(agent),
            "conversation": conversation,
            "history": _history(conversation),
            "is_mine": is_mine,
            "may_work": may_work,
            "suggestions": _suggestions(conversation),
            "resolutions": CLOSING_RESOLUTIONS,
            "colleagues": selectors.colleagues(agent) if may_work else [],
            "skill_groups": SkillGroup.objects.all() if may_work else [],
            "participants": selectors.participants(conversation.id),
            "canned_replies": selectors.canned_replies(agent, conversation),
            "composer": {
                "uploadUrl": reverse("desk:upload", args=[conversation.id]),
                "kbUrl": reverse("desk:kb"),
                "language": conversation.language,
            },
            "panel": selectors.customer_panel(conversation, agent),
            "panel_error": panel_error,
            "shop_page": shop_page(conversation),
            **(panel_extra or {}),
        },
        status=status,
    )


def shop_page(conversation) -> dict | None:
    """The page the customer has the chat open on (the widget's, or the one they came from):
    its title and address, a link only when it is http(s)."""
    page = conversation.page if isinstance(conversation.page, dict) else {}
    url = page.get("url") if isinstance(page.get("url"), str) else ""
    title = page.get("title") if isinstance(page.get("title"), str) else ""
    if not url and not title:
        return None
    return {"url": url, "title": title, "link": url.startswith(("https://", "http://"))}


CLOSING_RESOLUTIONS = [
    (Conversation.Resolution.RESOLVED, Conversation.Resolution.RESOLVED.label),
    (Conversation.Resolution.NOT_RESOLVED, Conversation.Resolution.NOT_RESOLVED.label),
    (Conversation.Resolution.SPAM, Conversation.Resolution.SPAM.label),
]


def _article_inserts(hits) -> list:
    return [
        {
            "hit": hit,
            "text": f"{hit.article.title}\n{plain_text(hit.article.body)[:600]}\n/help/a/{hit.article.slug}/",
        }
        for hit in hits
    ]


def _suggestions(conversation) -> list:
    """Articles for the customer's latest message: the agent's one-click answers."""
    latest = selectors.latest_customer_message(conversation.id)
    if latest is None:
        return []
    return _article_inserts(search_articles(latest.body, language=conversation.language, limit=3))


@agent_required
def desk_suggestions(request, conversation_id: UUID):
    conversation = visible_or_404(request.agent, conversation_id)
    return render(
        request, "conversations/_suggestions.html", {"suggestions": _suggestions(conversation)}
    )


@agent_required
def desk_kb_search(request):
    """The composer's knowledge search: ?q=…&language=zh|en, articles to insert."""
    query = request.GET.get("q", "")[:200]
    language = request.GET.get("language")
    hits = search_articles(query, language=language if language in ("zh", "en") else None, limit=8)
    return render(
        request,
        "conversations/_suggestions.html",
        {"suggestions": _article_inserts(hits), "searched": query.strip()},
    )


def _back(conversation_id: UUID):
    return redirect("desk:conversation", conversation_id=conversation_id)


@require_POST
@agent_required
def desk_take(request, conversation_id: UUID):
    conversation = visible_or_404(request.agent, conversation_id)
    try:
        services.take_conversation(conversation_id=conversation.id, agent=request.agent)
    except services.AlreadyTaken:
        messages.error(request, _("Another agent has already taken this conversation."))
        return redirect("desk:home")
    except services.AtCapacity:
        messages.error(
            request,
            _("You already have %(n)s conversations, your capacity. Close one first.")
            % {"n": request.agent.capacity},
        )
    except services.ConversationClosed:
        messages.error(request, _("This conversation is closed."))
    return _back(conversation.id)


@require_POST
@agent_required
def desk_close(request, conversation_id: UUID):
    conversation = visible_or_404(request.agent, conversation_id)
    resolution = request.POST.get("resolution", "")
    if resolution not in dict(CLOSING_RESOLUTIONS):
        messages.error(request, _("Choose how the conversation ended."))
        return _back(conversation.id)
    try:
        services.close_conversation(
            conversation_id=conversation.id, agent=request.agent, resolution=resolution
        )
    except services.NotAllowed:
        raise PermissionDenied(_("Only the assigned agent can close this conversation.")) from None
    messages.success(request, _("Conversation closed."))
    return redirect("desk:home")


@require_POST
@agent_required
def desk_transfer(request, conversation_id: UUID):
    """To a colleague (`agent`) or a group (`group`), with a note for them."""
    conversation = visible_or_404(request.agent, conversation_id)
    note = request.POST.get("note", "")[:1000]
    target = request.POST.get("target", "")
    try:
        if target.startswith("agent:") and target[6:].isdigit():
            to = services.transfer_to_agent(
                conversation_id=conversation.id,
                by=request.agent,
                to_agent_id=int(target[6:]),
                note=note,
            )
            messages.success(
                request, _("Transferred to %(agent)s.") % {"agent": to.assignee.display_name}
            )
        elif target.startswith("group:"):
            services.transfer_to_group(
                conversation_id=conversation.id, by=request.agent, group_code=target[6:], note=note
            )
            messages.success(request, _("Sent to the group's queue."))
        else:
            messages.error(request, _("Choose a colleague or a group."))
            return _back(conversation.id)
    except (Agent.DoesNotExist, services.Unavailable):
        messages.error(request, _("That colleague is not online, or that group does not exist."))
        return _back(conversation.id)
    except services.AtCapacity:
        messages.error(request, _("That colleague has no free capacity."))
        return _back(conversation.id)
    except services.NotAllowed:
        raise PermissionDenied(_("Only the people of this conversation can transfer it.")) from None
    except services.ConversationClosed:
        messages.error(request, _("This conversation is closed."))
    return redirect("desk:home")


@require_POST
@agent_required
def desk_invite(request, conversation_id: UUID):
    conversation = visible_or_404(request.agent, conversation_id)
    colleague = request.POST.get("colleague", "")
    if not colleague.isdigit():
        messages.error(request, _("Choose a colleague."))
        return _back(conversation.id)
    try:
        services.invite_colleague(
            conversation_id=conversation.id,
            by=request.agent,
            colleague_id=int(colleague),
            note=request.POST.get("note", "")[:1000],
        )
    except services.Unavailable:
        messages.error(request, _("That colleague cannot be invited."))
    except services.NotAllowed:
        raise PermissionDenied(_("Only the people of this conversation can invite.")) from None
    except services.ConversationClosed:
        messages.error(request, _("This conversation is closed."))
    return _back(conversation.id)


@require_POST
@agent_required
def desk_leave_consultation(request, conversation_id: UUID):
    conversation = visible_or_404(request.agent, conversation_id)
    who = request.POST.get("agent", "")
    try:
        services.end_consultation(
            conversation_id=conversation.id,
            by=request.agent,
            agent_id=int(who) if who.isdigit() else request.agent.pk,
        )
    except services.NotAllowed:
        raise PermissionDenied from None
    return _back(conversation.id)


@require_POST
@agent_required
def desk_note(request, conversation_id: UUID):
    conversation = visible_or_404(request.agent, conversation_id)
    try:
        services.add_internal_note(
            conversation_id=conversation.id, agent=request.agent, body=request.POST.get("body", "")
        )
    except ValueError as error:
        return _fail(request, conversation.id, str(error))
    except services.NotAllowed:
        raise PermissionDenied(_("Only the people of this conversation write notes.")) from None
    if from_page_script(request):
        return JsonResponse({"ok": True}, status=201)
    return _back(conversation.id)


@require_POST
@agent_required
def desk_tags(request, conversation_id: UUID):
    conversation = visible_or_404(request.agent, conversation_id)
    tags = request.POST.get("tags", "")[:2000].replace("，", ",").split(",")
    try:
        services.set_conversation_tags(
            conversation_id=conversation.id, agent=request.agent, tags=tags
        )
    except ValueError as error:
        return _fail(request, conversation.id, str(error))
    except services.NotAllowed:
        raise PermissionDenied(_("Only the people of this conversation tag it.")) from None
    return _back(conversation.id)


@require_POST
@agent_required
def desk_status(request):
    status = request.POST.get("status", "")
    if status not in Agent.Status.values:
        messages.error(request, _("Unknown status."))
    else:
        services.set_agent_status(agent_id=request.agent.pk, status=status)
    return redirect(_safe_next(request) or "desk:home")


@require_POST
@agent_required
def desk_upload(request, conversation_id: UUID):
    """An agent's file for their conversation (then sent with message.send's attachments)."""
    conversation = visible_or_404(request.agent, conversation_id)
    if conversation.assignee_id != request.agent.pk:
        return JsonResponse(
            {"detail": _("Take the conversation before sending files.")}, status=403
        )
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"detail": _("Send the file in the field 'file'.")}, status=400)
    try:
        attachment = store_attachment(
            conversation_id=conversation.id, uploaded_by=Message.Sender.AGENT, upload=upload
        )
    except UploadRefused as error:
        return refused_upload_response(error)
    except services.ConversationClosed:
        return JsonResponse({"detail": _("This conversation is closed.")}, status=400)
    return JsonResponse(attachment_payload(attachment), status=201)


def _fail(request, conversation_id: UUID, text: str):
    if from_page_script(request):
        return JsonResponse({"detail": text}, status=400)
    messages.error(request, text)
    return _back(conversation_id)


def _safe_next(request) -> str | None:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return None


@agent_required
def desk_board(request):
    """The supervisors' live board."""
    if not request.agent.is_supervisor:
        raise PermissionDenied(_("The board is for supervisors."))
    return render(
        request,
        "conversations/board.html",
        {
            "board": selectors.board(),
            "board_strings": {"seconds": _("%(n)s s"), "minutes": _("%(n)s min")},
        },
    )


@agent_required
def desk_board_live(request):
    if not request.agent.is_supervisor:
        raise PermissionDenied(_("The board is for supervisors."))
    return render(request, "conversations/_board.html", {"board": selectors.board()})
