"""The team rooms' pages in the desk (thin): list, room, thread, search, and the forms.

Every route finds the room among the agent's own (`_room_or_404`): a room they are
not in is 404, whatever the action. Forms answer a redirect back (no script needed)
or, sent by the page's script (`X-Requested-With: fetch`), JSON.
"""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from conversations import selectors as desk_selectors
from conversations.files import UploadRefused
from conversations.rooms import selectors, services
from conversations.rooms.cards import attach_cards
from conversations.rooms.models import Room, RoomMessage
from conversations.rooms.protocol import room_attachment_payload
from conversations.views.access import agent_required, from_page_script
from conversations.views.files import refused_upload_response, stored_file_response
from helpdesk.ratelimit import allow_now

MAX_QUERY = 200


def _room_or_404(request, room_id: int) -> Room:
    room = selectors.room_for(request.agent, room_id)
    if room is None:
        raise Http404(_("No such room."))
    return room


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _prepare(messages: list[RoomMessage], agent) -> list[RoomMessage]:
    """What the template needs of each message: its live cards, whether this agent is to
    acknowledge it, may edit it."""
    attach_cards(messages, agent)
    for message in messages:
        acks = list(message.acks.all())
        message.ack_list = acks
        message.my_ack = next((a for a in acks if a.agent_id == agent.pk), None)
        message.is_mine = message.author_id == agent.pk
        message.mentions_me = any(m.agent_id == agent.pk for m in message.mentions.all())
    return messages


def _page(request, template: str, context: dict, status: int = 200):
    rooms = selectors.room_list(request.agent)
    return render(
        request,
        template,
        {
            "rooms": rooms,
            "pending_urgent": selectors.pending_urgent(request.agent),
            "tags": RoomMessage.Tag.choices,
            "priorities": RoomMessage.Priority.choices,
            **context,
        },
        status=status,
    )


@agent_required
def room_list(request):
    return _page(
        request,
        "conversations/rooms/list.html",
        {"colleagues": desk_selectors.colleagues(request.agent)},
    )


@agent_required
def room_page(request, room_id: int):
    room = _room_or_404(request, room_id)
    tag = request.GET.get("tag", "")
    if tag and tag not in RoomMessage.Tag.values:
        tag = ""
    timeline = _prepare(selectors.timeline(room, tag=tag), request.agent)
    return _page(
        request,
        "conversations/rooms/room.html",
        {
            "room": room,
            "timeline": timeline,
            "pinned": selectors.pinned(room),
            "tag": tag,
            "read": selectors.unread_of(request.agent, room),
            "members": selectors.members(room).order_by("display_name"),
            "partner": selectors.direct_partner(room, request.agent),
            "colleagues": desk_selectors.colleagues(request.agent)
            if room.kind == Room.Kind.ADHOC
            else [],
        },
    )


@agent_required
def thread_page(request, room_id: int, message_id: UUID):
    room = _room_or_404(request, room_id)
    found = selectors.thread(room, message_id)
    if found is None:
        raise Http404(_("No such message."))
    root, replies = found
    _prepare([root, *replies], request.agent)
    return _page(
        request,
        "conversations/rooms/thread.html",
        {"room": room, "root": root, "replies": replies},
    )


@agent_required
def room_changes(request, room_id: int):
    """The messages changed since `after_rev`, rendered as the room shows them (the page's
    script puts each in place: new, edited, deleted, acknowledged)."""
    room = _room_or_404(request, room_id)
    changed = _prepare(
        selectors.changes_after(room, max(0, _int(request.GET.get("after_rev"))), limit=500),
        request.agent,
    )
    return render(request, "conversations/rooms/_changes.html", {"room": room, "changed": changed})


@agent_required
def room_search(request):
    query = request.GET.get("q", "")[:MAX_QUERY]
    results = selectors.search(request.agent, query)
    attach_cards(results, request.agent)
    return _page(
        request, "conversations/rooms/search.html", {"query": query.strip(), "results": results}
    )


