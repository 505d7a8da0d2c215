"""The public help centre: both languages, search, article pages, feedback, XSS."""

import pytest

from knowledge.models import Article, Category
from knowledge.services import save_article

pytestmark = pytest.mark.django_db


def test_the_home_page_lists_categories_in_chinese_by_default(client, demo_kb):
    body = client.get("/help/").content.decode()

    assert "退货与退款" in body
    assert "退货政策" in body


def test_the_home_page_in_english(client, demo_kb):
    body = client.get("/help/?lang=en").content.decode()

    assert "Returns &amp; Refunds" in body
    assert "How can we help?" in body


def test_an_article_page_renders_markdown_and_counts_the_view(client, demo_kb):
    response = client.get("/help/a/place-order/?lang=en")

    assert response.status_code == 200
    assert "<strong>Steps to order</strong>" in response.content.decode()
    assert Article.objects.get(slug="place-order", language="en").view_count == 1


def test_was_this_helpful_counts_one_vote_per_visitor(client, demo_kb):
    client.post("/help/a/place-order/feedback/", {"helpful": "yes"})
    client.post("/help/a/place-order/feedback/", {"helpful": "yes"})

    assert Article.objects.get(slug="place-order", language="zh").helpful_up == 1


def test_search_page_shows_highlighted_results(client, demo_kb):
    body = client.get("/help/search/", {"q": "退货政策"}).content.decode()

    assert "<mark>" in body
    assert "/help/a/returns-policy/" in body


def test_an_unknown_article_is_404(client, demo_kb):
    assert client.get("/help/a/no-such-thing/").status_code == 404


def test_hostile_html_in_an_article_is_rendered_inert(client):
    category = Category.objects.create(slug="x", name_en="X", name_zh="X")
    save_article(
        slug="hostile",
        language="zh",
        category=category,
        title="<img src=x onerror=alert(1)>标题",
        body="正文 <script>alert(1)</script> [点我](javascript:alert(1)) <a href='data:text/html,x'>x</a>",
        status="published",
    )

    body = client.get("/help/a/hostile/").content.decode()

    assert "<script>alert(1)" not in body
    assert "javascript:" not in body
    assert "data:text/html" not in body
    assert "<img src=x" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;标题" in body


def test_hostile_search_input_is_escaped(client, demo_kb):
    body = client.get("/help/search/", {"q": '"><script>alert(1)</script>'}).content.decode()

    assert "<script>alert(1)</script>" not in body
