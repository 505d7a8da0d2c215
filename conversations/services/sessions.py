"""Chat sessions: who the customer is, which conversation, and the token that says so."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.core import signing
from django.db import transaction

from conversations import hooks
from conversations.models import Conversation
from conversations.services.bot import greet_known_customer
from conversations.services.messages import post_bot_message
from customers.models import Customer
from customers.services import Identity, create_visitor, customer_for_identity, segments
from customers.services.invitations import take_accepted_invitation

TOKEN_SALT = "lumen.chat.session.v1"  # noqa: S105 (a namespace, not a secret)


@dataclass(frozen=True)
class ChatSession:
    token: str
    conversation: Conversation


def issue_chat_token(conversation: Conversation) -> str:
    return signing.dumps(
        {"cu": conversation.customer_id, "co": conversation.id.hex}, salt=TOKEN_SALT, compress=True
    )


def read_chat_token(token: str | None) -> tuple[int, UUID] | None:
    """(customer id, conversation id) from a valid, unexpired token; None otherwise."""
    if not token or len(token) > 512:
        return None
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=settings.CHAT_TOKEN_MAX_AGE)
        return int(data["cu"]), UUID(hex=data["co"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def open_chat_session(
    *,
    channel: str,
    language: str,
    token: str | None = None,
    identity: Identity | None = None,
    page: dict | None = None,
    invitation: UUID | None = None,
) -> ChatSession:
    """Open or resume a customer's chat session.

    - a verified identity makes the session that customer's (IdentityRefused,
      and nothing written, when its hash is wrong);
    - a valid token of an open conversation of that customer resumes it;
    - an identified customer's latest open conversation on this channel is resumed;
    - otherwise a new conversation starts (and, without identity or token, a new visitor),
      counted for the customer's segment.

    `page` (where the chat is open) is kept on the conversation, replaced when a resumed
    conversation is opened on another page, so the agent sees where the customer is. An
    accepted `invitation` puts its message into the conversation once.
    """
    previous = read_chat_token(token)
    with transaction.atomic():
        if identity is not None:
            customer = customer_for_identity(identity=identity, language=language)
        elif previous is not None:
            customer = Customer.objects.filter(pk=previous[0]).first() or create_visitor(
                language=language
            )
        else:
            customer = create_visitor(language=language)

        open_conversations = Conversation.objects.filter(
            customer=customer, status__in=Conversation.OPEN_STATUSES
        ).select_related("assignee")
        conversation = None
        if previous is not None and previous[0] == customer.pk:
            conversation = open_conversations.filter(pk=previous[1]).first()
        if conversation is None and customer.is_identified:
            conversation = (
                open_conversations.filter(channel=channel).order_by("-created_at").first()
            )
        said = False  # whether messages were added here (the response's last_seq)
        if conversation is None:
            conversation = Conversation.objects.create(
                customer=customer, channel=channel, language=language, page=page or {}
            )
            segments.conversation_started(customer_id=customer.pk)
            if invitation is not None:
                _open_with_invitation(conversation, invitation)  # its words first
            greet_known_customer(conversation=conversation)
            hooks.conversation_started(conversation)
            said = True
        else:
            if page and page != conversation.page:
                conversation.page = page
                conversation.save(update_fields=["page", "updated_at"])
            if invitation is not None:
                said = _open_with_invitation(conversation, invitation)
        if said:
            conversation.refresh_from_db(fields=["last_seq"])
    return ChatSession(token=issue_chat_token(conversation), conversation=conversation)


def _open_with_invitation(conversation: Conversation, invitation: UUID) -> bool:
    """The invitation the customer accepted says its message first (once); True when it
    did."""
    message = take_accepted_invitation(
        invitation_id=invitation,
        customer_id=conversation.customer_id,
        conversation_id=conversation.id,
    )
    if message:
        post_bot_message(
            conversation_id=conversation.id,
            body=message,
            meta={
                "action": "answer",
                "intent": None,
                "article": None,
                "confidence": 1.0,
                "slots": {},
                "event": "invitation",
                "invitation": str(invitation),
            },
            language=conversation.language,
        )
    return bool(message)
