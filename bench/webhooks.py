"""Webhooks at scale: the fan-out of the breach job's 200,000 events, and deliveries per
second to a local receiver.

    .venv/bin/python bench/webhooks.py [--events 200000] [--subscriptions 3]
                                       [--deliveries 20000] [--workers 1,2]

In its own database, lumen_bench_webhooks (DATABASE_URL overrides), emptied of webhook
rows first.

Fan-out: `--subscriptions` subscriptions of which all but one want
`ticket.sla_breached`; `--events` such events written the way the breach job writes
them (one INSERT … SELECT, PostgreSQL making the ids and the sequence, each carrying a
ticket of the API's shape, about 900 bytes); then helpdesk.webhooks.deliveries.fan_out
until nothing is left: the time, events/s and deliveries made (must be events ×
wanting subscriptions, each pair once), and a second run that must make none.

Deliveries: one subscription to a receiver on 127.0.0.1 (a ThreadingHTTPServer in its
own process, answering 200 and checking every signature), `--deliveries` events fanned
out, then for each count of `--workers`: that many worker processes each calling
deliver_due until nothing is due (WEBHOOK_BATCH deliveries a claim,
WEBHOOK_SEND_THREADS POSTs at once per worker): deliveries/s from the first claim to
the last record, the attempts' duration (p50/p95), and the receiver's count: every
event received, none twice, no bad signature.

Prints the figures; exits 1 when an event is lost, sent twice or badly signed, or a
fan-out pair is missing or made twice.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))  # run as a script: the project is one folder up

from bench.stack import (  # noqa: E402
    configure_environment,
    log,
    percentile,
    prepare_database,
    serve_posts,
    signed,
)

TICKET_SQL = """jsonb_build_object(
    'ticket', jsonb_build_object(
        'id', 'T-' || lpad(n::text, 7, '0'),
        'subject', '蓝牙耳机没有声音 · order LM' || (10000000 + n),
        'description', '客户反馈左耳没有声音，已重启设备，仍然无效。',
        'type', 'repair', 'priority', 'high', 'status', 'open', 'source', 'chat',
        'customer', 'u-' || (n %% 100000), 'conversations', jsonb_build_array(gen_random_uuid()),
        'group', 'after_sales', 'assignee', jsonb_build_object('id', n %% 200, 'name', '李娜'),
        'tags', jsonb_build_array('headphones'),
        'sla', jsonb_build_object('policy', 'Standard', 'first_response_due', '2026-12-07T02:00:00Z',
            'next_response_due', null, 'resolution_due', '2026-12-07T10:00:00Z', 'paused', false,
            'breached', jsonb_build_object('first_response', true, 'next_response', false,
                                           'resolution', false)),
        'created_at', '2026-12-06T02:00:00Z', 'updated_at', '2026-12-07T02:00:00Z',
        'resolved_at', null, 'closed_at', null),
    'clock', 'first_response', 'due', '2026-12-07T02:00:00Z',
    'breached_at', '2026-12-07T02:01:00Z')"""


def setup() -> None:
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/6")
    configure_environment("lumen_bench_webhooks")
    os.environ["CHANNEL_LAYER_PREFIX"] = os.environ["CACHE_PREFIX"] = "bench-webhooks"
    os.environ["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = "1"  # the receiver is on 127.0.0.1
    import django

    django.setup()


def empty() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE helpdesk_webhookattempt, helpdesk_webhookdelivery, "
            "helpdesk_webhooksubscription, helpdesk_outboundevent"
        )


def write_events(count: int) -> float:
    """`count` ticket.sla_breached events as the breach job writes them; seconds taken."""
    from django.db import connection, transaction

    from helpdesk.ids import UUID7_SQL

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO helpdesk_outboundevent (id, event, data, created_at) "  # noqa: S608
            f"SELECT {UUID7_SQL}, 'ticket.sla_breached', {TICKET_SQL}, clock_timestamp() "
            "FROM generate_series(1, %s) n ORDER BY n",
            [count],
        )
    return time.perf_counter() - started


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("helpdesk_outboundevent", "helpdesk_webhookdelivery"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def subscribe(urls: list[str], events: list[list[str]]):
    from helpdesk.models import ApiKey
    from helpdesk.webhooks import subscriptions

    key, _raw = ApiKey.issue(name="bench", scopes=["webhooks"])
    return [
        subscriptions.create_subscription(api_key=key, url=url, events=wanted)
        for url, wanted in zip(urls, events, strict=True)
    ]


def fan_out_bench(events: int, count: int) -> tuple[bool, dict]:
    from django.db import connection

    from helpdesk.webhooks import deliveries

    empty()
    made = subscribe(
        [f"http://127.0.0.1:9/hook-{n}" for n in range(count)],
        [["ticket.sla_breached"]] * (count - 1) + [["survey.answered"]],
    )
    log(f"fan-out: writing {events:,} ticket.sla_breached events as the breach job does")
    wrote = write_events(events)
    vacuum()
    log(f"fan-out: {events:,} events to {len(made)} subscriptions ({len(made) - 1} want them)")
    started = time.perf_counter()
    made_count = deliveries.fan_out(budget=3600)
    took = time.perf_counter() - started
    again = deliveries.fan_out(budget=3600)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT (event_id, subscription_id)) "
            "FROM helpdesk_webhookdelivery"
        )
        rows, pairs = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM helpdesk_outboundevent WHERE fanned_out_at IS NULL")
        (left,) = cursor.fetchone()
        cursor.execute("SELECT pg_total_relation_size('helpdesk_webhookdelivery')")
        (size,) = cursor.fetchone()
    expected = events * (len(made) - 1)
    ok = made_count == rows == pairs == expected and again == 0 and left == 0
    figures = {
        "events": events,
        "write_s": wrote,
        "fan_out_s": took,
        "events_per_s": events / took,
        "deliveries": made_count,
        "expected": expected,
        "second_run": again,
        "left": left,
        "table_mb": size / 2**20,
    }
    return ok, figures


# --- deliveries ---------------------------------------------------------------------------------


def receive(port_out, counts_in, secret: str) -> None:
    """The receiver process: answers 200, checks each signature, counts the event ids."""
    from threading import Lock

    seen: dict[str, int] = {}
    bad = [0]
    lock = Lock()

    def on_post(headers, body: bytes) -> None:
        good = signed(secret, headers["X-Helpdesk-Signature"], body)
        with lock:
            delivery = headers["X-Helpdesk-Delivery"]
            seen[delivery] = seen.get(delivery, 0) + 1
            bad[0] += not good

    server = serve_posts(on_post, port_out)
    while True:
        message = counts_in.recv()
        if message == "stop":
            break
        with lock:
            counts_in.send({"received": sum(seen.values()), "distinct": len(seen), "bad": bad[0]})
            seen.clear()
            bad[0] = 0
    server.shutdown()


def deliver_worker(ready, go, done) -> None:
    """A worker process: deliver_due until nothing is due; reports its counts."""
    setup()
    from helpdesk.webhooks import deliveries

    ready.set()
    go.wait()
    delivered = failed = 0
    while True:
        run = deliveries.deliver_due(budget=3600)
        delivered += run.delivered
        failed += run.failed
        if not run.more:
            break
    done.put((delivered, failed, time.perf_counter()))


def delivery_bench(count: int, workers: list[int]) -> tuple[bool, list[dict]]:
    from django.conf import settings
    from django.db import connection, connections

    from helpdesk.webhooks import deliveries

    context = multiprocessing.get_context("spawn")
    empty()
    [subscription] = subscribe(["http://127.0.0.1:1/"], [["ticket.sla_breached"]])
    port_in, port_out = context.Pipe(duplex=False)
    counts_here, counts_there = context.Pipe()
    receiver = context.Process(
        target=receive, args=(port_out, counts_there, subscription.secret), daemon=True
    )
    receiver.start()
    port = port_in.recv()
    from helpdesk.models import WebhookSubscription

    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        url=f"http://127.0.0.1:{port}/hook"
    )
    ok, results = True, []
    for n in workers:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE helpdesk_webhookattempt, helpdesk_webhookdelivery")
            cursor.execute("DELETE FROM helpdesk_outboundevent")
        write_events(count)
        deliveries.fan_out(budget=3600)
        vacuum()
        connections.close_all()
        log(
            f"deliveries: {count:,} to 127.0.0.1:{port} with {n} worker process(es), "
            f"WEBHOOK_BATCH {settings.WEBHOOK_BATCH}, "
            f"WEBHOOK_SEND_THREADS {settings.WEBHOOK_SEND_THREADS}"
        )
        go, done = context.Event(), context.Queue()
        readies = [context.Event() for _ in range(n)]
        processes = [
            context.Process(target=deliver_worker, args=(ready, go, done)) for ready in readies
        ]
        for process in processes:
            process.start()
        for ready in readies:
            ready.wait()
        started = time.perf_counter()
        go.set()
        reports = [done.get() for _ in processes]
        for process in processes:
            process.join()
        took = max(finished for _d, _f, finished in reports) - started
        counts_here.send("count")
        received = counts_here.recv()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FILTER (WHERE state = 'delivered'), count(*) "
                "FROM helpdesk_webhookdelivery"
            )
            delivered_rows, rows = cursor.fetchone()
            cursor.execute("SELECT duration_ms FROM helpdesk_webhookattempt")
            durations = sorted(row[0] for row in cursor.fetchall())
        delivered = sum(d for d, _f, _t in reports)
        figures = {
            "workers": n,
            "deliveries": count,
            "seconds": took,
            "per_s": delivered / took,
            "delivered": delivered,
            "failed_attempts": sum(f for _d, f, _t in reports),
            "rows_delivered": delivered_rows,
            "rows": rows,
            "attempts": len(durations),
            "p50_ms": percentile(durations, 50),
            "p95_ms": percentile(durations, 95),
            **received,
        }
        results.append(figures)
        ok = ok and (
            delivered == delivered_rows == rows == count
            and received["received"] == received["distinct"] == count
            and received["bad"] == 0
        )
    counts_here.send("stop")
    receiver.join(timeout=10)
    return ok, results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--subscriptions", type=int, default=3)
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--only", choices=["fan-out", "deliveries"])
    args = parser.parse_args()
    setup()
    prepare_database()
    ok = True
    if args.only != "deliveries":
        fan_ok, f = fan_out_bench(args.events, args.subscriptions)
        print(
            f"\nfan-out  events {f['events']:,}  written in {f['write_s']:.1f} s  "
            f"fanned out in {f['fan_out_s']:.1f} s ({f['events_per_s']:,.0f} events/s)  "
            f"deliveries {f['deliveries']:,} of {f['expected']:,} expected  "
            f"second run {f['second_run']}  left {f['left']}  "
            f"delivery table {f['table_mb']:.0f} MB  {'OK' if fan_ok else 'FAILED'}"
        )
        ok = fan_ok
    if args.only != "fan-out":
        workers = [int(n) for n in args.workers.split(",")]
        sent_ok, results = delivery_bench(args.deliveries, workers)
        print()
        for r in results:
            print(
                f"deliveries  workers {r['workers']}  {r['deliveries']:,} in {r['seconds']:.1f} s "
                f"= {r['per_s']:,.0f}/s  attempt p50 {r['p50_ms']:.0f} ms p95 {r['p95_ms']:.0f} ms  "
                f"received {r['received']:,} (distinct {r['distinct']:,}, bad signatures "
                f"{r['bad']})  failed attempts {r['failed_attempts']}"
            )
        print("OK" if sent_ok else "FAILED: lost, doubled or badly signed deliveries")
        ok = ok and sent_ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
