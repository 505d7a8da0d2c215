"""Every live event of the team rooms, declared in one place.

A room's events go to its group (every desk socket of every member, one send
however many members); what concerns one agent (their unread counts, the rooms
they are in, an urgent reminder) goes to that agent's group (every tab and device).
The desk consumer turns them into the `room.*` / `rooms.*` frames of
docs/chat-protocol.md ("Team rooms").
"""

from __future__ import annotations


def room_group(room_id: int | str) -> str:
    return f"room.{int(room_id)}"


def message_event(payload: dict) -> dict:
    """A new message, or a changed one (edited, deleted, tagged, pinned, acknowledged):
    the client keeps the one with the higher `rev`."""
    return {"type": "room.message", "room": payload["room"], "message": payload}


def read_event(*, room_id: int, read_seq: int, unread: int, mentions: int) -> dict:
    """To every device of one agent: how far they have read a room now."""
    return {
        "type": "rooms.read",
        "room": int(room_id),
        "read_seq": read_seq,
        "unread": unread,
        "mentions": mentions,
    }


def rooms_changed_event() -> dict:
    """To one agent: they joined or left a room (the socket re-reads which rooms)."""
    return {"type": "rooms.changed"}


def reminder_event(payload: dict) -> dict:
    """To one agent: an urgent message they have not acknowledged yet."""
    return {"type": "rooms.reminder", "message": payload}
