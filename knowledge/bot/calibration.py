"""How ``engine.MODEL`` and ``engine.THRESHOLDS`` were obtained (re-run after big KB changes).

``python -m knowledge.bot.calibration /path/to/shared/data`` prints new constants.

1. **Weights** — a conditional logit (softmax over every candidate article and
   every intent, one weight per feature, shared by all labels of a kind, plus
   one bias per intent) is fitted by maximum likelihood with an L2 penalty on
   the material itself: every knowledge-base question and every intent
   example is used as a query, *left out* of its own label (its words do not
   count for its article or intent), so the model learns how much a
   paraphrase shares with the rest of its label's material, not to recognise
   the exact sentence.
2. **Calibration** — a Platt map ``sigmoid(a * logit(p) + b)`` from the
   softmax probability of the top label to "probability the top label is
   right", fitted on the *tune* half of the labelled dev questions
   (``evaluate.split_rows``); out-of-scope questions count as wrong for any
   label.
3. **Thresholds** — the smallest thresholds on that calibrated confidence
   that keep the tune half's accuracy within a point of its best, so that the
   bot prefers a fallback with suggestions to a doubtful answer. The other
   half of dev is only ever used to report.
"""

from __future__ import annotations

import json
import math
import sys
from itertools import product
from pathlib import Path

from .engine import Engine
from .evaluate import evaluate, load_records, load_rows, split_rows
from .scoring import ARTICLE_FEATURES, INTENT_FEATURES
from .scoring import logit as _logit
from .scoring import sigmoid as _sigmoid


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
    return params


def labelled_queries(rows: list[dict]):
    """Dev rows with an article or intent answer, as (text, language, (kind, label, None))."""
    for row in rows:
        expect = row["expect"]
        if expect["kind"] == "article":
            yield row["text"], row.get("lang") or "zh", ("article", expect["slug"], None)
        elif expect["kind"] == "intent":
            yield row["text"], row.get("lang") or "zh", ("intent", expect["intent"], None)


def collect(engine: Engine, queries):
    """Per query: a list of sparse feature rows and the gold row's index."""
    params = _parameters(engine.intents)
    position = {p: i for i, p in enumerate(params)}
    data = []
    missing = 0
    for text, language, exclude in queries:
        rows, _, _ = engine.score(text, language, exclude=exclude if exclude[2] is not None else None)
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


def as_model(params, w, platt=(1.0, 0.0)) -> dict:
    model: dict = {"article": {}, "intent": {}, "intent_bias": {}, "platt": platt}
    for (kind, name), value in zip(params, w, strict=True):
        model[kind][name] = round(value, 3)
    return model


def fit_platt(engine: Engine, rows: list[dict]) -> tuple[float, float]:
    """Logistic regression of "top label right" on logit(top probability)."""
    points = []
    for row in rows:
        ranked, _, _ = engine.score(row["text"], row.get("lang") or "zh")
        if not ranked:
            continue
        top = ranked[0]
        expect = row["expect"]
        right = (expect["kind"] == "article" and top["label"] == expect.get("slug")) or (
            expect["kind"] == "intent" and top["label"] == expect.get("intent")
        )
        if expect["kind"] == "handoff":
            continue
        points.append((_logit(top["p"]), 1.0 if right else 0.0))
    a, b = 1.0, 0.0
    for _ in range(3000):
        ga = gb = 0.0
        for x, y in points:
            p = _sigmoid(a * x + b)
            ga += (p - y) * x
            gb += p - y
        a -= 0.01 * (ga / len(points) + 0.01 * (a - 1.0))
        b -= 0.01 * gb / len(points)
    return round(a, 3), round(b, 3)


def tune_thresholds(engine: Engine, rows: list[dict]) -> dict:
    grid = {
        "article": [0.3, 0.4, 0.5, 0.6, 0.7],
        "intent": [0.3, 0.4, 0.5, 0.6, 0.7],
        "slot_intent": [0.2, 0.3, 0.4, 0.5],
        "coverage": [0.3, 0.4, 0.5, 0.6],
    }
    results = []
    for values in product(*grid.values()):
        engine.thresholds = dict(zip(grid, values, strict=True))
        results.append((evaluate(engine, rows)["overall"], values))
    best = max(score for score, _ in results)
    # Highest thresholds (most precise) whose accuracy is within a point of the best.
    eligible = [values for score, values in results if score >= best - 0.01]
    chosen = max(eligible, key=lambda values: sum(values))
    engine.thresholds = dict(zip(grid, chosen, strict=True))
    return engine.thresholds


def main(argv: list[str]) -> int:
    data_dir = Path(argv[1]) if len(argv) > 1 else Path("/work/shared/data")
    articles, intents = load_records(data_dir / "kb.jsonl", data_dir / "intents.json")
    engine = Engine.build(articles, intents)
    tune, held_out = split_rows(load_rows(data_dir / "dev.jsonl"))
    params, data, missing = collect(engine, training_queries(articles, intents))
    # The tune half's real questions count as much as the whole material.
    _, extra, _ = collect(engine, labelled_queries(tune))
    data += extra * max(1, len(data) // max(len(extra), 1))
    w, loss = fit(params, data)
    print(f"queries {len(data)} (gold not retrieved: {missing}), loss {loss:.3f}")  # noqa: T201
    print(f"training accuracy {training_accuracy(data, w):.1%}")  # noqa: T201
    engine.model = as_model(params, w)
    engine.model["platt"] = fit_platt(engine, tune)
    thresholds = tune_thresholds(engine, tune)
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
