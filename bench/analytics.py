"""Analytics at a million conversations: the rollup job and the dashboards.

    .venv/bin/python bench/analytics.py [--runs 30] [--warmup 3] [--seed-only]

Seeds (once) into its own database, lumen_bench_analytics (DATABASE_URL overrides), in
SQL (INSERT … SELECT over generate_series in the order they were created; foreign-key
triggers off, the messages' indexes built after): 100,000 customers (75 % normal, 15 %
silver, 7 % gold, 3 % VIP; 10 % English), 4 skill groups of 10 agents, a supervisor,
and 1,000,000 conversations spread evenly over the last 365 days (about 2,700 a day),
with 10 messages each — 10,000,000 messages: 30 % handed off to a person (agent replies
15–60 s after the handoff, 5 % transferred, 85 % resolved, 10 % not resolved, 2 % a
message left, 3 % spam), the others with the bot (its replies 1–3 s after the customer,
one in nine a fallback), intents, articles, tags; a survey after half the closed
handed-off conversations (60 % answered), a ticket per conversation not resolved (about
30,000, with first-response and resolution clocks, some breached), 8 hours online a day
per agent in the status log.

Then, in this process:
- the rollup of one day (a day a month ago), run 3 times: seconds each, and the same
  rows each time (the job is idempotent);
- the Beat job's run (the last 48 hours, today partly);
- the backfill of the whole year, a week at a time (so the dashboards have a year);
- the rollup tables analyzed (autovacuum's work on a live server: off on this machine);
- a Celery worker started (solo pool), as `make run` has one: it computes today's live
  rows again when a page finds them older than ANALYTICS_LIVE_SECONDS;
- through the real view (Django's test client, logged in as the supervisor), `--runs`
  requests after `--warmup` of: the overview for the last 7 days (the default), the
  last 30 days, the last 365 days, the last 30 days filtered by a channel; the API
  summary for the last 30 days; the live board's fragment: p50 / p95 / max in ms, and the
  ratio of each p95 to the 7-day overview's.

Prints the figures; exits 1 when the overview's p95 (7, 30 or 365 days) is over 300 ms
or a day's rollup over 30 s (the issue's targets).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))  # run as a script: the project is one folder up

from bench.stack import (  # noqa: E402
    bench_agents,
    configure_environment,
    log,
    percentile,
    prepare_database,
    start_worker,
)

CONVERSATIONS = 1_000_000
CUSTOMERS = 100_000
GROUPS = [
    ("presales", "售前咨询", "Pre-sales"),
    ("aftersales", "售后服务", "After-sales"),
    ("members", "会员服务", "Membership"),
    ("vip", "VIP 专属服务", "VIP service"),
]
AGENTS_PER_GROUP = 10
SUPERVISOR = "bench-analytics-supervisor"
MAX_P95_MS = 300.0
MAX_DAY_ROLLUP_S = 30.0


def _int_array(values) -> str:
    return "ARRAY[" + ", ".join(str(int(value)) for value in values) + "]::bigint[]"


def seed() -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from conversations.models import SkillGroup
    from tickets.models import TicketType

    groups = []
    for position, (code, zh, en) in enumerate(GROUPS):
        group, _created = SkillGroup.objects.get_or_create(
            code=code, defaults={"name_zh": zh, "name_en": en, "position": position}
        )
        groups.append(group)
    names = [f"bench-analytics-agent-{n:02d}" for n in range(len(GROUPS) * AGENTS_PER_GROUP)]
    agents = bench_agents(names, status="online")
    agent_ids = [agents[name].pk for name in names]  # agent n is in group n // 10
    supervisor = bench_agents([SUPERVISOR])[SUPERVISOR]
    get_user_model().objects.filter(pk=supervisor.user_id).update(is_superuser=True)
    context = {"supervisor": supervisor}
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_analytics_seed (seeded_at timestamptz)")
        cursor.execute("SELECT seeded_at FROM bench_analytics_seed")
        row = cursor.fetchone()
        if row is not None:
            context["seeded_at"] = row[0]
            return context
    log(f"seeding {CUSTOMERS:,} customers and {CONVERSATIONS:,} conversations")
    started = time.monotonic()
    group_ids = _int_array(group.pk for group in groups)
    agent_array = _int_array(agent_ids)
    type_id = TicketType.objects.order_by("pk").values_list("pk", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no FK triggers
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute("SELECT setseed(0.2026)")
        # What an interrupted seed left (this database is the benchmark's own).
        cursor.execute(
            "TRUNCATE conversations_message, conversations_survey, tickets_ticketclock, "
            "tickets_ticket_conversations, tickets_ticketevent, tickets_ticket, "
            "conversations_agentstatuslog, conversations_conversation CASCADE"
        )
        cursor.execute("DELETE FROM customers_customer WHERE external_id LIKE 'bench-a-%%'")
        cursor.execute(
            f"""
            INSERT INTO customers_customer
                (external_id, name, email, phone, language, level, created_at, updated_at,
                 care_opt_out, points, timezone, conversation_count, segment, attributes)
            SELECT 'bench-a-' || g, '顾客' || g, '', '',
                   CASE WHEN g % 10 = 0 THEN 'en' ELSE 'zh' END,
                   CASE WHEN r < 0.75 THEN 'normal' WHEN r < 0.90 THEN 'silver'
                        WHEN r < 0.97 THEN 'gold' ELSE 'vip' END,
                   now() - interval '2 years', now(), false, 0, 'Asia/Shanghai', 0, '',
                   '{{}}'::jsonb
            FROM (SELECT g, random() AS r FROM generate_series(1, {CUSTOMERS}) g) c
            """  # noqa: S608 (constants of this file)
        )
        cursor.execute("SELECT min(id) FROM customers_customer WHERE external_id LIKE 'bench-a-%%'")
        first_customer = cursor.fetchone()[0]
        cursor.execute(
            f"""
            CREATE TEMP TABLE seed AS
            SELECT g AS n, gen_random_uuid() AS id,
                   now() - interval '365 days' + interval '365 days' * (g::float8 / {CONVERSATIONS})
                       AS created_at,
                   {first_customer} + floor(random() * {CUSTOMERS})::bigint AS customer_id,
                   (ARRAY['web', 'app', 'wechat', 'miniprogram'])[1 + floor(random() * 4)::int]
                       AS channel,
                   random() < 0.30 AS handed, random() AS r_res,
                   floor(random() * 4)::int AS group_index,
                   floor(random() * {AGENTS_PER_GROUP})::int AS agent_slot,
                   random() < 0.05 AS transferred, 15 + floor(random() * 45)::int AS frt,
                   random() AS r_survey, random() AS r_score, random() < 0.1 AS english
              FROM generate_series(1, {CONVERSATIONS}) g
            """  # noqa: S608
        )
        cursor.execute(
            """
            CREATE TEMP TABLE conv AS
            SELECT s.*,
                   CASE WHEN NOT handed THEN (CASE WHEN r_res < 0.01 THEN 'spam' ELSE '' END)
                        WHEN r_res < 0.85 THEN 'resolved' WHEN r_res < 0.95 THEN 'not_resolved'
                        WHEN r_res < 0.97 THEN 'left_message' ELSE 'spam' END AS resolution,
                   handed AND r_res < 0.95 AND created_at > now() - interval '20 minutes'
                       AS open
              FROM seed s
            """
        )
        cursor.execute(
            f"""
            INSERT INTO conversations_conversation
                (id, channel, language, status, last_seq, customer_read_seq, agent_read_seq,
                 page, created_at, updated_at, last_message_at, queued_at, assigned_at,
                 closed_at, assignee_id, customer_id, skill_group_id, bot_context,
                 handoff_reason, priority, resolution, tags, transfer_count)
            SELECT id, channel, CASE WHEN english THEN 'en' ELSE 'zh' END,
                   CASE WHEN resolution = '' THEN 'bot' WHEN open THEN 'assigned'
                        ELSE 'closed' END,
                   10, 10, 10, '{{}}', created_at, created_at + interval '10 minutes',
                   created_at + interval '5 minutes',
                   CASE WHEN handed THEN created_at + interval '20 seconds' END,
                   CASE WHEN handed AND resolution <> 'left_message'
                        THEN created_at + interval '25 seconds' END,
                   CASE WHEN resolution <> '' AND NOT open
                        THEN created_at + interval '10 minutes' END,
                   CASE WHEN handed AND resolution <> 'left_message'
                        THEN ({agent_array})[1 + group_index * {AGENTS_PER_GROUP} + agent_slot]
                        END,
                   customer_id,
                   CASE WHEN handed THEN ({group_ids})[1 + group_index] END,
                   '{{}}', CASE WHEN handed THEN 'request' ELSE '' END, 0, resolution,
                   CASE WHEN n % 10 = 0 THEN ARRAY['tag-' || (n % 30)] ELSE '{{}}' END,
                   (handed AND transferred)::int
              FROM conv
            """  # noqa: S608
        )
        log(f"conversations in {time.monotonic() - started:.0f} s; messages next")
        cursor.execute(
            """
            SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
             WHERE conrelid = 'conversations_message'::regclass AND contype = 'u'
            """
        )
        constraints = cursor.fetchall()
        cursor.execute(
            """
            SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'conversations_message'
               AND indexname NOT IN (SELECT conname FROM pg_constraint
                                      WHERE conrelid = 'conversations_message'::regclass)
            """
        )
        indexes = cursor.fetchall()
        for name, _definition in constraints:
            cursor.execute(f'ALTER TABLE conversations_message DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        # Handed off: customer, bot (fallback), customer, system (queued), agent, customer,
        # agent, customer, agent, customer. With the bot: customer and bot in turn.
        cursor.execute(
            """
            INSERT INTO conversations_message
                (id, seq, sender, sender_name, body, client_id, meta, created_at, agent_id,
                 conversation_id)
            SELECT gen_random_uuid(), m.seq, m.sender, '',
                   CASE WHEN m.sender = 'customer' THEN 'question ' || ((c.n * 7 + m.seq) % 500)
                        ELSE 'reply' END,
                   '',
                   CASE WHEN m.sender = 'bot' THEN jsonb_build_object(
                            'action', CASE WHEN c.handed OR (c.n + m.seq) % 9 = 0
                                           THEN 'fallback' ELSE 'answer' END,
                            'intent', 'intent_' || ((c.n + m.seq) % 25),
                            'article', 'article-' || (c.n % 40))
                        WHEN m.sender = 'system' THEN '{"event": "queued"}'::jsonb
                        ELSE '{}'::jsonb END,
                   c.created_at + m.offset_s * interval '1 second', NULL, c.id
              FROM conv c
              CROSS JOIN LATERAL (
                  SELECT seq,
                         CASE WHEN c.handed THEN (ARRAY['customer', 'bot', 'customer', 'system',
                                  'agent', 'customer', 'agent', 'customer', 'agent',
                                  'customer'])[seq]
                              WHEN seq % 2 = 1 THEN 'customer' ELSE 'bot' END AS sender,
                         CASE WHEN c.handed THEN (ARRAY[0, 2, 15, 20, 20 + c.frt, 40 + c.frt,
                                  52 + c.frt, 80 + c.frt, 90 + c.frt, 120 + c.frt])[seq]
                              ELSE seq * 20 + (seq % 2 = 0)::int * (1 + c.n % 3) END
                             AS offset_s
                    FROM generate_series(1, 10) seq
              ) m
            """
        )
        log(f"messages in {time.monotonic() - started:.0f} s; indexes next")
        for name, definition in constraints:
            cursor.execute(
                f'ALTER TABLE conversations_message ADD CONSTRAINT "{name}" {definition}'
            )
        for _name, definition in indexes:
            cursor.execute(definition)
        cursor.execute(
            """
            INSERT INTO conversations_survey
                (id, question, reward_points, score, comment, created_at, answered_at,
                 conversation_id, customer_id, delivered_in_id, outreach_id)
            SELECT gen_random_uuid(), '满意吗？', 0,
                   CASE WHEN r_survey < 0.3 THEN
                        CASE WHEN r_score < 0.85 THEN 5 WHEN r_score < 0.93 THEN 4
                             ELSE 1 + floor(r_score * 3)::int END END,
                   '', created_at + interval '15 minutes',
                   CASE WHEN r_survey < 0.3 THEN created_at + interval '20 minutes' END,
                   id, customer_id, id, NULL
              FROM conv WHERE handed AND resolution IN ('resolved', 'not_resolved')
               AND r_survey < 0.5 AND created_at <= now() - interval '20 minutes'
            """
        )
        cursor.execute(
            f"""
            WITH t AS (
                INSERT INTO tickets_ticket
                    (subject, description, priority, status, source, tags, sla_paused_seconds,
                     first_responded_at, resolved_at, closed_at, created_at, updated_at,
                     assignee_id, created_by_id, customer_id, skill_group_id, sla_policy_id,
                     type_id, assigned_at)
                SELECT 'bench ' || n, '', 20,
                       CASE WHEN r_score < 0.8 THEN 'resolved' ELSE 'open' END, 'chat', '{{}}', 0,
                       created_at + interval '1 hour',
                       CASE WHEN r_score < 0.8 THEN created_at + interval '20 hours' END, NULL,
                       created_at + interval '10 minutes', now(),
                       ({agent_array})[1 + group_index * {AGENTS_PER_GROUP} + agent_slot],
                       NULL, customer_id, ({group_ids})[1 + group_index], NULL, {type_id},
                       created_at + interval '10 minutes'
                  FROM conv WHERE resolution = 'not_resolved'
                RETURNING id, created_at, resolved_at
            )
            INSERT INTO tickets_ticketclock
                (ticket_id, clock, due, risk_at, warned_at, breached_at, paused, ticket_open)
            SELECT id, clock, NULL, NULL, NULL,
                   CASE WHEN clock = 'resolution' AND id % 10 = 0
                        THEN created_at + interval '10 hours' END,
                   false, resolved_at IS NULL
              FROM t, unnest(ARRAY['first_response', 'resolution']) clock
            """  # noqa: S608
        )
        cursor.execute(
            f"""
            INSERT INTO conversations_agentstatuslog (agent_id, status, started_at, ended_at)
            SELECT agent_id, 'online', day + interval '9 hours',
                   least(day + interval '17 hours', now())
              FROM unnest({agent_array}) agent_id,
                   generate_series(date_trunc('day', now() - interval '365 days'),
                                   date_trunc('day', now()) - interval '1 day',
                                   interval '1 day') day
            """  # noqa: S608
        )
        cursor.execute("SET session_replication_role = origin")
        cursor.execute("INSERT INTO bench_analytics_seed VALUES (now())")
        cursor.execute("ANALYZE")
    log(f"seeded in {time.monotonic() - started:.0f} s")
    return context


def timed_requests(client, url: str, runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument("--skip-backfill", action="store_true")
    args = parser.parse_args()
    configure_environment("lumen_bench_analytics")
    prepare_database()
    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from analytics.models import COUNTERS, DailyRollup, DailySlice, HourlyRollup, TopicDaily
    from analytics.periods import day_bounds, today
    from analytics.services.rollup import roll_up, roll_up_recent
    from helpdesk.models import ApiKey

    context = seed()
    if args.seed_only:
        return 0
    failed = False
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM conversations_conversation")
        conversations = cursor.fetchone()[0]
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE relname = 'conversations_message'"
        )
        messages = cursor.fetchone()[0]
    log(f"{conversations:,} conversations, about {messages:,} messages")

    day = today() - timedelta(days=30)
    start, end = day_bounds(day)
    seconds = []
    rows = []
    for _ in range(3):
        run = roll_up(start=start, end=end)
        seconds.append(run.seconds)
        rows.append(
            sorted(
                tuple(row.values())
                for row in HourlyRollup.objects.filter(hour__gte=start, hour__lt=end).values(
                    "hour",
                    "channel",
                    "skill_group_id",
                    "agent_id",
                    "customer_level",
                    "language",
                    *COUNTERS,
                )
            )
        )
    same = all(candidate == rows[0] for candidate in rows)
    log(
        f"rollup of one day ({day}): {', '.join(f'{s:.2f}' for s in seconds)} s; "
        f"{len(rows[0])} hourly rows; the same rows each run: {same}"
    )
    failed |= max(seconds) > MAX_DAY_ROLLUP_S or not same
    run = roll_up_recent()
    log(f"the Beat job (48 h up to now): {run.seconds:.2f} s, {run.hourly_rows} hourly rows")

    if not args.skip_backfill:
        rolled = set(
            DailyRollup.objects.filter(day__gte=today() - timedelta(days=366))
            .values_list("day", flat=True)
            .distinct()
        )
        missing = [
            today() - timedelta(days=n)
            for n in range(366, 0, -1)
            if today() - timedelta(days=n) not in rolled
        ]
        began = time.monotonic()
        for index in range(0, len(missing), 7):
            week = missing[index : index + 7]
            roll_up(start=day_bounds(week[0])[0], end=day_bounds(week[-1])[1])
        if missing:
            log(
                f"backfill of {len(missing)} days, a week at a time: {time.monotonic() - began:.0f} s"
            )
    log(f"{HourlyRollup.objects.count():,} hourly rows, {DailyRollup.objects.count():,} daily rows")
    with connection.cursor() as cursor:
        for model in (HourlyRollup, DailyRollup, DailySlice, TopicDaily):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    stack = contextlib.ExitStack()
    start_worker("analytics", stack)

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(context["supervisor"].user)
    _, raw = ApiKey.issue(name="bench analytics", scopes=["analytics"])
    api = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {raw}")
    now = today()

    def span(days: int) -> str:
        return f"from={(now - timedelta(days=days - 1)).isoformat()}&to={now.isoformat()}"

    cases = [
        ("overview, 7 days (default)", client, "/desk/analytics/"),
        ("overview, 30 days", client, f"/desk/analytics/?{span(30)}"),
        ("overview, 365 days", client, f"/desk/analytics/?{span(365)}"),
        (
            "overview, 30 days, channel wechat",
            client,
            f"/desk/analytics/?{span(30)}&channel=wechat",
        ),
        (
            "overview, 30 days, before today",
            client,
            f"/desk/analytics/?from={(now - timedelta(days=30)).isoformat()}"
            f"&to={(now - timedelta(days=1)).isoformat()}",
        ),
        ("API summary, 30 days", api, f"/api/v1/analytics/summary/?{span(30)}"),
        ("live board fragment", client, "/desk/board/live/"),
    ]
    results = {}
    for name, who, url in cases:
        times = timed_requests(who, url, args.runs, args.warmup)
        results[name] = times
    base = percentile(results[cases[0][0]], 95)
    print(f"\n{'case':38} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p95 ratio':>9}")
    for name, times in results.items():
        p95 = percentile(times, 95)
        print(
            f"{name:38} {statistics.median(times):8.1f} {p95:8.1f} {max(times):8.1f} "
            f"{p95 / base:9.2f}"
        )
    for name in ("overview, 7 days (default)", "overview, 30 days", "overview, 365 days"):
        failed |= percentile(results[name], 95) > MAX_P95_MS
    stack.close()
    ApiKey.objects.filter(name="bench analytics").delete()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
