"""Tickets in the customer's chat: the bot tells their progress, takes the customer's answer
to a reply, opens a ticket for a complaint or a repair; replies wait for a customer who left."""

import uuid

import pytest
from django.utils import translation

from conversations.models import Conversation, Message
from conversations.services import (
    bot_turn,
    close_conversation,
    open_chat_session,
    post_customer_message,
)
from customers.models import Customer, Order
from customers.services import Identity, identity_hash
from tests.factories import CustomerFactory
from tickets.models import Ticket, TicketComment
from tickets.services import add_comment, change_ticket, open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def wang(demo_kb):
    customer = Customer.objects.create(external_id="u-88", name="王芳", language="zh")
    Order.objects.create(number="LM20261103", customer=customer, status="delivered")
    return customer


def session(customer, language="zh") -> Conversation:
    identity = Identity(external_id=customer.external_id, hash=identity_hash(customer.external_id))
    return open_chat_session(channel="web", language=language, identity=identity).conversation


def ask(conversation, text) -> Message:
    message, _ = post_customer_message(
        conversation_id=conversation.id, client_id=uuid.uuid4().hex, body=text
    )
    return bot_turn(conversation_id=conversation.id, message_id=message.id)


def ticket_of(customer, subject="耳机左耳没声音", **fields) -> Ticket:
    return open_ticket(
        customer=customer, subject=subject, type_code="repair", source="api", **fields
    )


def test_the_bot_tells_the_progress_of_the_customers_open_tickets(wang):
    mine = ticket_of(wang)
    closed = ticket_of(wang, subject="旧的问题")
    change_ticket(ticket_id=closed.pk, actor=None, status=Ticket.Status.CLOSED)
    ticket_of(CustomerFactory(), subject="别人的工单")

    reply = ask(session(wang), "我的工单进度怎么样了？")

    assert f"{mine.number} “耳机左耳没声音”：已收到，等待处理" in reply.body
    assert "旧的问题" not in reply.body and "别人的工单" not in reply.body


def test_in_english_the_bot_names_the_status_and_when_it_should_be_settled(wang):
    mine = ticket_of(wang)
    change_ticket(ticket_id=mine.pk, actor=None, status=Ticket.Status.PENDING_CUSTOMER)

    with translation.override("en"):
        reply = ask(session(wang, language="en"), "What's the status of my ticket?")

    assert f"{mine.number} “耳机左耳没声音”: waiting for your answer" in reply.body


def test_asking_for_someone_elses_ticket_number_finds_nothing(wang):
    theirs = ticket_of(CustomerFactory(), subject="别人的工单")

    reply = ask(session(wang), f"{theirs.number} 进度")

    assert f"没有找到工单 {theirs.number}" in reply.body
    assert "别人的工单" not in reply.body


def test_with_no_open_ticket_the_bot_says_so(wang):
    reply = ask(session(wang), "工单处理到哪一步了")
    assert "您目前没有未完成的工单" in reply.body


def test_the_answer_right_after_a_ticket_reply_goes_onto_the_ticket(wang):
    conversation = session(wang)
    ticket = ticket_of(wang, conversation=conversation)
    add_comment(ticket_id=ticket.pk, body="请问耳机是哪天买的？")
    change_ticket(ticket_id=ticket.pk, actor=None, status=Ticket.Status.PENDING_CUSTOMER)

    reply = ask(conversation, "上个月10号买的")

    comment = TicketComment.objects.get(ticket=ticket, from_customer=True)
    assert comment.body == "上个月10号买的"
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN  # the clocks run again
    assert ticket.number in reply.body


def test_a_message_after_the_bot_said_something_else_is_not_taken_as_an_answer(wang):
    conversation = session(wang)
    ticket = ticket_of(wang, conversation=conversation)
    add_comment(ticket_id=ticket.pk, body="请问耳机是哪天买的？")
    ask(conversation, f"{ticket.number} 进度")  # the bot's answer is now the last word

    ask(conversation, "退货政策是怎样的？")

    assert not TicketComment.objects.filter(ticket=ticket, from_customer=True).exists()


def test_a_complaint_to_the_bot_opens_a_complaint_ticket_once(wang):
    conversation = session(wang)

    ask(conversation, "我要投诉你们的快递，太慢了")
    ask(conversation, "我还要投诉客服态度")

    ticket = Ticket.objects.get()
    assert ticket.type.code == "complaint"
    assert list(ticket.conversations.all()) == [conversation]
    told = Message.objects.filter(conversation=conversation, meta__event="ticket_opened")
    assert told.count() == 1 and ticket.number in told.get().body


def test_a_repair_the_bot_requested_becomes_a_repair_ticket(wang):
    conversation = session(wang)

    ask(conversation, "订单LM20261103的耳机左耳没声音，我要申请售后")

    ticket = Ticket.objects.get()
    assert ticket.type.code == "repair"
    assert ticket.source == Ticket.Source.CHAT


def test_a_reply_to_a_customer_who_left_waits_for_their_next_chat(wang):
    first = session(wang)
    ticket = ticket_of(wang, conversation=first)
    close_conversation(conversation_id=first.id, resolution="resolved")

    add_comment(ticket_id=ticket.pk, body="已为您安排维修")
    reply = TicketComment.objects.get(ticket=ticket)
    assert reply.delivered_at is None

    second = session(wang)

    shown = Message.objects.filter(conversation=second, meta__event="ticket_reply")
    assert [m.body for m in shown] == [f"工单 {ticket.number} 的回复：已为您安排维修"]
    reply.refresh_from_db()
    assert reply.delivered_in_id == second.id
    assert set(ticket.conversations.all()) == {first, second}
    third = session(wang)  # the same open chat: nothing twice
    assert third.id == second.id
    assert Message.objects.filter(meta__event="ticket_reply", conversation=second).count() == 1


def test_a_reply_reaches_the_chat_the_customer_has_open_now(wang):
    old = session(wang)
    ticket = ticket_of(wang, conversation=old)
    close_conversation(conversation_id=old.id, resolution="resolved")
    now_open = session(wang)

    add_comment(ticket_id=ticket.pk, body="维修已完成")

    assert Message.objects.filter(conversation=now_open, meta__event="ticket_reply").count() == 1
    assert TicketComment.objects.get(ticket=ticket).delivered_in_id == now_open.id


@pytest.mark.parametrize(
    "text, asks",
    [
        ("我的工单T-000012进度怎么样", True),
        ("T-12", True),
        ("ticket status please", True),
        ("any update on my ticket?", True),
        ("我的T1000耳机坏了", False),
        ("退货政策是怎样的？", False),
    ],
)
def test_what_counts_as_asking_about_a_ticket(text, asks):
    from tickets.services.chat import NUMBER, asks_ticket_status

    assert (asks_ticket_status(text) or bool(NUMBER.search(text))) is asks
