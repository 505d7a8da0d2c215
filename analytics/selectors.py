"""Reads for the dashboards and the API: a range's figures (the daily rollups up to
yesterday, today's hours computed live with the rollup's own statement), trends,
breakdowns, topics, the backlog, and the conversations or tickets behind a number."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.metrics import Totals, row_vector
from analytics.models import (
    COUNTERS,
    DIMENSIONS,
    HISTOGRAMS,
    DailyRollup,
    DailySlice,
    TopicDaily,
)
from analytics.periods import day_bounds, floor_hour, local_day
from analytics.services.rollup import hourly_rows, topic_rows
from analytics.sql import CONVERSATION_FACTS, ROLLUP_SUMS

logger = logging.getLogger(__name__)

# What a dashboard can be filtered and broken down by.
FILTERS = DIMENSIONS


@dataclass(frozen=True)
class Scope:
    """A date range (local days, both included) and the dimension filters."""

    start: date
    end: date
    filters: dict = field(default_factory=dict)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def previous(self) -> Scope:
        length = (self.end - self.start).days + 1
        return Scope(
            self.start - timedelta(days=length), self.start - timedelta(days=1), self.filters
        )


_GROUPINGS = ("day", *DIMENSIONS)


def _rolled(scope: Scope, last: date, bys: list[str | None]) -> list[tuple[str | None, dict]]:
    """The daily rollups' sums of [scope.start, last] under the scope's filters, for each
    grouping of `bys` (None: all together) — one scan of the rows for all of them
    (GROUPING SETS). Without filters, from the days' slices (`_sliced`)."""
    if last < scope.start:
        return []
    return (_grouped if scope.filters else _sliced)(scope, last, bys)


def _grouped(scope: Scope, last: date, bys: list[str | None]) -> list[tuple[str | None, dict]]:
    """`_rolled` from the DailyRollup rows (any filters)."""
    params: dict = {"start": scope.start, "last": last}
    conditions = ["day >= %(start)s", "day <= %(last)s"]
    for name, value in scope.filters.items():
        if name not in DIMENSIONS:
            raise ValueError(f"unknown filter {name!r}")
        params[name] = value
        conditions.append(f"{name} = %({name})s")
    sets = ", ".join("()" if by is None else f"({by})" for by in bys)
    # GROUPING() and the key columns only of the groupings asked for (PostgreSQL refuses
    # others); 1 and NULL stand in for the rest.
    flags = ", ".join(f"GROUPING({name})" if name in bys else "1" for name in _GROUPINGS)
    keys = ", ".join(name if name in bys else "NULL" for name in _GROUPINGS)
    sql = f"""
        SELECT {flags}, {keys}, {ROLLUP_SUMS}
          FROM {DailyRollup._meta.db_table}
         WHERE {" AND ".join(conditions)}
         GROUP BY GROUPING SETS ({sets})
    """  # noqa: S608 (names are this module's constants; values are parameters)
    width = len(_GROUPINGS)
    results = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            grouped = [name for name, flag in zip(_GROUPINGS, row[:width], strict=True) if not flag]
            keys = dict(zip(_GROUPINGS, row[width : 2 * width], strict=True))
            values = dict(zip((*COUNTERS, *HISTOGRAMS), row[2 * width :], strict=True))
            by = grouped[0] if grouped else None
            results.append((by, {**values, "_key": keys[by] if by else None}))
    return results


_SLICE_KEYS = ", ".join(DIMENSIONS)
_SLICE_VALUES = ", ".join((*COUNTERS, *HISTOGRAMS))


def _sliced(scope: Scope, last: date, bys: list[str | None]) -> list[tuple[str | None, dict]]:
    """`_rolled` for a scope without filters, from DailySlice: the whole days' rows as they
    are (one a day: the "day" grouping, and added up for None) and each asked dimension's
    rows summed over the range — about 60 rows a day read instead of 530, each summed
    once instead of once per grouping."""
    dimensions = [by for by in bys if by in DIMENSIONS]
    sql = f"""
        SELECT dimension, day, {_SLICE_KEYS}, {_SLICE_VALUES}
          FROM {DailySlice._meta.db_table}
         WHERE day >= %(start)s AND day <= %(last)s AND dimension = ''
        UNION ALL
        SELECT dimension, NULL, {_SLICE_KEYS}, {ROLLUP_SUMS}
          FROM {DailySlice._meta.db_table}
         WHERE day >= %(start)s AND day <= %(last)s AND dimension = ANY(%(dimensions)s)
         GROUP BY dimension, {_SLICE_KEYS}
    """  # noqa: S608 (names are this module's constants; values are parameters)
    params = {"start": scope.start, "last": last, "dimensions": dimensions}
    names = (*COUNTERS, *HISTOGRAMS)
    width = 2 + len(DIMENSIONS)
    results = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            dimension, day = row[0], row[1]
            values = dict(zip(names, row[width:], strict=True))
            if dimension:
                results.append(
                    (dimension, {**values, "_key": row[2 + DIMENSIONS.index(dimension)]})
                )
                continue
            # A whole day: its own row of "day", and a part of the range's total (the
            # caller adds up the rows of a key).
            if "day" in bys:
                results.append(("day", {**values, "_key": day}))
            if None in bys:
                results.append((None, {**values, "_key": None}))
    return results


