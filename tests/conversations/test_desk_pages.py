"""The server-rendered desk: who may see what, and the Take button."""

import pytest
from django.urls import reverse

from conversations.models import Conversation
from conversations.services import post_customer_message, take_conversation
from tests.factories import AgentFactory, ConversationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent():
    return AgentFactory()


@pytest.fixture
def waiting():
    conversation = ConversationFactory(status=Conversation.Status.QUEUED)
    post_customer_message(
        conversation_id=conversation.id, client_id="1", body="<script>alert(1)</script>"
    )
    return conversation


def test_the_desk_asks_anonymous_visitors_to_log_in(client):
    response = client.get("/desk/")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("desk:login"))


def test_a_user_without_an_agent_profile_is_refused(client):
    client.force_login(UserFactory())

    assert client.get("/desk/").status_code == 403


def test_waiting_conversations_are_listed_and_open_with_their_history(client, agent, waiting):
    client.force_login(agent.user)

    home = client.get("/desk/")
    pane = client.get(reverse("desk:conversation", args=[waiting.id]))

    assert waiting.customer.display_name in home.content.decode()
    body = pane.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert(1)</script>" not in body
    assert 'id="take"' in body


def test_take_assigns_the_conversation_and_shows_the_composer(client, agent, waiting):
    client.force_login(agent.user)

    response = client.post(reverse("desk:take", args=[waiting.id]), follow=True)

    waiting.refresh_from_db()
    assert waiting.assignee == agent
    assert 'id="desk-composer"' in response.content.decode()


def test_taking_a_conversation_a_colleague_holds_is_refused(client, agent, waiting):
    colleague = AgentFactory()
    take_conversation(conversation_id=waiting.id, agent=colleague)
    client.force_login(agent.user)

    response = client.post(reverse("desk:take", args=[waiting.id]))

    assert response.status_code == 404
    waiting.refresh_from_db()
    assert waiting.assignee == colleague


def test_a_colleagues_conversation_is_not_found(client, agent, waiting):
    take_conversation(conversation_id=waiting.id, agent=AgentFactory())
    client.force_login(agent.user)

    assert client.get(reverse("desk:conversation", args=[waiting.id])).status_code == 404


def test_take_needs_post(client, agent, waiting):
    client.force_login(agent.user)

    assert client.get(reverse("desk:take", args=[waiting.id])).status_code == 405


def test_the_desk_speaks_english_when_asked(client, agent):
    client.force_login(agent.user)

    response = client.get("/desk/", HTTP_ACCEPT_LANGUAGE="en")

    assert "No one is waiting." in response.content.decode()


def test_the_desk_speaks_chinese_by_default(client, agent):
    client.force_login(agent.user)

    response = client.get("/desk/")

    assert "没有人在等待" in response.content.decode()


@pytest.mark.parametrize("lang, text", [("zh", "发送"), ("en", "Send")])
def test_the_chat_page_in_both_languages(client, lang, text):
    response = client.get(f"/chat/?lang={lang}")

    assert response.status_code == 200
    assert text in response.content.decode()
    assert 'name="viewport"' in response.content.decode()


def test_the_pane_suggests_articles_for_the_latest_customer_message(client, agent, demo_kb):
    conversation = ConversationFactory(status=Conversation.Status.QUEUED, language="zh")
    post_customer_message(
        conversation_id=conversation.id, client_id="1", body="我想了解一下退货政策"
    )
    client.force_login(agent.user)

    body = client.get(reverse("desk:suggestions", args=[conversation.id])).content.decode()

    assert "<mark>" in body
    assert "/help/a/returns-policy/" in body
