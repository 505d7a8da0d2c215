"""The knowledge back-office: preview, versions and restore, bulk publishing."""

import pytest
from django.urls import reverse

from knowledge.models import Article, ArticleVersion

pytestmark = pytest.mark.django_db


def test_the_change_page_shows_a_rendered_preview_and_the_versions(admin_client, demo_kb):
    article = Article.objects.get(slug="place-order", language="en")

    body = admin_client.get(
        reverse("admin:knowledge_article_change", args=[article.pk])
    ).content.decode()

    assert "<strong>Steps to order</strong>" in body
    assert (
        reverse("admin:knowledge_article_restore", args=[article.pk, article.versions.first().pk])
        in body
    )


def test_restoring_a_version_brings_its_text_back_as_a_new_version(
    admin_client, admin_user, demo_kb
):
    article = Article.objects.get(slug="place-order", language="en")
    first = article.versions.get(number=1)
    Article.objects.filter(pk=article.pk).update(title="Changed by mistake")

    admin_client.post(reverse("admin:knowledge_article_restore", args=[article.pk, first.pk]))

    article.refresh_from_db()
    assert article.title == first.title
    latest = article.versions.order_by("-number").first()
    assert (latest.note, latest.created_by) == ("restored v1", admin_user)


def test_bulk_unpublish_and_publish(admin_client, demo_kb):
    ids = list(Article.objects.filter(slug="place-order").values_list("pk", flat=True))
    url = reverse("admin:knowledge_article_changelist")

    admin_client.post(url, {"action": "unpublish", "_selected_action": ids})
    assert set(Article.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"draft"}

    admin_client.post(url, {"action": "publish", "_selected_action": ids})
    assert set(Article.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"published"}
    assert ArticleVersion.objects.filter(article_id=ids[0], note="published").exists()
