"""In a real browser: the bot answers a knowledge question, then hands over to a person."""

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation
from tests.factories import AgentFactory, ConversationFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_bot_answers_from_the_kb_then_the_customer_asks_for_a_person(live, browser, demo_kb):
    busy = AgentFactory(capacity=1)  # online, but with a customer already: the next one waits
    ConversationFactory(status="assigned", assignee=busy)
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    try:
        chat = context.new_page()
        chat.goto(f"{live.url}/chat/")
        expect(chat.locator("#chat")).to_have_class("chat online", timeout=10_000)

        chat.fill("#chat-input", "拆开包装了还能七天无理由退货吗")
        chat.press("#chat-input", "Enter")
        answer = chat.locator("#chat-messages li.from-bot").last
        expect(answer).to_contain_text("退货政策", timeout=10_000)
        expect(answer).to_contain_text("/help/a/returns-policy/")

        chat.click("#chat-handoff")
        expect(chat.locator("#chat-status")).to_contain_text("等待人工客服", timeout=10_000)
        expect(chat.locator("#chat-messages li.from-system").last).to_contain_text("转接人工客服")
        expect(chat.locator("#chat-leave")).to_be_hidden()
        assert Conversation.objects.get(assignee__isnull=True).status == "queued"
    finally:
        context.close()