def _live_hours(now: datetime) -> list[dict]:
    return hourly_rows(day_bounds(local_day(now))[0], floor_hour(now) + timedelta(hours=1), now)


def _live_topics(now: datetime) -> list:
    return topic_rows(day_bounds(local_day(now))[0], floor_hour(now) + timedelta(hours=1))


# Today's live rows, by kind: computed from the raw tables with the rollup's statements.
LIVE = {"hours": _live_hours, "topics": _live_topics}


def _live_key(kind: str, now: datetime) -> str:
    return f"analytics:live:{kind}:{local_day(now)}:{settings.ANALYTICS_LIVE_SECONDS}"


def _shared(kind: str, now: datetime) -> list:
    """Today's live rows of a kind, shared by every page, board and API call: younger than
    ANALYTICS_LIVE_SECONDS, as they are; older (up to ANALYTICS_LIVE_STALE_SECONDS), as
    they are too while a worker computes them again (`refresh_live_task`), so no request
    waits for the statement (300–500 ms at a million conversations); none, or older
    still, computed by the request. 0 seconds: computed by every request."""
    if settings.ANALYTICS_LIVE_SECONDS <= 0:
        return LIVE[kind](now)
    cached = cache.get(_live_key(kind, now))
    if cached is not None:
        made, rows = cached
        age = now.timestamp() - made
        if age < settings.ANALYTICS_LIVE_SECONDS:
            return rows
        if age < settings.ANALYTICS_LIVE_STALE_SECONDS:
            _refresh_soon(kind, now)
            return rows
    return refresh_live(kind, now)


def refresh_live(kind: str, now: datetime | None = None) -> list:
    """Compute today's live rows of a kind and share them."""
    now = now or timezone.now()
    rows = LIVE[kind](now)
    cache.set(_live_key(kind, now), (now.timestamp(), rows), settings.ANALYTICS_LIVE_STALE_SECONDS)
    return rows


def _refresh_soon(kind: str, now: datetime) -> None:
    """Have a worker compute the rows again, once however many requests find them old."""
    from analytics.tasks import refresh_live_task

    lock = f"{_live_key(kind, now)}:refreshing"
    if not cache.add(lock, True, settings.ANALYTICS_LIVE_SECONDS):
        return
    try:
        refresh_live_task.delay(kind)
    except Exception:  # the broker is away: a request computes them once they are too old
        cache.delete(lock)
        logger.warning("could not enqueue the refresh of today's %s", kind)


def live_rows(scope: Scope, now: datetime) -> list[dict]:
    """Today's hours (when the range has today), from the raw tables with the rollup's
    statement, filtered. One run serves every figure of a page (`figures(live=…)`)."""
    current = local_day(now)
    if not (scope.start <= current <= scope.end):
        return []
    rows = _shared("hours", now)
    return [row for row in rows if all(row[name] == value for name, value in scope.filters.items())]


def breakdowns(
    scope: Scope,
    bys: list[str | None],
    *,
    now: datetime | None = None,
    live: list[dict] | None = None,
) -> dict[str | None, dict[object, Totals]]:
    """The range's sums for each of `bys`: None (the whole range, key None), "day" (per
    local day) or a dimension (per value): the daily rollups up to yesterday, in one
    statement, plus today's live rows. `live`: today's rows when the caller has them
    already (`live_rows`)."""
    now = now or timezone.now()
    if live is None:
        live = live_rows(scope, now)
    results: dict[str | None, dict[object, Totals]] = {by: defaultdict(Totals) for by in bys}
    for by, row in _rolled(scope, min(scope.end, local_day(now) - timedelta(days=1)), bys):
        results[by][row["_key"]].add(row)
    for row in live:
        vector = row_vector(row)
        for by, result in results.items():
            if by is None:
                key = None
            elif by == "day":
                key = local_day(row["hour"])
            else:
                key = row[by]
            result[key].add_vector(vector)
    if None in results:
        results[None].setdefault(None, Totals())
    return {by: dict(result) for by, result in results.items()}


