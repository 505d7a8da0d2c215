"""Tickets: opened from chats and by hand, classified, timed by their SLA, with a timeline."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone, translation

from conversations.models import Message
from conversations.services import close_conversation, leave_message, request_handoff
from conversations.services.messages import post_bot_message, post_customer_message
from tests.factories import AgentFactory, ConversationFactory, CustomerFactory, SkillGroupFactory
from tickets.models import (
    BusinessCalendar,
    OpeningHours,
    Priority,
    SLAPolicy,
    SLATarget,
    Ticket,
    TicketEvent,
    TicketType,
    pk_of,
)
from tickets.services import (
    TicketClosed,
    TicketInputError,
    add_comment,
    change_ticket,
    open_ticket,
)

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEDNESDAY_10 = datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def office_hours():
    """The default policy counts Monday–Friday 09:00–18:00 in Shanghai."""
    calendar = BusinessCalendar.objects.create(name="Shanghai office", timezone="Asia/Shanghai")
    OpeningHours.objects.bulk_create(
        OpeningHours(calendar=calendar, weekday=day, opens=time(9), closes=time(18))
        for day in range(5)
    )
    SLAPolicy.objects.filter(is_default=True).update(calendar=calendar)


def ticket(**fields):
    defaults = {
        "customer": CustomerFactory(),
        "subject": "耳机坏了",
        "type_code": "question",
        "source": Ticket.Source.AGENT,
    }
    return open_ticket(**(defaults | fields))


def test_a_ticket_has_a_human_number_that_finds_it_again():
    opened = ticket()
    assert opened.number == f"T-{opened.pk:06d}"
    assert pk_of(opened.number) == opened.pk
    assert pk_of("t-12") == 12
    assert pk_of("T-abc") is None


def test_priority_comes_from_the_type_and_a_vip_raises_it():
    assert ticket(type_code="complaint").priority == Priority.HIGH
    vip = CustomerFactory(level="vip")
    assert ticket(type_code="complaint", customer=vip).priority == Priority.URGENT
    assert ticket(type_code="question", customer=vip).priority == Priority.HIGH


def test_due_times_follow_the_policy_in_business_hours(office_hours):
    with time_machine.travel(datetime(2026, 12, 4, 16, 0, tzinfo=SHANGHAI), tick=False):
        opened = ticket(type_code="question")  # normal: first response 4 h, resolution 24 h
    # Friday 16:00 + 4 business hours → Monday 11:00;
    # + 24 business hours (Friday 2, Monday 9, Tuesday 9, Wednesday 4) → Wednesday 13:00
    assert opened.first_response_due == datetime(2026, 12, 7, 11, 0, tzinfo=SHANGHAI)
    assert opened.resolution_due == datetime(2026, 12, 9, 13, 0, tzinfo=SHANGHAI)


def test_a_level_of_its_own_overrides_the_policy_s_default_row():
    policy = SLAPolicy.objects.get(is_default=True)
    SLATarget.objects.create(
        policy=policy,
        priority=Priority.HIGH,
        customer_level="vip",
        first_response_minutes=5,
        resolution_minutes=60,
    )
    with time_machine.travel(WEDNESDAY_10, tick=False):
        opened = ticket(type_code="question", customer=CustomerFactory(level="vip"))
    assert opened.first_response_due == WEDNESDAY_10 + timedelta(minutes=5)


def test_waiting_on_the_customer_stops_the_clock_and_the_wait_is_added_back(office_hours):
    with time_machine.travel(WEDNESDAY_10, tick=False):
        opened = ticket(type_code="question")
    resolution_due = opened.resolution_due
    with time_machine.travel(WEDNESDAY_10 + timedelta(hours=1), tick=False):
        change_ticket(ticket_id=opened.pk, actor=None, status=Ticket.Status.PENDING_CUSTOMER)
    # the customer answers the next day at 10:00: 8 business hours of waiting (11–18, 9–10)
    with time_machine.travel(WEDNESDAY_10 + timedelta(days=1), tick=False):
        add_comment(ticket_id=opened.pk, body="型号是 X1", from_customer=True)
    opened.refresh_from_db()
    assert opened.status == Ticket.Status.OPEN
    assert opened.sla_paused_at is None
    assert opened.sla_paused_seconds == 8 * 3600
    # 24 business hours from Wednesday 10:00 was Friday 16:00; 8 more is Monday 15:00
    assert resolution_due == datetime(2026, 12, 4, 16, 0, tzinfo=SHANGHAI)
    assert opened.resolution_due == datetime(2026, 12, 7, 15, 0, tzinfo=SHANGHAI)


def test_the_first_public_reply_stops_the_first_response_clock():
    opened = ticket()
    add_comment(ticket_id=opened.pk, body="内部：先查物流", public=False)
    opened.refresh_from_db()
    assert opened.first_responded_at is None and opened.first_response_due is not None

    add_comment(ticket_id=opened.pk, body="您好，我们已经在处理")
    opened.refresh_from_db()
    assert opened.first_responded_at is not None
    assert opened.first_response_due is None
    assert opened.status == Ticket.Status.OPEN


def test_the_customer_s_reply_reopens_a_resolved_ticket_and_starts_the_next_response_clock():
    opened = ticket()
    add_comment(ticket_id=opened.pk, body="已为您换货")
    change_ticket(ticket_id=opened.pk, actor=None, status=Ticket.Status.RESOLVED)

    add_comment(ticket_id=opened.pk, body="还是不行", from_customer=True)

    opened.refresh_from_db()
    assert opened.status == Ticket.Status.REOPENED
    assert opened.resolved_at is None
    assert opened.next_response_due is not None
    assert opened.resolution_due is not None


def test_every_change_is_in_the_timeline_with_who_and_old_to_new():
    agent = AgentFactory()
    opened = ticket()
    change_ticket(
        ticket_id=opened.pk,
        actor=agent.user,
        priority=Priority.URGENT,
        assignee=agent,
        tags="退货, 加急",
        subject="耳机坏了",  # unchanged: no row
    )
    rows = list(
        opened.events.filter(kind=TicketEvent.Kind.CHANGED).values_list("field", "old", "new")
    )
    assert rows == [
        ("priority", "20", "40"),
        ("assignee", "", agent.display_name),
        ("tags", "", "退货, 加急"),
    ]
    assert set(opened.events.exclude(kind="created").values_list("actor", flat=True)) == {
        agent.user.pk
    }


@translation.override("en")
def test_bad_input_is_refused_with_a_message_and_leaves_nothing():
    customer = CustomerFactory()
    for fields, message in [
        ({"subject": "  "}, "may not be empty"),
        ({"subject": "x" * 201}, "too long"),
        ({"type_code": "nonsense"}, "Unknown ticket type"),
        ({"source": "fax"}, "Unknown source"),
        ({"priority": 99}, "Unknown priority"),
        ({"tags": ["x" * 41]}, "too long"),
    ]:
        with pytest.raises(TicketInputError, match=message):
            ticket(customer=customer, **fields)
    assert not Ticket.objects.exists()


def test_a_closed_ticket_cannot_be_edited():
    opened = ticket()
    change_ticket(ticket_id=opened.pk, actor=None, status=Ticket.Status.CLOSED)
    with pytest.raises(TicketClosed):
        change_ticket(ticket_id=opened.pk, actor=None, priority=Priority.LOW)


def test_a_chat_closed_as_not_resolved_becomes_a_ticket_and_the_customer_hears_its_number():
    group = SkillGroupFactory()
    conversation = ConversationFactory(skill_group=group, tags=["耳机"])
    post_customer_message(
        conversation_id=conversation.id, client_id="c1", body="我要投诉，耳机坏了"
    )
    post_bot_message(
        conversation_id=conversation.id,
        body="抱歉，为您转人工",
        meta={
            "action": "handoff",
            "intent": "after_sales_request",
            "slots": {"reason": "defective"},
        },
        language="zh",
    )
    request_handoff(conversation_id=conversation.id)

    close_conversation(conversation_id=conversation.id, resolution="not_resolved")

    opened = Ticket.objects.get()
    assert opened.type.code == "complaint"
    assert opened.source == Ticket.Source.CHAT
    assert opened.skill_group == group
    assert opened.tags == ["耳机"]
    assert list(opened.conversations.all()) == [conversation]
    assert "我要投诉，耳机坏了" in opened.description
    assert "after_sales_request" in opened.description
    told = Message.objects.filter(conversation=conversation).order_by("seq").last()
    assert opened.number in told.body
    assert told.meta == {"event": "ticket_opened", "ticket": opened.number}


def test_a_resolved_chat_makes_no_ticket():
    agent = AgentFactory()
    conversation = ConversationFactory(status="assigned", assignee=agent)
    close_conversation(conversation_id=conversation.id, agent=agent, resolution="resolved")
    assert not Ticket.objects.exists()


def test_a_message_left_while_nobody_is_online_becomes_a_ticket_with_the_contact():
    conversation = ConversationFactory()
    leave_message(
        conversation_id=conversation.id,
        client_id="left-1",
        body="订单 12345 的发票还没收到",
        contact="13800000000",
    )
    opened = Ticket.objects.get()
    assert opened.type.code == "billing"
    assert opened.subject == "订单 12345 的发票还没收到"
    assert "13800000000" in opened.description


def test_an_agent_s_public_reply_reaches_the_customer_s_chat():
    conversation = ConversationFactory()
    opened = ticket(customer=conversation.customer, conversation=conversation)
    add_comment(ticket_id=opened.pk, body="已寄出新耳机")
    reply = Message.objects.filter(conversation=conversation).order_by("seq").last()
    assert "已寄出新耳机" in reply.body and opened.number in reply.body
    add_comment(ticket_id=opened.pk, body="内部备注：仓库已确认", public=False)
    assert not Message.objects.filter(body__contains="仓库已确认").exists()


def test_now_is_used_for_due_times_not_a_stale_clock():
    before = timezone.now()
    opened = ticket(type_code="complaint")  # high: first response 60 min around the clock
    assert before + timedelta(minutes=59) < opened.first_response_due


def test_a_chat_still_becomes_a_ticket_when_admin_deleted_the_built_in_types():
    TicketType.objects.all().delete()
    conversation = ConversationFactory()
    leave_message(conversation_id=conversation.id, client_id="left-2", body="有人吗")
    assert Ticket.objects.get().type.code == "question"


def test_the_customer_panel_shows_their_latest_tickets_and_counts_the_open_ones():
    from conversations.selectors import customer_panel

    customer = CustomerFactory()
    first = ticket(customer=customer, subject="旧的问题")
    change_ticket(ticket_id=first.pk, actor=None, status=Ticket.Status.CLOSED)
    latest = ticket(customer=customer, subject="新的问题")
    ticket(subject="别人的工单")
    conversation = ConversationFactory(customer=customer)

    section = customer_panel(conversation, AgentFactory()).sections["tickets"]

    assert [t.number for t in section["latest"]] == [latest.number, first.number]
    assert (section["count"], section["open"]) == (2, 1)
