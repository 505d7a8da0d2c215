"""The conversation services under real concurrency on PostgreSQL."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from conversations.models import Conversation, Message
from conversations.services import (
    AlreadyTaken,
    ConversationClosed,
    close_conversation,
    mark_read,
    post_customer_message,
    request_handoff,
    take_conversation,
)
from tests.factories import AgentFactory, ConversationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(function):
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as error:  # returned so the test can count outcomes
            return error
        finally:
            connection.close()

    return wrapper


def test_two_agents_taking_at_once_one_wins():
    conversation = ConversationFactory(status=Conversation.Status.QUEUED)
    agents = [AgentFactory() for _ in range(6)]

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(
            pool.map(
                _in_thread(lambda a: take_conversation(conversation_id=conversation.id, agent=a)),
                agents,
            )
        )

    assert sum(isinstance(o, Conversation) for o in outcomes) == 1
    assert sum(isinstance(o, AlreadyTaken) for o in outcomes) == 5
    conversation.refresh_from_db()
    assert conversation.status == "assigned"
    assert Message.objects.filter(conversation=conversation, sender="system").count() == 1


def test_concurrent_messages_get_consecutive_seqs_and_duplicates_collapse():
    conversation = ConversationFactory()
    client_ids = [f"c{n % 15}" for n in range(30)]  # 15 distinct, each sent twice

    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                _in_thread(
                    lambda cid: post_customer_message(
                        conversation_id=conversation.id, client_id=cid, body=cid
                    )
                ),
                client_ids,
            )
        )

    seqs = sorted(Message.objects.filter(conversation=conversation).values_list("seq", flat=True))
    assert seqs == list(range(1, 16))
    conversation.refresh_from_db()
    assert conversation.last_seq == 15


def test_posting_to_a_closed_conversation_raises_and_stores_nothing():
    conversation = ConversationFactory(status=Conversation.Status.CLOSED)

    with pytest.raises(ConversationClosed):
        post_customer_message(conversation_id=conversation.id, client_id="x", body="hello?")

    assert not Message.objects.exists()


def test_handoff_is_idempotent():
    conversation = ConversationFactory()

    request_handoff(conversation_id=conversation.id)
    request_handoff(conversation_id=conversation.id)

    conversation.refresh_from_db()
    assert conversation.status == "queued"
    assert Message.objects.filter(conversation=conversation).count() == 1


def test_read_receipts_never_move_backwards_or_past_the_end():
    conversation = ConversationFactory(last_seq=5)

    assert mark_read(conversation_id=conversation.id, reader="customer", up_to_seq=99) == 5
    assert mark_read(conversation_id=conversation.id, reader="customer", up_to_seq=2) == 5


def test_closing_writes_a_system_line_in_the_customers_language():
    conversation = ConversationFactory(language="en")
    agent = AgentFactory()
    take_conversation(conversation_id=conversation.id, agent=agent)

    close_conversation(conversation_id=conversation.id, agent=agent)

    last = Message.objects.filter(conversation=conversation).order_by("-seq").first()
    assert last.body == "The conversation has ended. Thank you!"
    assert Conversation.objects.get(pk=conversation.id).status == "closed"


def test_posting_a_message_is_one_short_transaction(django_assert_num_queries):
    conversation = ConversationFactory()

    # BEGIN, UPDATE … RETURNING (lock + seq), SELECT (client_id), INSERT, COMMIT
    with django_assert_num_queries(5):
        post_customer_message(conversation_id=conversation.id, client_id="q", body="hot path")
