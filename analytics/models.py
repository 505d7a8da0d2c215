"""Rollups: the metrics of docs/metrics.md counted per hour and per day and dimension.

The job (`analytics.services.rollup`) writes them; the dashboards and the API read them.
Every column is a count or a sum, so any set of rows adds up to the same figures as the
raw data they came from: averages are sums over counts, rates are counts over counts,
medians come from the histograms (`HISTOGRAM_BOUNDS`)."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

# Upper bounds (seconds) of the response-time histograms' buckets; the last bucket is
# everything above the last bound.
HISTOGRAM_BOUNDS = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1800, 3600)
HISTOGRAM_SIZE = len(HISTOGRAM_BOUNDS) + 1

# The dimensions every rollup row is keyed by. 0 / "" mean "none" (a conversation with
# no group, a ticket that came through no channel), never "all".
DIMENSIONS = ("channel", "skill_group_id", "agent_id", "customer_level", "language")
# Each dimension's "none" (its column's default).
DIMENSION_NONE = {
    "channel": "",
    "skill_group_id": 0,
    "agent_id": 0,
    "customer_level": "",
    "language": "",
}

# The figures of a row, in the order the rollup SQL produces them.
COUNTERS = (
    "conversations",
    "spam",
    "customer_messages",
    "bot_only",
    "bot_resolved",
    "handoffs",
    "handoffs_answered",
    "left_message",
    "resolved",
    "fcr",
    "repeat_contacts",
    "transferred",
    "transfers",
    "frt_bot_count",
    "frt_bot_ms",
    "frt_human_count",
    "frt_human_ms",
    "resp_agent_count",
    "resp_agent_ms",
    "resp_bot_count",
    "resp_bot_ms",
    "wait_count",
    "wait_ms",
    "handle_count",
    "handle_ms",
    "surveys_sent",
    "surveys_answered",
    "surveys_positive",
    "survey_score_sum",
    "tickets_created",
    "tickets_resolved",
    "ticket_resolution_ms",
    "tickets_reopened",
    "sla_first_response_total",
    "sla_first_response_met",
    "sla_resolution_total",
    "sla_resolution_met",
    "sla_next_response_breached",
    "recommendations_shown",
    "recommendations_clicked",
    "recommendations_converted",
    "coupons_issued",
    "coupons_redeemed",
    "online_ms",
    "busy_ms",
)
HISTOGRAMS = ("frt_human_hist", "resp_agent_hist")


class RollupRow(models.Model):
    channel = models.CharField(_("channel"), max_length=16, blank=True)
    skill_group_id = models.IntegerField(_("skill group"), default=0)
    agent_id = models.IntegerField(_("agent"), default=0)
    customer_level = models.CharField(_("customer level"), max_length=10, blank=True)
    language = models.CharField(_("language"), max_length=2, blank=True)

    conversations = models.BigIntegerField(default=0)
    spam = models.BigIntegerField(default=0)
    customer_messages = models.BigIntegerField(default=0)
    bot_only = models.BigIntegerField(default=0)
    bot_resolved = models.BigIntegerField(default=0)
    handoffs = models.BigIntegerField(default=0)
    handoffs_answered = models.BigIntegerField(default=0)
    left_message = models.BigIntegerField(default=0)
    resolved = models.BigIntegerField(default=0)
    fcr = models.BigIntegerField(default=0)
    repeat_contacts = models.BigIntegerField(default=0)
    transferred = models.BigIntegerField(default=0)
    transfers = models.BigIntegerField(default=0)
    frt_bot_count = models.BigIntegerField(default=0)
    frt_bot_ms = models.BigIntegerField(default=0)
    frt_human_count = models.BigIntegerField(default=0)
    frt_human_ms = models.BigIntegerField(default=0)
    resp_agent_count = models.BigIntegerField(default=0)
    resp_agent_ms = models.BigIntegerField(default=0)
    resp_bot_count = models.BigIntegerField(default=0)
    resp_bot_ms = models.BigIntegerField(default=0)
    wait_count = models.BigIntegerField(default=0)
    wait_ms = models.BigIntegerField(default=0)
    handle_count = models.BigIntegerField(default=0)
    handle_ms = models.BigIntegerField(default=0)
    surveys_sent = models.BigIntegerField(default=0)
    surveys_answered = models.BigIntegerField(default=0)
    surveys_positive = models.BigIntegerField(default=0)
    survey_score_sum = models.BigIntegerField(default=0)
    tickets_created = models.BigIntegerField(default=0)
    tickets_resolved = models.BigIntegerField(default=0)
    ticket_resolution_ms = models.BigIntegerField(default=0)
    tickets_reopened = models.BigIntegerField(default=0)
    sla_first_response_total = models.BigIntegerField(default=0)
    sla_first_response_met = models.BigIntegerField(default=0)
    sla_resolution_total = models.BigIntegerField(default=0)
    sla_resolution_met = models.BigIntegerField(default=0)
    sla_next_response_breached = models.BigIntegerField(default=0)
    recommendations_shown = models.BigIntegerField(default=0)
    recommendations_clicked = models.BigIntegerField(default=0)
    recommendations_converted = models.BigIntegerField(default=0)
    coupons_issued = models.BigIntegerField(default=0)
    coupons_redeemed = models.BigIntegerField(default=0)
    online_ms = models.BigIntegerField(default=0)
    busy_ms = models.BigIntegerField(default=0)
    frt_human_hist = ArrayField(models.BigIntegerField(), size=HISTOGRAM_SIZE, default=list)
    resp_agent_hist = ArrayField(models.BigIntegerField(), size=HISTOGRAM_SIZE, default=list)

    class Meta:
        abstract = True


class HourlyRollup(RollupRow):
    """The metrics of one hour (UTC, its start) and one combination of dimensions."""

    hour = models.DateTimeField(_("hour"))

    class Meta:
        verbose_name = _("hourly rollup")
        verbose_name_plural = _("hourly rollups")
        constraints = [
            models.UniqueConstraint(fields=["hour", *DIMENSIONS], name="hourly_rollup_key")
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} {self.channel} {self.skill_group_id} {self.agent_id}"


class DailyRollup(RollupRow):
    """The sum of a local day's hourly rows (the day in settings.TIME_ZONE)."""

    day = models.DateField(_("day"))

    class Meta:
        verbose_name = _("daily rollup")
        verbose_name_plural = _("daily rollups")
        constraints = [
            models.UniqueConstraint(fields=["day", *DIMENSIONS], name="daily_rollup_key")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.channel} {self.skill_group_id} {self.agent_id}"


