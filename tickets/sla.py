"""Business-time arithmetic for SLA clocks: pure functions, no database.

A calendar is a timezone, opening intervals per weekday (local wall-clock
times) and closed dates (holidays). Business time is real elapsed time inside
those intervals: an interval is turned into two instants by the zone's rules
on that very day, so an opening spanning a DST change is an hour shorter or
longer, as the clock on the wall says. With no calendar, every second counts
(24/7).

- `add_business_time(start, seconds, calendar)`: the instant when `seconds` of
  business time have passed since `start` (a due time);
- `business_seconds_between(start, end, calendar)`: how much business time lies
  between two instants (what an SLA clock has used, or has left).

Both return and work in UTC, and walk the calendar day by day; a calendar with no opening at all raises
ValueError instead of looping forever.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# No due time is computed further ahead than this (a year of closed days means a
# calendar that is never open).
MAX_DAYS = 400


@dataclass(frozen=True)
class Calendar:
    timezone: str = "Asia/Shanghai"
    # weekday (Monday = 0) → [(opens, closes)], local times, closes > opens
    hours: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant a wall clock in `zone` shows `at` on `day` (PEP 495: a time shown
    twice in autumn is its first showing; a time skipped in spring is read with the
    offset before the change, so 02:30 is 03:30 of the new offset). In UTC: arithmetic
    on two datetimes of one zone would ignore a DST change between them."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _openings(
    calendar: Calendar, start: datetime, until: datetime | None = None
) -> Iterator[tuple[datetime, datetime]]:
    """The calendar's open intervals as instants, in order, from the local day of `start`
    to that of `until` (or for MAX_DAYS when open-ended; the first may end before
    `start`: callers clip)."""
    zone = calendar.zone
    first = start.astimezone(zone).date()
    last = until.astimezone(zone).date() if until else first + timedelta(days=MAX_DAYS)
    current = first
    while current <= last:
        if current not in calendar.holidays:
            for opens, closes in calendar.hours.get(current.weekday(), ()):
                yield _local_instant(current, opens, zone), _local_instant(current, closes, zone)
        current += timedelta(days=1)
    if until is None:
        raise ValueError(f"the calendar has no opening within {MAX_DAYS} days of {start}")


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("SLA arithmetic needs aware datetimes")
    return moment.astimezone(UTC)


def add_business_time(start: datetime, seconds: float, calendar: Calendar | None) -> datetime:
    """`start` plus `seconds` of business time. Zero seconds outside business hours is
    the next opening (a clock that starts at night starts in the morning)."""
    start = _utc(start)
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    if calendar is None:
        return start + timedelta(seconds=seconds)
    left = timedelta(seconds=seconds)
    for opens, closes in _openings(calendar, start):
        if closes <= start:
            continue
        begin = max(opens, start)
        available = closes - begin
        if left <= available:
            return begin + left
        left -= available
    raise AssertionError("unreachable: _openings raises when it runs out")


def business_seconds_between(start: datetime, end: datetime, calendar: Calendar | None) -> float:
    """Business time from `start` to `end`, in seconds; negative when `end` is earlier."""
    start, end = _utc(start), _utc(end)
    if end < start:
        return -business_seconds_between(end, start, calendar)
    if calendar is None:
        return (end - start).total_seconds()
    total = timedelta()
    for opens, closes in _openings(calendar, start, until=end):
        if closes <= start or opens >= end:
            continue
        total += min(closes, end) - max(opens, start)
    return total.total_seconds()
