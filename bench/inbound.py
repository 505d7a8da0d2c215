"""Inbound messages per second: a partner relaying WeChat messages through
`POST /api/v1/inbound/messages/`, the bot answering each, and every message of those
conversations delivered to the partner's receiver by `message.created` webhooks.

    .venv/bin/python bench/inbound.py [--messages 6000] [--per-customer 5]
        [--concurrency 32] [--servers 1] [--workers 1] [--port 8124]

In its own database, lumen_bench_inbound (DATABASE_URL overrides), migrated and given
the demo knowledge base when missing; the webhook tables are emptied first.

- `--servers` daphne processes (ports PORT, PORT+1, …) serve the API, as production
  scales out; `--workers` Celery worker processes (solo pool) run the webhook deliveries
  (`deliver_webhooks_task`, enqueued after the commits that wrote events); a receiver
  process on 127.0.0.1 answers 200, checks every signature, and checks that each
  conversation's `message.created` events arrive with seq 1, 2, 3, … (none missing,
  none out of order; a repeated event id is counted, not re-checked).
- The client (asyncio, httpx) runs `--concurrency` customers at once, each sending
  `--per-customer` WeChat messages one after the other (a question from the demo
  knowledge base, answered by the bot), waiting for each answer before the next (a
  relay sends one customer's messages in order), until `--messages` are sent.

Figures: inbound messages/s from the first request to the last answer, the requests'
latency (p50/p95/p99), then how long the deliveries took to drain after the last
request, deliveries/s, and the receiver's counts against the database: every message
of the bench's conversations (and every conversation.created) received, in order.

Prints the figures; exits 1 when an event is lost, out of order or badly signed, or a
request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))  # run as a script: the project is one folder up

from bench.stack import (  # noqa: E402
    Server,
    configure_environment,
    demo_knowledge,
    log,
    percentile,
    prepare_database,
    serve_posts,
    signed,
    start_worker,
)

EVENTS = ["conversation.created", "message.created"]


def setup() -> None:
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/7")
    configure_environment("lumen_bench_inbound")
    os.environ["CHANNEL_LAYER_PREFIX"] = os.environ["CACHE_PREFIX"] = "bench-inbound"
    os.environ["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = "1"  # the receiver is on 127.0.0.1
    os.environ["API_KEY_RATE"] = "100000000/min"
    import django

    django.setup()


def questions() -> list[str]:
    """The demo knowledge base's Chinese titles: questions the bot answers."""
    from knowledge.demo import DEMO_DIR

    titles = []
    with open(DEMO_DIR / "kb.jsonl", encoding="utf-8") as kb:
        for line in kb:
            article = json.loads(line)
            if article["language"] == "zh":
                titles.append(article["title"] + "？")
    return titles


def seed():
    """The knowledge base (once), empty webhook tables, the relay's key and subscription
    (its URL set once the receiver is up). Returns (raw key, subscription)."""
    from django.db import connection

    from helpdesk.models import ApiKey, WebhookSubscription

    demo_knowledge()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE helpdesk_webhookattempt, helpdesk_webhookdelivery, helpdesk_outboundevent"
        )
    WebhookSubscription.objects.all().delete()
    key, raw = ApiKey.issue(name=f"bench relay {uuid.uuid4().hex[:6]}", scopes=["conversations"])
    subscription = WebhookSubscription.objects.create(
        api_key=key, url="http://127.0.0.1:1/hook", events=EVENTS
    )
    return raw, subscription


# --- the receiver ---------------------------------------------------------------------------


def receive(port_out, control, secret: str) -> None:
    """The relay's receiver: answers 200, checks signatures and each conversation's order."""
    from threading import Lock

    seen: set[str] = set()
    last_seq: dict[str, int] = {}
    counts = {"received": 0, "distinct": 0, "bad_signature": 0, "out_of_order": 0, "messages": 0}
    counts["bot_replies"] = counts["created"] = 0
    first_last = [None, None]
    lock = Lock()

    def on_post(headers, body: bytes) -> None:
        good = signed(secret, headers["X-Helpdesk-Signature"], body)
        envelope = json.loads(body)
        with lock:
            now = time.time()
            first_last[0] = first_last[0] or now
            first_last[1] = now
            counts["received"] += 1
            counts["bad_signature"] += not good
            if envelope["id"] in seen:
                return
            seen.add(envelope["id"])
            counts["distinct"] += 1
            data = envelope["data"]
            if envelope["event"] != "message.created":
                counts["created"] += 1
                return
            conversation, seq = data["conversation"]["id"], data["message"]["seq"]
            if seq != last_seq.get(conversation, 0) + 1:
                counts["out_of_order"] += 1
            last_seq[conversation] = max(seq, last_seq.get(conversation, 0))
            counts["messages"] += 1
            counts["bot_replies"] += data["message"]["sender"] == "bot"

    server = serve_posts(on_post, port_out)
    while control.recv() != "stop":
        with lock:
            control.send({**counts, "first_at": first_last[0], "last_at": first_last[1]})
    server.shutdown()


# --- the client -----------------------------------------------------------------------------