class DailySlice(RollupRow):
    """A local day's sums along one dimension: `dimension` names it (its column holds the
    value; the other dimensions' columns keep their defaults), or is "" for the whole day.
    Written by the rollup job from the day's DailyRollup rows (a GROUPING SETS of them),
    so they add up to the same figures; an unfiltered dashboard reads a row per day and
    dimension value (about 60 a day) instead of one per combination (about 530)."""

    day = models.DateField(_("day"))
    dimension = models.CharField(_("dimension"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("daily slice")
        verbose_name_plural = _("daily slices")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "dimension", *DIMENSIONS], name="daily_slice_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension or '—'}"


class TopicHourly(models.Model):
    """How many conversations of an hour touched a topic: an intent, an article, a tag, a
    handoff reason, or a question the bot could not answer."""

    class Kind(models.TextChoices):
        INTENT = "intent", _("Intent")
        ARTICLE = "article", _("Article")
        TAG = "tag", _("Tag")
        HANDOFF_REASON = "handoff", _("Handoff reason")
        UNANSWERED = "unanswered", _("Unanswered question")

    hour = models.DateTimeField(_("hour"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    key = models.CharField(_("topic"), max_length=120)
    conversations = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("topic count")
        verbose_name_plural = _("topic counts")
        constraints = [
            models.UniqueConstraint(fields=["hour", "kind", "key"], name="topic_hourly_key")
        ]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} {self.kind} {self.key}"


class TopicDaily(models.Model):
    """The sum of a local day's topic counts (the day in settings.TIME_ZONE): a range of
    whole days reads a row a topic and day, not one an hour."""

    day = models.DateField(_("day"))
    kind = models.CharField(_("kind"), max_length=12, choices=TopicHourly.Kind.choices)
    key = models.CharField(_("topic"), max_length=120)
    conversations = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("daily topic count")
        verbose_name_plural = _("daily topic counts")
        constraints = [
            models.UniqueConstraint(fields=["day", "kind", "key"], name="topic_daily_key")
        ]
        indexes = [models.Index(fields=["kind", "day"], name="topic_daily_kind_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.key}"


class RollupRun(models.Model):
    """One run of the rollup job: which hours it rolled, how long it took."""

    started_at = models.DateTimeField(_("started"))
    window_start = models.DateTimeField(_("from"))
    window_end = models.DateTimeField(_("until"))
    hourly_rows = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)

    class Meta:
        verbose_name = _("rollup run")
        verbose_name_plural = _("rollup runs")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.window_start:%Y-%m-%d %H:00} – {self.window_end:%Y-%m-%d %H:00}"
