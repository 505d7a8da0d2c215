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


def staff_group(conversation_id: UUID | str) -> str:
    """Agents of one conversation only (assignee, consulting colleagues, supervisors watching):
    internal notes and other things the customer must never receive."""
    return f"staff.{UUID(str(conversation_id)).hex}"


def agent_group(agent_id: int) -> str:
    """Every desk socket of one agent (tabs, devices)."""
    return f"agent.{int(agent_id)}"


def assigned_event(*, conversation_id: UUID, customer: str, by: str) -> dict:
    """To the agent who now has the conversation; `by` is routing, transfer or take."""
    return {
        "type": "desk.assigned",
        "conversation": str(conversation_id),
        "customer": customer,
        "by": by,
    }


def invited_event(*, conversation_id: UUID, customer: str, by: str) -> dict:
    return {
        "type": "desk.invited",
        "conversation": str(conversation_id),
        "customer": customer,
        "by": by,
    }


def released_event(*, conversation_id: UUID) -> dict:
    """To the agent who no longer has the conversation (transferred, requeued)."""
    return {"type": "desk.released", "conversation": str(conversation_id)}


def note_event(payload: dict) -> dict:
    return {"type": "desk.note", "note": payload}


def conversation_changed_event(*, conversation_id: UUID) -> dict:
    """Tags, participants, resolution: the desk re-reads the pane's details."""
    return {"type": "desk.changed", "conversation": str(conversation_id)}


def presence_event(*, agent_id: int, status: str) -> dict:
    return {"type": "desk.presence", "agent": int(agent_id), "status": status}


def notice_event(payload: dict) -> dict:
    """To every desk of one agent: a new notice (both languages; the page picks its own)."""
    return {"type": "desk.notice", "notice": payload}


def survey_event(payload: dict) -> dict:
    """A satisfaction survey for the customer's sockets (chat protocol `survey`)."""
    return {"type": "chat.survey", **payload}
