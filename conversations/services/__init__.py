"""Every write to conversations goes through one of these functions."""

from conversations.services.bot import bot_turn, greet_known_customer, rate_bot_answer
from conversations.services.messages import (
    AttachmentNotFound,
    ConversationClosed,
    post_agent_message,
    post_customer_message,
    post_system_message,
)
from conversations.services.sessions import (
    ChatSession,
    open_chat_session,
    read_chat_token,
)
from conversations.services.workflow import (
    AlreadyTaken,
    NotAllowed,
    close_conversation,
    mark_read,
    request_handoff,
    take_conversation,
)

__all__ = [
    "bot_turn",
    "greet_known_customer",
    "AttachmentNotFound",
    "AlreadyTaken",
    "ChatSession",
    "ConversationClosed",
    "NotAllowed",
    "close_conversation",
    "mark_read",
    "open_chat_session",
    "post_agent_message",
    "post_customer_message",
    "post_system_message",
    "rate_bot_answer",
    "read_chat_token",
    "request_handoff",
    "take_conversation",
]