async def relay(urls: list[str], key: str, args, texts: list[str], tag: str) -> dict:
    import httpx

    customers = -(-args.messages // args.per_customer)
    latencies: list[float] = []
    failures: list[str] = []
    sent = [0]
    next_customer = iter(range(customers))

    async def customer_loop(client: httpx.AsyncClient, slot: int) -> None:
        for n in next_customer:
            base = urls[n % len(urls)]
            for k in range(args.per_customer):
                if n * args.per_customer + k >= args.messages:
                    return
                body = {
                    "channel": "wechat",
                    "customer": f"wx-{tag}-{n}",
                    "client_id": f"m-{k}",
                    "body": texts[(n * 7 + k) % len(texts)],
                }
                started = time.perf_counter()
                sent[0] += 1
                try:
                    response = await client.post(f"{base}/api/v1/inbound/messages/", json=body)
                except httpx.HTTPError as error:
                    failures.append(repr(error))
                    continue
                latencies.append(time.perf_counter() - started)
                if response.status_code != 201:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(
        headers={"Authorization": f"Bearer {key}"}, timeout=60, limits=limits
    ) as client:
        started = time.perf_counter()
        began = time.time()
        await asyncio.gather(*(customer_loop(client, slot) for slot in range(args.concurrency)))
        took = time.perf_counter() - started
    latencies.sort()
    return {
        "sent": sent[0],
        "answered": len(latencies) - sum(f[:3].isdigit() for f in failures),
        "failures": failures,
        "seconds": took,
        "began": began,
        "ended": time.time(),
        "per_s": len(latencies) / took,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


# --- workers ---------------------------------------------------------------------------------


def expected_counts(tag: str) -> dict:
    """What the receiver must have: every message of the bench's conversations."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(DISTINCT c.id), count(m.id), count(m.id) FILTER (WHERE m.sender = 'bot'),
                   count(m.id) FILTER (WHERE m.sender = 'customer')
            FROM conversations_conversation c
            JOIN customers_customer u ON u.id = c.customer_id
            LEFT JOIN conversations_message m ON m.conversation_id = c.id
            WHERE u.external_id LIKE %s
            """,
            [f"wx-{tag}-%"],
        )
        conversations, messages, bot, customer = cursor.fetchone()
    return {"conversations": conversations, "messages": messages, "bot": bot, "customer": customer}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=6000)
    parser.add_argument("--per-customer", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--port", type=int, default=8124)
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    args = parser.parse_args()

    setup()
    prepare_database()
    from django.db import connections

    from helpdesk.models import WebhookSubscription

    texts = questions()
    key, subscription = seed()
    tag = uuid.uuid4().hex[:8]
    context = multiprocessing.get_context("spawn")
    port_in, port_out = context.Pipe(duplex=False)
    control_here, control_there = context.Pipe()
    receiver = context.Process(
        target=receive, args=(port_out, control_there, subscription.secret), daemon=True
    )
    receiver.start()
    receiver_port = port_in.recv()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        url=f"http://127.0.0.1:{receiver_port}/hook"
    )
    connections.close_all()
    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "helpdesk", "purge", "-f"],
        cwd=BASE_DIR,
        check=True,
        capture_output=True,
    )
    with ExitStack() as stack:
        servers = [
            stack.enter_context(Server(args.port + i, f"inbound-{i}")) for i in range(args.servers)
        ]
        for number in range(args.workers):
            start_worker(f"inbound-{number}", stack)
        log(
            f"{args.servers} daphne, {args.workers} Celery worker(s), receiver on "
            f"127.0.0.1:{receiver_port}; sending {args.messages:,} messages, "
            f"{args.concurrency} customers at once, {args.per_customer} each"
        )
        client = asyncio.run(relay([s.url for s in servers], key, args, texts, tag))
        log(f"sent in {client['seconds']:.1f} s; waiting for the deliveries")
        expected = expected_counts(tag)
        want = expected["messages"] + expected["conversations"]
        deadline = time.monotonic() + args.drain_timeout
        while True:
            control_here.send("count")
            counts = control_here.recv()
            if counts["distinct"] >= want or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        control_here.send("stop")
    drained_after = (counts["last_at"] or client["ended"]) - client["ended"]
    delivering = (counts["last_at"] or 0) - (counts["first_at"] or 0)
    lost = want - counts["distinct"]
    ok = (
        not client["failures"]
        and lost == 0
        and counts["out_of_order"] == 0
        and counts["bad_signature"] == 0
    )
    rows = [
        ("inbound messages sent / answered 201", f"{client['sent']:,} / {client['answered']:,}"),
        ("inbound messages/s (sustained)", f"{client['per_s']:.0f}"),
        (
            "request latency p50 / p95 / p99 (ms)",
            f"{client['p50_ms']:.1f} / {client['p95_ms']:.1f} / {client['p99_ms']:.1f}",
        ),
        (
            "conversations / messages in them",
            f"{expected['conversations']:,} / {expected['messages']:,}",
        ),
        ("bot replies", f"{expected['bot']:,}"),
        ("events expected / received (distinct)", f"{want:,} / {counts['distinct']:,}"),
        ("received in all (with repeats)", f"{counts['received']:,}"),
        (
            "deliveries/s (first to last)",
            f"{counts['distinct'] / delivering:.0f}" if delivering > 0 else "-",
        ),
        ("last delivery after the last request (s)", f"{drained_after:.1f}"),
        (
            "lost / out of order / bad signature",
            f"{lost} / {counts['out_of_order']} / {counts['bad_signature']}",
        ),
        ("failed requests", str(len(client["failures"]))),
    ]
    print()
    print(
        f"Inbound: {args.messages:,} WeChat messages, {args.concurrency} customers at once, "
        f"{args.servers} daphne, {args.workers} Celery worker(s)"
    )
    for name, value in rows:
        print(f"{name:<44}{value:>24}")
    for failure in client["failures"][:5]:
        print("  failure:", failure)
    print("OK" if ok else "FAILED: see above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
