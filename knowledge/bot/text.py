"""Text normalisation and tokenisation shared by the bot and the PostgreSQL search.

Everything here is deterministic and depends on nothing but the text, so the
lexemes written into ``Article.search_vector`` and the ones the bot computes for
a question are the same. Chinese is segmented with jieba (search mode, so a
long word also yields its parts), English is lower-cased and Snowball-stemmed;
mixed text ("Lumen Buds 耳机怎么连 iPad") is handled run by run, whatever the
``language`` argument says, so a Latin product name inside Chinese text and a
Chinese word inside English text are both found.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from functools import lru_cache

import jieba
import snowballstemmer

__all__ = [
    "CJK_RE",
    "char_ngrams",
    "detect_language",
    "ensure_segmenter",
    "normalize",
    "stem",
    "tokens",
    "words",
]

CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# A Latin "word": letters/digits, with an inner apostrophe (don't, i'd) kept.
LATIN_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
RUN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+(?:'[a-z]+)?")
_SPACES_RE = re.compile(r"\s+")

# Punctuation NFKC leaves alone but that reads the same as its ASCII form.
_PUNCT_MAP = str.maketrans(
    {
        "。": ".",
        "、": ",",
        "「": '"',
        "」": '"',
        "『": '"',
        "』": '"',
        "【": "[",
        "】": "]",
        "《": "<",
        "》": ">",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "…": "...",
        "—": "-",
        "–": "-",
        "～": "~",
    }
)

EN_STOPWORDS = frozenset(
    """
    a about above after again all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do
    does doesn't doing don't down during each few for from further had hadn't has hasn't
    have haven't having he he'd he'll he's her here here's hers herself him himself his how
    how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's me more most
    mustn't my myself nor of off on once only or other ought our ours ourselves out over own
    please same shan't she she'd she'll she's should shouldn't so some such than that that's
    the their theirs them themselves then there there's these they they'd they'll they're
    they've this those through to too under until up very was wasn't we we'd we'll we're
    we've were weren't what what's when when's where where's which while who who's whom why
    why's will with won't would wouldn't you you'd you'll you're you've your yours yourself
    yourselves oh um uh get gets got getting still need needs want wants wanted like would
    something anything everything thing things someone anyone know tell way also just really
    kind sort able make go going come now already ever even much many every lot lots bit
    several since yet though although however anyway maybe perhaps probably actually absolutely
    totally completely simply basically literally yesterday today tomorrow tonight moment
    idea anymore lately recently soon later ago
    """.split()
)

ZH_STOPWORDS = frozenset(
    """
    的 了 吗 呢 吧 啊 呀 哦 嘛 么 哈 啦 嗯 喔 哇 着 过 地 得 之 与 及 和 或 而 是 在 有 就 都
    也 还 又 很 太 更 最 这 那 这个 那个 这样 那样 这些 那些 我 你 您 他 她 它 我们 你们 他们 咱
    自己 一下 一个 个 请 请问 麻烦 怎么 怎么样 怎样 如何 什么 啥 吗 呗 一些 有点
    就是 还是 但是 可是 然后 那么 这么 如果 的话 一 下 把 被 让 给 对 向 从 到 跟 为 于 上 中
    能 可以 要 后 以后 之后 时候 帮 怎么办 为什么 一般 还能 现在 已经 是不是 有没有 能不能
    可不可以 东西 吗 想 会 需要 应该 得 该 没 不 请问 下 里 里面 呢 您好 一直 到底 意思 什么意思
    """.split()
)

_stemmer_lock = threading.Lock()
_stemmer = snowballstemmer.stemmer("english")
_segmenter_ready = False
_segmenter_lock = threading.Lock()


def ensure_segmenter() -> None:
    """Load jieba's dictionary once per process (about a second), quietly."""
    global _segmenter_ready
    if _segmenter_ready:
        return
    with _segmenter_lock:
        if not _segmenter_ready:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _segmenter_ready = True


def normalize(text: str) -> str:
    """NFKC (full-width to half-width), lower case, one space between words."""
    text = unicodedata.normalize("NFKC", text or "").translate(_PUNCT_MAP).lower()
    return _SPACES_RE.sub(" ", text).strip()


def detect_language(text: str) -> str:
    """ "zh" when Chinese characters are at least as many as Latin words, else "en".

    Short Chinese replies often carry a Latin word or an order number
    ("OK 谢啦", "LM20261103 发货了吗"), so Chinese wins ties.
    """
    text = normalize(text)
    cjk = sum(len(run) for run in CJK_RE.findall(text))
    if not cjk:
        return "en"
    latin_words = [w for w in LATIN_RE.findall(text) if not w.isdigit()]
    return "zh" if cjk >= len(latin_words) else "en"


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    with _stemmer_lock:
        return _stemmer.stemWord(word)


def words(text: str) -> list[str]:
    """The normalised text cut into CJK runs and Latin words, in order (no stemming)."""
    return RUN_RE.findall(normalize(text))


@lru_cache(maxsize=8192)
def _segment(run: str) -> tuple[str, ...]:
    ensure_segmenter()
    return tuple(w for w in jieba.cut_for_search(run) if w.strip())


# A quantity (五天, 三遍, 两个, 半个) counts something; it is not a topic.
_ZH_QUANTITY_RE = re.compile(
    r"^第?[0-9零一二两三四五六七八九十百千万几半多每]+[天日周月年次遍回个件只张台块元分秒小时钟号点期]*$"
)


def _latin_token(word: str) -> str | None:
    if word in EN_STOPWORDS:
        return None
    if sum(ch.isdigit() for ch in word) > 4:
        return None  # order/tracking/phone numbers: identifiers, not topics
    if "'" in word:
        word = word.split("'", 1)[0]
        if word in EN_STOPWORDS or len(word) < 2:
            return None
    return stem(word)


def tokens(text: str, language: str = "zh") -> list[str]:
    """Index terms: jieba words for Chinese runs, stemmed words for Latin runs.

    Stopwords and punctuation are dropped. ``language`` is accepted for the
    callers' clarity; each run is handled by its own script.
    """
    out: list[str] = []
    for run in words(text):
        if CJK_RE.fullmatch(run):
            out.extend(
                w for w in _segment(run) if w not in ZH_STOPWORDS and not _ZH_QUANTITY_RE.match(w)
            )
        else:
            token = _latin_token(run)
            if token:
                out.append(token)
    return out


def char_ngrams(text: str, n: int = 2) -> list[str]:
    """CJK character n-grams (a lone character stands for itself) and, for each
    Latin word, its character trigrams with ``#`` marking the word's edges, so
    "retrun" still shares most grams with "return"."""
    out: list[str] = []
    for run in words(text):
        if CJK_RE.fullmatch(run):
            if len(run) < n:
                out.append(run)
            else:
                out.extend(run[i : i + n] for i in range(len(run) - n + 1))
        elif sum(ch.isdigit() for ch in run) <= 4:
            padded = f"#{run}#"
            out.extend(padded[i : i + 3] for i in range(len(padded) - 2))
    return out
