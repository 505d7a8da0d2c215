"""How ``scoring.MODEL`` and ``engine.THRESHOLDS`` were obtained.

``python -m knowledge.bot.calibration /path/to/shared/data [model.json]``
refits and prints new constants (about a minute); re-run it after large
changes to the knowledge base, the intents, the features or the lexicons,
and paste the printed MODEL into ``scoring.py``.

1. **Ranking weights** — a conditional logit: a softmax over the candidate
   articles, the eligible intents and a "none of these" row, one weight per
   feature shared by all labels of a kind, a bias per intent, and a bias plus
   an unknown-words weight for "none". Fitted by maximum likelihood (Adam, L2
   penalty) on:
   - the material itself: every knowledge-base question and every intent
     example as a query, *left out* of its own label (its words no longer
     count for its article or intent, nor does the other language's version of
     the same question), so the model learns how a paraphrase relates to the
     rest of a label's material rather than recognising the sentence;
   - real questions: the *tune* half of dev (``evaluate.split_rows``), the
     written paraphrases in ``paraphrases.jsonl`` and the out-of-scope
     messages below, together weighted like the material.
2. **Confidence** — a weighted logistic regression of "the top label is right"
   on ``scoring.CONFIDENCE_FEATURES`` over the same kinds of questions (the
   left-out material counts a quarter: it is harder than what customers ask).
3. **Thresholds** — decision theory rather than a search: with a wrong answer
   costing ``WRONG_ANSWER_COST`` (2) fallbacks, act when the calibrated
   confidence is at least 1/2. The utility of a few other thresholds is
   printed as a check.

The held-out half of dev is never used to fit anything; it is only reported.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from .engine import Engine
from .evaluate import evaluate, load_records, load_rows, split_rows
from .scoring import ARTICLE_FEATURES, CONFIDENCE_FEATURES, HANDOFF_INTENT, INTENT_FEATURES
from .scoring import sigmoid as _sigmoid

# Questions written for training (not from any labelled set): paraphrases of
# the demo articles and intents, handoffs and out-of-scope messages, one JSON
# object a line in the format of dev.jsonl.
PARAPHRASES = Path(__file__).with_name("paraphrases.jsonl")


def training_queries(articles, intents):
    for article in articles:
        for i, question in enumerate(article.questions):
            # exemplar 0 is the title, questions follow
            yield question, article.language, ("article", article.slug, i + 1)
    for intent in intents:
        for language in ("zh", "en"):
            for j, example in enumerate(intent.examples(language)):
                yield example, language, ("intent", intent.name, j)


def _parameters(intent_names):
    params = [("article", f) for f in ARTICLE_FEATURES]
    params += [("intent", f) for f in INTENT_FEATURES]
    params += [("intent_bias", name) for name in intent_names]
    params += [("none", "bias"), ("none", "unknown")]
    return params


def labelled_queries(rows: list[dict]):
    """Dev rows as (text, language, (kind, label, None)); out of scope is ("none", None)."""
    for row in rows:
        expect = row["expect"]
        if expect["kind"] == "article":
            yield row["text"], row.get("lang") or "zh", ("article", expect["slug"], None)
        elif expect["kind"] == "intent":
            yield row["text"], row.get("lang") or "zh", ("intent", expect["intent"], None)
        elif expect["kind"] == "none":
            yield row["text"], row.get("lang") or "zh", ("none", None, None)


def collect(engine: Engine, queries):
    """Per query: a list of sparse feature rows and the gold row's index."""
    params = _parameters(engine.intents)
    position = {p: i for i, p in enumerate(params)}
    data = []
    missing = 0
    for text, language, exclude in queries:
        rows, _, _ = engine.score(
            text,
            language,
            exclude=exclude if exclude[2] is not None else None,
            include_none=True,
        )
        gold = next(
            (i for i, row in enumerate(rows) if (row["kind"], row["label"]) == exclude[:2]), None
        )
        if gold is None:
            missing += 1
            continue
        matrix = []
        for row in rows:
            vec = [(position[(row["kind"], f)], v) for f, v in row["features"].items() if v]
            if row["kind"] == "intent":
                vec.append((position[("intent_bias", row["label"])], 1.0))
            if row["kind"] == "none":
                vec = [(position[("none", f)], v) for f, v in row["features"].items() if v]
            matrix.append(vec)
        data.append((matrix, gold))
    return params, data, missing


