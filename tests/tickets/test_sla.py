"""SLA arithmetic: business hours across nights, weekends, holidays, timezones and DST."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from tickets.sla import Calendar, add_business_time, business_seconds_between

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
HOUR = 3600

WEEKDAYS_9_TO_18 = {day: ((time(9), time(18)),) for day in range(5)}
OFFICE = Calendar(timezone="Asia/Shanghai", hours=WEEKDAYS_9_TO_18)


def at(*parts, zone=SHANGHAI):
    return datetime(*parts, tzinfo=zone)


def test_without_a_calendar_every_second_counts():
    assert add_business_time(at(2026, 12, 5, 23, 0), 2 * HOUR, None) == at(2026, 12, 6, 1, 0)


def test_a_target_that_fits_in_the_day_ends_the_same_day():
    assert add_business_time(at(2026, 12, 2, 10, 0), 4 * HOUR, OFFICE) == at(2026, 12, 2, 14, 0)


def test_the_night_does_not_count():
    # Wednesday 17:00 + 2 h: one hour today, one tomorrow from 09:00
    assert add_business_time(at(2026, 12, 2, 17, 0), 2 * HOUR, OFFICE) == at(2026, 12, 3, 10, 0)


def test_a_clock_started_at_night_starts_in_the_morning():
    assert add_business_time(at(2026, 12, 2, 22, 30), 30 * 60, OFFICE) == at(2026, 12, 3, 9, 30)


def test_the_weekend_does_not_count():
    # Friday 16:00 + 4 h: two hours on Friday, two on Monday
    assert add_business_time(at(2026, 12, 4, 16, 0), 4 * HOUR, OFFICE) == at(2026, 12, 7, 11, 0)


def test_holidays_do_not_count():
    national_day = Calendar(
        timezone="Asia/Shanghai",
        hours=WEEKDAYS_9_TO_18,
        holidays=frozenset(date(2026, 10, d) for d in range(1, 8)),
    )
    # Wednesday 30 September 17:00 + 2 h: the golden week is closed, work resumes Thursday 8th
    assert add_business_time(at(2026, 9, 30, 17, 0), 2 * HOUR, national_day) == at(
        2026, 10, 8, 10, 0
    )


def test_split_days_count_both_openings():
    lunch_break = Calendar(
        timezone="Asia/Shanghai",
        hours={day: ((time(9), time(12)), (time(13), time(18))) for day in range(5)},
    )
    assert add_business_time(at(2026, 12, 2, 11, 0), 2 * HOUR, lunch_break) == at(
        2026, 12, 2, 14, 0
    )
    assert business_seconds_between(at(2026, 12, 2, 8, 0), at(2026, 12, 2, 20, 0), lunch_break) == (
        8 * HOUR
    )


def test_the_calendar_s_timezone_decides_not_the_caller_s():
    berlin_office = Calendar(timezone="Europe/Berlin", hours=WEEKDAYS_9_TO_18)
    # 16:00 in Shanghai on a December Wednesday is 09:00 in Berlin: the office just opened
    due = add_business_time(at(2026, 12, 2, 16, 0), 2 * HOUR, berlin_office)
    assert due == at(2026, 12, 2, 11, 0, zone=BERLIN)


def test_a_short_night_in_spring_is_an_hour_shorter():
    around_the_clock = Calendar(
        timezone="Europe/Berlin", hours={day: ((time(0), time(23, 59, 59)),) for day in range(7)}
    )
    # 29 March 2026: clocks go from 02:00 to 03:00 in Berlin
    start, end = at(2026, 3, 29, 0, 0, zone=BERLIN), at(2026, 3, 29, 6, 0, zone=BERLIN)
    assert business_seconds_between(start, end, around_the_clock) == 5 * HOUR
    assert add_business_time(start, 5 * HOUR, around_the_clock) == end


def test_a_long_night_in_autumn_is_an_hour_longer():
    night_shift = Calendar(
        timezone="Europe/Berlin", hours={day: ((time(0), time(6)),) for day in range(7)}
    )
    # 25 October 2026: clocks go back from 03:00 to 02:00; 00:00–06:00 is seven hours
    day = at(2026, 10, 25, 0, 0, zone=BERLIN)
    assert business_seconds_between(day, at(2026, 10, 25, 12, 0, zone=BERLIN), night_shift) == (
        7 * HOUR
    )


def test_business_time_between_spans_nights_and_weekends():
    # Friday 17:00 → Monday 10:00: one hour on Friday, one on Monday
    assert business_seconds_between(at(2026, 12, 4, 17, 0), at(2026, 12, 7, 10, 0), OFFICE) == (
        2 * HOUR
    )


def test_between_is_negative_when_the_end_is_earlier():
    assert business_seconds_between(at(2026, 12, 2, 12, 0), at(2026, 12, 2, 10, 0), OFFICE) == (
        -2 * HOUR
    )


def test_adding_then_measuring_gives_back_the_target():
    start = at(2026, 12, 4, 15, 17)
    due = add_business_time(start, 11 * HOUR, OFFICE)
    assert business_seconds_between(start, due, OFFICE) == 11 * HOUR


def test_a_calendar_that_never_opens_is_an_error_not_a_hang():
    with pytest.raises(ValueError, match="no opening"):
        add_business_time(at(2026, 12, 2, 10, 0), HOUR, Calendar(timezone="Asia/Shanghai"))


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        add_business_time(datetime(2026, 12, 2, 10, 0), HOUR, OFFICE)