def figures(
    scope: Scope,
    *,
    by: str | None = None,
    now: datetime | None = None,
    live: list[dict] | None = None,
) -> dict[object, Totals]:
    """`breakdowns` for one grouping."""
    return breakdowns(scope, [by], now=now, live=live)[by]


def topics(
    scope: Scope, *, kind: str, limit: int = 10, now: datetime | None = None, live=None
) -> list:
    """The range's most frequent topics of a kind, with the previous period's count and
    whether they are trending up (more than in the previous period of the same length).
    `live`: today's topic rows when the caller has them (`live_topics`)."""
    now = now or timezone.now()
    if live is None:
        live = live_topics(now)
    counts = _topic_counts(scope, kind, now, live)
    before = _topic_counts(scope.previous(), kind, now, live)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [
        {
            "key": key,
            "conversations": count,
            "previous": before.get(key, 0),
            "trending": count > before.get(key, 0),
        }
        for key, count in ranked
    ]


def live_topics(now: datetime) -> list:
    """Today's topic rows, from the raw tables."""
    return _shared("topics", now)


def _topic_counts(scope: Scope, kind: str, now: datetime, live: list) -> dict[str, int]:
    """The range's counts of a kind's topics: the daily rollups up to yesterday (whole
    local days), plus today's live rows."""
    current = local_day(now)
    counts: dict[str, int] = defaultdict(int)
    if scope.start < current:
        for key, total in (
            TopicDaily.objects.filter(
                day__gte=scope.start,
                day__lte=min(scope.end, current - timedelta(days=1)),
                kind=kind,
            )
            .values_list("key")
            .annotate(total=Sum("conversations"))
        ):
            counts[key] += total
    if scope.start <= current <= scope.end:
        for _hour, row_kind, key, total in live:
            if row_kind == kind:
                counts[key] += total
    return counts


def backlog(now: datetime | None = None) -> dict:
    """Open tickets now and how old they are (a snapshot, not a rollup)."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*),
                   count(*) FILTER (WHERE created_at > %(now)s - interval '1 day'),
                   count(*) FILTER (WHERE created_at <= %(now)s - interval '1 day'
                                      AND created_at > %(now)s - interval '3 days'),
                   count(*) FILTER (WHERE created_at <= %(now)s - interval '3 days'
                                      AND created_at > %(now)s - interval '7 days'),
                   count(*) FILTER (WHERE created_at <= %(now)s - interval '7 days'),
                   min(created_at)
              FROM tickets_ticket
             WHERE status IN ('new', 'open', 'pending_customer', 'pending_internal', 'reopened')
            """,
            {"now": now},
        )
        total, day, three, week, older, oldest = cursor.fetchone()
    return {
        "open": total,
        "ages": [("<1d", day), ("1–3d", three), ("3–7d", week), (">7d", older)],
        "oldest_hours": (now - oldest).total_seconds() / 3600 if oldest else None,
    }


# The conversations or tickets behind a number: (source, condition, title).
DRILLS = {
    "counted": ("conversation", "counted", _("Conversations")),
    "handed_off": ("conversation", "handed_off", _("Handed-off conversations")),
    "handoff_unanswered": (
        "conversation",
        "handoff_unanswered",
        _("Handed off, never answered by an agent"),
    ),
    "not_resolved": ("conversation", "counted AND NOT resolved", _("Not resolved")),
    "resolved": ("conversation", "resolved", _("Resolved conversations")),
    "bot_resolved": ("conversation", "bot_resolved", _("Resolved by the bot alone")),
    "bot_only": ("conversation", "bot_only", _("Never handed off")),
    "fcr": ("conversation", "fcr", _("Resolved at first contact")),
    "transferred": ("conversation", "transferred", _("Transferred conversations")),
    "left_message": ("conversation", "left_message", _("Messages left")),
    "repeat_contact": ("conversation", "repeat_contact", _("Repeat contacts")),
    "surveyed": ("survey", "", _("Conversations with an answered survey")),
    "recommended": ("recommendation", "", _("Conversations with a recommendation")),
    "tickets_created": ("ticket", "t.created_at", _("Tickets opened")),
    "tickets_resolved": ("ticket", "t.resolved_at", _("Tickets resolved")),
    "tickets_responded": ("ticket", "t.first_responded_at", _("Tickets first answered")),
    "tickets_reopened": ("reopened", "", _("Tickets reopened")),
    "tickets_next_breached": ("next_breached", "", _("Next-response breaches")),
}
DRILL_LIMIT = 200
DRILL_MAX_DAYS = 31  # a conversation list reads at most the range's last 31 days

