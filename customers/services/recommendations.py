"""Recommendations after an interaction (docs/care.md): related products or a coupon offer
from the conversation's topic and the customer's order history, at most once per
conversation; the clicks on it, and its conversion, counted once.

The conversations app decides when (after the bot's answer, when the conversation
closes) and posts the message; the rules, the record and the counting are here.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from customers.models import Coupon, Order, Recommendation, RecommendationRule
from customers.services.care import coupon_code

# Orders read for the history (their items' categories and SKUs).
HISTORY_ORDERS = 50
# The sweep looks at recommendations whose window closed up to this long ago (a Beat that
# was down catches up).
SWEEP_GRACE = timedelta(days=2)
# Orders that count as a purchase.
PURCHASE_STATUSES = ("paid", "shipped", "delivered")


def bought(customer_id: int) -> tuple[set[str], set[str]]:
    """(categories, SKUs) of the items in the customer's latest orders. An item is
    {"sku", "name", "qty", "category"}; anything else in `items` is ignored."""
    categories: set[str] = set()
    skus: set[str] = set()
    rows = (
        Order.objects.filter(customer_id=customer_id)
        .order_by("-placed_at", "-pk")
        .values_list("items", flat=True)[:HISTORY_ORDERS]
    )
    for items in rows:
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            if isinstance(item.get("category"), str):
                categories.add(item["category"])
            if isinstance(item.get("sku"), str):
                skus.add(item["sku"])
    return categories, skus


def has_rules(*, moment: str) -> bool:
    """Whether any enabled rule is shown at this moment (callers skip the rest if not)."""
    return RecommendationRule.objects.filter(enabled=True, moment=moment).exists()


def recommend(
    *,
    customer_id: int,
    conversation_id: UUID,
    topics: set[str],
    moment: str,
    language: str,
) -> Recommendation | None:
    """The recommendation for this conversation, once: the first enabled rule of this
    `moment` (in order of precedence) whose topic is one of `topics` (or any) and whose
    bought category is in the customer's orders (or none asked). Products the customer
    already bought are left out; a coupon already redeemed is not offered again. None when
    the conversation had one already (unique per conversation) or nothing matches. In the
    caller's transaction."""
    if Recommendation.objects.filter(conversation_id=conversation_id).exists():
        return None
    rules = (
        RecommendationRule.objects.filter(enabled=True, moment=moment)
        .prefetch_related("products")
        .order_by("position", "pk")
    )
    history = None
    for rule in rules:
        if rule.topic and rule.topic not in topics:
            continue
        if history is None:
            history = bought(customer_id)
        categories, skus = history
        if rule.order_category and rule.order_category not in categories:
            continue
        made = _make(rule, customer_id, conversation_id, skus, language, topics)
        if made is not None:
            return made
    return None


def _make(rule, customer_id, conversation_id, bought_skus, language, topics):
    coupon = None
    if rule.kind == RecommendationRule.Kind.COUPON:
        coupon = _coupon(rule, customer_id, language)
        if coupon is None:
            return None
        offers = [{"sku": "", "name": coupon.title, "url": rule.coupon_url}]
    else:
        offers = [
            {"sku": p.sku, "name": p.name_in(language), "url": p.url}
            for p in rule.products.all()
            if p.sku not in bought_skus
        ]
        if not offers:
            return None
    topic = rule.topic or next(iter(sorted(topics)), "")
    try:
        with transaction.atomic():
            return Recommendation.objects.create(
                rule=rule,
                customer_id=customer_id,
                conversation_id=conversation_id,
                kind=rule.kind,
                topic=topic[:80],
                offers=offers,
                skus=[offer["sku"] for offer in offers if offer["sku"]],
                coupon=coupon,
                convert_until=timezone.now() + timedelta(days=rule.conversion_days),
            )
    except IntegrityError:  # this conversation got one meanwhile
        return None


def _coupon(rule: RecommendationRule, customer_id: int, language: str) -> Coupon | None:
    """The rule's coupon for this customer, issued once; None when they redeemed it or it
    expired (nothing left to offer)."""
    try:
        with transaction.atomic():
            coupon, _ = Coupon.objects.get_or_create(
                customer_id=customer_id,
                campaign=f"recommendation-{rule.pk}",
                defaults={
                    "code": coupon_code(),
                    "title": rule.coupon_title_in(language) or rule.name,
                    "amount": rule.coupon_amount,
                    "minimum_spend": rule.coupon_minimum_spend,
                    "expires_at": timezone.now() + timedelta(days=rule.coupon_days),
                },
            )
    except IntegrityError:
        coupon = Coupon.objects.get(customer_id=customer_id, campaign=f"recommendation-{rule.pk}")
    if coupon.redeemed_at is not None or coupon.expires_at <= timezone.now():
        return None
    return coupon


