"""Every metric of docs/metrics.md on the hand-built day of scenario.py, whose answers
are worked out by hand there."""

from datetime import timedelta

import pytest

from analytics.metrics import compute
from analytics.periods import day_bounds
from analytics.selectors import Scope, figures, topics
from analytics.services.rollup import roll_up


@pytest.fixture
def rolled(past_day):
    start, end = day_bounds(past_day.day)
    roll_up(start=start, end=end + timedelta(days=1))
    return past_day


def test_conversation_counts(rolled):
    totals = figures(Scope(rolled.day, rolled.day))[None]

    assert totals["conversations"] == 7  # spam and the silent one left out
    assert totals["spam"] == 1
    assert totals["customer_messages"] == 11
    assert totals["bot_only"] == 3
    assert totals["bot_resolved"] == 3
    assert totals["handoffs"] == 4
    assert totals["handoffs_answered"] == 3
    assert totals["left_message"] == 1
    assert totals["resolved"] == 6
    assert totals["fcr"] == 3  # not: transferred, ticketed, came back within 24 h
    assert totals["repeat_contacts"] == 1
    assert (totals["transferred"], totals["transfers"]) == (1, 1)


def test_response_times(rolled):
    totals = figures(Scope(rolled.day, rolled.day))[None]
    metrics = compute(totals)

    assert (totals["frt_bot_count"], totals["frt_bot_ms"]) == (7, 25_000)
    assert (totals["frt_human_count"], totals["frt_human_ms"]) == (3, 90_000)
    assert metrics["frt_human"] == 30
    assert metrics["frt_human_median"] == 30  # 10, 20, 60 s: the middle one's bucket, 20–30 s
    assert (totals["resp_agent_count"], totals["resp_agent_ms"]) == (3, 36_000)
    assert metrics["avg_response_agent"] == 12
    assert (totals["resp_bot_count"], totals["resp_bot_ms"]) == (7, 25_000)
    assert (totals["wait_count"], totals["wait_ms"]) == (3, 1_000)
    assert (totals["handle_count"], totals["handle_ms"]) == (3, 344_000)


def test_rates_against_the_targets(rolled):
    metrics = compute(figures(Scope(rolled.day, rolled.day))[None])

    assert metrics["response_rate"] == 3 / 4
    assert metrics["resolution_rate"] == 6 / 7
    assert metrics["automated_resolution_rate"] == 3 / 7
    assert metrics["containment"] == 3 / 7
    assert metrics["handoff_rate"] == 4 / 7
    assert metrics["fcr_rate"] == 3 / 7


def test_surveys_count_the_answered_ones(rolled):
    totals = figures(Scope(rolled.day, rolled.day))[None]
    metrics = compute(totals)

    assert (totals["surveys_sent"], totals["surveys_answered"]) == (3, 2)
    assert metrics["csat"] == 1 / 2  # a 5 and a 3; the unanswered one is no answer
    assert metrics["survey_answer_rate"] == 2 / 3
    assert metrics["avg_score"] == 4


def test_tickets_and_their_clocks(rolled):
    totals = figures(Scope(rolled.day, rolled.day))[None]
    metrics = compute(totals)

    assert (totals["tickets_created"], totals["tickets_resolved"]) == (1, 1)
    assert metrics["ticket_resolution_hours"] == 5
    assert totals["tickets_reopened"] == 1
    assert metrics["sla_first_response"] == 1
    assert metrics["sla_resolution"] == 0  # breached at 4 h, resolved at 5 h


def test_agent_presence_and_occupancy(rolled):
    by_agent = figures(Scope(rolled.day, rolled.day), by="agent_id")
    anna = by_agent[rolled.agents["anna"].pk]

    assert anna["online_ms"] == 2 * 3600 * 1000
    assert anna["busy_ms"] == (88 + 57) * 1000
    assert compute(anna)["occupancy"] == 145 / 7200
    assert anna["handle_count"] == 2  # conversations 2 and 7; Ben has the transferred one
    assert by_agent[rolled.agents["ben"].pk]["transferred"] == 1


def test_breakdown_by_customer_level(rolled):
    by_level = figures(Scope(rolled.day, rolled.day), by="customer_level")

    assert by_level["gold"]["conversations"] == 1
    assert by_level["normal"]["conversations"] == 6


def test_filters_narrow_every_figure(rolled):
    gold = figures(Scope(rolled.day, rolled.day, {"customer_level": "gold"}))[None]

    assert gold["conversations"] == 1
    assert gold["surveys_answered"] == 1
    assert gold["tickets_created"] == 0


def test_hot_topics(rolled):
    scope = Scope(rolled.day, rolled.day)

    assert topics(scope, kind="intent")[0] == {
        "key": "order_status",
        "conversations": 2,
        "previous": 0,
        "trending": True,
    }
    assert [t["key"] for t in topics(scope, kind="unanswered")] == ["what's the warranty?"]
    assert {t["key"]: t["conversations"] for t in topics(scope, kind="handoff")} == {
        "request": 2,
        "no_answer": 1,
    }
    assert [t["key"] for t in topics(scope, kind="tag")] == ["warranty"]
