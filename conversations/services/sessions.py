"""Chat sessions: who the customer is, which conversation, and the token that says so."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.core import signing
from django.db import transaction

from conversations import hooks, webhooks
from conversations.models import Conversation
from conversations.services.bot import greet_known_customer
from conversations.services.messages import post_bot_message
from customers.models import Customer, CustomerMerge
from customers.services import Identity, create_visitor, customer_for_identity, segments
from customers.services.identities import is_anonymous
from customers.services.invitations import take_accepted_invitation
from customers.services.merge import MergeRefused, merge_customers, surviving_customer_id

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


def token_conversation(session: tuple[int, UUID] | None, *, related=()) -> Conversation | None:
    """The conversation a valid token names, if it is still that customer's: directly (one
    query), or because the token's customer was merged into the conversation's since — a
    merged-away customer's open sockets and tokens keep working."""
    if session is None:
        return None
    customer_id, conversation_id = session
    conversation = (
        Conversation.objects.select_related(*related)
        .filter(pk=conversation_id, customer__erased_at__isnull=True)
        .first()
    )
    if conversation is None:
        return None
    if conversation.customer_id == customer_id:
        return conversation
    if surviving_customer_id(customer_id) == conversation.customer_id:
        return conversation
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
        merged_from = None
        if identity is not None:
            customer = customer_for_identity(identity=identity, language=language)
            if previous is not None and previous[0] != customer.pk:
                merged_from = _merge_visitor(previous[0], into=customer)
        elif previous is not None:
            # An erased customer's old token starts a stranger's chat: it never links back.
            current = Customer.objects.filter(pk=previous[0], erased_at__isnull=True).first()
            if current is None:
                # Merged into another since the token was issued: that is the person now.
                survivor = surviving_customer_id(previous[0])
                current = Customer.objects.filter(pk=survivor).first() if survivor else None
                merged_from = previous[0] if current is not None else None
            customer = current or create_visitor(language=language)
        else:
            customer = create_visitor(language=language)

        open_conversations = Conversation.objects.filter(
            customer=customer, status__in=Conversation.OPEN_STATUSES
        ).select_related("assignee")
        conversation = None
        if previous is not None and previous[0] in (customer.pk, merged_from):
            conversation = open_conversations.filter(pk=previous[1]).first()
        if conversation is None and customer.is_identified and (identity or not merged_from):
            # An anonymous token merged into a known customer resumes its own chat only:
            # the customer's other chats open to the identity hash alone.
            conversation = (
                open_conversations.filter(channel=channel).order_by("-created_at").first()
            )
        said = False  # whether messages were added here (the response's last_seq)
        if conversation is None:
            conversation = start_conversation(
                customer=customer,
                channel=channel,
                language=language,
                page=page,
                opening=(lambda c: _open_with_invitation(c, invitation)) if invitation else None,
            )
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


def start_conversation(
    *,
    customer: Customer,
    channel: str,
    language: str,
    page: dict | None = None,
    greet: bool = True,
    opening=None,
) -> Conversation:
    """A new conversation of this customer on this channel (in the caller's transaction):
    counted for their segment, `opening(conversation)` said first (an accepted
    invitation's words), a known customer greeted when `greet` (a chat opened before
    anything was said; not a relayed message, which the bot answers instead), and the
    started hook run. Emits `conversation.created` (before any of its messages)."""
    conversation = Conversation.objects.create(
        customer=customer, channel=channel, language=language, page=page or {}
    )
    webhooks.conversation_created(conversation)  # before its first message's event
    segments.conversation_started(customer_id=customer.pk)
    if opening is not None:
        opening(conversation)
    if greet:
        greet_known_customer(conversation=conversation)
    hooks.conversation_started(conversation)
    return conversation


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


def _merge_visitor(visitor_id: int, *, into: Customer) -> int | None:
    """An anonymous visitor's session that now presents a valid identity hash: the visitor
    was this customer all along, and their history becomes the customer's. A visitor who
    is someone identified (another account on a shared device) is left alone. Returns the
    visitor's id when merged."""
    visitor = Customer.objects.filter(pk=visitor_id).first()
    if visitor is None or visitor.erased_at is not None or not is_anonymous(visitor):
        return None  # an erased customer's history stays erased, joined to nobody
    try:
        merge_customers(
            source_id=visitor.pk,
            target_id=into.pk,
            how=CustomerMerge.How.IDENTITY,
            reason="chat session: the identity hash of a shop account",
        )
    except MergeRefused:
        return None  # merged a moment ago by a concurrent session: nothing left to move
    return visitor_id
