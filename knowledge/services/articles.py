"""Articles: saving with a version history, the publishing workflow, feedback."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from knowledge.models import Article, ArticleVersion, Category, QuestionVariant
from knowledge.search import refresh_search_vector


def _snapshot(article: Article, *, user, note: str) -> ArticleVersion:
    article.version += 1
    article.save(update_fields=["version"])
    return ArticleVersion.objects.create(
        article=article,
        number=article.version,
        title=article.title,
        body=article.body,
        category=article.category,
        status=article.status,
        questions=list(article.questions.values_list("text", flat=True)),
        created_by=user,
        note=note,
    )


def _set_questions(article: Article, questions: list[str]) -> bool:
    wanted = [q.strip() for q in dict.fromkeys(questions) if q and q.strip()]
    current = list(article.questions.values_list("text", flat=True))
    if current == wanted:
        return False
    article.questions.all().delete()
    QuestionVariant.objects.bulk_create(
        QuestionVariant(article=article, text=text[:300], position=n)
        for n, text in enumerate(wanted)
    )
    return True


@transaction.atomic
def save_article(
    *,
    slug: str,
    language: str,
    category: Category,
    title: str,
    body: str,
    questions: list[str] | None = None,
    status: str | None = None,
    user=None,
    note: str = "",
) -> tuple[Article, bool]:
    """Create or update the article (slug, language); returns (article, changed).

    A change writes a version (who, when, what) and refreshes the search
    vector; saving identical content writes nothing.
    """
    article = Article.objects.select_for_update().filter(slug=slug, language=language).first()
    created = article is None
    if created:
        article = Article.objects.create(
            slug=slug,
            language=language,
            category=category,
            title=title,
            body=body,
            status=status or Article.Status.DRAFT,
        )
    fields = {"category": category, "title": title, "body": body}
    if status is not None:
        fields["status"] = status
    changed_fields = [name for name, value in fields.items() if getattr(article, name) != value]
    for name in changed_fields:
        setattr(article, name, fields[name])
    if article.status == Article.Status.PUBLISHED and article.published_at is None:
        article.published_at = timezone.now()
        changed_fields.append("published_at")
    if changed_fields:
        article.save(update_fields=[*changed_fields, "updated_at"])
    questions_changed = _set_questions(article, questions) if questions is not None else False
    changed = created or bool(changed_fields) or questions_changed
    if changed:
        refresh_search_vector(article)
        _snapshot(article, user=user, note=note or ("created" if created else "edited"))
    return article, changed


@transaction.atomic
def record_edit(article: Article, *, user=None, note: str = "edited") -> bool:
    """After an edit made in place (the admin form): version it and reindex it.

    Writes a version only when title, body, category, status or questions
    differ from the latest version. Returns whether one was written.
    """
    article = Article.objects.select_for_update().get(pk=article.pk)
    latest = article.versions.order_by("-number").first()
    questions = list(article.questions.values_list("text", flat=True))
    if latest is not None and (
        latest.title,
        latest.body,
        latest.category_id,
        latest.status,
        latest.questions,
    ) == (article.title, article.body, article.category_id, article.status, questions):
        return False
    if article.status == Article.Status.PUBLISHED and article.published_at is None:
        article.published_at = timezone.now()
        article.save(update_fields=["published_at"])
    refresh_search_vector(article)
    _snapshot(article, user=user, note=note)
    return True


def _set_status(article: Article, status: str, *, user, note: str) -> Article:
    with transaction.atomic():
        article = Article.objects.select_for_update().get(pk=article.pk)
        if article.status == status:
            return article
        article.status = status
        fields = ["status", "updated_at"]
        if status == Article.Status.PUBLISHED:
            article.published_at = timezone.now()
            fields.append("published_at")
        article.save(update_fields=fields)
        _snapshot(article, user=user, note=note)
    return article


def publish_article(article: Article, *, user=None) -> Article:
    return _set_status(article, Article.Status.PUBLISHED, user=user, note="published")


def unpublish_article(article: Article, *, user=None) -> Article:
    return _set_status(article, Article.Status.DRAFT, user=user, note="unpublished")


def archive_article(article: Article, *, user=None) -> Article:
    return _set_status(article, Article.Status.ARCHIVED, user=user, note="archived")


def restore_version(version: ArticleVersion, *, user=None) -> Article:
    """Bring back an earlier version's title, body, category and questions, as a new version."""
    article, _ = save_article(
        slug=version.article.slug,
        language=version.article.language,
        category=version.category,
        title=version.title,
        body=version.body,
        questions=version.questions,
        user=user,
        note=f"restored v{version.number}",
    )
    return article


def record_view(article: Article) -> None:
    Article.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)


def record_feedback(article: Article, *, helpful: bool) -> None:
    field = "helpful_up" if helpful else "helpful_down"
    Article.objects.filter(pk=article.pk).update(**{field: F(field) + 1})
