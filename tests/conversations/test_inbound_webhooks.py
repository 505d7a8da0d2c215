"""The conversations' partner events (conversation.created / assigned / closed,
message.created) delivered to a real HTTP receiver: signed, in order, with seq — the
relay of a WeChat conversation's replies."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from django.db import connection
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.services import (
    care,
    close_conversation,
    open_chat_session,
    post_agent_message,
    post_customer_message,
    take_conversation,
)
from conversations.services.inbound import receive_inbound_message
from customers.models import CareCampaign, Customer
from customers.services import care as claims
from helpdesk.models import ApiKey, OutboundEvent
from helpdesk.webhooks import deliveries, subscriptions
from helpdesk.webhooks.signing import verify
from tests.factories import AgentFactory, ConversationFactory, care_campaign
from tests.webhooks.conftest import private_allowed, receiver  # noqa: F401 (fixtures)

CONVERSATION_EVENTS = [
    "conversation.created",
    "conversation.assigned",
    "conversation.closed",
    "message.created",
]


@pytest.fixture
def relay(db, receiver, private_allowed):  # noqa: F811 (fixtures)
    """The WeChat relay's subscription to the conversation events, at the receiver."""
    key, _ = ApiKey.issue(name="WeChat relay", scopes=["conversations", "webhooks"])
    return subscriptions.create_subscription(
        api_key=key, url=receiver.url(), events=CONVERSATION_EVENTS
    )


def sweep() -> None:
    """What the delivery task does: fan out what is new, send what is due."""
    deliveries.fan_out()
    deliveries.deliver_due()


def received(receiver, secret) -> list[dict]:  # noqa: F811 (a fixture's value)
    """The envelopes the receiver got, each checked against its signature as the contract
    tells a receiver to."""
    envelopes = []
    for request in receiver.posts():
        assert verify(secret, request.headers["x-helpdesk-signature"], request.body)
        assert request.headers["x-helpdesk-event"] == json.loads(request.body)["event"]
        envelopes.append(json.loads(request.body))
    return envelopes


def say(text, client_id):
    return receive_inbound_message(
        channel="wechat", external_id="u-1001", client_id=client_id, body=text
    )


def test_a_wechat_conversation_reaches_the_relay_signed_and_in_order(
    demo_kb,
    relay,
    receiver,  # noqa: F811
):
    first = say("退货政策是怎样的？", "wx-1").message
    say("转人工", "wx-2")
    agent = AgentFactory(display_name="李娜")
    conversation = take_conversation(conversation_id=first.conversation_id, agent=agent)
    post_agent_message(conversation=conversation, agent=agent, client_id="a-1", body="您好！")
    close_conversation(conversation_id=conversation.id, agent=agent, resolution="resolved")

    sweep()

    envelopes = received(receiver, relay.secret)
    kinds = [envelope["event"] for envelope in envelopes]
    assert kinds[0] == "conversation.created"
    assert kinds[-1] == "conversation.closed"
    assert kinds.count("conversation.assigned") == 1
    messages = [e["data"]["message"] for e in envelopes if e["event"] == "message.created"]
    stored = Message.objects.filter(conversation_id=conversation.id).order_by("seq")
    assert [m["seq"] for m in messages] == list(range(1, stored.count() + 1))
    assert [(m["sender"], m["body"]) for m in messages] == [(s.sender, s.body) for s in stored]
    assert [m["sender"] for m in messages] == [
        "customer",
        "bot",  # the answer
        "customer",
        "bot",  # handing off
        "system",  # connecting you to a person
        "system",  # 李娜 has joined
        "agent",
        "system",  # the end
    ]
    expected_ref = {"id": str(conversation.id), "channel": "wechat", "customer": "u-1001"}
    for envelope in envelopes:
        assert {k: envelope["data"]["conversation"][k] for k in expected_ref} == expected_ref
    assigned = next(e for e in envelopes if e["event"] == "conversation.assigned")
    assert assigned["data"]["conversation"]["assignee"] == {"id": agent.pk, "name": "李娜"}
    assert assigned["data"]["by"] == "take"
    # The line saying who joined comes just before the assignment.
    assert kinds[kinds.index("conversation.assigned") - 1] == "message.created"
    closed = envelopes[-1]["data"]["conversation"]
    assert (closed["status"], closed["resolution"]) == ("closed", "resolved")
    bot_answer = messages[1]
    assert bot_answer["meta"]["article"] == "returns-policy"
    assert bot_answer["conversation"] == str(conversation.id)


def test_each_event_is_delivered_once_even_when_swept_again(relay, receiver, demo_kb):  # noqa: F811
    say("你好", "wx-1")
    sweep()
    count = len(receiver.posts())

    sweep()

    assert len(receiver.posts()) == count > 0
    ids = [json.loads(r.body)["id"] for r in receiver.posts()]
    assert len(set(ids)) == len(ids)


