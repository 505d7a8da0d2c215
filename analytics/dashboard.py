"""What the overview page shows, as tables (each with its CSV and, most, a chart): built
from one read of the range's rollups per breakdown and one live run for today."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics import selectors
from analytics.metrics import BY_KEY, TARGETED, Totals, compute
from analytics.models import TopicHourly
from analytics.selectors import Scope
from conversations.models import Agent, Conversation, SkillGroup
from customers.models import Customer


def show(kind: str, value) -> str:
    """A metric's value as people read it."""
    if value is None:
        return "—"
    if kind == "rate":
        return f"{formats.number_format(value * 100, 1)}%"
    if kind == "seconds":
        return _("%(n)s s") % {"n": formats.number_format(value, 1)}
    if kind == "hours":
        return _("%(n)s h") % {"n": formats.number_format(value, 1)}
    if kind == "number":
        return formats.number_format(value, 2)
    return formats.number_format(value, 0, force_grouping=True)


def show_target(metric) -> str:
    target = metric.target
    value = show(metric.kind, target.value)
    return f"≥ {value}" if target.at_least else f"≤ {value}"


@dataclass
class Bar:
    label: str
    value: float
    text: str
    href: str
    x: float = 0
    y: float = 0
    width: float = 0
    height: float = 0


@dataclass
class Chart:
    """A bar chart drawn by the template as SVG: bars with their value in a <title>, each a
    link to what is behind it."""

    key: str
    title: str
    bars: list[Bar]
    width: int = 640
    height: int = 200
    top: float = 0
    top_text: str = ""

    def __post_init__(self):
        plot = self.height - 40
        self.top = max([bar.value for bar in self.bars] + [0]) or 1
        step = (self.width - 20) / max(len(self.bars), 1)
        for index, bar in enumerate(self.bars):
            bar.width = max(step * 0.7, 1)
            bar.x = 10 + index * step + step * 0.15
            bar.height = plot * (bar.value / self.top) if bar.value else 0
            bar.y = 10 + plot - bar.height
        self.label_every = max(1, len(self.bars) // 8)

    @property
    def description(self) -> str:
        return "; ".join(f"{bar.label}: {bar.text}" for bar in self.bars)


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)  # raw values (the CSV)
    shown: list[list[str]] = field(default_factory=list)  # what the page shows
    links: list[str] = field(default_factory=list)  # per row: what is behind it
    chart: Chart | None = None

    @property
    def lines(self) -> list[tuple[list[str], str, list]]:
        """(what is shown, the link behind it, the raw values) per row."""
        return list(zip(self.shown, self.links, self.rows, strict=True))


BREAKDOWN_METRICS = [
    "conversations",
    "resolution_rate",
    "automated_resolution_rate",
    "response_rate",
    "avg_response_agent",
    "frt_human",
    "fcr_rate",
    "csat",
    "transfers",
]
AGENT_METRICS = [
    "conversations",
    "frt_human",
    "avg_response_agent",
    "avg_handle",
    "csat",
    "online_hours",
    "occupancy",
]
TREND_CHARTS = ["conversations", "resolution_rate", "avg_response_agent", "csat"]
# Up to this many days a trend has a point a day; a longer range, a point a week (a year of
# days made a page of 1 MB, 4 charts and tables of 365 rows).
TREND_DAILY_DAYS = 92
TICKET_METRICS = [
    "tickets_created",
    "tickets_resolved",
    "tickets_reopened",
    "ticket_resolution_hours",
    "sla_first_response",
    "sla_resolution",
    "sla_next_response_breached",
]
CONVERSION_METRICS = [
    "recommendation_ctr",
    "recommendation_conversion",
    "coupon_redemption",
    "repeat_contact_rate",
    "messages_per_conversation",
    "handoff_rate",
    "containment",
    "left_message",
    "survey_answer_rate",
]
DIMENSION_TITLES = {
    "channel": gettext_lazy("By channel"),
    "skill_group_id": gettext_lazy("By skill group"),
    "agent_id": gettext_lazy("By agent"),
    "customer_level": gettext_lazy("By customer level"),
    "language": gettext_lazy("By language"),
}


