"""The bot as the helpdesk runs it: it follows every change to the knowledge base at once."""

from __future__ import annotations

import pytest

from knowledge import assistant, selectors, services
from knowledge.bot import Context
from knowledge.models import Article, Intent

pytestmark = pytest.mark.django_db


@pytest.fixture
def at_scale(settings):
    """The bot asks PostgreSQL for its candidates, as above BOT_MEMORY_INDEX_LIMIT articles."""
    settings.BOT_MEMORY_INDEX_LIMIT = 0


def _article(slug: str, language: str) -> Article:
    return Article.objects.get(slug=slug, language=language)


def _edit(article: Article, **changes) -> None:
    fields = {
        "slug": article.slug,
        "language": article.language,
        "category": article.category,
        "title": article.title,
        "body": article.body,
        "questions": list(article.questions.values_list("text", flat=True)),
    }
    services.save_article(**{**fields, **changes})


def _ask(text: str, language: str):
    return assistant.understand(text, language=language, context=Context())


def _delete_intent():
    Intent.objects.get(name="coupon_claim").delete()


@pytest.mark.parametrize(
    "write",
    [
        lambda: services.unpublish_article(_article("returns-policy", "zh")),
        lambda: services.archive_article(_article("returns-policy", "zh")),
        lambda: _edit(_article("returns-policy", "zh"), title="退货政策（新）"),
        lambda: _edit(_article("returns-policy", "zh"), questions=["七天能退吗？"]),
        lambda: _article("returns-policy", "zh").delete(),
        lambda: Intent.objects.filter(name="coupon_claim").first().save(),
        _delete_intent,
    ],
    ids=["unpublish", "archive", "edit", "questions", "delete", "intent", "intent-delete"],
)
def test_every_write_the_bot_reads_gives_the_knowledge_base_a_new_revision(demo_kb, write):
    before = selectors.revision()

    write()

    assert selectors.revision() != before


def test_reads_leave_the_revision_as_it_is(demo_kb, client):
    before = selectors.revision()

    client.get("/help/a/returns-policy/?lang=zh")
    _ask("退货政策是怎样的", "zh")

    assert selectors.revision() == before


def test_publishing_again_is_answered_from_at_once(demo_kb, at_scale):
    article = _article("returns-policy", "zh")
    services.unpublish_article(article)
    assert _ask("退货政策是怎样的", "zh").article != "returns-policy"

    services.publish_article(article)

    assert _ask("退货政策是怎样的", "zh").article == "returns-policy"


def test_an_unpublished_article_is_never_answered_from(demo_kb, at_scale):
    assert _ask("退货政策是怎样的", "zh").article == "returns-policy"

    services.unpublish_article(_article("returns-policy", "zh"))

    assert _ask("退货政策是怎样的", "zh").article != "returns-policy"


def test_a_question_added_to_an_article_is_answered_at_once(demo_kb, at_scale):
    question = "What is the Lumen moonbeam promise?"
    article = _article("price-protection", "en")
    assert _ask(question, "en").action == "fallback"

    _edit(article, questions=[*article.questions.values_list("text", flat=True), question])

    decision = _ask(question, "en")
    assert (decision.action, decision.article) == ("answer", "price-protection")


def test_a_repeated_question_costs_the_revision_read_and_the_ranking_queries_only(
    demo_kb, at_scale, django_assert_num_queries
):
    _ask("How do I reset my password?", "en")

    with django_assert_num_queries(4):  # the revision, three search stages; no article read
        decision = _ask("How do I reset my password?", "en")

    assert decision.article == "password-reset"


def test_the_retriever_reads_an_article_again_once_it_was_saved(demo_kb):
    retrieve = assistant.DatabaseRetriever()
    retrieve("退货政策", "zh", 3)

    _edit(_article("returns-policy", "zh"), title="退货政策（新）")

    assert "退货政策（新）" in [record.title for record in retrieve("退货政策", "zh", 3)]


def test_the_retriever_keeps_no_more_records_than_its_size(demo_kb):
    retrieve = assistant.DatabaseRetriever(size=2)

    records = retrieve("退货", "zh", 5)

    assert len(records) == 5
    assert retrieve.held == 2
