"""The bot as the helpdesk runs it: one engine per process, rebuilt when the KB changes.

The engine (knowledge/bot/) is pure Python. Here it gets its material from the
database: every published article and intent. Up to BOT_MEMORY_INDEX_LIMIT
articles it keeps its own in-memory index; above that it asks PostgreSQL's
full-text search (knowledge.search) for candidates and reranks them, so a
worker's memory does not grow with the knowledge base.

Whether the knowledge base changed is one read of its revision token
(knowledge.models.Revision), which every write to it replaces.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict

from django.conf import settings
from django.utils.text import Truncator

from knowledge import selectors
from knowledge.bot import ArticleRecord, Context, Decision, Engine, IntentRecord
from knowledge.bot.scoring import RETRIEVED_CACHE_SIZE
from knowledge.bot.text import tokens
from knowledge.markdown import plain_text
from knowledge.models import Article, Intent, UnansweredQuestion
from knowledge.search import Match, match_articles

_lock = threading.Lock()
_engine: Engine | None = None
_engine_revision: uuid.UUID | None = None


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
        .defer("search_vector", "heading_vector")
    )


class DatabaseRetriever:
    """Candidates from PostgreSQL full-text search, for knowledge bases too big to hold.

    The records of the articles it returned are kept (a bounded LRU, the size
    of the engine's cache of prepared records, so both keep the same articles)
    under the article's id, with the version and time of its last save: a
    candidate seen before costs no query and hands the engine the same record
    object, which the engine then finds prepared. An article saved since is
    read again.
    """

    def __init__(self, size: int = RETRIEVED_CACHE_SIZE) -> None:
        self.size = size
        self._records: OrderedDict[int, tuple[tuple, ArticleRecord]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def held(self) -> int:
        """How many records it holds."""
        return len(self._records)

    def __call__(self, text: str, language: str, limit: int) -> list[ArticleRecord]:
        return self.records(match_articles(text, language=language, limit=limit))

    def records(self, matches: list[Match]) -> list[ArticleRecord]:
        """The records of `matches`, in order: kept ones as they are, the others
        read in one query (two with the questions) and kept."""
        with self._lock:
            records = {
                m.article_id: entry[1]
                for m in matches
                if (entry := self._records.get(m.article_id)) and entry[0] == _stamp(m)
            }
        missing = [m.article_id for m in matches if m.article_id not in records]
        if missing:
            records.update((a.pk, _record(a)) for a in _published().filter(pk__in=missing))
        with self._lock:
            for m in matches:
                if m.article_id in records:
                    self._records[m.article_id] = (_stamp(m), records[m.article_id])
                    self._records.move_to_end(m.article_id)
            while len(self._records) > self.size:
                self._records.popitem(last=False)
        return [records[m.article_id] for m in matches if m.article_id in records]


def _stamp(match: Match) -> tuple:
    return match.version, match.updated_at


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
        [_record(a) for a in sample],
        intents,
        retriever=None if in_memory else DatabaseRetriever(),
    )


def engine() -> Engine:
    """This process's engine, rebuilt when the knowledge base's revision changed."""
    global _engine, _engine_revision
    revision = selectors.revision()
    if _engine is None or revision != _engine_revision:
        with _lock:
            if _engine is None or revision != _engine_revision:
                _engine = build_engine()
                _engine_revision = revision
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


def article_category_slugs(slugs: set[str]) -> set[str]:
    """The slugs of these articles' categories, in one query."""
    if not slugs:
        return set()
    return set(
        Article.objects.filter(slug__in=slugs, category__isnull=False)
        .values_list("category__slug", flat=True)
        .distinct()
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
