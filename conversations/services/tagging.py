"""What the automatic tag rules count in conversations (customers.hooks.on_tag_facts),
and their re-evaluation when a conversation closes."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection

from conversations.models import Conversation, Message
from customers.services import tag_rules

_BY_MESSAGES = f"""
    SELECT c.customer_id, count(DISTINCT c.id)
    FROM {Conversation._meta.db_table} c
    JOIN {Message._meta.db_table} m ON m.conversation_id = c.id
    WHERE c.created_at >= %(since)s AND m.sender = 'bot' AND m.meta->>%(key)s = %(value)s
      AND (%(ids)s::bigint[] IS NULL OR c.customer_id = ANY(%(ids)s::bigint[]))
    GROUP BY c.customer_id
"""  # noqa: S608 (constant table names)


def _conversations_where_bot_said(key: str, value: str, since, customer_ids) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            _BY_MESSAGES,
            {
                "since": since,
                "key": key,
                "value": value,
                "ids": None if customer_ids is None else list(customer_ids),
            },
        )
        return {row[0]: Decimal(row[1]) for row in cursor.fetchall()}


def intent_facts(*, rule, since, customer_ids) -> dict[int, Decimal]:
    """Conversations started in the window in which the bot understood the rule's intent."""
    return _conversations_where_bot_said("intent", rule.value, since, customer_ids)


def article_facts(*, rule, since, customer_ids) -> dict[int, Decimal]:
    """Conversations in which the bot answered with the rule's article."""
    return _conversations_where_bot_said("article", rule.value, since, customer_ids)


def emotion_facts(*, rule, since, customer_ids) -> dict[int, Decimal]:
    """Conversations the bot handed to a person because the customer was angry or upset."""
    return _conversations_where_bot_said("handoff_reason", "emotion", since, customer_ids)


def retag_after_close(*, conversation: Conversation, offline_message=None) -> None:
    """The conversation-closed hook: its customer's tags are re-evaluated after commit."""
    tag_rules.evaluate_on_commit([conversation.customer_id])
