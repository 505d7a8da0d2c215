"""The widget's hot path and the segments' sweep.

    .venv/bin/python bench/widget.py [--customers 1000000] [--requests 3000]
        [--concurrency 16] [--port 8127]

Seeds (once) into its own database, lumen_bench_widget (DATABASE_URL overrides),
`--customers` customers first seen over the last 120 days (1 % VIP, a quarter with two
conversations or more) and a paid order for every fifth, twenty invitation rules, and a
widget site. Then:

- **the segments' sweep** (`customers.services.segments.refresh_segments`, Beat's daily
  job): every segment reset to "new", then the sweep timed twice — once writing nearly
  every row, once with nothing to change — with the rows changed;
- **invitation checks** over HTTP against the real server (python -m helpdesk.server,
  daphne), as a shop's pages make them: `--requests` checks from `--concurrency` clients
  at once, each from a visitor of its own with the site's Origin, half on a page a rule
  invites on (a row written) and half elsewhere. Prints p50 / p95 / p99 / max in ms and
  the checks per second.

Prints the figures; nothing is asserted (docs/benchmarks.md records them).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))  # run as a script: the project is one folder up

from bench.stack import Server, configure_environment, log, percentile, prepare_database  # noqa: E402

SITE_ORIGIN = "https://shop.example"
RULES = 20


def seed(customers: int) -> None:
    from django.db import connection, transaction

    from conversations.models import WidgetSite
    from customers.models import Customer, InvitationRule

    have = Customer.objects.count()
    if have < customers:
        log(f"seeding {customers - have:,} customers and their orders")
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO customers_customer (external_id, name, email, phone, language,
                    level, timezone, points, care_opt_out, segment, conversation_count,
                    created_at, updated_at)
                SELECT 'bench-w-' || n, 'bench ' || n, '', '', 'zh',
                       CASE WHEN n %% 100 = 0 THEN 'vip' ELSE 'normal' END, 'Asia/Shanghai',
                       0, false, 'new', (n %% 4), now() - interval '1 hour' * (n %% 2880),
                       now()
                  FROM generate_series(%s, %s) n
                """,
                [have + 1, customers],
            )
            cursor.execute(
                """
                INSERT INTO customers_order (number, customer_id, status, items, total,
                    carrier, tracking_number, tracking_events, placed_at, updated_at)
                SELECT 'BW' || c.id, c.id, 'paid', '[]'::jsonb, 99, '', '', '[]'::jsonb,
                       now() - interval '1 day', now()
                  FROM customers_customer c
                 WHERE c.id %% %s = 0 AND NOT EXISTS (
                       SELECT 1 FROM customers_order o WHERE o.customer_id = c.id)
                """,
                [5],
            )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE customers_customer; ANALYZE customers_order")
    if InvitationRule.objects.count() < RULES:
        InvitationRule.objects.all().delete()
        InvitationRule.objects.bulk_create(
            InvitationRule(
                name=f"rule {n}",
                position=n,
                url_pattern=f"/section-{n}/*" if n else "/products/*",
                min_seconds=10,
                message_zh="需要帮忙吗？",
                message_en="Need help?",
            )
            for n in range(RULES)
        )
    WidgetSite.objects.get_or_create(
        key="bench", defaults={"name": "bench", "allowed_origins": SITE_ORIGIN}
    )


def sweep() -> dict:
    from django.db import connection

    from customers.services import segments

    with connection.cursor() as cursor:
        cursor.execute("UPDATE customers_customer SET segment = 'new'")
    figures = {}
    for label in ("first (most rows change)", "second (nothing to change)"):
        started = time.perf_counter()
        changed = segments.refresh_segments()
        figures[label] = (time.perf_counter() - started, changed)
    return figures


async def checks(url: str, *, requests: int, concurrency: int) -> tuple[list[float], float]:
    import httpx

    timings: list[float] = []
    counter = iter(range(requests))

    async def client_loop(client: httpx.AsyncClient) -> None:
        for n in counter:
            page = "/products/42" if n % 2 else "/cart"
            started = time.perf_counter()
            response = await client.post(
                "/api/v1/chat/invitations/?channel=bench",
                json={
                    "page": {"url": SITE_ORIGIN + page, "title": "bench"},
                    "seconds": 12,
                    "visitor": f"bench-{os.getpid()}-{time.time_ns()}-{n}",
                },
                headers={"Origin": SITE_ORIGIN},
            )
            timings.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for n in range(50):  # warm-up
            await client.post(
                "/api/v1/chat/invitations/?channel=bench",
                json={"page": {"url": SITE_ORIGIN + "/cart"}, "seconds": 1, "visitor": f"w{n}"},
                headers={"Origin": SITE_ORIGIN},
            )
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return sorted(timings), elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--port", type=int, default=8127)
    args = parser.parse_args()

    configure_environment("lumen_bench_widget")
    os.environ["CHAT_INVITATION_RATE"] = "100000000/min"
    prepare_database()
    import django

    django.setup()
    log(f"machine: {os.getloadavg()[0]:.2f} load (1 min)")
    seed(args.customers)

    log("segments' sweep")
    for label, (seconds, changed) in sweep().items():
        print(f"  sweep, {label}: {seconds:.1f} s, {changed:,} rows changed")

    from customers.models import Invitation

    Invitation.objects.all().delete()
    with Server(args.port, "widget") as server:
        log(f"{args.requests:,} invitation checks, {args.concurrency} at a time")
        timings, elapsed = asyncio.run(
            checks(server.url, requests=args.requests, concurrency=args.concurrency)
        )
    print(
        f"  invitation checks: p50 {percentile(timings, 50):.1f} ms, "
        f"p95 {percentile(timings, 95):.1f} ms, p99 {percentile(timings, 99):.1f} ms, "
        f"max {timings[-1]:.1f} ms, mean {statistics.fmean(timings):.1f} ms; "
        f"{len(timings) / elapsed:.0f} checks/s; "
        f"{Invitation.objects.count():,} invitations written"
    )
    log(f"machine: {os.getloadavg()[0]:.2f} load (1 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
