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
few, it asks for any word or n-gram (OR), ranked by weight.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from django.db.models import BooleanField, FloatField
from django.db.models.expressions import RawSQL
from django.utils.safestring import SafeString, mark_safe

from knowledge.bot.text import char_ngrams, detect_language, tokens
from knowledge.markdown import plain_text
from knowledge.models import Article

MAX_POSITION = 16383  # PostgreSQL's largest tsvector position
RANK_WEIGHTS = "{0.05, 0.2, 0.4, 1.0}"  # D, C, B, A
_ASCII = re.compile(r"^[\x00-\x7f]+$")


def _ngram_lexemes(text: str) -> list[str]:
    return [f"~{gram}" if _ASCII.match(gram) else gram for gram in char_ngrams(text)]


def lexemes(text: str, language: str) -> tuple[list[str], list[str]]:
    """(word lexemes, n-gram lexemes) of a text."""
    return tokens(text, language), _ngram_lexemes(text)


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


def refresh_search_vector(article: Article) -> None:
    language = article.language
    heading = " ".join([article.title, *article.questions.values_list("text", flat=True)])
    heading_words, heading_grams = lexemes(heading, language)
    body_words, body_grams = lexemes(plain_text(article.body), language)
    literal = tsvector_literal(
        [("A", heading_words), ("B", heading_grams), ("C", body_words), ("C", body_grams)]
    )
    Article.objects.filter(pk=article.pk).update(search_vector=RawSQL("%s::tsvector", [literal]))


@dataclass
class Hit:
    article: Article
    rank: float
    title_html: SafeString
    excerpt_html: SafeString


def _tsquery(items: list[str], operator: str) -> str:
    return f" {operator} ".join(_quote(item) for item in dict.fromkeys(items))


def search_articles(
    query: str,
    *,
    language: str | None = None,
    category: str | None = None,
    limit: int = 10,
    published_only: bool = True,
) -> list[Hit]:
    """Ranked, highlighted published articles matching `query`."""
    query = query.strip()[:500]
    if not query:
        return []
    language = language or detect_language(query)
    words, grams = lexemes(query, language)
    if not words and not grams:
        return []
    queryset = Article.objects.select_related("category")
    if published_only:
        queryset = queryset.filter(status=Article.Status.PUBLISHED)
    if language:
        queryset = queryset.filter(language=language)
    if category:
        queryset = queryset.filter(category__slug=category)
    attempts = []
    if words:
        attempts.append(_tsquery(words, "&"))
    attempts.append(_tsquery(words + grams, "|"))
    hits: dict[int, tuple[Article, float]] = {}
    for tsquery in attempts:
        rows = (
            queryset.annotate(
                matched=RawSQL(
                    "search_vector @@ %s::tsquery", [tsquery], output_field=BooleanField()
                ),
                rank=RawSQL(
                    "ts_rank(%s::float4[], search_vector, %s::tsquery, 1)",
                    [RANK_WEIGHTS, tsquery],
                    output_field=FloatField(),
                ),
            )
            .filter(matched=True)
            .order_by("-rank", "pk")[:limit]
        )
        for article in rows:
            hits.setdefault(article.pk, (article, article.rank))
        if len(hits) >= limit:
            break
    ordered = sorted(hits.values(), key=lambda item: -item[1])[:limit]
    terms = _highlight_terms(query, language)
    return [
        Hit(
            article,
            rank,
            highlight(article.title, terms),
            highlight(_excerpt(article.body, terms), terms),
        )
        for article, rank in ordered
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
