"""Messages a partner relays from a channel of its own (contracts/partner-api.md:
`POST /api/v1/inbound/messages/`): WeChat, the mini-program, the app, SMS, email.

Such a message travels like one sent over the chat socket: the customer is found by their
shop account (one customer, one history, whichever channel they write on), the message
joins their open conversation on that channel or starts one, is stored once per
`client_id` with the next seq, and the bot, routing and the agents take it from there.
What the customer should see comes back out through the `message.created` webhook
(conversations/webhooks.py), which the partner relays to the channel.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction

from conversations.models import Conversation, Message
from conversations.services.bot import bot_turn
from conversations.services.messages import ConversationClosed, post_customer_message
from conversations.services.sessions import start_conversation
from customers.models import Customer, CustomerIdentity
from customers.services.identities import customer_for_verified_identity


@dataclass(frozen=True)
class Received:
    """What came of an inbound message: the stored message (the first one, for a retry)
    and whether this call stored it."""

    message: Message
    created: bool


def receive_inbound_message(
    *,
    channel: str,
    external_id: str,
    client_id: str,
    body: str,
    language: str | None = None,
    name: str = "",
) -> Received:
    """Store a customer's message relayed from `channel` and let the bot answer it.

    - The customer is the holder of the shop account `external_id` (created with it the
      first time; a customer merged into another finds the one it went to), so a web chat
      opened with that account's identity hash is the same customer and history.
    - The message joins the customer's latest open conversation on this channel, or starts
      one (one at a time per customer and channel: a transaction-level advisory lock).
    - `client_id` makes a retry harmless: a message with it from this customer on this
      channel (in whichever of their conversations, closed since or not) is returned as
      it is, and nothing is written or answered again.
    - While the conversation is with the bot, the bot's turn runs after the message is
      committed, as for the live chat; a queued or assigned conversation waits for its
      agent, who answers from the desk.

    InvalidIdentity (nothing written) for an external id that cannot be one.
    """
    customer = customer_for_verified_identity(
        kind=CustomerIdentity.Kind.ACCOUNT,
        value=external_id,
        method=CustomerIdentity.Method.PARTNER_API,
        language=language or "zh",
        name=name,
        source=f"inbound {channel}",
    )
    stored = _stored(customer.pk, channel, client_id)
    if stored is not None:
        return Received(stored, False)
    while True:
        conversation = open_conversation(customer=customer, channel=channel, language=language)
        try:
            message, created = post_customer_message(
                conversation_id=conversation.id, client_id=client_id, body=body
            )
        except ConversationClosed:
            continue  # closed between finding it and writing to it: the next one is new
        break
    if created and message.conversation_status == Conversation.Status.BOT:
        bot_turn(conversation_id=conversation.id, message_id=message.id)
    return Received(message, created)


def _stored(customer_id: int, channel: str, client_id: str) -> Message | None:
    return (
        Message.objects.filter(
            conversation__customer_id=customer_id,
            conversation__channel=channel,
            client_id=client_id,
            sender=Message.Sender.CUSTOMER,
        )
        .prefetch_related("attachment_set")
        .first()
    )


def open_conversation(*, customer: Customer, channel: str, language: str | None) -> Conversation:
    """The customer's latest open conversation on `channel`, or a new one (no greeting: the
    bot answers the message that opened it). Two messages arriving at once for a customer
    with none open start one conversation: finding and starting are serialized per
    customer and channel."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"inbound:{customer.pk}:{channel}"],
            )
        conversation = (
            Conversation.objects.filter(
                customer=customer, channel=channel, status__in=Conversation.OPEN_STATUSES
            )
            .order_by("-created_at")
            .first()
        )
        if conversation is None:
            conversation = start_conversation(
                customer=customer,
                channel=channel,
                language=language or customer.language or "zh",
                greet=False,
            )
    return conversation
