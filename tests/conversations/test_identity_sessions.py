"""Channel identities in chat sessions, over real HTTP and websockets: a visitor who
presents a valid identity hash becomes that customer (their history merged); a claim
merges nothing and reveals nobody; a merged-away customer's tokens and sockets keep
working; a chat message during a merge is stored once."""

import asyncio
import threading

import httpx
import pytest
from django.db import connection

from conversations.models import Conversation, Message
from customers.models import Customer, CustomerIdentity, CustomerMerge, CustomerTag
from customers.services import identity_hash
from customers.services import merge as merging
from customers.services.identities import claim_identity
from customers.services.merge import merge_customers
from tests.factories import ConversationFactory, CustomerFactory, CustomerTagFactory, OrderFactory
from tests.wsclient import Socket, open_session

pytestmark = pytest.mark.django_db(transaction=True)


def run(coroutine):
    return asyncio.run(coroutine)


def vouched(external_id: str, **fields) -> dict:
    return {"external_id": external_id, "hash": identity_hash(external_id), **fields}


def test_a_visitor_who_presents_a_valid_identity_hash_becomes_that_customer(live):
    known = CustomerFactory(name="王芳", external_id="u-1001")
    ConversationFactory(customer=known, status="closed")
    visitor_session = open_session(live)
    visitor = Conversation.objects.get(pk=visitor_session["conversation"]).customer
    CustomerTagFactory(customer=visitor, name="看过耳机")
    OrderFactory(customer=visitor, number="LM-VISIT")

    session = open_session(live, token=visitor_session["token"], identity=vouched("u-1001"))

    assert session["conversation"] == visitor_session["conversation"]
    assert not Customer.objects.filter(pk=visitor.pk).exists()
    assert known.conversations.count() == 2
    assert set(known.tags.values_list("name", flat=True)) == {"看过耳机"}
    assert known.orders.get().number == "LM-VISIT"
    merge = CustomerMerge.objects.get()
    assert (merge.how, merge.merged_id, merge.survivor_id) == ("identity", visitor.pk, known.pk)


@pytest.mark.parametrize("bad_hash", ["", "0" * 64, identity_hash("u-other")])
def test_a_wrong_identity_hash_merges_nothing(live, bad_hash):
    CustomerFactory(external_id="u-1001")
    visitor_session = open_session(live)

    response = httpx.post(
        f"{live.url}/api/v1/chat/sessions/",
        json={
            "token": visitor_session["token"],
            "identity": {"external_id": "u-1001", "hash": bad_hash},
        },
        timeout=10,
    )

    assert response.status_code == 403
    assert Customer.objects.count() == 2
    assert not CustomerMerge.objects.exists()


def test_an_email_beside_the_identity_is_a_claim_that_merges_and_reveals_nobody(live):
    other = CustomerFactory(name="李雷", email="lilei@example.com", external_id="u-2002")
    CustomerIdentity.objects.create(
        customer=other,
        kind="email",
        value="lilei@example.com",
        verified=True,
        verified_by="agent",
    )
    ConversationFactory(customer=other)

    session = open_session(
        live, identity=vouched("u-3003", name="冒名者", email="lilei@example.com")
    )

    mine = Conversation.objects.get(pk=session["conversation"]).customer
    assert mine.pk != other.pk and mine.external_id == "u-3003"
    assert not CustomerMerge.objects.exists()
    claim = mine.identities.get(kind="email")
    assert (claim.value, claim.verified) == ("lilei@example.com", False)
    assert other.conversations.count() == 1
    assert "李雷" not in str(session) and str(other.pk) not in session["token"]


def test_an_email_typed_into_the_chat_is_recorded_as_a_claim_only():
    holder = CustomerFactory(external_id="u-2002")
    CustomerIdentity.objects.create(
        customer=holder, kind="email", value="lilei@example.com", verified=True, verified_by="agent"
    )
    visitor = CustomerFactory()

    claim = claim_identity(
        customer_id=visitor.pk, kind="email", value=" LiLei@Example.com ", source="chat"
    )

    assert (claim.customer_id, claim.value, claim.verified) == (
        visitor.pk,
        "lilei@example.com",
        False,
    )
    assert Customer.objects.count() == 2 and not CustomerMerge.objects.exists()


def test_another_account_on_the_same_device_is_not_merged(live):
    CustomerFactory(external_id="u-1001")
    first = open_session(live, identity=vouched("u-2002"))

    second = open_session(live, token=first["token"], identity=vouched("u-1001"))

    assert second["conversation"] != first["conversation"]
    assert not CustomerMerge.objects.exists()
    assert Customer.objects.filter(external_id__in=["u-1001", "u-2002"]).count() == 2


