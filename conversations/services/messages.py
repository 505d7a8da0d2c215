"""Storing messages: once per client_id, with the next seq of their conversation."""

from __future__ import annotations

import json
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from conversations import events, webhooks
from conversations.client_ids import AlreadyStored
from conversations.models import Agent, Attachment, Conversation, Message
from conversations.protocol import message_payload
from customers.models import Customer
from helpdesk.ids import uuid7
from helpdesk.models import OutboundEvent
from helpdesk.realtime import publish_on_commit
from helpdesk.webhooks import emit, fan_out_on_commit


class ConversationClosed(Exception):
    """The conversation is closed; a new session must be started."""


class AttachmentNotFound(Exception):
    """An attachment id that is not this sender's unsent upload in this conversation."""


def _next_seq(conversation_id: UUID, *, allow_closed: bool) -> tuple[int, str]:
    """Lock the conversation row and take its next seq (one UPDATE … RETURNING).

    The row lock serialises every writer of this conversation until commit, so
    seqs are consecutive and a concurrent duplicate client_id waits here and
    then sees the first one.
    """
    condition = "" if allow_closed else " AND status <> 'closed'"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Conversation._meta.db_table} "  # noqa: S608 (constant table name)
            "SET last_seq = last_seq + 1, last_message_at = %s, updated_at = %s "
            f"WHERE id = %s{condition} RETURNING last_seq, status",
            [timezone.now(), timezone.now(), conversation_id],
        )
        row = cursor.fetchone()
    if row is None:
        if Conversation.objects.filter(pk=conversation_id).exists():
            raise ConversationClosed
        raise Conversation.DoesNotExist
    return row[0], row[1]


# The common case in one statement and one round trip: take the next seq, insert
# the message and its `message.created` partner event (conversations/webhooks.py),
# unless the conversation is closed or the client_id is already stored (then no row
# comes back and nothing is written). A concurrent duplicate that passes the NOT
# EXISTS is stopped by the unique constraint, which aborts the whole statement, seq
# and event included. Either way the caller falls back to the transaction below,
# which tells the cases apart. The event's outbox number is drawn while the UPDATE
# holds the conversation's row lock: a conversation's events are numbered in order.
_APPEND_SQL = f"""
WITH bumped AS (
    UPDATE {Conversation._meta.db_table}
       SET last_seq = last_seq + 1, last_message_at = %(now)s, updated_at = %(now)s
     WHERE id = %(conversation)s AND (%(allow_closed)s OR status <> 'closed')
       AND (%(client_id)s = '' OR NOT EXISTS (
             SELECT 1 FROM {Message._meta.db_table}
              WHERE conversation_id = %(conversation)s AND client_id = %(client_id)s))
 RETURNING last_seq, status, channel, customer_id
),
stored AS (
    INSERT INTO {Message._meta.db_table}
           (id, conversation_id, seq, sender, sender_name, agent_id, body, client_id, meta,
            created_at)
    SELECT %(id)s, %(conversation)s, bumped.last_seq, %(sender)s, %(sender_name)s, %(agent)s,
           %(body)s, %(client_id)s, %(meta)s, %(now)s
      FROM bumped
    RETURNING seq
),
announced AS (
    INSERT INTO {OutboundEvent._meta.db_table} (id, event, data, created_at)
    SELECT %(event_id)s, '{webhooks.MESSAGE_CREATED}',
           jsonb_build_object(
               'conversation', jsonb_build_object(
                   'id', %(conversation_text)s::text, 'channel', bumped.channel,
                   'customer', customer.external_id),
               'message', %(payload)s::jsonb || jsonb_build_object('seq', bumped.last_seq)),
           %(now)s
      FROM bumped JOIN {Customer._meta.db_table} customer ON customer.id = bumped.customer_id
)
SELECT stored.seq, bumped.status FROM stored, bumped
"""  # noqa: S608 (constant table names and event name)


def _append_at_once(message: Message, *, allow_closed: bool) -> str | None:
    """Store `message` with the next seq in one statement; its conversation's status, or
    None when the statement stored nothing (closed, unknown, or a duplicate client_id)."""
    params = {
        "id": message.id,
        "conversation": message.conversation_id,
        "sender": message.sender,
        "sender_name": message.sender_name,
        "agent": message.agent_id,
        "body": message.body,
        "client_id": message.client_id,
        "meta": json.dumps(message.meta, ensure_ascii=False),
        "now": message.created_at,
        "allow_closed": allow_closed,
        "event_id": uuid7(),
        "conversation_text": str(message.conversation_id),
        "payload": json.dumps(message_payload(message, []), ensure_ascii=False),
    }
    try:
        if connection.in_atomic_block and message.client_id:
            # Inside a transaction (a service holding locks, a test) a savepoint
            # keeps a duplicate from aborting the outer transaction (only a
            # client_id can be a duplicate).
            with transaction.atomic():
                row = _execute(_APPEND_SQL, params)
        else:
            row = _execute(_APPEND_SQL, params)  # autocommit: one round trip
    except IntegrityError:
        return None
    if row is None:
        return None
    message.seq = row[0]
    message._state.adding, message._state.db = False, connection.alias
    fan_out_on_commit()
    return row[1]


