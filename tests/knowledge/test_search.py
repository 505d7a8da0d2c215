"""Search in both languages, with typos, filters and highlighting, on PostgreSQL."""

import pytest
from django.db import connection

from knowledge.search import search_articles

pytestmark = pytest.mark.django_db


def _slugs(query, **kwargs):
    return [hit.article.slug for hit in search_articles(query, **kwargs)]


@pytest.mark.parametrize(
    "query, language, slug",
    [
        ("退货政策", "zh", "returns-policy"),
        ("怎么申请发票", "zh", "invoice-request"),
        ("扫地机器人怎么连接wifi", "zh", "robot-vacuum-setup"),
        ("忘记密码", "zh", "password-reset"),
        ("return policy", "en", "returns-policy"),
        ("how do I reset my password", "en", "password-reset"),
        ("international shipping", "en", "international-shipping"),
    ],
)
def test_the_right_article_comes_first(demo_kb, query, language, slug):
    assert _slugs(query, language=language)[0] == slug


@pytest.mark.parametrize(
    "query, slug",
    [
        ("retrun polcy", "returns-policy"),
        ("pasword reset", "password-reset"),
        ("giftcard", "gift-cards"),
    ],
)
def test_english_typos_still_find_the_article(demo_kb, query, slug):
    assert slug in _slugs(query, language="en")[:3]


def test_results_are_in_the_asked_language(demo_kb):
    hits = search_articles("退货", language="zh")

    assert hits
    assert {hit.article.language for hit in hits} == {"zh"}


def test_category_filter(demo_kb):
    hits = search_articles("退款", language="zh", category="returns-refunds")

    assert hits
    assert {hit.article.category.slug for hit in hits} == {"returns-refunds"}


def test_terms_are_highlighted_and_html_is_escaped(demo_kb):
    hit = search_articles("退货政策", language="zh")[0]

    assert "<mark>" in hit.title_html
    assert (
        "<script"
        not in search_articles("<script>alert(1)</script> 退货", language="zh")[0].excerpt_html
    )


def test_nothing_for_an_empty_or_unrelated_query(demo_kb):
    assert search_articles("   ", language="zh") == []
    assert search_articles("zzqqxx", language="en") == []


def test_drafts_are_not_found(demo_kb):
    from knowledge.models import Article

    Article.objects.filter(slug="returns-policy").update(status="draft")

    assert "returns-policy" not in _slugs("退货政策", language="zh")


def test_search_uses_the_gin_index(demo_kb):
    from knowledge.search import _quote

    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM knowledge_article WHERE search_vector @@ %s::tsquery",
            [_quote("退货")],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "article_search_gin" in plan
