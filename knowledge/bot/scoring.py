"""Scoring a message against candidate articles and every intent.

Each label (a candidate article, an intent) gets a feature vector; a linear
model (``MODEL``, fitted by ``calibration.py``) turns it into a score and a
softmax over all labels turns the scores into probabilities. Only the
candidate records are needed to score articles, so the candidates can come
from any retriever (PostgreSQL full-text search at scale).
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, KeysView, Sequence
from dataclasses import dataclass
from typing import Any

from . import lexicon
from .index import (
    Analysis,
    Speller,
    TermStats,
    Vector,
    analyse,
    content_grams,
    cosine,
    coverage,
    explained,
    latin_vocabulary,
    weigh,
)
from .records import ArticleRecord, IntentRecord
from .text import CJK_RE, ensure_segmenter, normalize

Retriever = Callable[[str, str, int], Sequence[ArticleRecord]]

HANDOFF_INTENT = "human_agent"
TRANSACTIONAL = frozenset({"order_status", "logistics_tracking", "after_sales_request"})
CANDIDATES = 12  # the right article is in the first 10 for every dev and KB question
QUESTION_FIELD_WEIGHT = 2  # title and questions count twice in BM25
# Prepared records from a retriever kept per process. Each costs about 85 KB
# (a long body's n-grams) and 10-20 ms to prepare: at 100,000 articles a worker
# holding the bot is ~265 MB, so 300 of them keep it under 300 MB
# (docs/benchmarks.md).
RETRIEVED_CACHE_SIZE = 300

ARTICLE_FEATURES = (
    "ex_word",  # best cosine (words + concepts) against the title or one question
    "ex_gram",  # the same with character n-grams
    "ex_mix",  # best mean of the two against one title/question
    "ex_concept",  # best cosine of concepts only, titles/questions of both languages
    "cov_concept",  # share of the message's concept weight the topic mentions (both languages)
    "title_word",  # share of the title's own weight the message matches (precision)
    "title_concept",  # the same for the concepts of the titles in both languages
    "explained",  # share of the message's word weight the article accounts for (words or concepts)
    "cov_word",  # share of the message's word weight found anywhere in the article
    "cov_gram",
    "covq_word",  # the same, title and questions only
    "covq_gram",
    "body_word",  # cosine against the body
    "body_gram",
    "bm25_word",  # BM25 over title+questions (x2) and body, scaled to 0..1
    "bm25_gram",
    "rare_word",  # share of the message's weight on terms only this article (or one other) has
    "rare_gram",
    "bias",
    "action",  # the message asks us to act ("帮我", "I want", "my order")
    "identifier",  # an order or tracking number is present
)
INTENT_FEATURES = (
    "ex_word",  # best cosine against one example
    "ex_gram",
    "ex_mix",
    "top3",  # mean of the three best examples
    "ex_concept",  # best cosine of concepts only, examples of both languages
    "cov_word",  # share of the message's weight found among all examples
    "cov_gram",
    "cue",  # the intent's own request wording (lexicon.INTENT_CUES)
    "ident_match",  # an identifier this intent takes is present
    "action",  # action phrasing, for intents that act on an order
    "info",  # "how/why/多久" phrasing, for intents that act on an order
    "reason",  # an after-sales reason is stated (after_sales_request only)
)

# Fitted by ``python -m knowledge.bot.calibration``; see that module.
CONFIDENCE_FEATURES = (
    "logit_p",  # log-odds of the top label's softmax probability
    "margin",  # its score minus the runner-up's (capped at 5)
    "unknown",  # share of the message's weight on words the material never uses
    "support",  # how much of the message the top label accounts for
    "terms",  # how much the message says: distinct words (not concepts), up to 6, over 6
    "intent",  # the top label is an intent
    "bias",
)

MODEL: dict[str, Any] = {
    "article": {
        "ex_word": 0.292,
        "ex_gram": 0.108,
        "ex_mix": 0.188,
        "ex_concept": 1.043,
        "cov_concept": 0.56,
        "title_word": 0.754,
        "title_concept": 1.693,
        "explained": 1.021,
        "cov_word": 0.91,
        "cov_gram": 0.366,
        "covq_word": 0.283,
        "covq_gram": -0.006,
        "body_word": 0.604,
        "body_gram": 0.274,
        "bm25_word": 0.852,
        "bm25_gram": 0.319,
        "rare_word": 0.411,
        "rare_gram": 0.349,
        "bias": -2.291,
        "action": -0.601,
        "identifier": -0.533,
    },
    "intent": {
        "ex_word": 0.661,
        "ex_gram": 0.505,
        "ex_mix": 0.573,
        "top3": 0.333,
        "ex_concept": 1.143,
        "cov_word": 0.716,
        "cov_gram": 0.606,
        "cue": 1.468,
        "ident_match": 0.593,
        "action": 0.322,
        "info": -0.107,
        "reason": 0.318,
    },
    "intent_bias": {
        "order_status": 0.305,
        "logistics_tracking": 0.134,
        "after_sales_request": 0.174,
        "coupon_claim": 0.35,
        "human_agent": 0.433,
        "greeting": 0.174,
        "thanks_goodbye": 0.154,
    },
    "none": {"bias": 0.566, "unknown": 1.184},
    "confidence": {
        "logit_p": 0.171,
        "margin": 1.271,
        "unknown": -0.708,
        "support": 0.428,
        "terms": -0.03,
        "intent": 0.102,
        "bias": -0.384,
    },
}


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def fingerprint(record: ArticleRecord) -> str:
    digest = hashlib.blake2b(digest_size=12)
    for part in (record.title, record.body, *record.questions):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


Postings = dict[str, list[tuple[int, float]]]


def _postings(vectors: list[Vector]) -> Postings:
    """term -> [(exemplar index, weight)]: one pass over the query scores every exemplar."""
    postings: Postings = {}
    for i, vector in enumerate(vectors):
        for term, weight in vector.items():
            postings.setdefault(term, []).append((i, weight))
    return postings


def _dot_all(query: Vector, postings: Postings, n: int) -> list[float]:
    """Cosine of the (normalised) query with each of ``n`` normalised exemplars."""
    scores = [0.0] * n
    for term, weight in query.items():
        for i, other in postings.get(term, ()):
            scores[i] += weight * other
    return scores


def _concepts_of(terms) -> set[str]:
    return {t for t in terms if t.startswith("~")}


@dataclass(slots=True)
class Exemplar:
    word: Vector
    gram: Vector
    concept: Vector  # the ~concept terms only: comparable across languages


def _body_terms(tf: Counter, parts: list[Counter]) -> set[str]:
    """The terms of an article's body alone, from its term frequencies and its parts."""
    body = tf.copy()
    for part in parts:
        body.subtract({t: QUESTION_FIELD_WEIGHT * c for t, c in part.items()})
    return {t for t, c in body.items() if c > 0}


