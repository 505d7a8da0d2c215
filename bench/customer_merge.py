"""Customer merges and automatic tags at size.

    .venv/bin/python bench/customer_merge.py [--runs 5] [--customers 100000]

Seeds into its own database, lumen_bench_merge (DATABASE_URL overrides):

1. **Merge** — a customer with 50 conversations (10,000 messages), 500 orders, 20 tags,
   1,000 points entries and 200 claimed outreach, merged into one with 20 conversations,
   200 orders and the same tags and outreach occasions (every one a conflict to settle);
   then the merge undone. `--runs` times each (the undoing puts everything back): p50 and
   max in ms, and the queries of one merge and one undoing.
2. **Tags** — `--customers` customers, each with an order (one of five categories, a
   total up to ¥2,000) and every other one with a conversation in which the bot answered
   with an intent; the six demo rules. The first nightly sweep (tags added), a second one
   (nothing to do: idempotent), and one customer's evaluation (the path of a chat that
   closes): p50 / max in ms over 200 customers.

Prints the figures; these are measurements, not tests (no target is set by the issue).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))  # run as a script: the project is one folder up

from bench.stack import configure_environment, log, percentile, prepare_database  # noqa: E402

CATEGORIES = ["audio", "home", "kitchen", "phone", "beauty"]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def seed_pair():
    """The two customers of the merge, with their histories (bulk SQL)."""
    from django.db import connection
    from django.utils import timezone

    from customers.models import CareCampaign, Customer

    with connection.cursor() as cursor:  # an earlier run's pair (merged or not)
        cursor.execute(
            "SELECT id FROM customers_customer WHERE external_id IN ('bench-m-big', 'bench-m-small')"
        )
        ids = [row[0] for row in cursor.fetchall()]
        for table, key in (
            (
                "conversations_message",
                "conversation_id IN (SELECT id FROM conversations_conversation WHERE customer_id = ANY(%s))",
            ),
            ("conversations_conversation", "customer_id = ANY(%s)"),
            ("customers_order", "customer_id = ANY(%s)"),
        ):
            cursor.execute(f"DELETE FROM {table} WHERE {key}", [ids])  # noqa: S608 (constants)
    Customer.objects.filter(pk__in=ids).delete()
    campaign, _ = CareCampaign.objects.get_or_create(
        kind="birthday", defaults={"text_zh": "生日快乐", "text_en": "Happy birthday"}
    )
    big = Customer.objects.create(external_id="bench-m-big", name="王芳 (bench)", points=1000)
    small = Customer.objects.create(external_id="bench-m-small", name="王芳", points=10)
    now = timezone.now()
    with connection.cursor() as cursor:
        for customer, conversations, orders in ((big, 50, 500), (small, 20, 200)):
            cursor.execute(
                """
                INSERT INTO conversations_conversation (id, customer_id, channel, language,
                    status, priority, handoff_reason, resolution, tags, transfer_count,
                    last_seq, customer_read_seq, agent_read_seq, page, bot_context,
                    created_at, updated_at)
                SELECT gen_random_uuid(), %(c)s, 'web', 'zh', 'closed', 0, '', 'resolved',
                       '{}', 0, 200, 0, 0, '{}', '{}', %(now)s, %(now)s
                FROM generate_series(1, %(n)s)
                """,
                {"c": customer.pk, "n": conversations, "now": now},
            )
            cursor.execute(
                """
                INSERT INTO conversations_message (id, conversation_id, seq, sender,
                    sender_name, body, client_id, meta, created_at)
                SELECT gen_random_uuid(), c.id, s, 'customer', '', '历史消息 ' || s, '', '{}',
                       %(now)s
                FROM conversations_conversation c, generate_series(1, 200) s
                WHERE c.customer_id = %(c)s
                """,
                {"c": customer.pk, "now": now},
            )
            cursor.execute(
                """
                INSERT INTO customers_order (number, customer_id, status, items, total,
                    carrier, tracking_number, placed_at, tracking_events, updated_at)
                SELECT 'BM' || %(c)s || '-' || g, %(c)s, 'delivered', '[]', 199, '', '',
                       %(now)s, '[]', %(now)s
                FROM generate_series(1, %(n)s) g
                """,
                {"c": customer.pk, "n": orders, "now": now},
            )
            cursor.execute(
                """
                INSERT INTO customers_customertag (customer_id, name, source, detail, created_at)
                SELECT %(c)s, 'tag ' || g, 'manual', '', %(now)s FROM generate_series(1, 20) g
                """,
                {"c": customer.pk, "now": now},
            )
            cursor.execute(
                """
                INSERT INTO customers_outreach (campaign_id, customer_id, occasion, due_at,
                    expires_at, status, channel, detail, subject, created_at)
                SELECT %(campaign)s, %(c)s, 'bench:' || g, %(now)s, %(now)s,
                       CASE WHEN g %% 2 = 0 THEN 'sent' ELSE 'pending' END, '', '', '', %(now)s
                FROM generate_series(1, 200) g
                """,
                {"campaign": campaign.pk, "c": customer.pk, "now": now},
            )
        cursor.execute(
            """
            INSERT INTO customers_pointsentry (customer_id, points, reason, key, created_at)
            SELECT %(c)s, 1, 'bench', 'bench-m-' || %(c)s || '-' || g, %(now)s
            FROM generate_series(1, 1000) g
            """,
            {"c": big.pk, "now": now},
        )
    return big, small


def bench_merge(runs: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from customers.services.merge import merge_customers, unmerge_customers

    big, small = seed_pair()
    log("seeded: 70 conversations, 14,000 messages, 700 orders, 1,000 points entries")
    merges, undos, queries = [], [], {}
    for run in range(runs):
        with CaptureQueriesContext(connection) as merged:
            started = time.perf_counter()
            merge = merge_customers(source_id=big.pk, target_id=small.pk, how="admin")
            merges.append(time.perf_counter() - started)
        with CaptureQueriesContext(connection) as undone:
            started = time.perf_counter()
            unmerge_customers(merge_id=merge.pk, by=None)
            undos.append(time.perf_counter() - started)
        if run == 0:
            queries = {"merge": len(merged), "undo": len(undone), "moved": merge.moved_count()}
    return {
        "merge p50 ms": _ms(statistics.median(merges)),
        "merge max ms": _ms(max(merges)),
        "undo p50 ms": _ms(statistics.median(undos)),
        "undo max ms": _ms(max(undos)),
        **{f"{k} (run 1)": v for k, v in queries.items()},
    }


def seed_customers(count: int) -> list[int]:
    from django.db import connection
    from django.utils import timezone

    from customers.demo import DEMO_TAG_RULES
    from customers.models import TagRule

    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM customers_customer WHERE external_id LIKE 'bench-t-%%'"
        )
        if cursor.fetchone()[0] != count:
            log(f"seeding {count:,} customers with orders and conversations")
            cursor.execute("SET session_replication_role = replica")
            cursor.execute("DELETE FROM customers_customertag WHERE source = 'auto'")
            cursor.execute(
                """
                DELETE FROM conversations_message WHERE conversation_id IN (
                    SELECT c.id FROM conversations_conversation c JOIN customers_customer u
                    ON u.id = c.customer_id WHERE u.external_id LIKE 'bench-t-%%')
                """
            )
            cursor.execute(
                """
                DELETE FROM conversations_conversation WHERE customer_id IN (
                    SELECT id FROM customers_customer WHERE external_id LIKE 'bench-t-%%')
                """
            )
            cursor.execute(
                """
                DELETE FROM customers_order WHERE customer_id IN (
                    SELECT id FROM customers_customer WHERE external_id LIKE 'bench-t-%%')
                """
            )
            cursor.execute("DELETE FROM customers_customer WHERE external_id LIKE 'bench-t-%%'")
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute(
                """
                INSERT INTO customers_customer (external_id, name, email, phone, language,
                    level, timezone, points, care_opt_out, conversation_count, segment,
                    attributes, created_at, updated_at)
                SELECT 'bench-t-' || g, '顾客' || g, '', '', 'zh', 'normal', 'Asia/Shanghai',
                       0, false, 0, 'new', '{}', %(now)s, %(now)s
                FROM generate_series(1, %(n)s) g
                """,
                {"n": count, "now": now},
            )
            cursor.execute(
                """
                INSERT INTO customers_order (number, customer_id, status, items, total,
                    carrier, tracking_number, placed_at, tracking_events, updated_at)
                SELECT 'BT' || c.id, c.id, 'delivered',
                       jsonb_build_array(jsonb_build_object('sku', 'S', 'category',
                           (%(categories)s::text[])[1 + c.id %% 5])),
                       (c.id %% 2000)::numeric, '', '', %(now)s - interval '1 day' * (c.id %% 400),
                       '[]', %(now)s
                FROM customers_customer c WHERE c.external_id LIKE 'bench-t-%%'
                """,
                {"categories": CATEGORIES, "now": now},
            )
            cursor.execute(
                """
                INSERT INTO conversations_conversation (id, customer_id, channel, language,
                    status, priority, handoff_reason, resolution, tags, transfer_count,
                    last_seq, customer_read_seq, agent_read_seq, page, bot_context,
                    created_at, updated_at)
                SELECT gen_random_uuid(), c.id, 'web', 'zh', 'closed', 0, '', 'resolved', '{}',
                       0, 2, 0, 0, '{}', '{}', %(now)s - interval '1 day' * (c.id %% 60), %(now)s
                FROM customers_customer c
                WHERE c.external_id LIKE 'bench-t-%%' AND c.id %% 2 = 0
                """,
                {"now": now},
            )
            cursor.execute(
                """
                INSERT INTO conversations_message (id, conversation_id, seq, sender,
                    sender_name, body, client_id, meta, created_at)
                SELECT gen_random_uuid(), c.id, 2, 'bot', '', '…', '',
                       jsonb_build_object('intent', 'logistics_tracking',
                                          'article', 'returns-policy',
                                          'handoff_reason', CASE WHEN c.customer_id % 7 = 0
                                              THEN 'emotion' ELSE '' END),
                       c.created_at
                FROM conversations_conversation c JOIN customers_customer u
                  ON u.id = c.customer_id WHERE u.external_id LIKE 'bench-t-%%'
                """
            )
            cursor.execute("ANALYZE")
        cursor.execute(
            "SELECT id FROM customers_customer WHERE external_id LIKE 'bench-t-%%' ORDER BY id"
        )
        ids = [row[0] for row in cursor.fetchall()]
    for rule in DEMO_TAG_RULES:
        TagRule.objects.get_or_create(name_zh=rule["name_zh"], defaults=rule)
    return ids


def bench_tags(count: int) -> dict:
    from django.db import connection

    from customers.services import tag_rules

    ids = seed_customers(count)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM customers_customertag WHERE source = 'auto'")
    started = time.perf_counter()
    added, removed = tag_rules.sweep()
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = tag_rules.sweep()
    second = time.perf_counter() - started
    one = []
    for customer_id in ids[:: max(1, len(ids) // 200)][:200]:
        started = time.perf_counter()
        tag_rules.evaluate_customers(customer_ids=[customer_id])
        one.append(time.perf_counter() - started)
    return {
        "customers": f"{count:,}",
        "first sweep s": round(first, 2),
        "tags added": f"{added:,}",
        "second sweep s": round(second, 2),
        "second sweep changes": again,
        "one customer p50 ms": _ms(statistics.median(one)),
        "one customer p95 ms": _ms(percentile(sorted(one), 95)),
        "one customer max ms": _ms(max(one)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    configure_environment("lumen_bench_merge")
    prepare_database()
    import django

    django.setup()
    log(f"load: {os.getloadavg()}")
    for name, value in bench_merge(args.runs).items():
        print(f"merge   {name}: {value}")
    for name, value in bench_tags(args.customers).items():
        print(f"tags    {name}: {value}")
    log(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
