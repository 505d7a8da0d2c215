"""A customer and an agent chat in two real browsers, over the real stack."""

import pytest
from playwright.sync_api import expect

from conversations.models import Message
from tests.factories import AgentFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_customer_writes_agent_takes_and_replies_customer_reloads_and_sees_everything(
    live, browser
):
    agent = AgentFactory(display_name="李娜")
    customer = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    desk = browser.new_context(locale="en-US")
    try:
        chat = customer.new_page()
        chat.goto(f"{live.url}/chat/")
        expect(chat.locator("#chat")).to_have_class("chat online", timeout=10_000)
        chat.fill("#chat-input", "你好，我的耳机坏了")
        chat.press("#chat-input", "Enter")
        expect(chat.locator("#chat-messages li.from-customer[data-seq='1']")).to_contain_text(
            "耳机坏了"
        )

        page = desk.new_page()
        page.goto(f"{live.url}/desk/login/")
        page.fill("#id_username", agent.user.username)
        page.fill("#id_password", "lumen-demo")
        page.click("button[type=submit]")
        page.click("#list-bot a")
        expect(page.locator("#desk-messages")).to_contain_text("我的耳机坏了")
        page.click("#take")
        expect(page.locator("#desk-composer")).to_be_visible()
        expect(page.locator("#desk-connection")).to_have_class("desk-connection online")
        expect(chat.locator("#chat-status")).to_contain_text("李娜")

        page.fill("#desk-input", "您好，请问是哪一款耳机？")
        page.press("#desk-input", "Enter")
        expect(chat.locator("#chat-messages li.from-agent")).to_contain_text("哪一款耳机")

        chat.reload()
        messages = chat.locator("#chat-messages li[data-seq]")
        expect(messages).to_have_count(Message.objects.count(), timeout=10_000)
        expect(messages.first).to_contain_text("我的耳机坏了")
        expect(messages.last).to_contain_text("哪一款耳机")
    finally:
        customer.close()
        desk.close()


def test_the_chat_page_fits_a_phone_screen_in_english(live, browser):
    context = browser.new_context(
        locale="en-US", viewport={"width": 360, "height": 640}, is_mobile=True
    )
    try:
        page = context.new_page()
        page.goto(f"{live.url}/chat/?lang=en")
        expect(page.locator("#chat-send")).to_have_text("Send")
        expect(page.locator("#chat-status")).to_contain_text("assistant")
        box = page.locator("#chat-composer").bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 360
        assert box["y"] + box["height"] <= 640
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()


def test_a_customer_sends_a_picture_and_the_agent_sees_it(live, browser, tmp_path, call_service):
    from conversations.models import Attachment, Conversation
    from conversations.services import take_conversation
    from tests.conversations.test_attachments import png

    agent = AgentFactory()
    picture = tmp_path / "坏掉的耳机.png"
    picture.write_bytes(png())
    customer = browser.new_context(locale="zh-CN")
    desk = browser.new_context(locale="zh-CN")
    try:
        chat = customer.new_page()
        chat.goto(f"{live.url}/chat/")
        expect(chat.locator("#chat")).to_have_class("chat online", timeout=10_000)
        chat.set_input_files("#chat-file", str(picture))
        expect(chat.locator("#chat-messages li.from-customer img.attachment")).to_have_attribute(
            "alt", "坏掉的耳机.png"
        )
        # the picture really loads, through its signed link
        chat.wait_for_function(
            "() => document.querySelector('#chat-messages img.attachment')?.naturalWidth === 1"
        )

        conversation = Conversation.objects.get()
        call_service(take_conversation, conversation_id=conversation.id, agent=agent)
        page = desk.new_page()
        page.goto(f"{live.url}/desk/login/")
        page.fill("#id_username", agent.user.username)
        page.fill("#id_password", "lumen-demo")
        page.click("button[type=submit]")
        page.goto(f"{live.url}/desk/c/{conversation.id}/")
        expect(page.locator("#desk-messages img.attachment")).to_have_attribute(
            "alt", "坏掉的耳机.png"
        )
        assert Attachment.objects.get().message is not None
    finally:
        customer.close()
        desk.close()