def _execute(sql: str, params: dict) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _append(
    *,
    conversation_id: UUID,
    sender: str,
    body: str,
    client_id: str = "",
    sender_name: str = "",
    agent: Agent | None = None,
    meta: dict | None = None,
    allow_closed: bool = False,
    attachment_ids: list[UUID] | None = None,
) -> tuple[Message, bool]:
    message = Message(
        conversation_id=conversation_id,
        sender=sender,
        sender_name=sender_name,
        agent=agent,
        body=body,
        client_id=client_id,
        meta=meta or {},
        created_at=timezone.now(),
    )
    if not attachment_ids:
        status = _append_at_once(message, allow_closed=allow_closed)
        if status is not None:
            # Read in the same statement that took the seq: callers decide on it
            # (the bot answers only while the conversation is with the bot).
            message.conversation_status = status
            publish_on_commit(
                events.conversation_group(conversation_id),
                events.message_event(message_payload(message, [])),
            )
            return message, True
    try:
        with transaction.atomic():
            seq, status = _next_seq(conversation_id, allow_closed=allow_closed)
            if client_id:
                existing = Message.objects.filter(
                    conversation_id=conversation_id, client_id=client_id
                ).first()
                if existing is not None:
                    raise AlreadyStored(existing)  # rolls the seq back
            message.seq = seq
            message.save(force_insert=True)
            message.conversation_status = status
            attachments = _attach(message, attachment_ids or [], sender)
            conversation = Conversation.objects.select_related("customer").get(pk=conversation_id)
            emit(
                webhooks.MESSAGE_CREATED,
                webhooks.message_created_data(message, conversation, attachments),
            )
            publish_on_commit(
                events.conversation_group(conversation_id),
                events.message_event(message_payload(message, attachments)),
            )
    except AlreadyStored as duplicate:
        return duplicate.message, False
    return message, True


def _attach(message: Message, ids: list[UUID], sender: str) -> list[Attachment]:
    if not ids:
        return []
    attachments = list(
        Attachment.objects.select_for_update()
        .filter(
            id__in=ids,
            conversation_id=message.conversation_id,
            uploaded_by=sender,
            message__isnull=True,
        )
        .order_by("created_at")
    )
    if len(attachments) != len(set(ids)):
        raise AttachmentNotFound
    Attachment.objects.filter(id__in=[a.id for a in attachments]).update(message=message)
    return attachments


def post_customer_message(
    *,
    conversation_id: UUID,
    client_id: str,
    body: str,
    sender_name: str = "",
    attachment_ids: list[UUID] | None = None,
) -> tuple[Message, bool]:
    """Store a customer's message once per client_id; publish it after commit.

    Returns (message, created). A repeated client_id returns the stored message
    and publishes nothing. Raises ConversationClosed on a closed conversation.
    """
    return _append(
        conversation_id=conversation_id,
        sender=Message.Sender.CUSTOMER,
        body=body,
        client_id=client_id,
        sender_name=sender_name,
        attachment_ids=attachment_ids,
    )


def post_agent_message(
    *,
    conversation: Conversation,
    agent: Agent,
    client_id: str,
    body: str,
    attachment_ids: list[UUID] | None = None,
) -> tuple[Message, bool]:
    """Store an agent's reply, with files the agent uploaded to this conversation (the
    caller has checked the agent holds the chat)."""
    return _append(
        conversation_id=conversation.id,
        sender=Message.Sender.AGENT,
        body=body,
        client_id=client_id,
        sender_name=agent.display_name,
        agent=agent,
        attachment_ids=attachment_ids,
    )


def post_system_message(*, conversation_id: UUID, body: str, meta: dict | None = None) -> Message:
    """A line from the system (agent joined, conversation closed…), part of the history."""
    message, _ = _append(
        conversation_id=conversation_id,
        sender=Message.Sender.SYSTEM,
        body=body,
        meta=meta,
        allow_closed=True,
    )
    return message


def post_bot_message(*, conversation_id: UUID, body: str, meta: dict, language: str) -> Message:
    """A message from the bot, with its understanding in `meta` (chat protocol)."""
    message, _ = _append(
        conversation_id=conversation_id,
        sender=Message.Sender.BOT,
        body=body,
        sender_name=settings.BOT_NAME["en" if language == "en" else "zh-hans"],
        meta=meta,
    )
    return message