def test_the_identity_hash_of_a_merged_away_account_finds_the_customer_it_went_to(live):
    kept = CustomerFactory(external_id="u-1001")
    gone = CustomerFactory(external_id="u-9009")
    merge_customers(source_id=gone.pk, target_id=kept.pk, how="admin")

    session = open_session(live, identity=vouched("u-9009"))

    assert Conversation.objects.get(pk=session["conversation"]).customer_id == kept.pk
    assert Customer.objects.count() == 1


def test_a_merged_away_visitors_socket_token_keeps_working(live):
    visitor_session = open_session(live)
    conversation = Conversation.objects.get(pk=visitor_session["conversation"])
    known = CustomerFactory(external_id="u-1001")
    merge_customers(source_id=conversation.customer_id, target_id=known.pk, how="desk")

    async def scenario():
        socket = await Socket.chat(live, visitor_session["token"])
        await socket.send({"type": "message.send", "client_id": "after", "body": "还在吗"})
        return await socket.message()

    message = run(scenario())

    assert message["client_id"] == "after" and message["conversation"] == str(conversation.pk)
    assert Message.objects.get(client_id="after").conversation.customer_id == known.pk


def test_a_merged_away_visitors_token_resumes_only_its_own_conversation(live):
    visitor_session = open_session(live)
    visitor = Conversation.objects.get(pk=visitor_session["conversation"]).customer
    known = CustomerFactory(external_id="u-1001")
    private = ConversationFactory(customer=known, channel="web")
    merge_customers(source_id=visitor.pk, target_id=known.pk, how="desk")

    again = open_session(live, token=visitor_session["token"])
    Conversation.objects.filter(pk=visitor_session["conversation"]).update(status="closed")
    later = open_session(live, token=visitor_session["token"])

    assert again["conversation"] == visitor_session["conversation"]
    assert later["conversation"] not in (visitor_session["conversation"], str(private.pk))
    assert Conversation.objects.get(pk=later["conversation"]).customer_id == known.pk


def test_a_token_of_someone_else_still_opens_nothing(live):
    first = open_session(live)
    stranger = CustomerFactory()
    Conversation.objects.filter(pk=first["conversation"]).update(customer=stranger)

    async def scenario():
        socket = await Socket.chat(live, first["token"])
        return await socket.close_code()

    assert run(scenario()) == 4401


def test_a_chat_message_sent_during_a_merge_is_stored_once_in_the_merged_history(live, monkeypatch):
    session = open_session(live)
    conversation = Conversation.objects.get(pk=session["conversation"])
    visitor_id = conversation.customer_id
    known = CustomerFactory(external_id="u-1001")
    locked, release = threading.Event(), threading.Event()
    take_over = merging._take_over

    def paused(source, target, by):
        locked.set()  # every row is locked by now: the message must wait for the commit
        release.wait(10)
        return take_over(source, target, by)

    monkeypatch.setattr(merging, "_take_over", paused)

    def merge():
        try:
            merge_customers(source_id=visitor_id, target_id=known.pk, how="desk")
        finally:
            connection.close()

    worker = threading.Thread(target=merge)

    async def scenario():
        socket = await Socket.chat(live, session["token"])
        worker.start()
        assert await asyncio.to_thread(locked.wait, 10)
        await socket.send({"type": "message.send", "client_id": "during", "body": "在吗？"})
        waited = await socket.silent(within=1.0)
        release.set()
        message = await socket.message(timeout=10)
        await asyncio.to_thread(worker.join, 10)
        return waited, message

    waited, message = run(scenario())

    assert waited  # held back by the merge's locks, not lost
    assert message["client_id"] == "during" and message["seq"] == 1
    stored = Message.objects.get(client_id="during")
    assert stored.conversation.customer_id == known.pk
    assert Message.objects.filter(conversation=conversation, sender="customer").count() == 1
    assert CustomerMerge.objects.get().merged_id == visitor_id
    assert not CustomerTag.objects.exists()


def test_a_token_opens_its_conversation_in_one_query_and_after_a_merge_in_two(
    django_assert_num_queries,
):
    from conversations.services import token_conversation

    conversation = ConversationFactory()
    visitor_id = conversation.customer_id
    session = (visitor_id, conversation.pk)
    with django_assert_num_queries(1):
        assert token_conversation(session) == conversation

    merge_customers(source_id=visitor_id, target_id=CustomerFactory().pk, how="desk")

    with django_assert_num_queries(2):
        assert token_conversation(session) == conversation
