from celery import shared_task

from analytics.services.rollup import roll_up_recent


@shared_task(name="analytics.tasks.roll_up_recent_task")
def roll_up_recent_task() -> int:
    """The rollups of the settle window (docs/metrics.md); returns the hourly rows written."""
    return roll_up_recent().hourly_rows


@shared_task(name="analytics.tasks.refresh_live_task")
def refresh_live_task(kind: str) -> int:
    """Today's live rows of a kind computed again for the dashboards (analytics.selectors,
    `_shared`); returns how many rows."""
    from analytics.selectors import LIVE, refresh_live

    if kind not in LIVE:
        return 0
    return len(refresh_live(kind))
