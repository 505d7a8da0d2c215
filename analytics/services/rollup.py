"""The rollup job: the hourly and daily aggregates of docs/metrics.md.

`roll_up(start, end)` recomputes every hour of the window from the raw tables with
`analytics.sql.HOURLY_SQL` and `TOPICS_SQL` — delete the window's rows, insert what the
statement returns, in one transaction — then the local days those hours belong to from
their hours. Re-running a window gives the same rows; one job at a time (an advisory
lock), whatever the number of workers."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from analytics.models import (
    COUNTERS,
    DIMENSION_NONE,
    DIMENSIONS,
    HISTOGRAMS,
    DailyRollup,
    DailySlice,
    HourlyRollup,
    RollupRun,
    TopicDaily,
    TopicHourly,
)
from analytics.periods import day_bounds, floor_hour, local_day
from analytics.sql import HOURLY_SQL, ROLLUP_SUMS, TOPICS_SQL
from helpdesk.db import NO_JIT

ROLLUP_LOCK = 0x4C554D454E + 9  # "LUMEN" + 9: the rollup job, one at a time

_COLUMNS = ("hour", *DIMENSIONS, *COUNTERS, *HISTOGRAMS)
_DAILY_SQL = f"""
INSERT INTO {DailyRollup._meta.db_table} (day, {", ".join(DIMENSIONS)},
       {", ".join(COUNTERS)}, {", ".join(HISTOGRAMS)})
SELECT (hour AT TIME ZONE %(zone)s)::date, {", ".join(DIMENSIONS)}, {ROLLUP_SUMS}
  FROM {HourlyRollup._meta.db_table}
 WHERE hour >= %(start)s AND hour < %(end)s
 GROUP BY 1, {", ".join(DIMENSIONS)}
"""  # noqa: S608 (constant names only)
_TOPICS_DAILY_SQL = f"""
INSERT INTO {TopicDaily._meta.db_table} (day, kind, key, conversations)
SELECT (hour AT TIME ZONE %(zone)s)::date, kind, key, sum(conversations)::bigint
  FROM {TopicHourly._meta.db_table}
 WHERE hour >= %(start)s AND hour < %(end)s
 GROUP BY 1, kind, key
"""  # noqa: S608 (constant names only)


# Each rolled day's slices (DailySlice): its sums along each dimension and in all, from
# its DailyRollup rows in one pass.
_SLICED = ", ".join(f"(day, {name})" for name in DIMENSIONS)
_SLICES_SQL = f"""
INSERT INTO {DailySlice._meta.db_table} (day, dimension, {", ".join(DIMENSIONS)},
       {", ".join(COUNTERS)}, {", ".join(HISTOGRAMS)})
SELECT day,
       CASE {" ".join(f"WHEN GROUPING({name}) = 0 THEN '{name}'" for name in DIMENSIONS)}
            ELSE '' END,
       {", ".join(f"COALESCE({name}, {DIMENSION_NONE[name]!r})" for name in DIMENSIONS)},
       {ROLLUP_SUMS}
  FROM {DailyRollup._meta.db_table}
 WHERE day >= %(first)s AND day <= %(last)s
 GROUP BY GROUPING SETS ((day), {_SLICED})
"""  # noqa: S608 (constant names only)


def hourly_rows(start: datetime, end: datetime, now: datetime | None = None) -> list[dict]:
    """Every hour's figures of [start, end) from the raw tables, as the rollup would store
    them (the same statement): one dict per hour and combination of dimensions."""
    params = {"start": start, "end": end, "now": now or timezone.now()}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(NO_JIT)
        cursor.execute(HOURLY_SQL, params)
        return [dict(zip(_COLUMNS, row, strict=True)) for row in cursor.fetchall()]


def topic_rows(start: datetime, end: datetime) -> list[tuple[datetime, str, str, int]]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(NO_JIT)
        cursor.execute(TOPICS_SQL, {"start": start, "end": end, "now": timezone.now()})
        return cursor.fetchall()


def roll_up(*, start: datetime, end: datetime, now: datetime | None = None) -> RollupRun:
    """Recompute the hours of [start, end) (widened to whole hours) and the local days they
    touch. Idempotent; serialised by an advisory lock."""
    now = now or timezone.now()
    start, end = floor_hour(start), floor_hour(end - timedelta(microseconds=1)) + timedelta(hours=1)
    began = time.monotonic()
    params = {"start": start, "end": end, "now": now}
    hourly = HourlyRollup._meta.db_table
    topics = TopicHourly._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
        cursor.execute(NO_JIT)
        cursor.execute(
            f"DELETE FROM {hourly} WHERE hour >= %(start)s AND hour < %(end)s",  # noqa: S608
            params,
        )
        cursor.execute(
            f"INSERT INTO {hourly} ({', '.join(_COLUMNS)}) {HOURLY_SQL}",  # noqa: S608
            params,
        )
        rows = cursor.rowcount
        cursor.execute(
            f"DELETE FROM {topics} WHERE hour >= %(start)s AND hour < %(end)s",  # noqa: S608
            params,
        )
        cursor.execute(
            f"INSERT INTO {topics} (hour, kind, key, conversations) {TOPICS_SQL}",  # noqa: S608
            params,
        )
        first_day, last_day = local_day(start), local_day(end - timedelta(microseconds=1))
        day_start, _ = day_bounds(first_day)
        _, day_end = day_bounds(last_day)
        days = {"start": day_start, "end": day_end, "zone": settings.TIME_ZONE}
        DailyRollup.objects.filter(day__gte=first_day, day__lte=last_day).delete()
        cursor.execute(_DAILY_SQL, days)
        DailySlice.objects.filter(day__gte=first_day, day__lte=last_day).delete()
        cursor.execute(_SLICES_SQL, {"first": first_day, "last": last_day})
        TopicDaily.objects.filter(day__gte=first_day, day__lte=last_day).delete()
        cursor.execute(_TOPICS_DAILY_SQL, days)
        run = RollupRun.objects.create(
            started_at=now,
            window_start=start,
            window_end=end,
            hourly_rows=rows,
            seconds=time.monotonic() - began,
        )
    return run


def roll_up_recent(now: datetime | None = None) -> RollupRun:
    """What the Beat job runs: the hours since ANALYTICS_SETTLE_HOURS ago, up to now (the
    current hour partly). Conversations are counted in the hour they started and keep
    changing while they go on; after the settle window their hours no longer move."""
    now = now or timezone.now()
    start = floor_hour(now - timedelta(hours=settings.ANALYTICS_SETTLE_HOURS))
    return roll_up(start=start, end=now, now=now)