def drill_url(query: str, metric: str, **changes) -> str:
    from urllib.parse import urlencode

    extra = urlencode({"metric": metric, **changes})
    return f"{reverse('analytics:drill')}?{query}&{extra}"


def dimension_labels(dimension: str, keys) -> dict:
    if dimension == "channel":
        names = dict(Conversation.Channel.choices)
        return {key: str(names.get(key, key)) if key else _("No channel") for key in keys}
    if dimension == "customer_level":
        names = dict(Customer.Level.choices)
        return {key: str(names.get(key, key)) if key else "—" for key in keys}
    if dimension == "language":
        names = dict(Customer.Language.choices)
        return {key: str(names.get(key, key)) if key else "—" for key in keys}
    if dimension == "skill_group_id":
        groups = SkillGroup.objects.in_bulk([key for key in keys if key])
        return {key: groups[key].name if key in groups else _("No group") for key in keys}
    agents = Agent.objects.in_bulk([key for key in keys if key])
    return {key: agents[key].display_name if key in agents else _("Nobody") for key in keys}


def _metric_row(totals: Totals, keys: list[str]) -> tuple[list, list[str]]:
    values = compute(totals, keys)
    return [values[key] for key in keys], [show(BY_KEY[key].kind, values[key]) for key in keys]


class Overview:
    """Everything the overview shows for a scope."""

    def __init__(self, scope: Scope, query: str, now: datetime):
        self.scope, self.query, self.now = scope, query, now
        self.live = selectors.live_rows(scope, now)
        # Every grouping the page shows, from one read of the rollups.
        self.grouped = selectors.breakdowns(
            scope, [None, "day", *DIMENSION_TITLES], now=now, live=self.live
        )
        self.totals = self.grouped[None][None]
        self.values = compute(self.totals)
        self.tables: list[Table] = []

    def drill(self, metric: str, **changes) -> str:
        return drill_url(self.query, metric, **changes)

    def targets(self) -> Table:
        table = Table(
            "targets",
            _("Targets"),
            [_("Metric"), _("Now"), _("Target"), _("Met")],
        )
        for metric in TARGETED:
            value = self.values[metric.key]
            met = metric.target.met(value)
            table.rows.append([str(metric.label), value, metric.target.value, met])
            table.shown.append(
                [
                    str(metric.label),
                    show(metric.kind, value),
                    show_target(metric),
                    "—" if met is None else (_("yes") if met else _("no")),
                ]
            )
            table.links.append(self.drill(metric.drill))
        return table

    def trend_periods(self) -> list[tuple[date, date, Totals]]:
        """The trends' points: a day each, or for a range longer than TREND_DAILY_DAYS a week
        each (from Monday, the first and last cut to the range), with their sums."""
        by_day = self.grouped["day"]
        days: list[date] = self.scope.days
        weekly = len(days) > TREND_DAILY_DAYS
        periods: list[tuple[date, date, Totals]] = []
        for day in days:
            if not periods or not weekly or day.weekday() == 0:
                periods.append((day, day, Totals()))
            first, _last, totals = periods[-1]
            periods[-1] = (first, day, totals.add_totals(by_day.get(day, Totals())))
        return periods

    def trends(self) -> list[Table]:
        periods = self.trend_periods()
        weekly = any(first != last for first, last, _totals in periods)
        tables = []
        for key in TREND_CHARTS:
            metric = BY_KEY[key]
            table = Table(
                f"trend_{key}",
                str(metric.label),
                [_("Week from") if weekly else _("Day"), str(metric.label)],
            )
            bars = []
            for first, last, totals in periods:
                value = metric.compute(totals)
                href = self.drill(
                    metric.drill, **{"from": first.isoformat(), "to": last.isoformat()}
                )
                label = formats.date_format(first, "m-d")
                table.rows.append([first.isoformat(), value])
                table.shown.append([label, show(metric.kind, value)])
                table.links.append(href)
                bars.append(Bar(label, value or 0, show(metric.kind, value), href))
            title = _("%(metric)s per week") if weekly else _("%(metric)s per day")
            table.chart = Chart(table.key, title % {"metric": metric.label}, bars)
            tables.append(table)
        return tables

    def breakdowns(self) -> list[Table]:
        tables = []
        for dimension, title in DIMENSION_TITLES.items():
            metrics = AGENT_METRICS if dimension == "agent_id" else BREAKDOWN_METRICS
            grouped = self.grouped[dimension]
            grouped = {
                key: totals
                for key, totals in grouped.items()
                if totals["conversations"] or totals["online_ms"]
            }
            labels = dimension_labels(dimension, grouped)
            table = Table(
                f"by_{dimension.removesuffix('_id')}",
                str(title),
                [str(title), *[str(BY_KEY[key].label) for key in metrics]],
            )
            bars = []
            ordered = sorted(grouped.items(), key=lambda item: -item[1]["conversations"])
            for key, totals in ordered:
                raw, shown = _metric_row(totals, metrics)
                href = self.drill("counted", **{self._filter_name(dimension): key})
                table.rows.append([labels[key], *raw])
                table.shown.append([labels[key], *shown])
                table.links.append(href)
                bars.append(Bar(labels[key], totals["conversations"], shown[0], href))
            table.chart = Chart(
                table.key, _("Conversations, %(by)s") % {"by": str(title).lower()}, bars
            )
            tables.append(table)
        return tables

    @staticmethod
    def _filter_name(dimension: str) -> str:
        return {"skill_group_id": "skill_group", "agent_id": "agent"}.get(dimension, dimension)

    def metric_table(self, key: str, title: str, metrics: list[str]) -> Table:
        table = Table(key, title, [_("Metric"), _("Value")])
        for name in metrics:
            metric = BY_KEY[name]
            value = self.values[name]
            table.rows.append([str(metric.label), value])
            table.shown.append([str(metric.label), show(metric.kind, value)])
            table.links.append(self.drill(metric.drill) if metric.drill else "")
        return table

    def topic_tables(self) -> list[Table]:
        live = selectors.live_topics(self.now)
        tables = []
        for kind, label in TopicHourly.Kind.choices:
            table = Table(
                f"topics_{kind}",
                str(label),
                [str(label), _("Conversations"), _("Previous period"), _("Trending up")],
            )
            for row in selectors.topics(self.scope, kind=kind, now=self.now, live=live):
                table.rows.append(
                    [row["key"], row["conversations"], row["previous"], row["trending"]]
                )
                table.shown.append(
                    [
                        row["key"],
                        show("count", row["conversations"]),
                        show("count", row["previous"]),
                        "↑" if row["trending"] else "",
                    ]
                )
                table.links.append("")
            tables.append(table)
        return tables

    def backlog(self) -> Table:
        data = selectors.backlog(self.now)
        table = Table("backlog", _("Open tickets by age"), [_("Age"), _("Tickets")])
        for label, count in data["ages"]:
            table.rows.append([label, count])
            table.shown.append([label, show("count", count)])
            table.links.append("")
        table.chart = Chart(
            "backlog",
            _("Open tickets by age"),
            [Bar(label, count, show("count", count), "") for label, count in data["ages"]],
        )
        self.backlog_open = data["open"]
        self.backlog_oldest = show("hours", data["oldest_hours"])
        return table

    def build(self) -> Overview:
        self.target_table = self.targets()
        self.trend_tables = self.trends()
        self.breakdown_tables = self.breakdowns()
        self.ticket_table = self.metric_table("tickets", _("Tickets and SLA"), TICKET_METRICS)
        self.backlog_table = self.backlog()
        self.more_table = self.metric_table("more", _("More metrics"), CONVERSION_METRICS)
        self.topic_tables_ = self.topic_tables()
        self.tables = [
            self.target_table,
            *self.trend_tables,
            *self.breakdown_tables,
            self.ticket_table,
            self.backlog_table,
            self.more_table,
            *self.topic_tables_,
        ]
        return self

    def table(self, key: str) -> Table | None:
        return next((table for table in self.tables if table.key == key), None)
