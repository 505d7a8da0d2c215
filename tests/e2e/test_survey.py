"""The survey after a chat, in a real browser: the agent closes the chat, the survey appears
in the customer's page, the customer rates it and gets the points."""

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation, Survey
from conversations.services import care, take_conversation
from customers.models import CareCampaign, Customer
from tests.factories import AgentFactory, care_campaign

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("locale", "lang", "title", "thanks"),
    [
        ("zh-CN", "zh-hans", "您对我们的服务满意吗？", "已为您增加 10 积分"),
        ("en-US", "en", "How did we do?", "10 points have been added"),
    ],
)
def test_close_the_chat_the_survey_appears_the_customer_rates_and_gets_points(
    live, new_context, call_service, locale, lang, title, thanks
):
    care_campaign(CareCampaign.Kind.SURVEY, delay_minutes=0, reward_points=10)
    agent = AgentFactory()
    chat = new_context(locale=locale, viewport={"width": 390, "height": 844}).new_page()
    chat.goto(f"{live.url}/chat/?lang={lang}")
    expect(chat.locator("#chat")).to_have_class("chat online", timeout=10_000)
    chat.fill("#chat-input", "耳机坏了，怎么办？")
    chat.press("#chat-input", "Enter")
    expect(chat.locator("#chat-messages li.from-customer")).to_have_count(1)
    conversation = Conversation.objects.get()
    call_service(take_conversation, conversation_id=conversation.pk, agent=agent)

    desk = new_context(locale=locale).new_page()
    desk.goto(f"{live.url}/desk/login/")
    desk.fill("#id_username", agent.user.username)
    desk.fill("#id_password", "lumen-demo")
    desk.click("button[type=submit]")
    desk.goto(f"{live.url}/desk/c/{conversation.pk}/")
    desk.click("#close-menu summary")
    desk.click("#close-submit")
    expect(chat.locator("#chat-restart")).to_be_visible(timeout=10_000)

    call_service(care.send_due_outreach)  # Beat's minute, now

    survey = chat.locator("li.survey")
    expect(survey).to_contain_text(title, timeout=10_000)
    send = survey.locator("button[type=submit]")
    expect(send).to_be_disabled()
    survey.locator(".survey-star[data-score='4']").click()
    expect(survey.locator(".survey-star.on")).to_have_count(4)
    survey.locator("textarea").fill("<b>好</b>")
    send.click()
    expect(survey).to_contain_text(thanks)
    expect(chat.locator("#chat-messages li.from-system").last).to_contain_text(thanks)

    answered = Survey.objects.get()
    assert (answered.score, answered.comment) == (4, "<b>好</b>")
    assert Customer.objects.get().points == 10
