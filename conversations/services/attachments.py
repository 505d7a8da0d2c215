"""Storing uploaded files for a conversation."""

from __future__ import annotations

from uuid import UUID

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from conversations.files import check_upload, save_with_file
from conversations.models import Attachment, Conversation
from conversations.services.messages import ConversationClosed


def store_attachment(
    *, conversation_id: UUID, uploaded_by: str, upload: UploadedFile, shown_as: str = ""
) -> Attachment:
    """Check the file by its content and size, then store it under a generated name.
    `shown_as` (a file fetched from a URL, whose name there says nothing): the name people
    see, with the extension of what the file really is; otherwise the uploaded name,
    cleaned.

    Raises UploadRefused (AttachmentTooLarge over the size cap; nothing is stored) or ConversationClosed.
    """
    checked = check_upload(upload, shown_as=shown_as)
    with transaction.atomic():
        conversation = Conversation.objects.filter(pk=conversation_id).only("status").first()
        if conversation is None or not conversation.is_open:
            raise ConversationClosed
        attachment = Attachment.from_checked(
            checked, conversation_id=conversation_id, uploaded_by=uploaded_by
        )
        save_with_file(attachment, upload, checked)
    return attachment