@dataclass(slots=True)
class PreparedArticle:
    record: ArticleRecord
    fingerprint: str
    exemplars: list[Exemplar]  # title, then each question
    part_words: list[Counter]  # per exemplar
    part_grams: list[Counter]
    body_word: Vector
    body_gram: Vector
    # what the article contains (the other language's concepts included)
    word_set: set[str]
    ex_word_set: set[str]
    ex_gram_set: set[str]
    # term frequencies: the body's, plus the title's and questions' QUESTION_FIELD_WEIGHT times
    tf_word: Counter
    tf_gram: Counter
    word_postings: Postings
    gram_postings: Postings
    concept_postings: Postings

    # A worker keeps thousands of these, so nothing is stored twice: the grams
    # are the keys of tf_gram, the body's own terms follow from tf and parts
    # (_body_terms).
    @property
    def gram_set(self) -> KeysView[str]:
        return self.tf_gram.keys()

    @property
    def length_word(self) -> int:
        return sum(self.tf_word.values())

    @property
    def length_gram(self) -> int:
        return sum(self.tf_gram.values())


@dataclass(slots=True)
class PreparedIntent:
    record: IntentRecord
    exemplars: dict[str, list[Exemplar]]
    parts: dict[str, list[Analysis]]
    word_sets: dict[str, set[str]]
    gram_sets: dict[str, set[str]]
    slot_names: tuple[str, ...]
    required: tuple[tuple[str, ...], ...]  # each group needs one of its slots
    slot_patterns: dict[str, re.Pattern[str]]


