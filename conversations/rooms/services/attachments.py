"""Attachments in a room: uploaded first, checked like a conversation's attachments (one
piece of code for both: conversations.files.check_upload), then sent with a message
(`post_message(..., attachment_ids=[…])`)."""

from __future__ import annotations

from uuid import UUID

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from conversations.files import check_upload, save_with_file
from conversations.models import Agent
from conversations.rooms.models import Room, RoomAttachment, RoomMessage
from conversations.rooms.services.rooms import RoomInputError

MAX_ATTACHMENTS = 10


class AttachmentNotFound(Exception):
    """An attachment id that is not this agent's unsent upload into this room (404)."""


def store_room_attachment(*, room: Room, by: Agent, upload: UploadedFile) -> RoomAttachment:
    """Check the file by its size and content, then store it under a generated name in the
    room's folder. No one but its uploader can send it, and no one can open it until a
    message carries it.

    Raises UploadRefused (AttachmentTooLarge over ATTACHMENT_MAX_SIZE); nothing is stored.
    """
    checked = check_upload(upload)
    attachment = RoomAttachment.from_checked(checked, room=room, uploaded_by=by)
    save_with_file(attachment, upload, checked)
    return attachment


def clean_attachment_ids(values) -> list[UUID]:
    """A message's attachment ids: a list of at most MAX_ATTACHMENTS ids, each kept once."""
    if not isinstance(values, list | tuple) or len(values) > MAX_ATTACHMENTS:
        raise RoomInputError(
            _("A message carries at most %(n)d attachments.") % {"n": MAX_ATTACHMENTS}
        )
    ids: list[UUID] = []
    for value in values:
        try:
            pk = UUID(value) if isinstance(value, str) else value
        except ValueError:
            pk = None
        if not isinstance(pk, UUID):
            raise RoomInputError(_("An attachment is named by the id its upload answered."))
        if pk not in ids:
            ids.append(pk)
    return ids


def attach_uploads(message: RoomMessage, ids: list[UUID], by: Agent) -> list[RoomAttachment]:
    """Give the new message its attachments, in the caller's transaction: each must be this
    agent's upload into the message's room, not sent yet (rows locked, so two messages
    never take the same one), else AttachmentNotFound and nothing is attached."""
    if not ids:
        return []
    attachments = list(
        RoomAttachment.objects.select_for_update()
        .filter(id__in=ids, room_id=message.room_id, uploaded_by=by, message__isnull=True)
        .order_by("created_at")
    )
    if len(attachments) != len(ids):
        raise AttachmentNotFound
    RoomAttachment.objects.filter(id__in=ids).update(message=message)
    return attachments
