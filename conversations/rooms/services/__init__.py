"""Every write to the team rooms goes through one of these functions (docs/rooms.md)."""

from conversations.rooms.services.attachments import AttachmentNotFound, store_room_attachment
from conversations.rooms.services.cards import (
    post_ticket_card,
    publish_cards_on_commit,
    room_cards_sql,
)
from conversations.rooms.services.messages import (
    MessageNotFound,
    delete_message,
    edit_message,
    mark_read,
    post_message,
    set_labels,
    set_pinned,
)
from conversations.rooms.services.retention import purge_old_messages
from conversations.rooms.services.rooms import (
    RoomInputError,
    RoomNotAllowed,
    add_members,
    create_room,
    direct_room,
    ensure_group_room,
    join_consult_room,
    leave_room,
)
from conversations.rooms.services.urgent import acknowledge, remind_unacknowledged, withdraw

__all__ = [
    "AttachmentNotFound",
    "MessageNotFound",
    "RoomInputError",
    "RoomNotAllowed",
    "acknowledge",
    "add_members",
    "create_room",
    "delete_message",
    "direct_room",
    "edit_message",
    "ensure_group_room",
    "join_consult_room",
    "leave_room",
    "mark_read",
    "post_message",
    "post_ticket_card",
    "publish_cards_on_commit",
    "purge_old_messages",
    "remind_unacknowledged",
    "room_cards_sql",
    "set_labels",
    "set_pinned",
    "store_room_attachment",
    "withdraw",
]
