"""The daily slices (DailySlice): an unfiltered range's figures read from them add up to
exactly what the rollup rows give, the rollup keeps them with its days, and the migration
slices the days rolled up before it."""

import importlib
from collections import defaultdict
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection

from analytics import selectors
from analytics.metrics import Totals
from analytics.models import DIMENSIONS, DailyRollup, DailySlice
from analytics.periods import day_bounds, today
from analytics.selectors import Scope
from analytics.services.rollup import roll_up
from tests.analytics.scenario import build

pytestmark = pytest.mark.django_db

BYS = [None, "day", *DIMENSIONS]


@pytest.fixture
def two_days(past_day):
    """The scenario three days ago and again five days ago, both rolled up."""
    earlier = build(today() - timedelta(days=5), hour=15)
    for day in (earlier.day, past_day.day):
        start, end = day_bounds(day)
        roll_up(start=start, end=end)
    return earlier.day, past_day.day


def _folded(rows) -> dict:
    sums = defaultdict(Totals)
    for by, row in rows:
        sums[by, row["_key"]].add(row)
    return {key: totals.values | totals.histograms for key, totals in sums.items()}


def _slices() -> list[tuple]:
    return sorted(
        DailySlice.objects.values_list(
            "day", "dimension", *DIMENSIONS, "conversations", "online_ms"
        )
    )


def test_an_unfiltered_range_from_the_slices_is_the_rollup_rows_sums(two_days):
    first, last = two_days
    scope = Scope(first - timedelta(days=1), last + timedelta(days=1))

    sliced = _folded(selectors._sliced(scope, last + timedelta(days=1), BYS))
    grouped = _folded(selectors._grouped(scope, last + timedelta(days=1), BYS))

    assert sliced == grouped
    total = sum(DailyRollup.objects.values_list("conversations", flat=True))
    assert sliced[None, None]["conversations"] == total == 14  # seven counted a day
    assert {key for by, key in sliced if by == "day"} == {first, last}
    assert (
        sum(values["conversations"] for (by, _key), values in sliced.items() if by == "channel")
        == 14
    )


def test_rolling_a_day_again_leaves_the_same_slices(two_days):
    before = _slices()
    start, end = day_bounds(two_days[1])

    roll_up(start=start, end=end)

    assert before and _slices() == before
    assert {row[1] for row in before} == {"", *DIMENSIONS}


def test_the_migration_slices_the_days_rolled_up_before_it(two_days):
    before = _slices()
    DailySlice.objects.all().delete()
    migration = importlib.import_module("analytics.migrations.0003_daily_slices")

    with connection.schema_editor() as editor:
        migration.slice_existing_days(apps, editor)

    assert before and _slices() == before
