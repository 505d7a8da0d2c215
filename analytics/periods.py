"""Hours and local days: rollup hours are UTC hours; a day is a day of settings.TIME_ZONE
(the hours that start in it)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def local_day(moment: datetime) -> date:
    return moment.astimezone(zone()).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The instants a local day starts and ends (23 or 25 hours across a DST change)."""
    start = datetime.combine(day, time(0), tzinfo=zone())
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone())
    return start, end


def today() -> date:
    return local_day(timezone.now())
