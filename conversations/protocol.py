"""Shapes of the chat protocol v1 (contracts/chat-protocol.md): what goes on the wire."""

from __future__ import annotations

from conversations.models import Conversation, Message


def iso(value) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message_payload(message: Message) -> dict:
    return {
        "id": str(message.id),
        "seq": message.seq,
        "conversation": str(message.conversation_id),
        "sender": message.sender,
        "sender_name": message.sender_name,
        "body": message.body,
        "attachments": [],
        "client_id": message.client_id or None,
        "created_at": iso(message.created_at),
        "meta": message.meta or None,
    }


def status_payload(conversation: Conversation, *, queue_position: int | None = None) -> dict:
    payload = {"conversation": str(conversation.id), "status": conversation.status}
    if conversation.status == Conversation.Status.QUEUED and queue_position is not None:
        payload["queue_position"] = queue_position
    if conversation.status == Conversation.Status.ASSIGNED and conversation.assignee_id:
        payload["agent"] = {"name": conversation.assignee.display_name}
    return payload