def fit(params, data, *, l2=0.01, steps=400, rate=0.05):
    """Full-batch Adam on the mean negative log-likelihood."""
    w = [0.0] * len(params)
    m = [0.0] * len(params)
    v = [0.0] * len(params)
    for step in range(1, steps + 1):
        grad = [2 * l2 * x for x in w]
        loss = 0.0
        for matrix, gold in data:
            raws = [sum(w[i] * x for i, x in vec) for vec in matrix]
            top = max(raws)
            exps = [math.exp(r - top) for r in raws]
            total = sum(exps)
            loss -= raws[gold] - top - math.log(total)
            for vec, e in zip(matrix, exps, strict=True):
                p = e / total
                for i, x in vec:
                    grad[i] += p * x / len(data)
            for i, x in matrix[gold]:
                grad[i] -= x / len(data)
        for i, g in enumerate(grad):
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            m_hat = m[i] / (1 - 0.9**step)
            v_hat = v[i] / (1 - 0.999**step)
            w[i] -= rate * m_hat / (math.sqrt(v_hat) + 1e-8)
    return w, loss / len(data)


def training_accuracy(data, w) -> float:
    right = 0
    for matrix, gold in data:
        raws = [sum(w[i] * x for i, x in vec) for vec in matrix]
        right += raws.index(max(raws)) == gold
    return right / len(data)


def as_model(params, w) -> dict:
    model: dict = {
        "article": {},
        "intent": {},
        "intent_bias": {},
        "none": {},
        "confidence": {"logit_p": 1.0},
    }
    for (kind, name), value in zip(params, w, strict=True):
        model[kind][name] = round(value, 3)
    return model


