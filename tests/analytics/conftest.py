from datetime import timedelta

import pytest

from analytics.periods import today
from tests.analytics.scenario import build


@pytest.fixture(autouse=True)
def _live_at_every_call(settings):
    """Today's figures computed at every call (the tests change the data between calls)."""
    settings.ANALYTICS_LIVE_SECONDS = 0


@pytest.fixture
def past_day(db):
    """The scenario three days ago (settled: read from the rollups once rolled up)."""
    return build(today() - timedelta(days=3))
