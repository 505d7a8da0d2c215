"""Measuring the engine on labelled questions (the format of shared/data/dev.jsonl).

Each row is asked on its own, as the first message of a fresh conversation:

- ``article``: right when the bot answers with that slug;
- ``intent``: right when the intent matches and every listed slot has the
  listed value (other slots may be present);
- ``handoff``: right when the bot hands off, whatever the reason;
- ``none``: right when the bot gives no article and no intent action (a
  fallback or a handoff).

``python -m knowledge.bot.evaluate /path/to/data`` prints the figures for the
whole file and for the two halves used to tune and to check thresholds.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

from .engine import ArticleRecord, Context, Decision, Engine, IntentRecord

KINDS = ("article", "intent", "handoff", "none")


def load_records(
    kb_path: str | Path, intents_path: str | Path
) -> tuple[list[ArticleRecord], list[IntentRecord]]:
    """Articles from a JSON-lines knowledge base and intents from a JSON list."""
    articles = []
    with open(kb_path, encoding="utf-8") as kb:
        for line in kb:
            if not line.strip():
                continue
            row = json.loads(line)
            articles.append(
                ArticleRecord(
                    slug=row["slug"],
                    language=row["language"],
                    title=row["title"],
                    body=row["body"],
                    category=row.get("category", ""),
                    questions=list(row.get("questions") or []),
                )
            )
    with open(intents_path, encoding="utf-8") as source:
        intents = [
            IntentRecord(
                name=row["name"],
                description=row.get("description", ""),
                examples_zh=list(row.get("examples_zh") or []),
                examples_en=list(row.get("examples_en") or []),
                slots=list(row.get("slots") or []),
                slot_rule=row.get("slot_rule"),
            )
            for row in json.load(source)
        ]
    return articles, intents


def load_rows(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as source:
        return [json.loads(line) for line in source if line.strip()]


def split_rows(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Two halves, each with half of every kind (alternating within a kind):
    the first to tune thresholds on, the second to report."""
    seen: dict[str, int] = defaultdict(int)
    tune, held_out = [], []
    for row in rows:
        kind = row["expect"]["kind"]
        (tune if seen[kind] % 2 == 0 else held_out).append(row)
        seen[kind] += 1
    return tune, held_out


def is_right(expect: dict, decision: Decision) -> bool:
    kind = expect["kind"]
    if kind == "article":
        return decision.action == "answer" and decision.article == expect["slug"]
    if kind == "intent":
        return decision.intent == expect["intent"] and all(
            decision.slots.get(name) == value for name, value in expect.get("slots", {}).items()
        )
    if kind == "handoff":
        return decision.action == "handoff"
    return decision.article is None and decision.action in ("fallback", "handoff")


def evaluate(engine: Engine, rows: list[dict]) -> dict:
    """Accuracy per kind and overall, with the misses spelled out."""
    right: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    misses = []
    for row in rows:
        expect = row["expect"]
        decision = engine.decide(row["text"], language=row.get("lang"), context=Context())
        kind = expect["kind"]
        total[kind] += 1
        if is_right(expect, decision):
            right[kind] += 1
        else:
            misses.append(
                {
                    "text": row["text"],
                    "expect": expect,
                    "got": {
                        **decision.to_meta(),
                        "handoff_reason": decision.handoff_reason,
                        "suggestions": decision.suggestions,
                    },
                }
            )
    result: dict = {kind: (right[kind] / total[kind] if total[kind] else None) for kind in KINDS}
    n = sum(total.values())
    result["overall"] = sum(right.values()) / n if n else None
    result["n"] = n
    result["misses"] = misses
    return result


def report(name: str, result: dict) -> str:
    parts = [f"{name} (n={result['n']}):"]
    for key in (*KINDS, "overall"):
        value = result[key]
        parts.append(f"{key} {value:.1%}" if value is not None else f"{key} -")
    return "  ".join(parts)


def main(argv: list[str]) -> int:
    data = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1] / "demo"
    articles, intents = load_records(data / "kb.jsonl", data / "intents.json")
    engine = Engine.build(articles, intents)
    rows = load_rows(data / "dev.jsonl")
    tune, held_out = split_rows(rows)
    for name, subset in (("tune half", tune), ("held-out half", held_out), ("full dev", rows)):
        print(report(name, evaluate(engine, subset)))  # noqa: T201
    for miss in evaluate(engine, rows)["misses"]:
        print("MISS", json.dumps(miss, ensure_ascii=False))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
