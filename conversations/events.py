"""Every live event of a conversation, declared in one place.

Group events carry a `type` that Channels dispatches to the consumer method of
the same name (dots become underscores): `chat.message` → `chat_message`.
"""

from __future__ import annotations

from uuid import UUID

DESK_GROUP = "desk.queue"


def conversation_group(conversation_id: UUID | str) -> str:
    return f"conv.{UUID(str(conversation_id)).hex}"


def message_event(payload: dict) -> dict:
    return {"type": "chat.message", "message": payload}


def status_event(payload: dict) -> dict:
    return {"type": "chat.status", **payload}


def typing_event(*, conversation_id: UUID, sender: str, on: bool) -> dict:
    return {"type": "chat.typing", "conversation": str(conversation_id), "sender": sender, "on": on}


def read_event(*, conversation_id: UUID, reader: str, up_to_seq: int) -> dict:
    return {
        "type": "chat.read",
        "conversation": str(conversation_id),
        "reader": reader,
        "up_to_seq": up_to_seq,
    }


def queue_changed_event() -> dict:
    return {"type": "desk.queue"}
