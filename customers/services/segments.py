"""Customer segments (new / returning / VIP / occasional), computed from activity.

The rule, in this order (one SQL expression, `SEGMENT_SQL`, for one customer and for the
sweep alike):

- **VIP** — the customer's level is VIP;
- **returning** — two conversations or more, or a paid order (paid, shipped, delivered
  or returned);
- **new** — first seen (created) within NEW_DAYS (30) days;
- **occasional** — the rest: seen once, at most one conversation, no paid order, more
  than 30 days ago.

The segment is kept on the customer and refreshed when what it depends on changes: a
conversation starts (`conversation_started`), an order is saved
(`customers.services.orders.order_saved`), the level changes (`levels.change_level`).
Time alone turns a new customer into an occasional one, so Beat sweeps every customer
once a day (`refresh_segments`).
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from customers.models import Customer

NEW_DAYS = 30
SWEEP_BATCH = 20_000

# Orders that make a customer a buyer (returned: they bought it, then sent it back).
BUYING_STATUSES = ("paid", "shipped", "delivered", "returned")

# `{count}`: the conversation count to judge by (the stored one, or one more); `{bought}`:
# whether the customer has a paid order.
SEGMENT_SQL = """
CASE
    WHEN c.level = 'vip' THEN 'vip'
    WHEN {count} >= 2 OR {bought} THEN 'returning'
    WHEN c.created_at > %(now)s - interval '1 day' * %(new_days)s THEN 'new'
    ELSE 'occasional'
END
"""

# A range of customers at once: their buyers are one range scan of the orders' customer
# index, hashed once for the statement, not a look-up per customer; the customers one
# scan of the primary key.
_IN_RANGE = SEGMENT_SQL.format(
    count="c.conversation_count",
    bought="c.id IN (SELECT o.customer_id FROM customers_order o"
    " WHERE o.customer_id BETWEEN %(low)s AND %(high)s AND o.status = ANY(%(buying)s))",
)
_ONE_MORE = SEGMENT_SQL.format(
    count="c.conversation_count + 1",
    bought="EXISTS (SELECT 1 FROM customers_order o"
    " WHERE o.customer_id = c.id AND o.status = ANY(%(buying)s))",
)

_UPDATE_SQL = f"""
UPDATE customers_customer AS c SET segment = {_IN_RANGE}
 WHERE c.id BETWEEN %(low)s AND %(high)s AND c.segment IS DISTINCT FROM {_IN_RANGE}
"""  # noqa: S608 (constant SQL)

# A conversation starting: one more to the count, and the segment by it, in one statement.
_STARTED_SQL = f"""
UPDATE customers_customer AS c
   SET conversation_count = c.conversation_count + 1, segment = {_ONE_MORE}
 WHERE c.id = %(low)s
RETURNING c.segment
"""  # noqa: S608 (constant SQL)


def _params(now: datetime, low: int, high: int) -> dict:
    return {
        "now": now,
        "new_days": NEW_DAYS,
        "buying": list(BUYING_STATUSES),
        "low": low,
        "high": high,
    }


def refresh_segment(*, customer_id: int, now: datetime | None = None) -> str:
    """Recompute one customer's segment (in the caller's transaction); returns it."""
    with connection.cursor() as cursor:
        cursor.execute(_UPDATE_SQL, _params(now or timezone.now(), customer_id, customer_id))
    return Customer.objects.filter(pk=customer_id).values_list("segment", flat=True).first()


def conversation_started(*, customer_id: int) -> str:
    """A conversation started for this customer: one more to their count and the segment
    refreshed, in one statement of the caller's transaction (rolled back with it)."""
    with connection.cursor() as cursor:
        cursor.execute(_STARTED_SQL, _params(timezone.now(), customer_id, customer_id))
        row = cursor.fetchone()
    return row[0] if row else ""


def refresh_segments(*, now: datetime | None = None, batch: int = SWEEP_BATCH) -> int:
    """The Beat sweep: every customer's segment recomputed, in id ranges of `batch` (one
    short transaction each, whatever the number of customers); only changed rows are
    written. Returns how many changed."""
    now = now or timezone.now()
    changed = 0
    low, top = 0, Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    while low <= top:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_UPDATE_SQL, _params(now, low, low + batch - 1))
            changed += cursor.rowcount
        low += batch
    return changed