def required_groups(record: IntentRecord) -> tuple[tuple[str, ...], ...]:
    required = tuple((s["name"],) for s in record.slots if s.get("required"))
    if required or not record.slots:
        return required
    # No single slot is required but the intent has slots (logistics_tracking):
    # its slot_rule says one of them is enough.
    return (tuple(s["name"] for s in record.slots),)


class InMemoryRetriever:
    """Candidate articles from an inverted index over words and grams (idf-weighted)."""

    def __init__(self, scorer: Scorer, articles: Sequence[PreparedArticle]) -> None:
        self._scorer = scorer
        self._articles = list(articles)
        self._postings: dict[tuple[str, str], dict[str, list[int]]] = {}
        for position, prepared in enumerate(self._articles):
            language = prepared.record.language
            words_index = self._postings.setdefault((language, "w"), {})
            grams_index = self._postings.setdefault((language, "g"), {})
            for term in prepared.word_set:
                words_index.setdefault(term, []).append(position)
            for term in prepared.gram_set:
                grams_index.setdefault(term, []).append(position)

    def __call__(self, text: str, language: str, limit: int) -> list[ArticleRecord]:
        stats = self._scorer.stats
        scores: dict[int, float] = {}
        words_index = self._postings.get((language, "w"), {})
        grams_index = self._postings.get((language, "g"), {})
        for term in set(analyse(text).words):
            idf = stats.word_idf(term)
            for position in words_index.get(term, ()):
                scores[position] = scores.get(position, 0.0) + idf
        for term in set(content_grams(text)):
            idf = stats.gram_idf(term) * 0.5
            for position in grams_index.get(term, ()):
                scores[position] = scores.get(position, 0.0) + idf
        ranked = sorted(scores, key=lambda p: (-scores[p], p))[:limit]
        return [self._articles[p].record for p in ranked]


