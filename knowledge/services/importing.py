"""Import the knowledge base and intents in the formats of shared/data.

Every line is checked before anything is written; a bad line is reported with
its number and nothing is imported. Re-importing updates in place (articles
by slug and language, intents by name) and never duplicates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.text import slugify

from knowledge.models import Article, Category, Intent
from knowledge.services.articles import save_article

# Display names per language are the app's; the file names categories in English.
CATEGORY_NAMES_ZH = {
    "Account & Security": "账户与安全",
    "Coupons & Promotions": "优惠券与活动",
    "Customer Support": "客户服务",
    "Gift Cards": "礼品卡",
    "Invoices": "发票",
    "Membership & Points": "会员与积分",
    "Order Changes & Cancellation": "订单修改与取消",
    "Ordering & Payment": "下单与支付",
    "Price Protection": "价格保护",
    "Privacy & Data": "隐私与数据",
    "Product Help": "产品帮助",
    "Returns & Refunds": "退货与退款",
    "Shipping & Delivery": "配送与物流",
    "Warranty & Repairs": "保修与维修",
}
# Which skill group takes a handoff about a category (admin can change it).
CATEGORY_SKILL_GROUPS = {
    "Ordering & Payment": "presales",
    "Coupons & Promotions": "presales",
    "Product Help": "presales",
    "Price Protection": "presales",
    "Membership & Points": "membership",
    "Gift Cards": "membership",
    "Account & Security": "membership",
    "Privacy & Data": "membership",
}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_LINE = 200_000


class ImportError_(Exception):  # noqa: N801 (the builtin name is taken)
    """The file has bad lines; `errors` lists (line number, message); nothing was written."""

    def __init__(self, errors: list[tuple[int, str]]):
        self.errors = errors
        super().__init__("; ".join(f"line {n}: {message}" for n, message in errors[:20]))


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    names: list[str] = field(default_factory=list)


def _text(record: dict, name: str, *, max_length: int, required: bool = True) -> str:
    value = record.get(name, "")
    if not isinstance(value, str):
        raise ValueError(f"'{name}' must be a string")
    if required and not value.strip():
        raise ValueError(f"'{name}' is missing")
    if len(value) > max_length:
        raise ValueError(f"'{name}' is longer than {max_length} characters")
    return value.strip()


def _strings(record: dict, name: str, *, max_items: int = 200, max_length: int = 300) -> list[str]:
    value = record.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"'{name}' must be a list of strings")
    if len(value) > max_items or any(len(item) > max_length for item in value):
        raise ValueError(f"'{name}' has too many or too long items")
    return value


def parse_kb(lines: Iterable[str | bytes]) -> list[dict]:
    records, errors, seen = [], [], set()
    for number, raw in enumerate(lines, start=1):
        line = raw.decode("utf-8", errors="strict") if isinstance(raw, bytes) else raw
        if not line.strip():
            continue
        try:
            if len(line) > MAX_LINE:
                raise ValueError("line is too long")
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            slug = _text(record, "slug", max_length=120)
            if not SLUG.match(slug):
                raise ValueError(f"slug {slug!r} may only hold a-z, 0-9 and dashes")
            language = record.get("language")
            if language not in ("zh", "en"):
                raise ValueError("'language' must be 'zh' or 'en'")
            if (slug, language) in seen:
                raise ValueError(f"{slug}/{language} appears twice")
            seen.add((slug, language))
            records.append(
                {
                    "slug": slug,
                    "language": language,
                    "category": _text(record, "category", max_length=120),
                    "title": _text(record, "title", max_length=200),
                    "body": _text(record, "body", max_length=100_000),
                    "questions": _strings(record, "questions"),
                }
            )
        except (ValueError, UnicodeDecodeError) as error:
            errors.append((number, str(error)))
    if errors:
        raise ImportError_(errors)
    return records


def import_kb(
    lines: Iterable[str | bytes],
    *,
    user=None,
    publish: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import kb.jsonl lines in one transaction; see the module docstring."""
    records = parse_kb(lines)
    result = ImportResult()
    with transaction.atomic():
        categories: dict[str, Category] = {}
        for name in dict.fromkeys(r["category"] for r in records):
            categories[name], _ = Category.objects.get_or_create(
                slug=slugify(name) or "general",
                defaults={
                    "name_en": name,
                    "name_zh": CATEGORY_NAMES_ZH.get(name, name),
                    "position": len(categories),
                    "skill_group_code": CATEGORY_SKILL_GROUPS.get(name, "aftersales"),
                },
            )
        for done, record in enumerate(records, start=1):
            existed = Article.objects.filter(
                slug=record["slug"], language=record["language"]
            ).exists()
            _, changed = save_article(
                slug=record["slug"],
                language=record["language"],
                category=categories[record["category"]],
                title=record["title"],
                body=record["body"],
                questions=record["questions"],
                status="published" if publish else None,
                user=user,
                note="imported",
            )
            if not existed:
                result.created += 1
            elif changed:
                result.updated += 1
            else:
                result.unchanged += 1
            result.names.append(f"{record['slug']}/{record['language']}")
            if progress:
                progress(done, len(records))
    return result


def parse_intents(text: str | bytes) -> list[dict]:
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise ImportError_([(getattr(error, "lineno", 1), f"not JSON: {error}")]) from None
    if not isinstance(data, list):
        raise ImportError_([(1, "the file must hold a JSON list of intents")])
    errors, records, seen = [], [], set()
    for index, item in enumerate(data, start=1):
        try:
            if not isinstance(item, dict):
                raise ValueError("not a JSON object")
            name = _text(item, "name", max_length=60)
            if not SLUG.match(name.replace("_", "-")):
                raise ValueError(f"name {name!r} may only hold a-z, 0-9 and underscores")
            if name in seen:
                raise ValueError(f"intent {name} appears twice")
            seen.add(name)
            slots = item.get("slots", [])
            if not isinstance(slots, list) or not all(
                isinstance(slot, dict) and isinstance(slot.get("name"), str) for slot in slots
            ):
                raise ValueError("'slots' must be a list of objects with a 'name'")
            records.append(
                {
                    "name": name,
                    "description": _text(item, "description", max_length=5000, required=False),
                    "examples_zh": _strings(item, "examples_zh"),
                    "examples_en": _strings(item, "examples_en"),
                    "slots": slots,
                }
            )
        except ValueError as error:
            errors.append((index, f"intent #{index}: {error}"))
    if errors:
        raise ImportError_(errors)
    return records


INTENT_SKILL_GROUPS = {
    "order_status": "presales",
    "coupon_claim": "presales",
    "logistics_tracking": "aftersales",
    "after_sales_request": "aftersales",
}


def import_intents(text: str | bytes) -> ImportResult:
    records = parse_intents(text)
    result = ImportResult()
    with transaction.atomic():
        for record in records:
            intent, created = Intent.objects.get_or_create(
                name=record["name"],
                defaults={
                    **record,
                    "skill_group_code": INTENT_SKILL_GROUPS.get(record["name"], ""),
                },
            )
            if created:
                result.created += 1
            else:
                changed = [k for k, v in record.items() if getattr(intent, k) != v]
                for key in changed:
                    setattr(intent, key, record[key])
                if changed:
                    intent.save(update_fields=changed)
                    result.updated += 1
                else:
                    result.unchanged += 1
            result.names.append(record["name"])
    return result
