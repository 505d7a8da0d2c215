"""Sparse term vectors, corpus statistics and a small spelling corrector.

Two views of a text are kept side by side: *words* (jieba words / stemmed
English, ``text.tokens``) and *grams* (CJK bigrams / Latin trigrams,
``text.char_ngrams``). Words are precise; grams survive segmentation
differences and typos. Each view has its own inverse document frequencies.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from .concepts import concept_spans
from .lexicon import ORDER_NUMBER_RE, TRACKING_NUMBER_RE
from .text import CJK_RE, EN_STOPWORDS, LATIN_RE, RUN_RE, normalize, stem, tokens

Vector = dict[str, float]


@dataclass(frozen=True, slots=True)
class Analysis:
    """A text as the scorer sees it."""

    text: str  # normalised, identifiers masked, typos corrected
    words: Counter
    grams: Counter
    # concept -> the words of the text it stands for ("~account" -> {"regist"})
    absorbed: dict = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.words and not self.grams


def mask_identifiers(normalized: str) -> str:
    """Order and tracking numbers say which order, not what the question is."""
    text = ORDER_NUMBER_RE.sub(" ", normalized)
    return TRACKING_NUMBER_RE.sub(" ", text)


def content_grams(text: str) -> list[str]:
    """``char_ngrams`` over CJK runs and the non-stopword Latin words."""
    out: list[str] = []
    for run in RUN_RE.findall(text):
        if CJK_RE.fullmatch(run):
            if len(run) < 2:
                out.append(run)
            else:
                out.extend(run[i : i + 2] for i in range(len(run) - 1))
        elif run not in EN_STOPWORDS and sum(ch.isdigit() for ch in run) <= 4:
            padded = f"#{run}#"
            out.extend(padded[i : i + 3] for i in range(len(padded) - 2))
    return out


def analyse(text: str, speller: Speller | None = None) -> Analysis:
    normalized = mask_identifiers(normalize(text))
    if speller is not None:
        normalized = speller.correct_text(normalized)
    spans = concept_spans(normalized)
    concept_counts = Counter({name: min(len(found), 3) for name, found in spans.items()})
    return Analysis(
        text=normalized,
        # bare numbers ("50", "199") say little about the topic and much about noise
        words=Counter(t for t in tokens(normalized) if not t.isdigit()) + concept_counts,
        grams=Counter(content_grams(normalized)),
        absorbed={
            name: frozenset(t for span in found for t in tokens(span))
            for name, found in spans.items()
        },
    )


class TermStats:
    """Document frequencies for the two views; unseen terms count as rare."""

    def __init__(self) -> None:
        self.documents = 0
        self.word_df: Counter = Counter()
        self.gram_df: Counter = Counter()
        self._word_idf: dict[str, float] = {}
        self._gram_idf: dict[str, float] = {}

    def add(self, words: Iterable[str], grams: Iterable[str]) -> None:
        self.documents += 1
        self.word_df.update(set(words))
        self.gram_df.update(set(grams))

    def freeze(self) -> None:
        self._word_idf = {t: self._idf(df) for t, df in self.word_df.items()}
        self._gram_idf = {t: self._idf(df) for t, df in self.gram_df.items()}
        self._unseen = self._idf(0)

    def _idf(self, df: int) -> float:
        n = max(self.documents, 1)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def word_idf(self, term: str) -> float:
        return self._word_idf.get(term, self._unseen)

    def gram_idf(self, term: str) -> float:
        return self._gram_idf.get(term, self._unseen)

    def known_word(self, term: str) -> bool:
        return term in self._word_idf

    def known_gram(self, term: str) -> bool:
        return term in self._gram_idf


def weigh(counts: Counter, idf) -> Vector:
    """Sublinear tf times idf, L2-normalised."""
    vec = {t: (1.0 + math.log(c)) * idf(t) for t, c in counts.items() if c > 0}
    norm = math.sqrt(sum(w * w for w in vec.values()))
    if not norm:
        return {}
    return {t: w / norm for t, w in vec.items()}


def cosine(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def coverage(query: Vector, present: set[str] | dict) -> float:
    """Share of the query's weight whose terms the other side contains."""
    total = sum(w * w for w in query.values())
    if not total:
        return 0.0
    return sum(w * w for t, w in query.items() if t in present) / total


def explained(query: Vector, absorbed: dict, present: set[str] | dict) -> float:
    """Like ``coverage``, but a word also counts as found when a concept it
    belongs to is found ("register" is explained by an article about accounts)."""
    total = sum(w * w for w in query.values())
    if not total:
        return 0.0
    extra = set()
    for concept, members in absorbed.items():
        if concept in present:
            extra |= members
    return sum(w * w for t, w in query.items() if t in present or t in extra) / total


def damerau_levenshtein(a: str, b: str, limit: int = 2) -> int:
    """Optimal string alignment distance, giving up past ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


class Speller:
    """Corrects a Latin word the vocabulary lacks to a known word one edit away.

    SymSpell-style: every vocabulary word of five letters or more is indexed
    under its single-letter deletions, so a lookup is a handful of dict hits.
    Words shorter than five letters are left alone (too many near neighbours:
    "sell"/"tell", "car"/"card").
    """

    MIN_LENGTH = 5

    def __init__(self, vocabulary: Counter) -> None:
        self.vocabulary = vocabulary
        # an inflection of a known word ("updated" for "update") is no typo
        self._stems = {stem(word) for word in vocabulary}
        self._deletes: dict[str, list[str]] = {}
        for word in vocabulary:
            if len(word) >= self.MIN_LENGTH - 1 and word.isalpha():
                for key in self._variants(word):
                    self._deletes.setdefault(key, []).append(word)
        self._cache: dict[str, str] = {}

    @staticmethod
    def _variants(word: str) -> set[str]:
        return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}

    def correct(self, word: str) -> str:
        if word in self.vocabulary or len(word) < self.MIN_LENGTH or not word.isalpha():
            return word
        if stem(word) in self._stems:
            return word
        if word in self._cache:
            return self._cache[word]
        candidates: set[str] = set()
        for key in self._variants(word):
            candidates.update(self._deletes.get(key, ()))
        best = word
        best_key = (2, 0)
        for candidate in candidates:
            distance = damerau_levenshtein(word, candidate, limit=1)
            if distance > 1:
                continue
            key = (distance, -self.vocabulary[candidate])
            if key < best_key:
                best, best_key = candidate, key
        if len(self._cache) < 50_000:
            self._cache[word] = best
        return best

    def correct_text(self, normalized: str) -> str:
        return LATIN_RE.sub(lambda m: self.correct(m.group(0)), normalized)


def latin_vocabulary(texts: Iterable[str]) -> Counter:
    vocabulary: Counter = Counter()
    for text in texts:
        vocabulary.update(w for w in LATIN_RE.findall(normalize(text)) if w.isalpha())
    return vocabulary


__all__ = [
    "Analysis",
    "Speller",
    "TermStats",
    "Vector",
    "analyse",
    "content_grams",
    "cosine",
    "coverage",
    "damerau_levenshtein",
    "explained",
    "latin_vocabulary",
    "mask_identifiers",
    "weigh",
]
