"""Automatic tags from the rules an admin edits (TagRule, docs/customers.md).

A rule counts something about each customer over its window — conversations where the
bot understood an intent or answered with an article, complaints, anger the bot sensed,
orders of a product category, money spent — and tags the customers who reach its
threshold. The counts come from the apps that own the data (conversations, tickets),
registered through customers.hooks.on_tag_facts; the orders' are this app's own.

Evaluation is idempotent: a customer who matches has the rule's tag once (its `detail`
says from what), one who no longer matches loses it, and a manual tag — even one of the
same name — is never touched. A customer's evaluation locks that customer's row, so two
at once (a chat closing while an order changes) apply one after the other; sweeps of a
rule take an advisory lock, so two Beats never interleave.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from customers import hooks
from customers.models import Customer, Order, TagRule

logger = logging.getLogger(__name__)

SPENDING_STATUSES = [Order.Status.PAID, Order.Status.SHIPPED, Order.Status.DELIVERED]
# pg_advisory_xact_lock(namespace, rule id): a sweep of one rule at a time.
SWEEP_LOCK = 7_311_001


def _number(amount: Decimal) -> str:
    text = f"{amount:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _detail(rule: TagRule, parts: dict[str, Decimal]) -> str:
    """From what: each source's share, the threshold and the window ("tickets 2, chats
    1 ≥ 2 / 90 d")."""
    shares = ", ".join(f"{label} {_number(amount)}" for label, amount in sorted(parts.items()))
    return f"{shares} ≥ {_number(rule.threshold)} / {rule.window_days} d"[:200]


def matches(rule: TagRule, customer_ids: list[int] | None) -> dict[int, str]:
    """{customer_id: detail} of the customers the rule tags now (among `customer_ids`)."""
    if not rule.enabled:
        return {}
    since = timezone.now() - timedelta(days=rule.window_days)
    facts = hooks.tag_facts(rule=rule, since=since, customer_ids=customer_ids)
    return {
        customer_id: _detail(rule, parts)
        for customer_id, parts in facts.items()
        if sum(parts.values()) >= rule.threshold
    }


def _apply(rule: TagRule, found: dict[int, str], scope: list[int] | None) -> tuple[int, int]:
    """Tag the customers found (or refresh their detail), untag the rule's other customers
    in `scope` (everyone when None). (added, removed)."""
    ids, details = list(found), [found[i] for i in found]
    with connection.cursor() as cursor:
        # FOR KEY SHARE: a customer being merged away is waited for, then skipped.
        cursor.execute(
            """
            INSERT INTO customers_customertag (customer_id, name, source, created_by_id,
                rule_id, detail, created_at)
            SELECT c.id, %(name)s, 'auto', NULL, %(rule)s, d.detail, now()
            FROM unnest(%(ids)s::bigint[], %(details)s::text[]) AS d(id, detail)
            JOIN customers_customer c ON c.id = d.id
            FOR KEY SHARE OF c
            ON CONFLICT ON CONSTRAINT ctag_once_per_customer DO UPDATE
               SET detail = EXCLUDED.detail
             WHERE customers_customertag.rule_id = EXCLUDED.rule_id
               AND customers_customertag.detail <> EXCLUDED.detail
            RETURNING (xmax = 0)
            """,
            {"name": rule.name_zh, "rule": rule.pk, "ids": ids, "details": details},
        )
        added = sum(1 for (inserted,) in cursor.fetchall() if inserted)
        cursor.execute(
            """
            DELETE FROM customers_customertag
            WHERE rule_id = %(rule)s AND source = 'auto'
              AND NOT (customer_id = ANY(%(ids)s::bigint[]))
              AND (%(scope)s::bigint[] IS NULL OR customer_id = ANY(%(scope)s::bigint[]))
            """,
            {"rule": rule.pk, "ids": ids, "scope": scope},
        )
        removed = cursor.rowcount
    return added, removed