# Out-of-scope messages written for calibration only (not from any labelled set):
# the confidence model has to learn that matching a stray word is not an answer.
OUT_OF_SCOPE = [
    ("zh", "今天北京空气质量怎么样"),
    ("zh", "下周广州会不会降温"),
    ("zh", "比特币还会涨吗"),
    ("zh", "基金定投怎么选"),
    ("zh", "你们卖不卖冰箱贴和衣服"),
    ("zh", "帮我订一张去成都的机票"),
    ("zh", "给我讲个笑话"),
    ("zh", "写一篇关于春天的作文"),
    ("zh", "宫保鸡丁的做法"),
    ("zh", "一加一等于几"),
    ("zh", "感冒了吃什么药好"),
    ("zh", "NBA总决赛谁赢了"),
    ("zh", "你叫什么名字，你几岁了"),
    ("zh", "帮我翻译成日语：早上好"),
    ("zh", "附近有什么好吃的餐厅"),
    ("zh", "汽车保养多少钱"),
    ("zh", "怎么学好英语"),
    ("zh", "啊啊啊啊 哦哦 嗯嗯"),
    ("zh", "哈哈哈哈哈"),
    ("zh", "房贷利率是多少"),
    ("en", "Who won the football match last night?"),
    ("en", "What is the capital of Australia?"),
    ("en", "Will it snow in Shanghai tomorrow?"),
    ("en", "Is bitcoin a good investment?"),
    ("en", "Write me a short story about a dragon"),
    ("en", "How do I make pancakes?"),
    ("en", "Can you book me a hotel in Tokyo?"),
    ("en", "Tell me a joke"),
    ("en", "What's 17 times 23?"),
    ("en", "Do you sell concert tickets?"),
    ("en", "How do I fix my car engine?"),
    ("en", "What medicine should I take for a headache?"),
    ("en", "Translate 'good morning' into French"),
    ("en", "Who is the president of France?"),
    ("en", "Recommend a good movie for tonight"),
    ("en", "How do I learn Python programming?"),
    ("en", "qwerty uiop lkjh"),
    ("en", "blah blah blah"),
    ("en", "Do you sell life insurance or mortgages?"),
    ("en", "What's the best smartphone to buy this year?"),
    # near the domain: a shop word or a city, but a question the shop cannot answer
    ("zh", "广州今天会不会刮台风"),
    ("zh", "买房子要交多少税"),
    ("zh", "快递员一个月工资多少"),
    ("zh", "你们老板是谁，公司有多少员工"),
    ("zh", "怎么注册公司营业执照"),
    ("zh", "深圳周末有什么好玩的地方"),
    ("zh", "黄金现在适合买吗"),
    ("zh", "手机号码归属地查询"),
    ("en", "How do I return a library book?"),
    ("en", "Should I buy gold coins this year?"),
    ("en", "What time does the Shanghai metro close?"),
    ("en", "Can you recommend a good laptop for gaming?"),
    ("en", "How many points did the Lakers score last night?"),
    ("en", "How do I register a company in Hong Kong?"),
    ("en", "Is the weather good for a picnic this weekend?"),
    ("en", "What is the exchange rate of the dollar today?"),
    ("zh", "上海到杭州的火车票多少钱"),
    ("zh", "你们公司股票代码是多少"),
    ("zh", "帮我查一下明天的航班"),
    ("zh", "你最喜欢什么颜色"),
    ("zh", "周末去哪里玩比较好"),
    ("zh", "买哪个牌子的冰箱好"),
    ("zh", "怎么退订视频会员"),
    ("zh", "积分制管理是什么意思"),
    ("en", "How much is a train ticket from Beijing to Shanghai?"),
    ("en", "What's your favourite food?"),
    ("en", "Should I buy a house or rent?"),
    ("en", "Do you sell furniture or clothes?"),
    ("en", "How do I cancel my Netflix subscription?"),
    ("en", "Which phone has the best camera?"),
    ("en", "Can you recommend a restaurant near me this weekend?"),
    ("en", "How do I get a refund from my airline?"),
]


def ranked_for_decision(engine: Engine, text: str, language: str, exclude=None):
    """Rows as the engine decides on them when it does not hand off: without
    human_agent, probabilities renormalised."""
    rows, _, cues = engine.score(text, language, exclude=exclude)
    rows = [r for r in rows if r["label"] != HANDOFF_INTENT]
    total = sum(r["p"] for r in rows)
    for r in rows:
        r["p"] = r["p"] / total
    return rows, cues


def confidence_points(engine: Engine, articles, intents, labelled: list[tuple[list[dict], float]]):
    """For the top label of each calibration message: (features, right?, gold is
    "none"?, weight). The material's own questions (left out of their article)
    are harder than what customers ask, so they count a quarter; the labelled
    sets count with the weight given, the written out-of-scope messages 2
    (about one message in six out of scope, as in the labelled sets)."""
    points = []
    for text, language, exclude in training_queries(articles, intents):
        rows, cues = ranked_for_decision(engine, text, language, exclude)
        if rows:
            right = (rows[0]["kind"], rows[0]["label"]) == exclude[:2]
            points.append((engine.scorer.confidence_features(rows, cues), right, False, 0.25))
    for subset, weight in labelled:
        for row in subset:
            expect = row["expect"]
            if expect["kind"] == "handoff":
                continue
            rows, cues = ranked_for_decision(engine, row["text"], row.get("lang") or "zh")
            if not rows:
                continue
            gold = expect.get("slug") or expect.get("intent")
            right = expect["kind"] != "none" and rows[0]["label"] == gold
            features = engine.scorer.confidence_features(rows, cues)
            points.append((features, right, expect["kind"] == "none", weight))
    for language, text in OUT_OF_SCOPE:
        rows, cues = ranked_for_decision(engine, text, language)
        if rows:
            points.append((engine.scorer.confidence_features(rows, cues), False, True, 2.0))
    return points


