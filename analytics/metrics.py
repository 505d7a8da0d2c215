"""The metrics of docs/metrics.md from a rollup's sums: each one a ratio of counters (or a
median of a histogram), so it is the same whether the sums came from the rollups or
from today's live rows."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from analytics.models import COUNTERS, HISTOGRAM_BOUNDS, HISTOGRAM_SIZE, HISTOGRAMS

_INDEX = {name: index for index, name in enumerate(COUNTERS)}
_WIDTH = len(COUNTERS) + HISTOGRAM_SIZE * len(HISTOGRAMS)


def row_vector(row: dict) -> list[int]:
    """A rollup row's counters and histogram buckets as one flat list, in the order
    `Totals` keeps them: a row added to several sums (each breakdown of today's live rows)
    is read once."""
    vector = [int(row.get(name) or 0) for name in COUNTERS]
    for name in HISTOGRAMS:
        counts = [int(count or 0) for count in row.get(name) or ()]
        vector += counts + [0] * (HISTOGRAM_SIZE - len(counts))
    return vector


class Totals:
    """The sums of any number of rollup rows: one flat list of the counters and the
    histograms' buckets, added element-wise (a dashboard adds thousands of rows)."""

    __slots__ = ("_sums",)

    def __init__(self, values: dict | None = None):
        self._sums = [0] * _WIDTH
        if values:
            self.add(values)

    def add(self, row: dict) -> Totals:
        return self.add_vector(row_vector(row))

    def add_vector(self, vector: list[int]) -> Totals:
        self._sums = list(map(operator.add, self._sums, vector))
        return self

    def add_totals(self, other: Totals) -> Totals:
        return self.add_vector(other._sums)

    @property
    def values(self) -> dict[str, int]:
        return dict(zip(COUNTERS, self._sums, strict=False))

    @property
    def histograms(self) -> dict[str, list[int]]:
        first = len(COUNTERS)
        return {
            name: self._sums[first + i * HISTOGRAM_SIZE : first + (i + 1) * HISTOGRAM_SIZE]
            for i, name in enumerate(HISTOGRAMS)
        }

    def __getitem__(self, name: str) -> int:
        return self._sums[_INDEX[name]]

    def ratio(self, part: str, whole: str) -> float | None:
        return self[part] / self[whole] if self[whole] else None

    def seconds(self, total_ms: str, count: str) -> float | None:
        return self[total_ms] / 1000 / self[count] if self[count] else None

    def median(self, histogram: str) -> float | None:
        """The upper bound (seconds) of the bucket holding the middle value; None when
        there is no value, or it lies beyond the last bound."""
        counts = self.histograms[histogram]
        total = sum(counts)
        if not total:
            return None
        seen = 0
        for index, count in enumerate(counts):
            seen += count
            if seen * 2 >= total:
                return HISTOGRAM_BOUNDS[index] if index < len(HISTOGRAM_BOUNDS) else None
        return None

    def as_dict(self) -> dict:
        return {**self.values, **self.histograms}


@dataclass(frozen=True)
class Target:
    at_least: bool
    value: float

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        return value >= self.value if self.at_least else value <= self.value


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    kind: str  # rate, seconds, hours, count, number
    compute: Callable[[Totals], float | int | None]
    target: Target | None = None
    drill: str = ""  # the conversations (or tickets) behind it: a key of DRILLS


def _rate(part, whole):
    return lambda t: t.ratio(part, whole)


METRICS = [
    Metric(
        "response_rate",
        _("Response rate"),
        "rate",
        _rate("handoffs_answered", "handoffs"),
        Target(True, 1.0),
        "handoff_unanswered",
    ),
    Metric(
        "avg_response_agent",
        _("Average response (agents)"),
        "seconds",
        lambda t: t.seconds("resp_agent_ms", "resp_agent_count"),
        Target(False, 15),
        "handed_off",
    ),
    Metric(
        "avg_response_bot",
        _("Average response (bot)"),
        "seconds",
        lambda t: t.seconds("resp_bot_ms", "resp_bot_count"),
        Target(False, 10),
        "counted",
    ),
    Metric(
        "resolution_rate",
        _("Resolution rate"),
        "rate",
        _rate("resolved", "conversations"),
        Target(True, 0.9),
        "not_resolved",
    ),
    Metric(
        "automated_resolution_rate",
        _("Automated resolution"),
        "rate",
        _rate("bot_resolved", "conversations"),
        Target(True, 0.8),
        "bot_resolved",
    ),
    Metric(
        "fcr_rate",
        _("First-contact resolution"),
        "rate",
        _rate("fcr", "conversations"),
        Target(True, 0.85),
        "fcr",
    ),
    Metric(
        "csat",
        _("Satisfaction (CSAT)"),
        "rate",
        _rate("surveys_positive", "surveys_answered"),
        Target(True, 0.95),
        "surveyed",
    ),
    Metric(
        "conversations", _("Conversations"), "count", lambda t: t["conversations"], None, "counted"
    ),
    Metric(
        "containment",
        _("Bot containment"),
        "rate",
        _rate("bot_only", "conversations"),
        None,
        "bot_only",
    ),
    Metric(
        "handoff_rate",
        _("Handoff rate"),
        "rate",
        _rate("handoffs", "conversations"),
        None,
        "handed_off",
    ),
    Metric(
        "frt_human",
        _("First response (agents), average"),
        "seconds",
        lambda t: t.seconds("frt_human_ms", "frt_human_count"),
        None,
        "handed_off",
    ),
    Metric(
        "frt_human_median",
        _("First response (agents), median"),
        "seconds",
        lambda t: t.median("frt_human_hist"),
        None,
        "handed_off",
    ),
    Metric(
        "frt_bot",
        _("First response (bot), average"),
        "seconds",
        lambda t: t.seconds("frt_bot_ms", "frt_bot_count"),
        None,
        "counted",
    ),
    Metric(
        "response_median_agent",
        _("Response (agents), median"),
        "seconds",
        lambda t: t.median("resp_agent_hist"),
        None,
        "handed_off",
    ),
    Metric(
        "avg_wait",
        _("Wait in queue, average"),
        "seconds",
        lambda t: t.seconds("wait_ms", "wait_count"),
        None,
        "handed_off",
    ),
    Metric(
        "avg_handle",
        _("Handle time, average"),
        "seconds",
        lambda t: t.seconds("handle_ms", "handle_count"),
        None,
        "handed_off",
    ),
    Metric("transfers", _("Transfers"), "count", lambda t: t["transfers"], None, "transferred"),
    Metric(
        "transfer_rate",
        _("Transferred share of handoffs"),
        "rate",
        _rate("transferred", "handoffs"),
        None,
        "transferred",
    ),
    Metric(
        "left_message",
        _("Messages left (nobody online)"),
        "count",
        lambda t: t["left_message"],
        None,
        "left_message",
    ),
    Metric(
        "repeat_contact_rate",
        _("Repeat contacts (within 7 days)"),
        "rate",
        _rate("repeat_contacts", "conversations"),
        None,
        "repeat_contact",
    ),
    Metric(
        "messages_per_conversation",
        _("Customer messages per conversation"),
        "number",
        lambda t: t.ratio("customer_messages", "conversations"),
        None,
        "counted",
    ),
    Metric(
        "survey_answer_rate",
        _("Survey answer rate"),
        "rate",
        _rate("surveys_answered", "surveys_sent"),
        None,
        "surveyed",
    ),
    Metric(
        "avg_score",
        _("Average survey score"),
        "number",
        lambda t: t.ratio("survey_score_sum", "surveys_answered"),
        None,
        "surveyed",
    ),
    Metric(
        "tickets_created",
        _("Tickets opened"),
        "count",
        lambda t: t["tickets_created"],
        None,
        "tickets_created",
    ),
    Metric(
        "tickets_resolved",
        _("Tickets resolved"),
        "count",
        lambda t: t["tickets_resolved"],
        None,
        "tickets_resolved",
    ),
    Metric(
        "ticket_resolution_hours",
        _("Ticket resolution time, average"),
        "hours",
        lambda t: (
            (t.seconds("ticket_resolution_ms", "tickets_resolved") or 0) / 3600
            if t["tickets_resolved"]
            else None
        ),
        None,
        "tickets_resolved",
    ),
    Metric(
        "tickets_reopened",
        _("Tickets reopened"),
        "count",
        lambda t: t["tickets_reopened"],
        None,
        "tickets_reopened",
    ),
    Metric(
        "sla_first_response",
        _("SLA met: first response"),
        "rate",
        _rate("sla_first_response_met", "sla_first_response_total"),
        None,
        "tickets_responded",
    ),
    Metric(
        "sla_resolution",
        _("SLA met: resolution"),
        "rate",
        _rate("sla_resolution_met", "sla_resolution_total"),
        None,
        "tickets_resolved",
    ),
    Metric(
        "sla_next_response_breached",
        _("Next-response breaches"),
        "count",
        lambda t: t["sla_next_response_breached"],
        None,
        "tickets_next_breached",
    ),
    Metric(
        "recommendation_ctr",
        _("Recommendations clicked"),
        "rate",
        _rate("recommendations_clicked", "recommendations_shown"),
        None,
        "recommended",
    ),
    Metric(
        "recommendation_conversion",
        _("Recommendations converted"),
        "rate",
        _rate("recommendations_converted", "recommendations_shown"),
        None,
        "recommended",
    ),
    Metric(
        "coupon_redemption",
        _("Coupons redeemed / issued"),
        "rate",
        _rate("coupons_redeemed", "coupons_issued"),
        None,
        "",
    ),
    Metric(
        "online_hours",
        _("Agents online (hours)"),
        "number",
        lambda t: t["online_ms"] / 3_600_000,
        None,
        "",
    ),
    Metric("occupancy", _("Occupancy"), "rate", _rate("busy_ms", "online_ms"), None, ""),
]
BY_KEY = {metric.key: metric for metric in METRICS}
TARGETED = [metric for metric in METRICS if metric.target is not None]


def compute(totals: Totals, keys: Iterable[str] | None = None) -> dict:
    return {key: BY_KEY[key].compute(totals) for key in (keys or BY_KEY)}