class Scorer:
    def __init__(self) -> None:
        self.stats = TermStats()
        self.speller: Speller | None = None
        self.articles: dict[tuple[str, str], PreparedArticle] = {}
        self.intents: dict[str, PreparedIntent] = {}
        self.retriever: Retriever | None = None
        self.model: dict[str, Any] = MODEL
        self.avg_length_word = 1.0
        self.avg_length_gram = 1.0
        self._loo_cache: dict[tuple[str, str, int], tuple] = {}
        self._retrieved: OrderedDict[tuple[str, str], PreparedArticle] = OrderedDict()
        self._cache_lock = threading.Lock()
        # how many topics (slugs) mention a term: a term few topics share is specific
        self.known_chars: set[str] = set()
        self.topic_word_df: Counter = Counter()
        self.topic_gram_df: Counter = Counter()

    # Building ------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        articles: Sequence[ArticleRecord],
        intents: Sequence[IntentRecord],
        *,
        retriever: Retriever | None = None,
    ) -> Scorer:
        ensure_segmenter()
        scorer = cls()
        texts: list[str] = []
        for article in articles:
            texts.extend([article.title, article.body, *article.questions])
        for intent in intents:
            texts.extend([*intent.examples_zh, *intent.examples_en])
        scorer.speller = Speller(latin_vocabulary(texts))

        analysed_articles = []
        for article in articles:
            parts = [analyse(article.title), *(analyse(q) for q in article.questions)]
            body = analyse(article.body)
            analysed_articles.append((article, parts, body))
            scorer.stats.add(
                [w for a in (*parts, body) for w in a.words],
                [g for a in (*parts, body) for g in a.grams],
            )
        analysed_intents = []
        for intent in intents:
            per_language = {}
            for language in ("zh", "en"):
                parts = [analyse(example) for example in intent.examples(language)]
                per_language[language] = parts
                scorer.stats.add(
                    [w for a in parts for w in a.words], [g for a in parts for g in a.grams]
                )
            analysed_intents.append((intent, per_language))
        scorer.stats.freeze()
        scorer.known_chars = {
            ch for gram in scorer.stats.gram_df for ch in gram if CJK_RE.match(ch)
        }

        for article, parts, body in analysed_articles:
            prepared = scorer._prepare_article(article, parts, body)
            scorer.articles[(article.slug, article.language)] = prepared
        scorer._lend_concepts()
        topics: dict[str, tuple[set, set]] = {}
        for (slug, _), prepared in scorer.articles.items():
            words_, grams_ = topics.setdefault(slug, (set(), set()))
            words_ |= prepared.word_set
            grams_.update(prepared.gram_set)
        for words_, grams_ in topics.values():
            scorer.topic_word_df.update(words_)
            scorer.topic_gram_df.update(grams_)
        if scorer.articles:
            scorer.avg_length_word = sum(p.length_word for p in scorer.articles.values()) / len(
                scorer.articles
            )
            scorer.avg_length_gram = sum(p.length_gram for p in scorer.articles.values()) / len(
                scorer.articles
            )
        for intent, per_language in analysed_intents:
            scorer.intents[intent.name] = scorer._prepare_intent(intent, per_language)
        scorer.retriever = retriever or InMemoryRetriever(scorer, list(scorer.articles.values()))
        return scorer

    def _exemplar(self, analysis: Analysis) -> Exemplar:
        concepts = Counter({t: c for t, c in analysis.words.items() if t.startswith("~")})
        return Exemplar(
            word=weigh(analysis.words, self.stats.word_idf),
            gram=weigh(analysis.grams, self.stats.gram_idf),
            concept=weigh(concepts, self.stats.word_idf),
        )

    def _prepare_article(
        self,
        article: ArticleRecord,
        parts: list[Analysis] | None = None,
        body: Analysis | None = None,
    ) -> PreparedArticle:
        if parts is None:
            parts = [analyse(article.title), *(analyse(q) for q in article.questions)]
        body = body or analyse(article.body)
        ex_word_set = set().union(*(p.words for p in parts))
        ex_gram_set = set().union(*(p.grams for p in parts))
        tf_word: Counter = Counter(body.words)
        tf_gram: Counter = Counter(body.grams)
        for part in parts:
            for term, count in part.words.items():
                tf_word[term] += QUESTION_FIELD_WEIGHT * count
            for term, count in part.grams.items():
                tf_gram[term] += QUESTION_FIELD_WEIGHT * count
        exemplars = [self._exemplar(p) for p in parts]
        return PreparedArticle(
            record=article,
            fingerprint=fingerprint(article),
            exemplars=exemplars,
            word_postings=_postings([e.word for e in exemplars]),
            gram_postings=_postings([e.gram for e in exemplars]),
            concept_postings=_postings([e.concept for e in exemplars]),
            part_words=[p.words for p in parts],
            part_grams=[p.grams for p in parts],
            body_word=weigh(body.words, self.stats.word_idf),
            body_gram=weigh(body.grams, self.stats.gram_idf),
            word_set=ex_word_set | set(body.words),
            ex_word_set=ex_word_set,
            ex_gram_set=ex_gram_set,
            tf_word=tf_word,
            tf_gram=tf_gram,
        )

    def _sibling(self, prepared: PreparedArticle) -> PreparedArticle | None:
        other = "en" if prepared.record.language == "zh" else "zh"
        key = (prepared.record.slug, other)
        return self.articles.get(key) or self._retrieved.get(key)

    def _lend_concepts(self) -> None:
        """The two language versions of a topic share their concepts."""
        own = {
            key: (
                _concepts_of(p.word_set),
                _concepts_of(p.ex_word_set),
            )
            for key, p in self.articles.items()
        }
        for prepared in self.articles.values():
            sibling = self._sibling(prepared)
            if sibling is None:
                continue
            all_concepts, ex_concepts = own[(sibling.record.slug, sibling.record.language)]
            prepared.word_set |= all_concepts
            prepared.ex_word_set |= ex_concepts

    def _prepare_intent(
        self, intent: IntentRecord, per_language: dict[str, list[Analysis]]
    ) -> PreparedIntent:
        exemplars, word_sets, gram_sets = {}, {}, {}
        for language, parts in per_language.items():
            exemplars[language] = [self._exemplar(a) for a in parts]
            word_sets[language] = set().union(*(a.words for a in parts)) if parts else set()
            gram_sets[language] = set().union(*(a.grams for a in parts)) if parts else set()
        patterns = {s["name"]: re.compile(s["regex"]) for s in intent.slots if s.get("regex")}
        return PreparedIntent(
            record=intent,
            exemplars=exemplars,
            parts=per_language,
            word_sets=word_sets,
            gram_sets=gram_sets,
            slot_names=tuple(s["name"] for s in intent.slots),
            required=required_groups(intent),
            slot_patterns=patterns,
        )

    def prepared(self, record: ArticleRecord) -> PreparedArticle:
        """The prepared form of a record. Records given to ``build`` are kept;
        records a retriever returns are prepared on first use and kept in a
        bounded LRU cache (a changed record is prepared again)."""
        key = (record.slug, record.language)
        cached = self.articles.get(key)
        if cached is None:
            with self._cache_lock:
                cached = self._retrieved.get(key)
                if cached is not None:
                    self._retrieved.move_to_end(key)
        if cached is not None and (
            cached.record is record or cached.fingerprint == fingerprint(record)
        ):
            return cached
        prepared = self._prepare_article(record)
        with self._cache_lock:
            self._retrieved[key] = prepared
            while len(self._retrieved) > RETRIEVED_CACHE_SIZE:
                self._retrieved.popitem(last=False)
        return prepared

    def _left_out(self, prepared: PreparedArticle, index: int) -> tuple:
        """The article's sets and term frequencies without exemplar ``index`` (and
        without the other language's exemplar at the same position, its translation)."""
        key = (prepared.record.slug, prepared.record.language, index)
        if key in self._loo_cache:
            return self._loo_cache[key]
        keep = [i for i in range(len(prepared.part_words)) if i != index]
        ex_words = set().union(*(prepared.part_words[i] for i in keep))
        ex_grams = set().union(*(prepared.part_grams[i] for i in keep))
        words_all = ex_words | _body_terms(prepared.tf_word, prepared.part_words)
        grams_all = ex_grams | _body_terms(prepared.tf_gram, prepared.part_grams)
        sibling = self._sibling(prepared)
        if sibling is not None:
            sib_keep = [i for i in range(len(sibling.part_words)) if i != index]
            sib_ex = _concepts_of(set().union(*(sibling.part_words[i] for i in sib_keep)))
            ex_words |= sib_ex
            words_all |= sib_ex | _concepts_of(_body_terms(sibling.tf_word, sibling.part_words))
        tf_word = prepared.tf_word.copy()
        tf_word.subtract(
            {t: QUESTION_FIELD_WEIGHT * c for t, c in prepared.part_words[index].items()}
        )
        tf_gram = prepared.tf_gram.copy()
        tf_gram.subtract(
            {t: QUESTION_FIELD_WEIGHT * c for t, c in prepared.part_grams[index].items()}
        )
        result = (words_all, grams_all, ex_words, ex_grams, +tf_word, +tf_gram)
        self._loo_cache[key] = result
        return result

    # Features ------------------------------------------------------------------------

    @staticmethod
    def _bm25(query: Vector, tf: Counter, length: float, average: float) -> float:
        """BM25 with the query's own tf-idf weights, divided by its best possible value."""
        k1, b = 1.2, 0.75
        norm = k1 * (1 - b + b * length / max(average, 1.0))
        total = matched = 0.0
        for term, weight in query.items():
            total += weight
            f = tf.get(term, 0)
            if f > 0:
                matched += weight * f * (k1 + 1) / (f + norm) / (k1 + 1)
        return matched / total if total else 0.0

    @staticmethod
    def _rare(query: Vector, present: set[str], topic_df: Counter) -> float:
        total = sum(w * w for w in query.values())
        if not total:
            return 0.0
        hit = sum(w * w for t, w in query.items() if t in present and 0 < topic_df[t] <= 2)
        return hit / total

    def article_features(
        self,
        query: Analysis,
        qw: Vector,
        qg: Vector,
        qc: Vector,
        cues: dict,
        article: PreparedArticle,
        exclude: int | None,
    ) -> dict[str, float]:
        n = len(article.exemplars)
        by_word = _dot_all(qw, article.word_postings, n)
        by_gram = _dot_all(qg, article.gram_postings, n)
        if exclude is not None:
            by_word[exclude] = by_gram[exclude] = 0.0
        best_w = max(by_word, default=0.0)
        best_g = max(by_gram, default=0.0)
        best_mix = max(((w + g) / 2 for w, g in zip(by_word, by_gram, strict=True)), default=0.0)
        sibling = self._sibling(article)
        best_concept = 0.0
        if qc:
            for source in (article, sibling):
                if source is None:
                    continue
                by_concept = _dot_all(qc, source.concept_postings, len(source.exemplars))
                if exclude is not None and exclude < len(by_concept):
                    by_concept[exclude] = 0.0
                best_concept = max(best_concept, max(by_concept, default=0.0))
        query_terms = query.words
        title = article.exemplars[0]
        title_word = coverage(title.word, query_terms) if exclude != 0 else 0.0
        title_concept = coverage(title.concept, query_terms)
        if sibling is not None:
            title_concept = max(title_concept, coverage(sibling.exemplars[0].concept, query_terms))
        if exclude is None:
            word_set, gram_set = article.word_set, article.gram_set
            ex_word_set, ex_gram_set = article.ex_word_set, article.ex_gram_set
            tf_word, tf_gram = article.tf_word, article.tf_gram
        else:
            word_set, gram_set, ex_word_set, ex_gram_set, tf_word, tf_gram = self._left_out(
                article, exclude
            )
        return {
            "ex_word": best_w,
            "ex_gram": best_g,
            "ex_mix": best_mix,
            "ex_concept": best_concept,
            "cov_concept": coverage(qc, word_set),
            "title_word": title_word,
            "title_concept": title_concept,
            "explained": explained(qw, query.absorbed, word_set),
            "cov_word": coverage(qw, word_set),
            "cov_gram": coverage(qg, gram_set),
            "covq_word": coverage(qw, ex_word_set),
            "covq_gram": coverage(qg, ex_gram_set),
            "body_word": cosine(qw, article.body_word),
            "body_gram": cosine(qg, article.body_gram),
            "bm25_word": self._bm25(qw, tf_word, sum(tf_word.values()), self.avg_length_word),
            "bm25_gram": self._bm25(qg, tf_gram, sum(tf_gram.values()), self.avg_length_gram),
            "rare_word": self._rare(qw, word_set, self.topic_word_df),
            "rare_gram": self._rare(qg, gram_set, self.topic_gram_df),
            "bias": 1.0,
            "action": cues["action"],
            "identifier": cues["identifier"],
        }

    def intent_features(
        self,
        qw: Vector,
        qg: Vector,
        qc: Vector,
        cues: dict,
        language: str,
        intent: PreparedIntent,
        exclude: int | None,
    ) -> dict[str, float]:
        best_concept = 0.0
        if qc:
            for source_language, exemplars in intent.exemplars.items():
                for i, exemplar in enumerate(exemplars):
                    if source_language == language and i == exclude:
                        continue
                    best_concept = max(best_concept, cosine(qc, exemplar.concept))
        mixes = []
        best_w = best_g = 0.0
        for i, exemplar in enumerate(intent.exemplars.get(language, ())):
            if i == exclude:
                continue
            w = cosine(qw, exemplar.word)
            g = cosine(qg, exemplar.gram)
            best_w = max(best_w, w)
            best_g = max(best_g, g)
            mixes.append((w + g) / 2)
        mixes.sort(reverse=True)
        if exclude is None:
            word_set = intent.word_sets.get(language, set())
            gram_set = intent.gram_sets.get(language, set())
        else:
            parts = [a for i, a in enumerate(intent.parts[language]) if i != exclude]
            word_set = set().union(*(a.words for a in parts))
            gram_set = set().union(*(a.grams for a in parts))
        name = intent.record.name
        transactional = 1.0 if name in TRANSACTIONAL else 0.0
        return {
            "ex_word": best_w,
            "ex_gram": best_g,
            "ex_mix": mixes[0] if mixes else 0.0,
            "top3": sum(mixes[:3]) / 3 if mixes else 0.0,
            "ex_concept": best_concept,
            "cov_word": coverage(qw, word_set),
            "cov_gram": coverage(qg, gram_set),
            "cue": 1.0 if name in cues["intent_cues"] else 0.0,
            "ident_match": 1.0 if self.takes_identifier(intent, cues) else 0.0,
            "action": cues["action"] * transactional,
            "info": cues["info"] * transactional,
            "reason": 1.0 if cues["reason"] and name == "after_sales_request" else 0.0,
        }

    @staticmethod
    def takes_identifier(intent: PreparedIntent, cues: dict) -> bool:
        return any(
            cues.get(k) and k in intent.slot_names for k in ("order_number", "tracking_number")
        )

    def eligible(self, intent: PreparedIntent, cues: dict) -> bool:
        """An intent is only considered when the message asks for it: its request
        wording, or an identifier it takes; human_agent, a mention of a person."""
        name = intent.record.name
        if name == HANDOFF_INTENT:
            return cues["person"]
        return name in cues["intent_cues"] or self.takes_identifier(intent, cues)

    @staticmethod
    def cues(normalized: str) -> dict:
        order = lexicon.ORDER_NUMBER_RE.search(normalized)
        tracking = lexicon.TRACKING_NUMBER_RE.search(normalized)
        intent_cues = {name for name, cue in lexicon.INTENT_CUES.items() if cue.search(normalized)}
        action = bool(lexicon.ACTION_CUE.search(normalized))
        if "coupon_claim" in intent_cues and (
            lexicon.COUPON_RULES.search(normalized) or not lexicon.COUPON_WORD.search(normalized)
        ):
            intent_cues.discard("coupon_claim")
        # "退货/return" alone is as often a policy question: a request asks for it
        # ("我要退货", "I want to return") or names the order.
        if "after_sales_request" in intent_cues and not (action or order or tracking):
            intent_cues.discard("after_sales_request")
        return {
            "order_number": bool(order),
            "tracking_number": bool(tracking),
            "identifier": 1.0 if order or tracking else 0.0,
            "action": 1.0 if action else 0.0,
            "info": 1.0 if lexicon.INFO_CUE.search(normalized) else 0.0,
            "reason": lexicon.reason_in(normalized),
            "intent_cues": intent_cues,
            "person": bool(
                lexicon.PERSON_MENTION.search(normalized)
                or lexicon.HANDOFF_REQUEST.search(normalized)
            ),
        }

    def _without_stray_characters(self, query: Analysis) -> Analysis:
        """A lone Chinese character the material never uses as a word is a
        segmentation leftover (发, 掉): its meaning stays in the n-grams."""
        stray = [
            t
            for t in query.words
            if len(t) == 1 and CJK_RE.match(t) and not self.stats.known_word(t)
        ]
        if not stray:
            return query
        words = Counter({t: c for t, c in query.words.items() if t not in stray})
        return Analysis(text=query.text, words=words, grams=query.grams, absorbed=query.absorbed)

    def unknown_share(self, query: Analysis, qw: Vector) -> float:
        """Share of the message's word weight on words the material never uses
        (and no concept accounts for): "weather", "股票", "calculus"."""
        total = sum(w * w for w in qw.values())
        if not total:
            return 1.0
        absorbed = set().union(*query.absorbed.values()) if query.absorbed else set()
        unknown = sum(w * w for t, w in qw.items() if t not in absorbed and not self._known(t))
        return unknown / total

    def _known(self, term: str) -> bool:
        if self.stats.known_word(term):
            return True
        if CJK_RE.fullmatch(term) and len(term) == 1:
            return term in self.known_chars
        if CJK_RE.fullmatch(term) and len(term) >= 2:
            # jieba may cut the material differently: known when its characters
            # appear together in the material
            pairs = [term[i : i + 2] for i in range(len(term) - 1)]
            return sum(self.stats.known_gram(p) for p in pairs) * 2 >= len(pairs)
        return False

    def linear(self, kind: str, features: dict[str, float], label: str | None = None) -> float:
        weights = self.model[kind]
        score = sum(weights.get(name, 0.0) * value for name, value in features.items())
        if kind == "intent" and label is not None:
            score += self.model["intent_bias"].get(label, 0.0)
        return score

    def score(
        self,
        text: str,
        language: str,
        *,
        exclude: tuple[str, str, int] | None = None,
        include_none: bool = False,
    ) -> tuple[list[dict], Analysis, dict]:
        """Every label (candidate articles and eligible intents), best first.

        Each row: kind, label, features, raw score and softmax probability ``p``
        (the softmax includes a "none of these" row, returned only with
        ``include_none``; its probability is ``cues["p_none"]``).
        ``exclude`` = (kind, label, index) leaves one question/example out of
        its own label's material: how the model is fitted without seeing the
        answer.
        """
        normalized = normalize(text)
        cues = self.cues(normalized)
        query = self._without_stray_characters(analyse(normalized, self.speller))
        rows: list[dict] = []
        if query.empty:
            return rows, query, cues
        qw = weigh(query.words, self.stats.word_idf)
        qg = weigh(query.grams, self.stats.gram_idf)
        qc = weigh(
            Counter({t: c for t, c in query.words.items() if t.startswith("~")}),
            self.stats.word_idf,
        )
        cues["unknown"] = self.unknown_share(query, qw)
        cues["terms"] = sum(1 for t in query.words if not t.startswith("~"))
        candidates = self.retriever(query.text, language, CANDIDATES) if self.retriever else []
        for record in candidates:
            prepared = self.prepared(record)
            skip = None
            if exclude and exclude[0] == "article" and exclude[1] == record.slug:
                skip = exclude[2]
            features = self.article_features(query, qw, qg, qc, cues, prepared, skip)
            rows.append(
                {
                    "kind": "article",
                    "label": record.slug,
                    "features": features,
                    "raw": self.linear("article", features),
                }
            )
        for name, intent in self.intents.items():
            if not self.eligible(intent, cues):
                continue
            skip = None
            if exclude and exclude[0] == "intent" and exclude[1] == name:
                skip = exclude[2]
            features = self.intent_features(qw, qg, qc, cues, language, intent, skip)
            rows.append(
                {
                    "kind": "intent",
                    "label": name,
                    "features": features,
                    "raw": self.linear("intent", features, name),
                }
            )
        # "None of these": competes in the softmax, so that a lone weak candidate
        # is not certain just because it is alone.
        none_features = {"bias": 1.0, "unknown": cues["unknown"]}
        none = {
            "kind": "none",
            "label": None,
            "features": none_features,
            "raw": self.linear("none", none_features),
        }
        rows.append(none)
        top = max(row["raw"] for row in rows)
        total = sum(math.exp(row["raw"] - top) for row in rows)
        for row in rows:
            row["p"] = math.exp(row["raw"] - top) / total
        rows.sort(key=lambda row: -row["raw"])
        cues["p_none"] = none["p"]
        cues["none_raw"] = none["raw"]
        if not include_none:
            rows = [row for row in rows if row is not none]
        return rows, query, cues

    @staticmethod
    def confidence_features(rows: list[dict], cues: dict, index: int = 0) -> dict[str, float]:
        """Inputs of the confidence model for ``rows[index]`` (probabilities as given)."""
        row = rows[index]
        others = [r["raw"] for i, r in enumerate(rows) if i != index]
        if "none_raw" in cues:
            others.append(cues["none_raw"])
        margin = row["raw"] - max(others) if others else 5.0
        features = row["features"]
        support = features.get("explained", features.get("cov_word", 0.0))
        return {
            "logit_p": logit(row["p"]),
            "margin": max(min(margin, 5.0), -5.0),
            "unknown": cues.get("unknown", 0.0),
            "support": support,
            "terms": min(cues.get("terms", 0), 6) / 6,
            "intent": 1.0 if row["kind"] == "intent" else 0.0,
            "bias": 1.0,
        }

    def confidence(self, rows: list[dict], cues: dict, index: int = 0) -> float:
        """Calibrated probability that ``rows[index]`` is the right answer (see calibration.py)."""
        weights = self.model["confidence"]
        features = self.confidence_features(rows, cues, index)
        return sigmoid(sum(weights.get(k, 0.0) * v for k, v in features.items()))


__all__ = [
    "ARTICLE_FEATURES",
    "CANDIDATES",
    "CONFIDENCE_FEATURES",
    "HANDOFF_INTENT",
    "INTENT_FEATURES",
    "MODEL",
    "TRANSACTIONAL",
    "InMemoryRetriever",
    "PreparedArticle",
    "PreparedIntent",
    "Retriever",
    "Scorer",
]