def record_click(*, recommendation_id: UUID, index: int) -> str | None:
    """Count a click on the `index`th offer of a recommendation; the address it leads to,
    or None for an unknown recommendation or offer."""
    with transaction.atomic():
        recommendation = (
            Recommendation.objects.select_for_update().filter(pk=recommendation_id).first()
        )
        if recommendation is None or not 0 <= index < len(recommendation.offers):
            return None
        Recommendation.objects.filter(pk=recommendation_id).update(
            clicks=F("clicks") + 1,
            first_clicked_at=Coalesce(F("first_clicked_at"), timezone.now()),
        )
    return recommendation.offers[index]["url"]


# An order converts the latest unconverted recommendation shown to its customer before it
# that offered one of its SKUs, within that recommendation's window; a recommendation
# converts once (its first such order), and an order converts one recommendation only.
_ORDER_CONVERSIONS_SQL = """
WITH candidates AS (
    SELECT r.id AS rec, o.id AS ord, o.number, COALESCE(o.placed_at, o.updated_at) AS at,
           r.shown_at
      FROM customers_recommendation r
      JOIN customers_order o ON o.customer_id = r.customer_id
     WHERE r.converted_at IS NULL AND r.kind = 'products'
       AND (%(order)s::bigint IS NULL OR o.id = %(order)s)
       AND (%(since)s::timestamptz IS NULL OR r.convert_until >= %(since)s)
       AND o.status = ANY(%(statuses)s)
       AND COALESCE(o.placed_at, o.updated_at) BETWEEN r.shown_at AND r.convert_until
       AND EXISTS (
           SELECT 1 FROM jsonb_array_elements(
               CASE jsonb_typeof(o.items) WHEN 'array' THEN o.items ELSE '[]'::jsonb END) item
            WHERE jsonb_typeof(item) = 'object' AND item->>'sku' = ANY(r.skus))
       AND NOT EXISTS (
           SELECT 1 FROM customers_recommendation x
            WHERE x.customer_id = o.customer_id AND x.converted_by = 'order:' || o.number)
),
per_order AS (
    SELECT DISTINCT ON (ord) rec, number, at FROM candidates ORDER BY ord, shown_at DESC, rec
),
per_recommendation AS (
    SELECT DISTINCT ON (rec) rec, number, at FROM per_order ORDER BY rec, at
)
UPDATE customers_recommendation r
   SET converted_at = p.at, converted_by = 'order:' || p.number
  FROM per_recommendation p
 WHERE r.id = p.rec AND r.converted_at IS NULL
"""

_COUPON_CONVERSIONS_SQL = """
WITH per_coupon AS (
    SELECT DISTINCT ON (c.id) r.id AS rec, c.code, c.redeemed_at
      FROM customers_recommendation r
      JOIN customers_coupon c ON c.id = r.coupon_id
     WHERE r.converted_at IS NULL AND c.redeemed_at IS NOT NULL
       AND (%(coupon)s::bigint IS NULL OR c.id = %(coupon)s)
       AND (%(since)s::timestamptz IS NULL OR r.convert_until >= %(since)s)
       AND c.redeemed_at BETWEEN r.shown_at AND r.convert_until
       AND NOT EXISTS (
           SELECT 1 FROM customers_recommendation x WHERE x.converted_by = 'coupon:' || c.code)
     ORDER BY c.id, r.shown_at DESC
)
UPDATE customers_recommendation r
   SET converted_at = p.redeemed_at, converted_by = 'coupon:' || p.code
  FROM per_coupon p
 WHERE r.id = p.rec AND r.converted_at IS NULL
"""


def record_order_conversions(*, order_id: int | None = None, since=None) -> int:
    """Count the conversions an order brings (or, without `order_id`, every order: the
    sweep, limited to windows open after `since`). Exactly once: the UPDATE only sets an
    unconverted row, and a concurrent one waits for the row lock and then skips it."""
    with connection.cursor() as cursor:
        cursor.execute(
            _ORDER_CONVERSIONS_SQL,
            {"order": order_id, "since": since, "statuses": list(PURCHASE_STATUSES)},
        )
        return cursor.rowcount


def record_coupon_conversions(*, coupon_id: int | None = None, since=None) -> int:
    """Count the conversion of the coupon offer whose coupon was redeemed (one coupon
    converts one recommendation, the latest shown before the redemption)."""
    with connection.cursor() as cursor:
        cursor.execute(_COUPON_CONVERSIONS_SQL, {"coupon": coupon_id, "since": since})
        return cursor.rowcount


def sweep_conversions(*, now=None) -> int:
    """Beat: conversions an order upsert or a redemption did not report (written some
    other way), for every window still open or closed within SWEEP_GRACE."""
    since = (now or timezone.now()) - SWEEP_GRACE
    with transaction.atomic():
        return record_order_conversions(since=since) + record_coupon_conversions(since=since)
