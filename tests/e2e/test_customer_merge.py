"""Merging two customers from the desk's 360° panel, in real browsers: the agent finds the
known customer the anonymous visitor turns out to be, sees what will move, confirms, and
sees one history; the visitor's open chat page goes on working."""

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation
from conversations.services import take_conversation
from customers.models import Customer, CustomerMerge
from tests.e2e.desk_pages import PHONE, open_desk
from tests.factories import AgentFactory, ConversationFactory, CustomerFactory, OrderFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("locale", "viewport"), [("zh-CN", None), ("en-US", PHONE)], ids=["zh-desktop", "en-phone"]
)
def test_an_agent_merges_the_visitor_into_the_known_customer_and_sees_one_history(
    live, new_context, call_service, locale, viewport
):
    agent = AgentFactory(display_name="李娜")
    known = CustomerFactory(name="王芳", external_id="u-1001", phone="13800001001")
    OrderFactory(customer=known, number="LM20261103", total="399.00")
    wechat = ConversationFactory(customer=known, channel="wechat", status="closed", last_seq=3)

    customer = new_context(locale="zh-CN", viewport={"width": 390, "height": 844}).new_page()
    customer.goto(f"{live.url}/chat/")
    expect(customer.locator("#chat")).to_have_class("chat online", timeout=10_000)
    customer.fill("#chat-input", "我的电话是 13800001001，耳机到哪了？")
    customer.press("#chat-input", "Enter")
    expect(customer.locator("#chat-messages li.from-customer[data-seq='1']")).to_be_visible()
    conversation = Conversation.objects.exclude(pk=wechat.pk).get()
    visitor_id = conversation.customer_id
    call_service(take_conversation, conversation_id=conversation.id, agent=agent)

    page = open_desk(
        new_context,
        live,
        agent,
        locale=locale,
        viewport=viewport,
        path=f"/desk/c/{conversation.id}/",
    )
    if viewport:
        page.locator("#customer-panel-toggle").click()
    panel = page.locator("#customer-panel")
    expect(panel.locator("#customer-conversations [data-conversation]")).to_have_count(0)

    page.fill("#merge-q", "13800001001")
    page.locator("#merge-search button[type=submit]").click()
    found = page.locator(f'#merge-found li[data-customer="{known.pk}"]')
    expect(found).to_contain_text("王芳")
    found.locator("button").click()
    expect(page.locator("#merge-offer")).to_contain_text(f"#{known.pk}")
    expect(page.locator("#merge-brings")).to_be_visible()
    assert not CustomerMerge.objects.exists()  # seeing what would move changes nothing
    page.fill("#merge-reason", "电话号码相同 same phone")
    page.click("#merge-confirm-button")

    expect(panel.locator(".panel-name")).to_contain_text("王芳")
    expect(
        panel.locator(f'#customer-conversations li[data-conversation="{wechat.id}"]')
    ).to_be_visible()
    expect(panel.locator("#customer-orders")).to_contain_text("LM20261103")
    expect(panel.locator('#customer-identities li[data-kind="account"]')).to_contain_text("u-1001")
    merge = CustomerMerge.objects.get()
    assert (merge.merged_id, merge.survivor_id, merge.merged_by) == (
        visitor_id,
        known.pk,
        agent.user,
    )
    assert not Customer.objects.filter(pk=visitor_id).exists()
    if viewport:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The visitor's page, its socket opened before the merge, goes on as 王芳's chat.
    page.goto(f"{live.url}/desk/c/{conversation.id}/")
    page.fill("#desk-input", "您好王女士，包裹明天到。")
    page.press("#desk-input", "Enter")
    expect(customer.locator("#chat-messages li.from-agent")).to_contain_text("包裹明天到")
    customer.fill("#chat-input", "好的，谢谢")
    customer.press("#chat-input", "Enter")
    expect(page.locator("#desk-messages")).to_contain_text("好的，谢谢")
    assert known.conversations.count() == 2
