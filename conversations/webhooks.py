"""The partner events of conversations (contracts/partner-api.md, "Webhooks"), declared in
one place: `conversation.created`, `conversation.assigned`, `conversation.closed` and
`message.created`.

Each is written to the outbox (helpdesk.webhooks) in the transaction of the change it
tells of, while that transaction holds the conversation's row lock: so a conversation's
events have increasing outbox sequence numbers in the order they happened, and the
deliveries keep that order per subscription (their subject is the conversation).

`message.created` is every message of a conversation: the customer's own (which a
partner relaying a channel skips: it sent them) and everything the customer should see,
the bot's answers, the agents' replies and the system's lines, with the seq that orders
them. It is written by the statement that stores the message
(conversations.services.messages, routing.assign_all), so the live chat pays one more
row in the same round trip and nothing else.
"""

from __future__ import annotations

from conversations.models import Conversation, Message
from conversations.protocol import iso, message_payload
from helpdesk.webhooks import emit, emit_many

CONVERSATION_CREATED = "conversation.created"
CONVERSATION_ASSIGNED = "conversation.assigned"
CONVERSATION_CLOSED = "conversation.closed"
MESSAGE_CREATED = "message.created"


def conversation_ref(conversation: Conversation) -> dict:
    """Which conversation a message is in, and where to relay it: the `conversation` of
    `message.created` (the same three keys the SQL of messages._APPEND_SQL writes)."""
    return {
        "id": str(conversation.pk),
        "channel": conversation.channel,
        "customer": conversation.customer.external_id,
    }


def conversation_data(conversation: Conversation) -> dict:
    """The conversation as the `conversation.*` events carry it."""
    assignee = conversation.assignee if conversation.assignee_id else None
    return {
        **conversation_ref(conversation),
        "status": conversation.status,
        "language": conversation.language,
        "assignee": {"id": assignee.pk, "name": assignee.display_name} if assignee else None,
        "resolution": conversation.resolution or None,
        "created_at": iso(conversation.created_at),
        "closed_at": iso(conversation.closed_at) if conversation.closed_at else None,
    }


def message_created_data(message: Message, conversation: Conversation, attachments=None) -> dict:
    return {
        "conversation": conversation_ref(conversation),
        "message": message_payload(message, attachments),
    }


def conversation_created(conversation: Conversation) -> None:
    emit(CONVERSATION_CREATED, {"conversation": conversation_data(conversation)})


def conversation_closed(conversation: Conversation) -> None:
    emit(CONVERSATION_CLOSED, {"conversation": conversation_data(conversation)})


def conversations_assigned(assigned: list[tuple[Conversation, Message]], *, by: str) -> None:
    """Conversations just given to their agents, each with the system line that says so:
    that line's `message.created`, then `conversation.assigned`, for all of them in one
    write (a router's whole batch)."""
    items: list[tuple[str, dict]] = []
    for conversation, line in assigned:
        items.append((MESSAGE_CREATED, message_created_data(line, conversation, [])))
        items.append(
            (CONVERSATION_ASSIGNED, {"conversation": conversation_data(conversation), "by": by})
        )
    emit_many(items)
