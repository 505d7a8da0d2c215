"""Attachments served to the people of their conversation only; how every stored upload
is served."""

from __future__ import annotations

from uuid import UUID

from csp.constants import NONE, SELF
from csp.decorators import csp
from django.conf import settings
from django.core import signing
from django.http import FileResponse, Http404, JsonResponse

from conversations import selectors
from conversations.files import SAFE_INLINE_IMAGES, AttachmentTooLarge, UploadRefused
from conversations.models import Attachment
from conversations.protocol import ATTACHMENT_SALT


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
    return stored_file_response(attachment)


def refused_upload_response(error: UploadRefused, **extra) -> JsonResponse:
    """A refused upload for the page's script: 413 over the size cap, 415 for a kind of file
    not accepted, with the reason."""
    status = 413 if isinstance(error, AttachmentTooLarge) else 415
    return JsonResponse({**extra, "detail": str(error)}, status=status)


# Replaces the site-wide policy: an upload opened on its own runs no script, loads nothing
# but itself, and is sandboxed (a unique origin) even if a browser took it for a page.
@csp({"default-src": NONE, "img-src": SELF, "media-src": SELF, "sandbox": True})
def stored_file_response(record) -> FileResponse:
    """Any stored upload (a conversation's attachment, a team room's file) as it is served:
    its checked content type, inline only for plain images and a download otherwise under
    its cleaned name, with nosniff and a CSP that runs nothing. 404 when the file is gone."""
    try:
        handle = record.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    inline = record.content_type in SAFE_INLINE_IMAGES
    response = FileResponse(
        handle,
        content_type=record.content_type,
        as_attachment=not inline,
        filename=record.name,
    )
    response["X-Content-Type-Options"] = "nosniff"
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
