"""Storing uploaded files for a conversation."""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from conversations.files import UploadRefused, clean_name, sniff
from conversations.models import Attachment, Conversation
from conversations.services.messages import ConversationClosed


class AttachmentTooLarge(UploadRefused):
    pass


def store_attachment(
    *, conversation_id: UUID, uploaded_by: str, upload: UploadedFile, shown_as: str = ""
) -> Attachment:
    """Check the file by its content and size, then store it under a generated name.
    `shown_as` (a file fetched from a URL, whose name there says nothing): the name people
    see, with the extension of what the file really is; otherwise the uploaded name,
    cleaned.

    Raises UploadRefused (nothing is stored) or ConversationClosed.
    """
    if upload.size > settings.ATTACHMENT_MAX_SIZE:
        raise AttachmentTooLarge(
            f"the file is larger than {settings.ATTACHMENT_MAX_SIZE // (1024 * 1024)} MiB"
        )
    name = clean_name(upload.name)
    kind = sniff(upload.file, declared_name=name, declared_type=upload.content_type or "")
    if shown_as:
        name = clean_name(shown_as + kind.extension)
    with transaction.atomic():
        conversation = Conversation.objects.filter(pk=conversation_id).only("status").first()
        if conversation is None or not conversation.is_open:
            raise ConversationClosed
        attachment = Attachment(
            conversation_id=conversation_id,
            uploaded_by=uploaded_by,
            name=name,
            content_type=kind.content_type,
            extension=kind.extension,
            size=upload.size,
        )
        upload.file.seek(0)
        attachment.file.save(f"upload{kind.extension}", upload.file, save=False)
        try:
            attachment.save()
        except Exception:
            attachment.file.delete(save=False)
            raise
    return attachment
