"""Shapes of the chat protocol v1 (contracts/chat-protocol.md): what goes on the wire."""

from __future__ import annotations

from django.core import signing
from django.urls import reverse

from conversations.models import Attachment, Conversation, InternalNote, Message

ATTACHMENT_SALT = "lumen.attachment.v1"
RECOMMENDATION_SALT = "lumen.recommendation.click.v1"


def iso(value) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def attachment_payload(attachment: Attachment) -> dict:
    signature = signing.dumps(attachment.id.hex, salt=ATTACHMENT_SALT)
    payload = {
        "id": str(attachment.id),
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": reverse("attachment-file", args=[attachment.id, signature]),
    }
    if attachment.transcript:
        payload["transcript"] = attachment.transcript
    return payload


def message_payload(message: Message, attachments: list[Attachment] | None = None) -> dict:
    """The message object of the protocol; `attachments` when already at hand."""
    if attachments is None:
        attachments = list(message.attachment_set.all())
    return {
        "id": str(message.id),
        "seq": message.seq,
        "conversation": str(message.conversation_id),
        "sender": message.sender,
        "sender_name": message.sender_name,
        "body": message.body,
        "attachments": [attachment_payload(a) for a in attachments],
        "client_id": message.client_id or None,
        "created_at": iso(message.created_at),
        "meta": message.meta or None,
    }


def status_payload(conversation: Conversation) -> dict:
    """The `status` frame of a conversation that is not queued (see `queued_status`)."""
    payload = {"conversation": str(conversation.id), "status": conversation.status}
    if conversation.status == Conversation.Status.ASSIGNED and conversation.assignee_id:
        payload["agent"] = {"name": conversation.assignee.display_name}
    return payload


def queued_status(conversation_id, *, position: int, estimated_wait: int | None) -> dict:
    """The `status` frame of a queued conversation: its place in line, the likely wait in
    seconds, and whether anyone is online to take it (else the customer may leave a message)."""
    return {
        "conversation": str(conversation_id),
        "status": Conversation.Status.QUEUED,
        "queue_position": position,
        "estimated_wait": estimated_wait,
        "agents_online": estimated_wait is not None,
    }


def note_payload(note: InternalNote) -> dict:
    """An internal note as the desk receives it (never on a customer's socket)."""
    return {
        "id": str(note.id),
        "conversation": str(note.conversation_id),
        "kind": note.kind,
        "agent": note.agent.display_name if note.agent_id else "",
        "body": note.body,
        "created_at": iso(note.created_at),
    }


def click_link(recommendation_id, index: int) -> str:
    """The signed link of one offer of a recommendation: counts the click, then opens the
    offer's page (conversations.views.widget.recommendation_click)."""
    token = signing.dumps([recommendation_id.hex, index], salt=RECOMMENDATION_SALT)
    return reverse("recommendation-click", args=[token])