_TICKET_FILTERS = {
    "skill_group_id": "coalesce(t.skill_group_id, 0)",
    "agent_id": "coalesce(t.assignee_id, 0)",
    "customer_level": "cu.level",
    "language": "cu.language",
}
_CONVERSATION_FILTERS = {
    "channel": "c.channel",
    "skill_group_id": "coalesce(c.skill_group_id, 0)",
    "agent_id": "coalesce(c.assignee_id, 0)",
    "customer_level": "cu.level",
    "language": "c.language",
}


def _where(filters: dict, columns: dict, params: dict) -> str | None:
    """SQL conditions for the filters (None: a filter these rows cannot meet)."""
    parts = []
    for name, value in filters.items():
        if name not in columns:
            if value not in ("", 0):
                return None
            continue
        params[f"f_{name}"] = value
        parts.append(f"{columns[name]} = %(f_{name})s")
    return " AND ".join(parts) if parts else "true"


def drill(scope: Scope, key: str) -> tuple[str, list]:
    """The ids behind a number (newest first, at most DRILL_LIMIT): ("conversation", ids)
    or ("ticket", ids)."""
    source, condition, _title = DRILLS[key]
    start = day_bounds(scope.start)[0]
    end = day_bounds(scope.end)[1]
    params = {"start": start, "end": end, "now": timezone.now(), "limit": DRILL_LIMIT}
    if source == "conversation":
        facts_filters = {name: name for name in DIMENSIONS}
        where = _where(scope.filters, facts_filters, params)
        sql = f"""WITH {CONVERSATION_FACTS}
            SELECT id FROM facts WHERE ({condition}) AND {where}
            ORDER BY created_at DESC LIMIT %(limit)s"""  # noqa: S608
        return "conversation", _newest_first(sql, params, scope)
    if source in ("survey", "recommendation"):
        table, time = (
            ("conversations_survey", "answered_at")
            if source == "survey"
            else ("customers_recommendation", "shown_at")
        )
        where = _where(scope.filters, _CONVERSATION_FILTERS, params)
        if where is None:
            return "conversation", []
        sql = f"""SELECT c.id FROM {table} x
              JOIN conversations_conversation c ON c.id = x.conversation_id
              JOIN customers_customer cu ON cu.id = c.customer_id
             WHERE x.{time} >= %(start)s AND x.{time} < %(end)s AND {where}
             GROUP BY c.id ORDER BY max(x.{time}) DESC LIMIT %(limit)s"""  # noqa: S608
        return "conversation", _ids(sql, params)
    where = _where(scope.filters, _TICKET_FILTERS, params)
    if where is None:
        return "ticket", []
    if source == "ticket":
        time = condition
        join = ""
    elif source == "reopened":
        time = "e.created_at"
        join = "JOIN tickets_ticketevent e ON e.ticket_id = t.id AND e.field = 'status' AND e.new = 'reopened'"
    else:
        time = "k.breached_at"
        join = "JOIN tickets_ticketclock k ON k.ticket_id = t.id AND k.clock = 'next_response'"
    sql = f"""SELECT t.id FROM tickets_ticket t {join}
          JOIN customers_customer cu ON cu.id = t.customer_id
         WHERE {time} >= %(start)s AND {time} < %(end)s AND {where}
         GROUP BY t.id ORDER BY max({time}) DESC LIMIT %(limit)s"""  # noqa: S608
    return "ticket", _ids(sql, params)


def _newest_first(sql: str, params: dict, scope: Scope) -> list:
    """Each conversation's flags are worked out from its messages, so a long range is read
    from its end backwards, a day, then two, four… at a time, until DRILL_LIMIT are found
    or DRILL_MAX_DAYS have been read."""
    ids: list = []
    last, span = scope.end, 1
    while last >= scope.start and len(ids) < DRILL_LIMIT:
        first = max(
            scope.start,
            last - timedelta(days=span - 1),
            scope.end - timedelta(days=DRILL_MAX_DAYS - 1),
        )
        if first > last:
            break
        window = {
            **params,
            "start": day_bounds(first)[0],
            "end": day_bounds(last)[1],
            "limit": DRILL_LIMIT - len(ids),
        }
        ids += _ids(sql, window)
        last, span = first - timedelta(days=1), span * 2
    return ids


def _ids(sql: str, params: dict) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]
