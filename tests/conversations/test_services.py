"""The conversation services under real concurrency on PostgreSQL."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

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


def test_posting_a_message_is_one_statement(django_assert_num_queries):
    conversation = ConversationFactory()

    # Seq, duplicate check and insert in one autocommit statement.
    with django_assert_num_queries(1):
        message, created = post_customer_message(
            conversation_id=conversation.id, client_id="q", body="hot path"
        )

    assert created and message.seq == 1
    assert message.conversation_status == "bot"
    stored = Message.objects.get(conversation=conversation)
    assert (stored.id, stored.seq, stored.body, stored.client_id) == (
        message.id,
        1,
        "hot path",
        "q",
    )
    assert stored.created_at == message.created_at


def test_a_repeated_client_id_returns_the_stored_message_and_takes_no_seq():
    conversation = ConversationFactory()
    first, _ = post_customer_message(conversation_id=conversation.id, client_id="r", body="once")

    again, created = post_customer_message(
        conversation_id=conversation.id, client_id="r", body="twice"
    )

    assert not created
    assert (again.id, again.body) == (first.id, "once")
    conversation.refresh_from_db()
    assert conversation.last_seq == 1


def test_a_duplicate_inside_a_transaction_leaves_the_transaction_usable():
    conversation = ConversationFactory()
    post_customer_message(conversation_id=conversation.id, client_id="d", body="first")

    with transaction.atomic():
        _, created = post_customer_message(
            conversation_id=conversation.id, client_id="d", body="again"
        )
        later, _ = post_customer_message(
            conversation_id=conversation.id, client_id="e", body="next"
        )

    assert not created
    assert later.seq == 2
    assert list(Message.objects.order_by("seq").values_list("client_id", flat=True)) == ["d", "e"]