def fit_confidence(points, *, l2=0.01, steps=3000, rate=0.05) -> dict:
    """Weighted logistic regression of "the top label is right" on CONFIDENCE_FEATURES."""
    names = list(CONFIDENCE_FEATURES)
    w = dict.fromkeys(names, 0.0)
    w["logit_p"] = 1.0
    total_weight = sum(weight for *_, weight in points)
    for _ in range(steps):
        grad = {k: 2 * l2 * w[k] for k in names}
        for features, right, _, weight in points:
            p = _sigmoid(sum(w[k] * features[k] for k in names))
            error = (p - (1.0 if right else 0.0)) * weight / total_weight
            for k in names:
                grad[k] += error * features[k]
        for k in names:
            w[k] -= rate * grad[k] * 10
    return {k: round(v, 3) for k, v in w.items()}


WRONG_ANSWER_COST = 2.0  # a wrong article or action costs twice a fallback


def utility(points, thresholds: dict, weights: dict) -> float:
    """+1 for a right answer (or a fallback on an out-of-scope message), 0 for a
    needless fallback, 1 - WRONG_ANSWER_COST for a wrong answer."""
    total = 0.0
    for features, right, gold_none, weight in points:
        confidence = _sigmoid(sum(weights.get(k, 0.0) * v for k, v in features.items()))
        kind = "intent" if features["intent"] else "article"
        if confidence >= thresholds[kind]:
            total += weight * (1.0 if right else 1.0 - WRONG_ANSWER_COST)
        elif gold_none:
            total += weight
    return total


def choose_thresholds() -> dict:
    """With a calibrated confidence the best rule is to act when a right answer
    is more likely than the cost ratio allows: confidence >= 1 / WRONG_ANSWER_COST."""
    threshold = round(1.0 / WRONG_ANSWER_COST, 3)
    return {"article": threshold, "intent": threshold}


def main(argv: list[str]) -> int:
    data_dir = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1] / "demo"
    articles, intents = load_records(data_dir / "kb.jsonl", data_dir / "intents.json")
    engine = Engine.build(articles, intents)
    tune, held_out = split_rows(load_rows(data_dir / "dev.jsonl"))
    params, data, missing = collect(engine, training_queries(articles, intents))
    # Real questions (the tune half, the written paraphrases and out-of-scope
    # messages) count as much as the whole material.
    out_of_scope = [
        {"text": t, "lang": lang, "expect": {"kind": "none"}} for lang, t in OUT_OF_SCOPE
    ]
    paraphrases = load_rows(PARAPHRASES)
    _, extra, _ = collect(engine, labelled_queries(tune + paraphrases + out_of_scope))
    data += extra * max(1, len(data) // max(len(extra), 1))
    w, loss = fit(params, data)
    print(f"queries {len(data)} (gold not retrieved: {missing}), loss {loss:.3f}")  # noqa: T201
    print(f"training accuracy {training_accuracy(data, w):.1%}")  # noqa: T201
    engine.model = as_model(params, w)
    points = confidence_points(engine, articles, intents, [(tune, 3.0), (paraphrases, 2.0)])
    engine.model["confidence"] = fit_confidence(points)
    thresholds = choose_thresholds()
    engine.thresholds = thresholds
    for value in (0.4, 0.5, 0.6, 0.7):
        trial = {"article": value, "intent": value}
        print(f"utility at {value}: {utility(points, trial, engine.model['confidence']):.1f}")  # noqa: T201
    print("MODEL =", engine.model)  # noqa: T201
    if len(argv) > 2:
        Path(argv[2]).write_text(json.dumps({"model": engine.model, "thresholds": thresholds}))
    print("THRESHOLDS =", thresholds)  # noqa: T201
    for name, subset in (("tune", tune), ("held-out", held_out)):
        result = evaluate(engine, subset)
        print(name, {k: result[k] for k in ("article", "intent", "handoff", "none", "overall")})  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