def evaluate_customers(*, customer_ids: list[int]) -> tuple[int, int]:
    """Every rule on these customers, in one transaction with their rows locked (in id
    order): (tags added, tags removed). Customers merged away meanwhile are skipped."""
    added = removed = 0
    with transaction.atomic():
        present = list(
            Customer.objects.select_for_update(no_key=True)
            .filter(pk__in=customer_ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not present:
            return 0, 0
        for rule in TagRule.objects.all():
            more, fewer = _apply(rule, matches(rule, present), present)
            added, removed = added + more, removed + fewer
    return added, removed


def sweep(*, rule_ids: list[int] | None = None) -> tuple[int, int]:
    """Every rule on every customer (Beat, nightly): one transaction per rule, with the
    rule's advisory lock. A switched-off rule loses all its tags. (added, removed)."""
    added = removed = 0
    rules = TagRule.objects.all()
    if rule_ids is not None:
        rules = rules.filter(pk__in=rule_ids)
    for rule_id in rules.values_list("pk", flat=True):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SWEEP_LOCK, rule_id])
            rule = TagRule.objects.filter(pk=rule_id).first()
            if rule is None:
                continue
            more, fewer = _apply(rule, matches(rule, None), None)
            added, removed = added + more, removed + fewer
    return added, removed


def evaluate_on_commit(customer_ids: list[int]) -> None:
    """Re-evaluate these customers' tags after the caller's transaction commits (a
    conversation closed, an order changed, two customers merged); nothing if it rolls
    back. A broker that is away loses nothing: the nightly sweep catches up."""
    ids = sorted({int(i) for i in customer_ids if i})
    if ids:
        transaction.on_commit(lambda: _enqueue(ids))


def _enqueue(customer_ids: list[int]) -> None:
    from customers.tasks import evaluate_tags_task

    try:
        evaluate_tags_task.apply_async((customer_ids,))
    except Exception:  # the broker is away: the nightly sweep catches up
        logger.warning("could not enqueue tag evaluation of %s", customer_ids)


def sweep_on_commit(*, rule_ids: list[int]) -> None:
    """Apply these rules to everyone after the caller's transaction commits (a rule was
    added or changed in admin)."""
    transaction.on_commit(lambda: _enqueue_sweep(list(rule_ids)))


def _enqueue_sweep(rule_ids: list[int]) -> None:
    from customers.tasks import sweep_tag_rules_task

    try:
        sweep_tag_rules_task.apply_async(kwargs={"rule_ids": rule_ids})
    except Exception:  # the broker is away: the nightly sweep catches up
        logger.warning("could not enqueue the sweep of tag rules %s", rule_ids)


def order_changed(*, order: Order, previous_customer_id: int | None = None) -> None:
    """An order was added or changed (admin; the partner API's order upsert): its
    customer's tags are re-evaluated after commit."""
    evaluate_on_commit([order.customer_id, previous_customer_id])


# The orders' facts (this app's own data).


def _orders_scope(customer_ids) -> tuple[str, dict]:
    if customer_ids is None:
        return "", {}
    return " AND o.customer_id = ANY(%(ids)s::bigint[])", {"ids": list(customer_ids)}


def category_facts(*, rule: TagRule, since, customer_ids) -> dict[int, Decimal]:
    """Orders (paid, shipped, delivered) placed in the window with an item of the rule's
    category (`items[].category`, case and spaces ignored)."""
    scope, params = _orders_scope(customer_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT o.customer_id, count(*)
            FROM customers_order o
            WHERE o.placed_at >= %(since)s AND o.status = ANY(%(statuses)s)
              AND jsonb_typeof(o.items) = 'array'
              AND EXISTS (
                  SELECT 1 FROM jsonb_array_elements(o.items) AS item
                  WHERE jsonb_typeof(item) = 'object'
                    AND lower(btrim(item->>'category')) = lower(btrim(%(category)s)))
              {scope}
            GROUP BY o.customer_id
            """,  # noqa: S608 (scope is one of two constant strings)
            {"since": since, "statuses": SPENDING_STATUSES, "category": rule.value, **params},
        )
        return {row[0]: Decimal(row[1]) for row in cursor.fetchall()}


def spend_facts(*, rule: TagRule, since, customer_ids) -> dict[int, Decimal]:
    """Money spent: the totals of orders paid, shipped or delivered, placed in the window."""
    scope, params = _orders_scope(customer_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT o.customer_id, sum(o.total)
            FROM customers_order o
            WHERE o.placed_at >= %(since)s AND o.status = ANY(%(statuses)s) {scope}
            GROUP BY o.customer_id
            """,  # noqa: S608 (scope is one of two constant strings)
            {"since": since, "statuses": SPENDING_STATUSES, **params},
        )
        return {row[0]: Decimal(row[1]) for row in cursor.fetchall()}
