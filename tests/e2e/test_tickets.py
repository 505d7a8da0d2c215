"""A chat that could not be settled becomes a ticket the agent works, and the customer hears
back in the chat: two real browsers over the real stack."""

import re

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation
from conversations.services import take_conversation
from tests.e2e.desk_pages import open_conversation, open_desk
from tests.factories import AgentFactory, SkillGroupFactory
from tickets.models import Ticket

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("ticket_defaults"),
]


def test_a_chat_closed_unresolved_becomes_a_ticket_the_agent_answers_and_the_customer_sees(
    live, new_context, call_service
):
    group = SkillGroupFactory(code="aftersales", name_zh="售后服务", name_en="After-sales")
    agent = AgentFactory(display_name="李娜")
    agent.skill_groups.add(group)
    chat = new_context(locale="zh-CN", viewport={"width": 390, "height": 844}).new_page()
    chat.goto(f"{live.url}/chat/")
    expect(chat.locator("#chat")).to_have_class("chat online", timeout=10_000)
    chat.fill("#chat-input", "我要投诉：耳机用了一周就没声音了")
    chat.press("#chat-input", "Enter")
    expect(chat.locator("#chat-messages li.from-customer")).to_contain_text("没声音")
    conversation = Conversation.objects.get()
    Conversation.objects.filter(pk=conversation.pk).update(skill_group=group)
    call_service(take_conversation, conversation_id=conversation.id, agent=agent)

    # The agent closes it as not resolved: a ticket is opened and the customer told its number.
    desk = open_desk(new_context, live, agent)
    open_conversation(desk, live, conversation.id)
    desk.click("#close-menu summary")
    desk.get_by_label("未解决").check()
    desk.click("#close-submit")
    ticket = Ticket.objects.get()
    assert ticket.resolution_due is not None
    expect(chat.locator("#chat-messages")).to_contain_text(ticket.number, timeout=10_000)

    # The ticket is in the agent's list with its due time, classified as a complaint.
    desk.click(".desk-user a[href='/desk/tickets/']")
    row = desk.locator(f'#ticket-list li[data-ticket="{ticket.number}"]')
    expect(row).to_contain_text("投诉")
    expect(row.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))

    # The agent replies on the ticket; the customer reads it in the chat.
    row.locator("a").click()
    expect(desk.locator("#ticket-number")).to_have_text(ticket.number)
    expect(desk.locator("#first-response-due")).to_be_visible()
    desk.fill("#ticket-reply", "已为您安排换新，快递单号 SF123")
    desk.click("#ticket-send")
    expect(desk.locator("#ticket-timeline")).to_contain_text("已为您安排换新")
    expect(desk.locator("#first-response-due")).to_have_count(0)

    expect(chat.locator("#chat-messages li.from-system").last).to_contain_text("已为您安排换新")
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None and ticket.status == Ticket.Status.OPEN
