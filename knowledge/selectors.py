"""Reads of the knowledge base for the help centre, the API and the bot."""

from __future__ import annotations

import uuid

from django.db.models import Prefetch, QuerySet

from knowledge.models import Article, Category, Revision


def revision() -> uuid.UUID | None:
    """The knowledge base's revision token (None until the first write)."""
    return Revision.objects.values_list("token", flat=True).first()


def published(language: str) -> QuerySet[Article]:
    return Article.objects.filter(status=Article.Status.PUBLISHED, language=language)


def categories_with_articles(language: str) -> list[Category]:
    """Categories that have published articles in `language`, each with them."""
    articles = published(language).order_by("title")
    categories = Category.objects.filter(
        articles__status=Article.Status.PUBLISHED, articles__language=language
    ).distinct()
    return list(
        categories.prefetch_related(Prefetch("articles", queryset=articles, to_attr="published"))
    )


def article(slug: str, language: str) -> Article | None:
    """The published article in `language`, else in the other language, else None."""
    candidates = (
        Article.objects.filter(slug=slug, status=Article.Status.PUBLISHED)
        .select_related("category")
        .prefetch_related("questions")
    )
    found = {a.language: a for a in candidates}
    return found.get(language) or next(iter(found.values()), None)
