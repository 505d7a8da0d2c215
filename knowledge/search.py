"""Chinese- and English-aware article search on plain PostgreSQL.

No extension is needed (the embedded PostgreSQL has none): the lexemes are
made here, in Python, and stored in `Article.search_vector` as a tsvector
literal with positions and weights, under a GIN index.

- Chinese: jieba words, plus every CJK character bigram (so a word jieba
  segments differently still matches);
- English: stemmed words (Snowball), plus character trigrams of each word
  marked with `~` (typo tolerance: "retrun" shares "~ret", "~urn" with "return");
- weights: A for the title and question variants' words, B for their
  n-grams, C for the body.

A query is turned into the same lexemes. It first asks for articles holding
every word (AND, selective, cheap even at a million rows); when that finds too
few, it asks for any word or n-gram (OR), ranked by weight. Each stage is one
hand-written query on a per-language GIN index (see `_STAGE_SQL`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db import connection
from django.db.models.expressions import RawSQL
from django.utils.safestring import SafeString, mark_safe

from knowledge.bot.text import char_ngrams, detect_language, normalize, tokens
from knowledge.markdown import plain_text
from knowledge.models import LANGUAGES, Article

MAX_POSITION = 16383  # PostgreSQL's largest tsvector position
RANK_WEIGHTS = "{0.05, 0.2, 0.4, 1.0}"  # D, C, B, A
_ASCII = re.compile(r"^[\x00-\x7f]+$")
_IDENTIFIER = re.compile(r"[a-z0-9]*\d[a-z0-9]*")


def _ngram_lexemes(text: str) -> list[str]:
    return [f"~{gram}" if _ASCII.match(gram) else gram for gram in char_ngrams(text)]


def _identifiers(text: str) -> list[str]:
    # Model codes and numbers ("QX0001234", "SF1234567890123") are searched as
    # they are; the bot's tokens leave them out on purpose.
    return [w for w in _IDENTIFIER.findall(normalize(text)) if sum(c.isdigit() for c in w) > 4]


def lexemes(text: str, language: str) -> tuple[list[str], list[str]]:
    """(word lexemes, n-gram lexemes) of a text."""
    return tokens(text, language) + _identifiers(text), _ngram_lexemes(text)


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(weighted: list[tuple[str, list[str]]]) -> str:
    """A tsvector literal of lexemes in order, each with its position and weight."""
    positions: dict[str, list[str]] = {}
    position = 0
    for weight, items in weighted:
        for lexeme in items:
            if not lexeme or len(lexeme.encode()) > 2000:
                continue
            position = min(position + 1, MAX_POSITION)
            positions.setdefault(lexeme, []).append(f"{position}{weight}")
    return " ".join(f"{_quote(lexeme)}:{','.join(p[:256])}" for lexeme, p in positions.items())


def article_vectors(title: str, questions: list[str], body: str, language: str) -> tuple[str, str]:
    """(search vector, heading vector) literals of an article."""
    heading_words, heading_grams = lexemes(" ".join([title, *questions]), language)
    body_words, body_grams = lexemes(plain_text(body), language)
    heading = [("A", heading_words), ("B", heading_grams)]
    return tsvector_literal([*heading, ("C", body_words), ("C", body_grams)]), tsvector_literal(
        heading
    )


def refresh_search_vector(article: Article) -> None:
    search, heading = article_vectors(
        article.title,
        list(article.questions.values_list("text", flat=True)),
        article.body,
        article.language,
    )
    Article.objects.filter(pk=article.pk).update(
        search_vector=RawSQL("%s::tsvector", [search]),
        heading_vector=RawSQL("%s::tsvector", [heading]),
    )


@dataclass
class Hit:
    article: Article
    rank: float
    title_html: SafeString
    excerpt_html: SafeString


class Match(NamedTuple):
    """A published article matching a query, as the ranking query returns it."""

    article_id: int
    rank: float
    version: int  # with updated_at: changes whenever the article is saved
    updated_at: datetime


def _tsquery(items: list[str], operator: str) -> str:
    return f" {operator} ".join(_quote(item) for item in dict.fromkeys(items))


# (column matched and ranked, operator, at most this many matches ranked).
# Headings first: a word in a title or a question variant says more than one
# in a body. The caps bound the work for a very common word at any size of
# knowledge base: a stage ranks the first `cap` matches the index gives, not
# all of them (at 100,000 articles "退货" is in 2,452 Chinese headings). The
# body vectors are large (read from TOAST), so fewer of them are ranked; the
# order of stages keeps the precise matches first.
_STAGES = [
    ("heading_vector", "&", 500),
    ("search_vector", "&", 200),
    ("heading_vector", "|", 300),
    ("search_vector", "|", 200),
]

# One stage. `strip({column})` and the language and status, as literals, are
# what the per-language indexes cover (knowledge.models._search_indexes), so
# the planner reads a GIN index with statistics of that language. The inner
# LIMIT has no ORDER BY: it stops after `cap` matches instead of sorting them
# all; only those are ranked. An OR stage matches `@@ ANY` of one-lexeme
# queries: the index is read once per lexeme, a third quicker than one OR
# query over many common n-grams, whose every match GIN tests against the
# whole query. The formatted parts come from _STAGES and LANGUAGES, never
# from the request; everything else is a parameter.
_STAGE_SQL = """
SELECT m.id, ts_rank(%(weights)s::float4[], m.vector, %(query)s::tsquery, 1) AS rank,
       m.version, m.updated_at
