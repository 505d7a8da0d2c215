"""Every write to conversations goes through one of these functions."""

from conversations.services.agents import desk_gone, desk_opened, set_agent_status
from conversations.services.bot import bot_turn, greet_known_customer, rate_bot_answer
from conversations.services.collaboration import (
    Unavailable,
    add_internal_note,
    end_consultation,
    invite_colleague,
    set_conversation_tags,
    transfer_to_agent,
    transfer_to_group,
)
from conversations.services.messages import (
    AttachmentNotFound,
    ConversationClosed,
    post_agent_message,
    post_customer_message,
    post_system_message,
)
from conversations.services.routing import AtCapacity, drain_queues, route_waiting
from conversations.services.sessions import (
    ChatSession,
    open_chat_session,
    read_chat_token,
    token_conversation,
)
from conversations.services.workflow import (
    AlreadyTaken,
    NobodyOnline,
    NotAllowed,
    close_conversation,
    leave_message,
    mark_read,
    request_handoff,
    take_conversation,
)

__all__ = [
    "AlreadyTaken",
    "AtCapacity",
    "AttachmentNotFound",
    "ChatSession",
    "ConversationClosed",
    "NobodyOnline",
    "NotAllowed",
    "Unavailable",
    "add_internal_note",
    "bot_turn",
    "close_conversation",
    "desk_gone",
    "desk_opened",
    "end_consultation",
    "drain_queues",
    "greet_known_customer",
    "invite_colleague",
    "leave_message",
    "mark_read",
    "open_chat_session",
    "post_agent_message",
    "post_customer_message",
    "post_system_message",
    "rate_bot_answer",
    "read_chat_token",
    "request_handoff",
    "route_waiting",
    "set_agent_status",
    "set_conversation_tags",
    "take_conversation",
    "token_conversation",
    "transfer_to_agent",
    "transfer_to_group",
]
