"""Recommendations in the chat: after the bot's answer or when the conversation closes, at
most once per conversation; the signed link counts the click and opens the offer."""

import uuid

import pytest
from django.core import signing
from django.db import transaction

from conversations.models import Conversation, Message
from conversations.protocol import RECOMMENDATION_SALT
from conversations.services import (
    bot_turn,
    close_conversation,
    open_chat_session,
    post_customer_message,
)
from customers.models import Recommendation, RecommendationRule

pytestmark = pytest.mark.django_db


def rule(**fields) -> RecommendationRule:
    defaults = {
        "name": "returns",
        "topic": "returns-refunds",
        "message_zh": "您可能还需要：",
        "message_en": "You might also like:",
    }
    made = RecommendationRule.objects.create(**(defaults | fields))
    made.products.create(
        sku="BAG-1", name_zh="环保购物袋", name_en="Tote bag", url="https://shop.example/p/bag"
    )
    return made


def session(language="zh") -> Conversation:
    return open_chat_session(channel="web", language=language).conversation


def ask(conversation, text):
    message, _ = post_customer_message(
        conversation_id=conversation.id, client_id=uuid.uuid4().hex, body=text
    )
    return bot_turn(conversation_id=conversation.id, message_id=message.id)


def recommendations_in(conversation) -> list[Message]:
    return list(
        Message.objects.filter(conversation=conversation, meta__event="recommendation").order_by(
            "seq"
        )
    )


def test_after_the_bots_answer_on_the_topic_once_per_conversation(demo_kb):
    rule()
    conversation = session("en")

    reply = ask(conversation, "What is your return policy?")
    ask(conversation, "How do returns work again?")

    [shown] = recommendations_in(conversation)
    assert reply.meta["article"] == "returns-policy"
    assert shown.seq == reply.seq + 1
    assert shown.sender == "system"
    assert shown.body == "You might also like:\n· Tote bag"
    assert shown.meta["offers"][0]["name"] == "Tote bag"
    assert shown.meta["offers"][0]["url"].startswith("/r/")
    assert Recommendation.objects.get().topic == "returns-refunds"


def test_nothing_after_an_answer_on_another_topic(demo_kb):
    rule()
    conversation = session("en")

    ask(conversation, "How do I reset my password?")

    assert recommendations_in(conversation) == []


def test_when_the_conversation_closes_from_what_the_bot_understood(demo_kb):
    rule(moment="close")
    conversation = session("zh")
    ask(conversation, "退货政策是怎样的？")
    assert recommendations_in(conversation) == []

    close_conversation(conversation_id=conversation.pk, resolution="resolved")
    close_conversation(conversation_id=conversation.pk, resolution="resolved")

    [shown] = recommendations_in(conversation)
    assert shown.body == "您可能还需要：\n· 环保购物袋"


def test_not_for_spam_nor_a_conversation_the_customer_never_wrote_in(demo_kb):
    rule(moment="close", topic="")
    spam, silent = session(), session()
    ask(spam, "退货政策是怎样的？")

    close_conversation(conversation_id=spam.pk, resolution="spam")
    close_conversation(conversation_id=silent.pk, resolution="resolved")

    assert recommendations_in(spam) == recommendations_in(silent) == []


def test_the_link_counts_the_click_and_opens_the_offer(client, demo_kb):
    rule()
    conversation = session("en")
    ask(conversation, "What is your return policy?")
    [shown] = recommendations_in(conversation)
    link = shown.meta["offers"][0]["url"]

    first = client.get(link)
    client.get(link)

    assert first.status_code == 302
    assert first["Location"] == "https://shop.example/p/bag"
    assert first["Referrer-Policy"] == "no-referrer"
    assert Recommendation.objects.get().clicks == 2


@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        signing.dumps(["0" * 32, 0], salt="another.salt"),
        signing.dumps([uuid.uuid4().hex, 0], salt=RECOMMENDATION_SALT),
        signing.dumps(["not-a-uuid", 0], salt=RECOMMENDATION_SALT),
        signing.dumps("just-a-string", salt=RECOMMENDATION_SALT),
    ],
)
def test_a_link_not_signed_here_or_for_nothing_is_404_and_counts_nothing(client, token):
    response = client.get(f"/r/{token}/")

    assert response.status_code == 404
    assert not Recommendation.objects.filter(clicks__gt=0).exists()


def test_another_offer_index_is_404(client, demo_kb):
    rule()
    conversation = session("en")
    ask(conversation, "What is your return policy?")
    recommendation = Recommendation.objects.get()
    token = signing.dumps([recommendation.pk.hex, 5], salt=RECOMMENDATION_SALT)

    assert client.get(f"/r/{token}/").status_code == 404
    assert Recommendation.objects.get().clicks == 0


def test_a_close_that_rolls_back_leaves_no_recommendation(demo_kb):
    rule(moment="close")
    conversation = session("zh")
    ask(conversation, "退货政策是怎样的？")

    with pytest.raises(RuntimeError), transaction.atomic():
        close_conversation(conversation_id=conversation.pk, resolution="resolved")
        raise RuntimeError

    assert not Recommendation.objects.exists()
    assert recommendations_in(conversation) == []