def _done(request, room: Room, payload: dict | None = None, *, anchor: str = ""):
    if from_page_script(request):
        return JsonResponse({"ok": True, **(payload or {})})
    target = request.POST.get("next", "")
    if target.startswith(f"/desk/rooms/{room.pk}/") and "//" not in target:
        return redirect(target)
    return redirect(reverse("desk:room", args=[room.pk]) + anchor)


def _refused(request, room: Room, reason: str):
    """Bad input: 400 with the reason for the page's script, else back with it shown."""
    if from_page_script(request):
        return JsonResponse({"ok": False, "detail": reason}, status=400)
    flash.error(request, reason)
    return _done(request, room)


def _act(request, room: Room, action, **kwargs):
    """Run a service for a form; its refusals become 400 / 403 / 404 answers."""
    try:
        message = action(room=room, **kwargs)
    except services.RoomInputError as error:
        return _refused(request, room, str(error))
    except services.MessageNotFound:
        raise Http404(_("No such message.")) from None
    except services.AttachmentNotFound:
        raise Http404(_("No such attachment.")) from None
    except services.RoomNotAllowed:
        raise PermissionDenied(_("You may not do that here.")) from None
    payload = (
        {"message": str(message.pk), "seq": message.seq} if isinstance(message, RoomMessage) else {}
    )
    return _done(request, room, payload, anchor=f"#m-{message.pk}" if payload else "")


def _post_message(room, *, author, body, client_id, parent_id, priority, attachment_ids):
    return services.post_message(
        room=room,
        author=author,
        body=body,
        client_id=client_id,
        parent_id=parent_id,
        priority=priority,
        attachment_ids=attachment_ids,
    )[0]


def _uploads_allowed(request) -> bool:
    return allow_now(
        f"room-uploads:{request.agent.pk}", limit=settings.ROOM_ATTACHMENT_RATE, window=60
    )


def _too_many_uploads():
    return JsonResponse(
        {"ok": False, "detail": _("Too many files in a minute; wait a moment and try again.")},
        status=429,
    )


def _upload_refused(request, room: Room, error: UploadRefused):
    """A refused file: 413 over the size cap, 415 for a kind not accepted (the page's
    script shows the reason), or back to the room with it shown."""
    if from_page_script(request):
        return refused_upload_response(error, ok=False)
    flash.error(request, str(error))
    return _done(request, room)


@require_POST
@agent_required
def post_message(request, room_id: int):
    """A message, with the attachments uploaded before (`attachments`: their ids) or, from
    the page without script, the file chosen in the form (`file`)."""
    room = _room_or_404(request, room_id)
    parent = request.POST.get("parent") or None
    if parent:
        try:
            parent = UUID(parent)
        except ValueError:
            raise Http404(_("No such message.")) from None
    attachment_ids = request.POST.getlist("attachments")
    upload = request.FILES.get("file")
    if upload is not None:
        if not _uploads_allowed(request):
            return _too_many_uploads()
        try:
            attachment = services.store_room_attachment(room=room, by=request.agent, upload=upload)
        except UploadRefused as error:
            return _upload_refused(request, room, error)
        attachment_ids.append(str(attachment.pk))
    return _act(
        request,
        room,
        _post_message,
        author=request.agent,
        body=request.POST.get("body", ""),
        client_id=request.POST.get("client_id", "")[:64],
        parent_id=parent,
        priority=_int(request.POST.get("priority", 0), -1),
        attachment_ids=attachment_ids,
    )


@require_POST
@agent_required
def upload_attachment(request, room_id: int):
    """An agent's file for a room: 201 with its id, name, type, size and link; then sent
    with a message (`attachments` of the form or of `room.send`)."""
    room = _room_or_404(request, room_id)
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"detail": _("Send the file in the field 'file'.")}, status=400)
    if not _uploads_allowed(request):
        return _too_many_uploads()
    try:
        attachment = services.store_room_attachment(room=room, by=request.agent, upload=upload)
    except UploadRefused as error:
        return refused_upload_response(error)
    return JsonResponse(room_attachment_payload(attachment), status=201)


