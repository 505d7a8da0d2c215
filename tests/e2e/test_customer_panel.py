"""The customer 360° panel in real browsers: it opens with the conversation, a note one agent
writes is there for the colleague consulting, and on a phone it is one tap away."""

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation
from conversations.services import invite_colleague, take_conversation
from tests.e2e.desk_pages import PHONE, open_desk
from tests.factories import (
    AgentFactory,
    ConversationFactory,
    CustomerFactory,
    MessageFactory,
    OrderFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def served(call_service):
    """A VIP customer with orders and an earlier WeChat conversation, chatting on the web
    with an agent now."""
    agent = AgentFactory(display_name="李娜")
    customer = CustomerFactory(name="王芳", level="vip", external_id="demo-1001")
    OrderFactory(
        customer=customer,
        number="LM20261103",
        status="shipped",
        total="399.00",
        carrier="顺丰速运",
        tracking_number="SF1234567890123",
    )
    wechat = ConversationFactory(
        customer=customer, channel=Conversation.Channel.WECHAT, status="closed", last_seq=7
    )
    conversation = ConversationFactory(customer=customer, last_seq=1)
    MessageFactory(conversation=conversation, seq=1, body="耳机什么时候到？")
    call_service(take_conversation, conversation_id=conversation.id, agent=agent)
    return agent, conversation, wechat


def test_the_panel_opens_with_the_conversation_and_a_note_reaches_the_colleague(
    live, new_context, call_service, served
):
    agent, conversation, wechat = served
    colleague = AgentFactory(display_name="王伟")
    page = open_desk(new_context, live, agent, path=f"/desk/c/{conversation.id}/")
    panel = page.locator("#customer-panel")

    expect(panel).to_be_visible()
    expect(page.locator("#customer-level")).to_have_class("level level-vip")
    expect(page.locator("#customer-orders")).to_contain_text("SF1234567890123")
    past = page.locator(f'#customer-conversations li[data-conversation="{wechat.id}"] a')
    expect(past).to_contain_text(str(Conversation.Channel.WECHAT.label))

    page.fill("#customer-note-body", "避免谈价格 avoid price talk")
    page.click("#customer-note-add")
    expect(page.locator("#customer-notes")).to_contain_text("avoid price talk")
    expect(page.locator("#customer-notes")).to_contain_text("李娜")

    call_service(
        invite_colleague, conversation_id=conversation.id, by=agent, colleague_id=colleague.pk
    )
    theirs = open_desk(new_context, live, colleague, path=f"/desk/c/{conversation.id}/")
    expect(theirs.locator("#customer-notes")).to_contain_text("避免谈价格 avoid price talk")


def test_on_a_phone_the_panel_is_one_tap_away_and_nothing_overflows(live, new_context, served):
    agent, conversation, _ = served
    page = open_desk(new_context, live, agent, viewport=PHONE, path=f"/desk/c/{conversation.id}/")
    panel = page.locator("#customer-panel")
    expect(panel).to_be_hidden()

    page.locator("#customer-panel-toggle").focus()
    page.keyboard.press("Enter")

    expect(panel).to_be_visible()
    expect(page.locator("#customer-orders")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = panel.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.click("#customer-panel .panel-close")
    expect(panel).to_be_hidden()
