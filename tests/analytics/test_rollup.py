"""The rollup job: idempotent, equal to the live computation, scheduled."""

from datetime import timedelta
from uuid import uuid4

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from analytics.models import COUNTERS, DailyRollup, HourlyRollup, TopicDaily, TopicHourly
from analytics.periods import day_bounds, today
from analytics.selectors import Scope, _live_key, figures, refresh_live
from analytics.services.rollup import roll_up, roll_up_recent
from analytics.tasks import refresh_live_task, roll_up_recent_task
from conversations.models import AgentStatusLog
from conversations.services import set_agent_status
from tests.analytics.scenario import build, local
from tests.factories import AgentFactory


def _rows(model, order):
    return sorted((tuple(row.values()) for row in model.objects.values(*order, *COUNTERS)), key=str)


def test_rolling_the_same_hours_twice_gives_the_same_rows(past_day):
    start, end = day_bounds(past_day.day)
    roll_up(start=start, end=end)
    hourly = _rows(HourlyRollup, ["hour", "channel", "skill_group_id", "agent_id"])
    daily = _rows(DailyRollup, ["day", "channel", "skill_group_id", "agent_id"])
    topics = sorted(TopicHourly.objects.values_list("hour", "kind", "key", "conversations"))

    roll_up(start=start, end=end)

    assert hourly and daily and topics
    assert _rows(HourlyRollup, ["hour", "channel", "skill_group_id", "agent_id"]) == hourly
    assert _rows(DailyRollup, ["day", "channel", "skill_group_id", "agent_id"]) == daily
    assert sorted(TopicHourly.objects.values_list("hour", "kind", "key", "conversations")) == (
        topics
    )


def test_a_day_is_the_sum_of_its_hours(past_day):
    start, end = day_bounds(past_day.day)
    roll_up(start=start, end=end)

    day = DailyRollup.objects.filter(day=past_day.day)
    hours = HourlyRollup.objects.filter(hour__gte=start, hour__lt=end)
    assert sum(row.conversations for row in day) == sum(row.conversations for row in hours) == 7
    assert sum(row.online_ms for row in day) == 2 * 3600 * 1000


def test_a_days_topics_are_the_sum_of_its_hours_and_rolling_again_changes_nothing(past_day):
    start, end = day_bounds(past_day.day)
    roll_up(start=start, end=end)
    roll_up(start=start, end=end)

    hours: dict[tuple[str, str], int] = {}
    for kind, key, count in TopicHourly.objects.filter(hour__gte=start, hour__lt=end).values_list(
        "kind", "key", "conversations"
    ):
        hours[kind, key] = hours.get((kind, key), 0) + count
    days = TopicDaily.objects.filter(day=past_day.day).values_list("kind", "key", "conversations")
    assert hours and {(kind, key): count for kind, key, count in days} == hours
    assert TopicDaily.objects.exclude(day=past_day.day).count() == 0


def test_todays_live_numbers_are_what_the_rollup_stores(db):
    now = timezone.now()
    build(today(), hour=0)
    scope = Scope(today(), today())
    live = figures(scope, now=now)[None]

    roll_up_recent(now=now)

    rolled = DailyRollup.objects.filter(day=today())
    assert live["conversations"] > 0 or now.hour < 1
    for name in COUNTERS:
        assert sum(getattr(row, name) for row in rolled) == live[name], name
    assert [
        sum(row.frt_human_hist[i] for row in rolled)
        for i in range(len(live.histograms["frt_human_hist"]))
    ] == live.histograms["frt_human_hist"]


def test_yesterday_is_read_from_the_rollups_not_the_raw_tables(past_day):
    scope = Scope(past_day.day, past_day.day)

    assert figures(scope)[None]["conversations"] == 0  # not rolled up yet
    start, end = day_bounds(past_day.day)
    roll_up(start=start, end=end)
    assert figures(scope)[None]["conversations"] == 7


def test_the_job_is_scheduled_and_rolls_the_settle_window(db):
    entry = settings.CELERY_BEAT_SCHEDULE["analytics-rollup"]
    assert entry["task"] == "analytics.tasks.roll_up_recent_task"
    build(today() - timedelta(days=1), hour=12)

    roll_up_recent_task()

    assert DailyRollup.objects.filter(day=today() - timedelta(days=1)).exists()


def test_status_changes_are_logged_as_stretches(db):
    agent = AgentFactory(status="offline")

    set_agent_status(agent_id=agent.pk, status="online")
    set_agent_status(agent_id=agent.pk, status="online")  # no change, no stretch
    set_agent_status(agent_id=agent.pk, status="away")

    stretches = list(AgentStatusLog.objects.filter(agent=agent).order_by("started_at"))
    assert [s.status for s in stretches] == ["online", "away"]
    assert stretches[0].ended_at == stretches[1].started_at
    assert stretches[1].ended_at is None


def test_todays_live_rows_are_shared_for_the_configured_seconds(db, settings):
    settings.ANALYTICS_LIVE_SECONDS = 600 + uuid4().int % 100_000  # no earlier run's rows
    now = timezone.now()
    scope = Scope(today(), today())
    before = figures(scope, now=now)[None]["conversations"]

    build(today(), hour=0)

    assert figures(scope, now=now)[None]["conversations"] == before  # the shared rows
    settings.ANALYTICS_LIVE_SECONDS = 0
    assert figures(scope, now=now)[None]["conversations"] > before


def _noon_today(settings):
    """Noon today, and no live rows shared for today from an earlier run (the cache is
    Redis): the tests' minutes stay within the day."""
    settings.ANALYTICS_LIVE_SECONDS, settings.ANALYTICS_LIVE_STALE_SECONDS = 60, 600
    now = local(today(), 12)
    cache.delete_many([_live_key(kind, now) for kind in ("hours", "topics")])
    return now


def test_old_live_rows_are_shown_while_a_worker_computes_them_again(db, settings, monkeypatch):
    enqueued = []
    monkeypatch.setattr(refresh_live_task, "delay", lambda kind: enqueued.append(kind))
    now = _noon_today(settings)
    scope = Scope(today(), today())
    before = figures(scope, now=now)[None]["conversations"]
    build(today(), hour=0)
    later = now + timedelta(seconds=settings.ANALYTICS_LIVE_SECONDS + 1)

    # Old, not too old: shown as they were, and one refresh asked for however many ask.
    assert figures(scope, now=later)[None]["conversations"] == before
    assert figures(scope, now=later)[None]["conversations"] == before
    assert enqueued == ["hours"]

    refresh_live(enqueued[0], later)  # what the worker runs (refresh_live_task)

    assert figures(scope, now=later)[None]["conversations"] > before


def test_live_rows_too_old_to_show_are_computed_by_the_request(db, settings, monkeypatch):
    monkeypatch.setattr(refresh_live_task, "delay", lambda kind: None)
    now = _noon_today(settings)
    scope = Scope(today(), today())
    before = figures(scope, now=now)[None]["conversations"]
    build(today(), hour=0)

    too_old = now + timedelta(seconds=settings.ANALYTICS_LIVE_STALE_SECONDS + 1)

    assert figures(scope, now=too_old)[None]["conversations"] > before


def test_the_refresh_task_shares_todays_rows(db, settings):
    settings.ANALYTICS_LIVE_SECONDS = 600 + uuid4().int % 100_000
    build(today(), hour=0)

    rows = refresh_live_task("hours")

    assert rows > 0
    assert refresh_live_task("no such kind") == 0