@agent_required
def attachment_file(request, room_id: int, attachment_id: UUID):
    """A room's attachment, to its members only, while its message is not deleted (its
    uploader may open it before sending); served like a conversation's attachments."""
    room = _room_or_404(request, room_id)
    attachment = selectors.attachment_for(room, attachment_id, request.agent)
    if attachment is None:
        raise Http404(_("No such attachment."))
    return stored_file_response(attachment)


@require_POST
@agent_required
def edit_message(request, room_id: int, message_id: UUID):
    room = _room_or_404(request, room_id)
    return _act(
        request,
        room,
        services.edit_message,
        by=request.agent,
        message_id=message_id,
        body=request.POST.get("body", ""),
    )


@require_POST
@agent_required
def delete_message(request, room_id: int, message_id: UUID):
    room = _room_or_404(request, room_id)
    return _act(request, room, services.delete_message, by=request.agent, message_id=message_id)


@require_POST
@agent_required
def label_message(request, room_id: int, message_id: UUID):
    room = _room_or_404(request, room_id)
    return _act(
        request,
        room,
        services.set_labels,
        by=request.agent,
        message_id=message_id,
        tags=request.POST.getlist("tags"),
        priority=_int(request.POST.get("priority", 0), -1),
    )


@require_POST
@agent_required
def pin_message(request, room_id: int, message_id: UUID):
    room = _room_or_404(request, room_id)
    return _act(
        request,
        room,
        services.set_pinned,
        by=request.agent,
        message_id=message_id,
        pinned=request.POST.get("pinned") == "1",
    )


@require_POST
@agent_required
def acknowledge(request, room_id: int, message_id: UUID):
    room = _room_or_404(request, room_id)
    return _act(request, room, services.acknowledge, agent=request.agent, message_id=message_id)


@require_POST
@agent_required
def withdraw(request, room_id: int, message_id: UUID):
    room = _room_or_404(request, room_id)
    return _act(request, room, services.withdraw, by=request.agent, message_id=message_id)


@require_POST
@agent_required
def mark_read(request, room_id: int):
    room = _room_or_404(request, room_id)
    position = services.mark_read(
        room=room, agent=request.agent, up_to_seq=max(0, _int(request.POST.get("up_to_seq")))
    )
    return _done(request, room, {"read_seq": position.read_seq})


@require_POST
@agent_required
def create_room(request):
    try:
        room = services.create_room(
            by=request.agent,
            name=request.POST.get("name", ""),
            member_ids=request.POST.getlist("members"),
        )
    except services.RoomInputError as error:
        flash.error(request, str(error))
        return _page(
            request,
            "conversations/rooms/list.html",
            {"colleagues": desk_selectors.colleagues(request.agent)},
            status=400,
        )
    return redirect("desk:room", room_id=room.pk)


@require_POST
@agent_required
def open_direct(request):
    try:
        room = services.direct_room(agent=request.agent, other_id=request.POST.get("agent"))
    except services.RoomInputError as error:
        flash.error(request, str(error))
        return _page(
            request,
            "conversations/rooms/list.html",
            {"colleagues": desk_selectors.colleagues(request.agent)},
            status=400,
        )
    return redirect("desk:room", room_id=room.pk)


@require_POST
@agent_required
def add_members(request, room_id: int):
    room = _room_or_404(request, room_id)
    try:
        services.add_members(
            room=room, by=request.agent, member_ids=request.POST.getlist("members")
        )
    except services.RoomInputError as error:
        return _refused(request, room, str(error))
    except services.RoomNotAllowed:
        raise PermissionDenied(_("You may not do that here.")) from None
    return _done(request, room)


@require_POST
@agent_required
def leave(request, room_id: int):
    room = _room_or_404(request, room_id)
    try:
        services.leave_room(room=room, agent=request.agent)
    except services.RoomNotAllowed:
        raise PermissionDenied(_("You may not do that here.")) from None
    return redirect("desk:rooms")
