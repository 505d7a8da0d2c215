from celery import shared_task

from analytics.services.rollup import roll_up_recent


@shared_task(name="analytics.tasks.roll_up_recent_task")
def roll_up_recent_task() -> int:
    """The rollups of the settle window (docs/metrics.md); returns the hourly rows written."""
    return roll_up_recent().hourly_rows
