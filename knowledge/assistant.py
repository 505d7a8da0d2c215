"""The bot as the helpdesk runs it: one engine per process, rebuilt when the KB changes.

The engine (knowledge/bot/) is pure Python. Here it gets its material from the
database: every published article and intent. Up to BOT_MEMORY_INDEX_LIMIT
articles it keeps its own in-memory index; above that it asks PostgreSQL's
full-text search (knowledge.search) for candidates and reranks them, so a
worker's memory does not grow with the knowledge base.
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.db.models import Count, Max
from django.utils.text import Truncator

from knowledge.bot import ArticleRecord, Context, Decision, Engine, IntentRecord
from knowledge.bot.text import tokens
from knowledge.markdown import plain_text
from knowledge.models import Article, Intent, UnansweredQuestion
from knowledge.search import search_articles

_lock = threading.Lock()
_engine: Engine | None = None
_engine_version: tuple | None = None


def _version() -> tuple:
    articles = Article.objects.filter(status=Article.Status.PUBLISHED).aggregate(
        n=Count("pk"), latest=Max("updated_at")
    )
    intents = Intent.objects.aggregate(n=Count("pk"), latest=Max("updated_at"))
    return articles["n"], articles["latest"], intents["n"], intents["latest"]


def _record(article: Article) -> ArticleRecord:
    return ArticleRecord(
        slug=article.slug,
        language=article.language,
        title=article.title,
        body=plain_text(article.body),
        category=article.category.slug,
        questions=[q.text for q in article.questions.all()],
    )


def _published():
    return (
        Article.objects.filter(status=Article.Status.PUBLISHED)
        .select_related("category")
        .prefetch_related("questions")
    )


def database_retriever(text: str, language: str, limit: int) -> list[ArticleRecord]:
    """Candidates from PostgreSQL full-text search, for knowledge bases too big to hold."""
    hits = search_articles(text, language=language, limit=limit)
    by_id = {a.pk: a for a in _published().filter(pk__in=[h.article.pk for h in hits])}
    return [_record(by_id[h.article.pk]) for h in hits if h.article.pk in by_id]


def build_engine() -> Engine:
    count = Article.objects.filter(status=Article.Status.PUBLISHED).count()
    in_memory = count <= settings.BOT_MEMORY_INDEX_LIMIT
    # At scale, a sample of the corpus is enough for the term statistics.
    sample = _published().order_by("pk") if in_memory else _published().order_by("?")[:500]
    intents = [
        IntentRecord(
            name=i.name,
            description=i.description,
            examples_zh=i.examples_zh,
            examples_en=i.examples_en,
            slots=i.slots,
        )
        for i in Intent.objects.all()
    ]
    return Engine.build(
        [_record(a) for a in sample], intents, retriever=None if in_memory else database_retriever
    )


def engine() -> Engine:
    """This process's engine, rebuilt when published articles or intents changed."""
    global _engine, _engine_version
    version = _version()
    if _engine is None or version != _engine_version:
        with _lock:
            if _engine is None or version != _engine_version:
                _engine = build_engine()
                _engine_version = version
    return _engine


def understand(text: str, *, language: str, context: Context) -> Decision:
    return engine().decide(text, language=language, context=context)


def article_reply(slug: str, language: str) -> tuple[str, str] | None:
    """(title, answer text) of a published article, for a chat message."""
    article = _published().filter(slug=slug, language=language).first()
    if article is None:
        article = _published().filter(slug=slug).first()
    if article is None:
        return None
    text = Truncator(plain_text(article.body)).chars(900)
    return article.title, text


def article_titles(slugs: list[str], language: str) -> list[tuple[str, str]]:
    titles = dict(
        _published().filter(slug__in=slugs, language=language).values_list("slug", "title")
    )
    return [(slug, titles[slug]) for slug in slugs if slug in titles]


def article_category(slug: str) -> str | None:
    return (
        Article.objects.filter(slug=slug)
        .values_list("category__skill_group_code", flat=True)
        .first()
    )


def intent_skill_group(name: str) -> str | None:
    return (
        Intent.objects.filter(name=name).values_list("skill_group_code", flat=True).first() or None
    )


def record_unanswered(
    *, text: str, language: str, outcome: str, conversation_id, decision: Decision
) -> None:
    """Keep a question the bot could not settle, grouped with similar ones (for new FAQs)."""
    words = sorted(set(tokens(text, language)))[:6]
    UnansweredQuestion.objects.create(
        text=text[:500],
        language=language,
        outcome=outcome,
        conversation_id=conversation_id,
        group_key=(" ".join(words) or text[:40])[:120],
        closest_article=(decision.suggestions or [""])[0] or (decision.article or ""),
        confidence=decision.confidence,
    )


def record_agent_resolution(*, conversation_id, reply: str) -> int:
    """An agent's reply resolved a conversation: offer it beside its unanswered questions."""
    return UnansweredQuestion.objects.filter(
        conversation_id=conversation_id, agent_reply="", handled=False
    ).update(agent_reply=reply[:4000])