def test_a_retried_inbound_message_emits_nothing_more(relay, demo_kb):
    say("你好", "wx-1")
    before = OutboundEvent.objects.count()

    say("你好", "wx-1")

    assert OutboundEvent.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_web_chat_messages_are_emitted_in_the_statement_that_stores_them(
    django_assert_num_queries,
):
    conversation = ConversationFactory(customer__external_id="u-7")

    with django_assert_num_queries(1):
        message, _ = post_customer_message(
            conversation_id=conversation.id, client_id="c-1", body="hi"
        )

    event = OutboundEvent.objects.get(event="message.created")
    assert event.data["conversation"] == {
        "id": str(conversation.id),
        "channel": "web",
        "customer": "u-7",
    }
    assert event.data["message"]["seq"] == 1
    assert event.data["message"]["id"] == str(message.id)
    assert event.data["message"]["client_id"] == "c-1"


def test_a_new_web_chat_emits_conversation_created_before_its_greeting(db):
    session = open_chat_session(channel="web", language="en")

    kinds = list(OutboundEvent.objects.order_by("seq").values_list("event", "data"))
    assert kinds[0][0] == "conversation.created"
    assert kinds[0][1]["conversation"]["id"] == str(session.conversation.id)
    assert kinds[0][1]["conversation"]["status"] == "bot"


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_events_are_numbered_in_the_conversations_order():
    conversation = ConversationFactory(status=Conversation.Status.ASSIGNED, assignee=AgentFactory())

    def write(n):
        try:
            if n % 3 == 0:
                post_agent_message(
                    conversation=conversation,
                    agent=conversation.assignee,
                    client_id=f"a{n}",
                    body=str(n),
                )
            else:
                post_customer_message(conversation_id=conversation.id, client_id=f"c{n}", body="x")
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(60)))

    seqs = [
        data["message"]["seq"]
        for data in OutboundEvent.objects.filter(event="message.created")
        .order_by("seq")
        .values_list("data", flat=True)
    ]
    assert seqs == list(range(1, 61))


def test_a_birthday_greeting_to_a_wechat_customer_reaches_the_relay(
    demo_kb,
    relay,
    receiver,  # noqa: F811
):
    conversation_id = say("你好", "wx-1").message.conversation_id
    Customer.objects.filter(external_id="u-1001").update(name="王芳")
    customer = Customer.objects.get(external_id="u-1001")
    claims.claim_outreach(
        campaign=care_campaign(CareCampaign.Kind.BIRTHDAY),
        customer_id=customer.pk,
        occasion="birthday:2026",
        occurred_at=timezone.now(),
    )

    sent = care.send_due_outreach(now=timezone.now() + timedelta(minutes=1))
    sweep()

    assert sent == 1
    greeting = received(receiver, relay.secret)[-1]
    assert greeting["event"] == "message.created"
    assert greeting["data"]["conversation"] == {
        "id": str(conversation_id),
        "channel": "wechat",
        "customer": "u-1001",
    }
    message = greeting["data"]["message"]
    assert message["sender"] == "system"
    assert message["meta"] == {"event": "care", "campaign": "birthday"}
    assert "王芳" in message["body"]
    assert message["seq"] == Message.objects.filter(conversation_id=conversation_id).count()


def test_over_real_http_a_relayed_message_and_its_answer_come_back_signed(
    live,
    demo_kb,
    relay,
    receiver,  # noqa: F811
):
    _, raw = ApiKey.issue(name="WeChat relay (posting)", scopes=["conversations"])
    body = {"channel": "wechat", "customer": "u-1001", "client_id": "wx-9", "body": "退货政策？"}

    response = httpx.post(
        f"{live.url}/api/v1/inbound/messages/",
        json=body,
        headers={"Authorization": f"Bearer {raw}"},
        timeout=30,
    )
    again = httpx.post(
        f"{live.url}/api/v1/inbound/messages/",
        json=body,
        headers={"Authorization": f"Bearer {raw}"},
        timeout=30,
    )
    sweep()

    assert response.status_code == again.status_code == 201
    assert again.json() == response.json()
    envelopes = received(receiver, relay.secret)
    assert [e["event"] for e in envelopes] == [
        "conversation.created",
        "message.created",
        "message.created",
    ]
    customer_message, answer = (e["data"]["message"] for e in envelopes[1:])
    assert (customer_message["seq"], customer_message["client_id"]) == (1, "wx-9")
    assert (answer["seq"], answer["sender"]) == (2, "bot")
    assert answer["conversation"] == response.json()["conversation"]["id"]
