from datetime import timedelta

import pytest

from analytics.periods import today
from tests.analytics.scenario import build


@pytest.fixture
def past_day(db):
    """The scenario three days ago (settled: read from the rollups once rolled up)."""
    return build(today() - timedelta(days=3))
