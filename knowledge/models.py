import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F, Func, Q
from django.utils.translation import gettext_lazy as _

from helpdesk.languages import BilingualName

LANGUAGES = [("zh", "中文"), ("en", "English")]


def _search_indexes() -> list[GinIndex]:
    """One GIN index per vector and language, over the published articles only.

    On `strip(vector)` (the lexemes without positions) rather than the column:
    PostgreSQL keeps statistics for an index expression, taken from the rows
    the index covers, so the planner knows how common a lexeme is *in that
    language*. With table-wide statistics, English n-grams looked common to
    a Chinese query that matched nothing, and the planner walked the table.
    knowledge.search queries `strip(vector)` with the same language and status.
    """
    return [
        GinIndex(
            Func(F(column), function="strip", output_field=SearchVectorField()),
            name=f"article_{column.split('_')[0]}_{code}",
            condition=Q(language=code, status="published"),
        )
        for column in ("heading_vector", "search_vector")
        for code, _name in LANGUAGES
    ]


class Category(BilingualName, models.Model):
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=120)
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    skill_group_code = models.SlugField(
        _("skill group"),
        max_length=40,
        blank=True,
        help_text=_("Code of the skill group that takes handoffs about this category."),
    )

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    """One topic in one language; the same slug in both languages is one topic."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    slug = models.SlugField(_("slug"), max_length=120)
    language = models.CharField(_("language"), max_length=2, choices=LANGUAGES)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="articles", verbose_name=_("category")
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), help_text=_("Markdown. HTML is not allowed."))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    view_count = models.PositiveIntegerField(_("views"), default=0)
    helpful_up = models.PositiveIntegerField(_("helpful"), default=0)
    helpful_down = models.PositiveIntegerField(_("not helpful"), default=0)
    # Lexemes written by knowledge.search (segmented Chinese, character
    # n-grams, stemmed English), weighted: A title and questions, C body.
    search_vector = SearchVectorField(null=True, editable=False)
    # The title's and questions' lexemes alone: small, so ranking by it is cheap
    # even when a common word matches a large part of the knowledge base.
    heading_vector = SearchVectorField(null=True, editable=False)
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["category__position", "slug", "language"]
        constraints = [
            models.UniqueConstraint(fields=["slug", "language"], name="article_slug_language"),
        ]
        indexes = [
            *_search_indexes(),
            models.Index(fields=["language", "status", "category"], name="article_lang_status_cat"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"


class QuestionVariant(models.Model):
    """A way a customer asks what an article answers."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="questions")
    text = models.CharField(_("question"), max_length=300)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("question variant")
        verbose_name_plural = _("question variants")
        ordering = ["article", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["article", "text"], name="question_article_text"),
        ]

    def __str__(self) -> str:
        return self.text


class ArticleVersion(models.Model):
    """A saved state of an article: who changed it, when, and what it said."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"))
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=Article.Status.choices)
    questions = models.JSONField(_("questions"), default=list)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("article version")
        verbose_name_plural = _("article versions")
        ordering = ["article", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="version_article_number"),
        ]

    def __str__(self) -> str:
        return f"{self.article.slug}/{self.article.language} v{self.number}"


class Intent(models.Model):
    """Something a customer wants done, with example phrases and the slots it needs."""

    name = models.SlugField(_("name"), max_length=60, unique=True)
    description = models.TextField(_("description"), blank=True)
    examples_zh = models.JSONField(_("examples (Chinese)"), default=list, blank=True)
    examples_en = models.JSONField(_("examples (English)"), default=list, blank=True)
    slots = models.JSONField(_("slots"), default=list, blank=True)
    skill_group_code = models.SlugField(_("skill group"), max_length=40, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("intent")
        verbose_name_plural = _("intents")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UnansweredQuestion(models.Model):
    """A question the bot could not answer, or that ended with a person: material for new FAQs."""

    class Outcome(models.TextChoices):
        FALLBACK = "fallback", _("Not answered")
        HANDOFF = "handoff", _("Handed to a person")

    text = models.CharField(_("question"), max_length=500)
    language = models.CharField(_("language"), max_length=2, choices=LANGUAGES)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    conversation_id = models.UUIDField(_("conversation"), db_index=True)
    group_key = models.CharField(
        _("group"), max_length=120, db_index=True, help_text=_("Similar questions share a group.")
    )
    agent_reply = models.TextField(
        _("agent's reply"),
        blank=True,
        help_text=_("What the agent answered, when a person resolved it."),
    )
    closest_article = models.CharField(_("closest article"), max_length=120, blank=True)
    confidence = models.FloatField(_("confidence"), default=0)
    handled = models.BooleanField(_("handled"), default=False)
    created_at = models.DateTimeField(_("asked"), auto_now_add=True)

    class Meta:
        verbose_name = _("unanswered question")
        verbose_name_plural = _("unanswered questions")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.text


class Revision(models.Model):
    """One row whose token changes with every write the bot reads from: articles,
    their questions, categories and intents (knowledge.signals).

    The token is written in the same transaction as the change, so a process
    that sees it also sees the change, and a rolled-back change rolls the token
    back with it. A process keeps what it built from the knowledge base (the
    bot's engine) while the token stays the same: one primary-key read a turn.
    """

    token = models.UUIDField(default=uuid.uuid4)

    class Meta:
        verbose_name = _("knowledge-base revision")
        verbose_name_plural = _("knowledge-base revisions")

    def __str__(self) -> str:
        return str(self.token)