FROM (
    SELECT a.id, a.{column} AS vector, a.version, a.updated_at
    FROM knowledge_article a
    WHERE strip(a.{column}) @@ {match}
      AND a.language = '{language}' AND a.status = 'published'
      {category}
      AND a.id <> ALL (%(seen)s)
    LIMIT {cap}
) m
ORDER BY rank DESC, m.id
LIMIT %(limit)s
"""
_CATEGORY_SQL = "AND a.category_id = (SELECT id FROM knowledge_category WHERE slug = %(category)s)"
_MATCH_SQL = {"&": "%(query)s::tsquery", "|": "ANY (%(lexemes)s::tsquery[])"}
_LANGUAGES = frozenset(code for code, _name in LANGUAGES)


def match_articles(
    query: str, *, language: str | None = None, category: str | None = None, limit: int = 10
) -> list[Match]:
    """The best published articles for `query`, best first: at most one
    ranking query per stage, and the later stages only while too few matched."""
    query = query.strip()[:500]
    if not query:
        return []
    if language not in _LANGUAGES:
        language = detect_language(query)
    words, grams = lexemes(query, language)
    every = list(dict.fromkeys(words))
    some = list(dict.fromkeys(words + grams))
    # One lexeme ANDed or ORed is the same query: the OR stages would find nothing new.
    stages = [s for s in _STAGES if s[1] == "&"] if len(some) == 1 and every == some else _STAGES
    matches: list[Match] = []
    with connection.cursor() as cursor:
        for column, operator, cap in stages:
            terms = every if operator == "&" else some
            if not terms:
                continue
            sql = _STAGE_SQL.format(
                column=column,
                match=_MATCH_SQL[operator],
                language=language,
                category=_CATEGORY_SQL if category else "",
                cap=cap,
            )
            cursor.execute(
                sql,
                {
                    "weights": RANK_WEIGHTS,
                    "query": _tsquery(terms, operator),
                    "lexemes": [_quote(term) for term in terms],
                    "category": category,
                    "seen": [m.article_id for m in matches],
                    "limit": limit - len(matches),
                },
            )
            matches.extend(Match(*row) for row in cursor.fetchall())
            if len(matches) >= limit:
                break
    return matches


def search_articles(
    query: str,
    *,
    language: str | None = None,
    category: str | None = None,
    limit: int = 10,
) -> list[Hit]:
    """Ranked, highlighted published articles matching `query`."""
    if language not in _LANGUAGES:
        language = detect_language(query)
    matches = match_articles(query, language=language, category=category, limit=limit)
    if not matches:
        return []
    articles = (
        Article.objects.select_related("category")
        .defer("search_vector", "heading_vector")
        .order_by()  # in the order of the matches, below
        .in_bulk([m.article_id for m in matches])
    )
    terms = _highlight_terms(query, language)
    return [
        Hit(
            article,
            match.rank,
            highlight(article.title, terms),
            highlight(_excerpt(article.body, terms), terms),
        )
        for match in matches
        if (article := articles.get(match.article_id)) is not None
    ]


def _highlight_terms(query: str, language: str) -> list[str]:
    if language == "zh":
        import jieba

        parts = [p for p in jieba.cut(query) if len(p.strip()) > 1 or re.match(r"\w", p)]
    else:
        parts = re.findall(r"[A-Za-z0-9]{3,}", query)
    return sorted({p.strip() for p in parts if p.strip()}, key=len, reverse=True)


def _excerpt(body: str, terms: list[str], size: int = 140) -> str:
    text = re.sub(r"\s+", " ", plain_text(body))
    lowered = text.lower()
    starts = [lowered.find(t.lower()) for t in terms if lowered.find(t.lower()) >= 0]
    start = max(0, min(starts) - size // 3) if starts else 0
    excerpt = text[start : start + size]
    return ("…" if start else "") + excerpt + ("…" if start + size < len(text) else "")


def highlight(text: str, terms: list[str]) -> SafeString:
    """Escape `text`, then wrap each search term in <mark>."""
    escaped = html.escape(text)
    if not terms:
        return mark_safe(escaped)  # noqa: S308 (escaped above)
    pattern = re.compile("|".join(re.escape(html.escape(t)) for t in terms), re.IGNORECASE)
    return mark_safe(pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", escaped))  # noqa: S308
