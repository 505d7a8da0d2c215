"""Recommendations in the chat (docs/care.md): after the bot's answer, or when the
conversation closes, at most once per conversation. Which rule and the record are the
customers app's (customers/services/recommendations.py); here the topic is read from the
conversation and the offer is posted into it."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import override

from conversations.models import Conversation, Message
from conversations.protocol import click_link
from conversations.services.messages import post_system_message
from customers.models import Recommendation, RecommendationRule
from customers.services import recommendations as rules
from helpdesk.languages import django_language
from knowledge import assistant

# A bot answer worth following with an offer: it answered, or served the customer.
ANSWERED = ("answer", "self_service")


def topics_of(metas: list[dict]) -> set[str]:
    """What the bot understood the conversation to be about: its intents and the
    categories of the articles it answered with."""
    topics: set[str] = set()
    articles: set[str] = set()
    for meta in metas:
        if isinstance(meta.get("intent"), str):
            topics.add(meta["intent"])
        if isinstance(meta.get("article"), str):
            articles.add(meta["article"])
    return topics | assistant.article_category_slugs(articles)


def offer_after_answer(*, conversation: Conversation, meta: dict) -> Message | None:
    """After the bot's answer (in bot_turn's transaction, the conversation locked): the
    recommendation of a rule shown "after the bot's answer", for this answer's topic."""
    if meta.get("action") not in ANSWERED or meta.get("result") in ("not_found", "unavailable"):
        return None
    if not rules.has_rules(moment=RecommendationRule.Moment.ANSWER):
        return None  # one query on every answer while no rule wants this moment
    return _offer(conversation, topics_of([meta]), RecommendationRule.Moment.ANSWER)


def offer_after_close(*, conversation: Conversation) -> Message | None:
    """When the conversation closes (in close_conversation's transaction): the
    recommendation of a rule shown "when the conversation closes", for everything the
    bot understood in it. Not for spam, nor for a conversation without a customer's word."""
    if conversation.resolution == Conversation.Resolution.SPAM or not rules.has_rules(
        moment=RecommendationRule.Moment.CLOSE
    ):
        return None
    metas = list(
        Message.objects.filter(conversation=conversation, sender=Message.Sender.BOT)
        .exclude(meta={})
        .values_list("meta", flat=True)
    )
    if not Message.objects.filter(
        conversation=conversation, sender=Message.Sender.CUSTOMER
    ).exists():
        return None
    return _offer(conversation, topics_of(metas), RecommendationRule.Moment.CLOSE)


def _offer(conversation: Conversation, topics: set[str], moment: str) -> Message | None:
    recommendation = rules.recommend(
        customer_id=conversation.customer_id,
        conversation_id=conversation.pk,
        topics=topics,
        moment=moment,
        language=conversation.language,
    )
    if recommendation is None:
        return None
    with override(django_language(conversation.language)):
        return post_system_message(
            conversation_id=conversation.pk,
            body=_body(recommendation, conversation.language),
            meta=recommendation_meta(recommendation),
        )


def _body(recommendation: Recommendation, language: str) -> str:
    """Plain text for any client: the rule's words and the offers' names (the links are
    in meta)."""
    lines = [recommendation.rule.message_in(language)]
    if recommendation.coupon is not None:
        lines.append(
            _("%(title)s: %(amount)s off, code %(code)s")
            % {
                "title": recommendation.coupon.title,
                "amount": f"¥{recommendation.coupon.amount.normalize():f}",
                "code": recommendation.coupon.code,
            }
        )
    else:
        lines.extend(f"· {offer['name']}" for offer in recommendation.offers)
    return "\n".join(lines)


def recommendation_meta(recommendation: Recommendation) -> dict:
    """`meta` of the recommendation's message (chat protocol, `event` "recommendation"):
    each offer's name and its signed link (clicks are counted)."""
    meta = {
        "event": "recommendation",
        "recommendation": str(recommendation.pk),
        "offers": [
            {"name": offer["name"], "url": click_link(recommendation.pk, index)}
            for index, offer in enumerate(recommendation.offers)
        ],
    }
    if recommendation.coupon is not None:
        meta["coupon"] = {
            "code": recommendation.coupon.code,
            "title": recommendation.coupon.title,
            "amount": f"{recommendation.coupon.amount.normalize():f}",
        }
    return meta
