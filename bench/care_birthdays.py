"""The birthday job at 1,000,000 customers: claim and send, each exactly once.

    .venv/bin/python bench/care_birthdays.py [--customers 1000000] [--open-chats 1000]
                                             [--workers 1] [--batch 1000] [--chunk 50000]
                                             [--at ISO-TIME]

Seeds (once, with INSERT … SELECT over generate_series) into its own database,
lumen_bench_care (DATABASE_URL overrides): `--customers` customers whose birthday is
"today" where they live at the instant `--at` (2026-12-07 03:00 UTC by default, so every
run sees the same day), spread over the timezones where it is past 09:00 then — from
Auckland and Tokyo (7 December) to New York and Honolulu (still 6 December) — 70 %
writing in Chinese, 30 % in English, each with an email address; `--open-chats` of them
have a chat open (they get the greeting there, the rest by email).

Each run starts from no outreach and no coupons, then times the job as `--workers`
Celery workers would run it (forked processes, each with its own connections):

- worker 0 runs the planner, customers.services.care.plan_birthdays, which claims the
  greetings a chunk of `--chunk` customers at a time, each chunk committed on its own
  and followed by a "send" task (in production `hooks.outreach_claimed` enqueues
  `send_due_outreach_task`; here the tasks go through a multiprocessing queue);
- every worker (worker 0 once the planner is done) takes the send tasks:
  conversations.services.care.send_due_outreach, batch after batch until nothing is due:
  coupons issued, texts filled, the chat ones posted, the emails handed to
  bench/countingmail.py (a mail backend that counts per outreach and sends nothing; it
  turns one message in a thousand into MIME bytes to show what an SMTP backend would
  add).

Prints when the planner finished and when the last send did (the job's time), each
worker's RSS before the job and its peak ("flat": the peak close to the start, whatever
the number of customers), the sends by channel, and duplicates: an outreach handed to
the mail backend twice, a chat given the greeting twice, a customer with two coupons.
Exits 1 when the job took over 60 s, anything was sent twice, or not every claimed
greeting was sent.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))  # run as a script: the project is one folder up

from bench.stack import configure_environment, log, prepare_database  # noqa: E402

MAX_SECONDS = 60.0  # the target: claim and send a million in a minute
DEFAULT_AT = "2026-12-07T03:00:00+00:00"
ZONES = [
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Bangkok",
    "Asia/Dhaka",
    "Asia/Kolkata",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Kiritimati",
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙"
EXTERNAL_PREFIX = "bench-care-"


def greeted_zones(at: datetime) -> list[tuple[str, str]]:
    """(zone, local date) of the zones where it is 09:00 or later at `at`."""
    result = []
    for name in ZONES:
        local = at.astimezone(ZoneInfo(name))
        if local.hour >= 9:
            result.append((name, local.date().isoformat()))
    return result


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def seed(customers: int, open_chats: int, at: datetime) -> None:
    from django.db import connection

    from conversations.models import Conversation

    zones = greeted_zones(at)
    marker = f"{EXTERNAL_PREFIX}{customers}-{at.isoformat()}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_customer")
        (count,) = cursor.fetchone()
        cursor.execute("SELECT 1 FROM customers_customer WHERE name = %s", [marker])
        seeded = cursor.fetchone() is not None
    if seeded and count == customers + 1:
        log(f"{customers:,} customers seeded before")
        return
    log(f"seeding {customers:,} customers over {len(zones)} timezones")
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE customers_customer RESTART IDENTITY CASCADE")
        cursor.execute(
            """
            INSERT INTO customers_customer (external_id, name, email, phone, language, level,
                timezone, birthday, points, care_opt_out, quiet_start, quiet_end,
                conversation_count, segment, attributes, created_at, updated_at)
            SELECT %(prefix)s || g,
                   substr(%(surnames)s, 1 + g %% 12, 1) || '芳' || g,
                   'c' || g || '@bench.example', '',
                   CASE WHEN g %% 10 < 7 THEN 'zh' ELSE 'en' END, 'normal',
                   (%(zones)s::text[])[1 + g %% %(n)s],
                   ((%(days)s::date[])[1 + g %% %(n)s] - make_interval(years => 20 + g %% 40))::date,
                   0, false, NULL, NULL, 0, 'new', '{}', now(), now()
            FROM generate_series(1, %(customers)s) g
            """,
            {
                "prefix": EXTERNAL_PREFIX,
                "surnames": SURNAMES,
                "zones": [zone for zone, _day in zones],
                "days": [day for _zone, day in zones],
                "n": len(zones),
                "customers": customers,
            },
        )
        # The seed's mark: which size and instant this data was made for.
        cursor.execute(
            "INSERT INTO customers_customer (name, email, phone, language, level, timezone, "
            "points, care_opt_out, conversation_count, segment, attributes, created_at, updated_at) "
            "VALUES (%s, '', '', 'zh', 'normal', 'UTC', 0, true, 0, 'new', '{}', now(), now())",
            [marker],
        )
        cursor.execute(
            "SELECT id FROM customers_customer WHERE external_id LIKE %s ORDER BY id",
            [EXTERNAL_PREFIX + "%"],
        )
        ids = [row[0] for row in cursor.fetchall()]
    step = max(1, len(ids) // max(1, open_chats))
    Conversation.objects.bulk_create(
        [
            Conversation(customer_id=customer_id, status=Conversation.Status.BOT)
            for customer_id in ids[::step][:open_chats]
        ],
        batch_size=1000,
    )
    del ids
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE customers_customer")
        cursor.execute("VACUUM ANALYZE conversations_conversation")
    log(f"seeded in {time.monotonic() - started:.1f} s")


def reset() -> None:
    """No outreach, coupons or greetings from an earlier run; fresh statistics."""
    from django.db import connection

    from customers.models import CareCampaign

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE customers_outreach, customers_coupon RESTART IDENTITY CASCADE")
        cursor.execute("DELETE FROM conversations_message WHERE meta->>'event' = 'care'")
        for table in ("customers_outreach", "customers_coupon", "conversations_message"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("CHECKPOINT")
    CareCampaign.objects.exclude(kind=CareCampaign.Kind.BIRTHDAY).update(enabled=False)
    CareCampaign.objects.filter(kind=CareCampaign.Kind.BIRTHDAY).update(
        enabled=True, coupon_amount=20, coupon_days=30, expire_hours=15, delay_minutes=0
    )


def _worker(at: datetime, index: int, workers: int, go, tasks, pipe) -> None:
    """One Celery worker of the job. Worker 0 first runs the planner (Beat's task); each
    chunk it commits puts a "send" task on the queue, as `hooks.outreach_claimed` enqueues
    `send_due_outreach_task` in production, and any idle worker takes it. When the
    planner is done, worker 0 takes tasks too; a "stop" per worker ends the run once every
    task before it is done (the queue is first in, first out)."""
    from bench import countingmail
    from conversations.services.care import send_due_outreach
    from customers import hooks
    from customers.services.care import plan_birthdays
    from helpdesk.realtime import use_own_loop

    use_own_loop()  # as a Celery worker does after its fork (helpdesk/celery.py)
    rss_before = rss_mib()
    result = {"sent": 0, "claimed": 0, "planned_at": None, "tasks": 0}
    go.wait()
    if index == 0:
        hooks.on_outreach_claimed(lambda: tasks.put("send"))
        result["claimed"] = plan_birthdays(now=at)
        result["planned_at"] = time.monotonic()
        for _n in range(workers):
            tasks.put("stop")
    while tasks.get() == "send":
        result["tasks"] += 1
        result["sent"] += send_due_outreach(now=at)
    result.update(
        finished_at=time.monotonic(),
        counts=bytes(countingmail.counts),
        stats=countingmail.stats,
        rss_before=rss_before,
        peak_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
    pipe.send(result)
    pipe.close()


def run_job(at: datetime, workers: int) -> dict:
    """Plan and send with `workers` worker processes (forked, each with its own
    connections); returns the figures, with times from the moment they all started."""
    from django.db import connections

    # Every forked worker opens its own connections: none (nor a pool's) may be inherited.
    for connection in connections.all(initialized_only=True):
        connection.close()
        if hasattr(connection, "close_pool"):
            connection.close_pool()
    context = multiprocessing.get_context("fork")
    go, tasks = context.Event(), context.Queue()
    pipes, processes = [], []
    for index in range(workers):
        parent, child = context.Pipe(duplex=False)
        process = context.Process(target=_worker, args=(at, index, workers, go, tasks, child))
        process.start()
        pipes.append(parent)
        processes.append(process)
    time.sleep(0.5)  # every worker forked and waiting
    started = time.monotonic()
    go.set()
    results = [pipe.recv() for pipe in pipes]
    for process in processes:
        process.join()
    counts = bytearray(max(len(result["counts"]) for result in results))
    for result in results:
        for index, value in enumerate(result["counts"]):
            if value:
                counts[index] = min(255, counts[index] + value)
    stats = {key: sum(result["stats"][key] for result in results) for key in results[0]["stats"]}
    return {
        "claimed": results[0]["claimed"],
        "planned": results[0]["planned_at"] - started,
        "finished": max(result["finished_at"] for result in results) - started,
        "sent": sum(result["sent"] for result in results),
        "counts": counts,
        "stats": stats,
        "worker_rss": [(result["rss_before"], result["peak_rss"]) for result in results],
        "worker_sent": [result["sent"] for result in results],
        "worker_tasks": [result["tasks"] for result in results],
    }


def verify(counts: bytearray) -> dict:
    """Every claimed greeting sent once: by the outreach rows, the mail backend's counts,
    the chats' messages and the coupons."""
    from django.db import connection, transaction

    figures: dict = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, channel, count(*) FROM customers_outreach GROUP BY 1, 2 ORDER BY 1, 2"
        )
        figures["outreach"] = {f"{status}/{channel or '-'}": n for status, channel, n in cursor}
        cursor.execute(
            "SELECT count(*), count(DISTINCT conversation_id) FROM conversations_message "
            "WHERE meta->>'event' = 'care'"
        )
        messages, chats = cursor.fetchone()
        cursor.execute("SELECT count(*), count(DISTINCT customer_id) FROM customers_coupon")
        coupons, coupon_customers = cursor.fetchone()
    figures["chat_messages"] = messages
    figures["chat_duplicates"] = messages - chats
    figures["coupons"] = coupons
    figures["coupon_duplicates"] = coupons - coupon_customers
    # Each emailed outreach handed to the mail backend exactly once, and nothing else.
    never, twice, emailed = 0, 0, 0
    with transaction.atomic(), connection.connection.cursor(name="emailed") as rows:
        rows.itersize = 100_000
        rows.execute(
            "SELECT id FROM customers_outreach WHERE channel = 'email' AND status = 'sent'"
        )
        for (outreach_id,) in rows:
            emailed += 1
            got = counts[outreach_id] if outreach_id < len(counts) else 0
            never += got == 0
            twice += got > 1
    figures["emailed"] = emailed
    figures["email_never_handed"] = never
    figures["email_duplicates"] = twice
    figures["emails_handed"] = sum(counts)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--open-chats", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=50_000, help="the planner's claim chunk")
    parser.add_argument("--at", default=DEFAULT_AT)
    args = parser.parse_args()
    at = datetime.fromisoformat(args.at).astimezone(UTC)

    configure_environment("lumen_bench_care")
    os.environ["EMAIL_BACKEND"] = "bench.countingmail.EmailBackend"
    os.environ["CARE_SEND_BATCH"] = str(args.batch)
    # The tasks the planner enqueues are the bench's own queue (see _worker); Celery's go
    # to an in-memory broker that no one reads.
    os.environ["CELERY_BROKER_URL"] = "memory://"
    import django

    django.setup()
    prepare_database()
    seed(args.customers, args.open_chats, at)
    reset()
    from customers.services import care

    care.BIRTHDAY_CLAIM_CHUNK = args.chunk
    load_before = os.getloadavg()
    log(f"planning and sending the birthdays of {at.isoformat()} ({args.workers} worker(s))")
    result = run_job(at, args.workers)
    load_after = os.getloadavg()
    claimed, total = result["claimed"], result["finished"]
    log("checking every send")
    figures = verify(result["counts"])

    stats = result["stats"]
    duplicates = (
        figures["email_duplicates"] + figures["chat_duplicates"] + figures["coupon_duplicates"]
    )
    sends = figures["emailed"] + figures["chat_messages"]
    print()
    print(f"customers with a birthday now  {args.customers:,} over {len(greeted_zones(at))} zones")
    print(
        f"claimed (plan_birthdays)       {claimed:,} in {result['planned']:.2f} s "
        f"(chunks of {args.chunk:,}, worker 0)"
    )
    print(
        f"sent (send_due_outreach)       {result['sent']:,}, the last at {total:.2f} s "
        f"({result['sent'] / max(total, 1e-9):,.0f}/s, batches of {args.batch}, "
        f"{args.workers} worker(s): {result['worker_sent']} sent in "
        f"{result['worker_tasks']} tasks)"
    )
    print(f"total                          {total:.2f} s (target {MAX_SECONDS:.0f} s)")
    print(
        f"sends                          {sends:,} ({figures['emailed']:,} by email, "
        f"{figures['chat_messages']:,} into an open chat); coupons {figures['coupons']:,}"
    )
    print(
        f"duplicates                     {duplicates} (emails {figures['email_duplicates']}, "
        f"chat {figures['chat_duplicates']}, coupons {figures['coupon_duplicates']}); "
        f"emailed but never handed over {figures['email_never_handed']}"
    )
    print(f"outreach rows                  {figures['outreach']}")
    print(
        f"mail backend                   {stats['messages']:,} messages over "
        f"{stats['connections']:,} connections"
    )
    if stats["serialized"]:
        print(
            f"MIME bytes of one email        "
            f"{stats['serialize_seconds'] / stats['serialized'] * 1e6:.0f} µs "
            f"(measured on {stats['serialized']:,}; not in the job's time)"
        )
    print(
        "RSS of the workers             "
        + ", ".join(
            f"{before:.0f} MiB before → peak {peak:.0f}" for before, peak in result["worker_rss"]
        )
    )
    print(
        f"load average                   {load_before[0]:.2f} before, {load_after[0]:.2f} after "
        f"({os.cpu_count()} cores)"
    )
    ok = (
        total <= MAX_SECONDS
        and duplicates == 0
        and figures["email_never_handed"] == 0
        and sends == claimed
        and figures["emails_handed"] == figures["emailed"]
    )
    print("target met" if ok else "TARGET MISSED or a send is wrong")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
