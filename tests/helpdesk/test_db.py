"""helpdesk.db: the set-based jobs' raw SQL helpers."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from psycopg.pq import Format

from helpdesk.db import native_timestamps

MOMENTS = [
    datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 12, 8, 1, 0, tzinfo=UTC),
]


def _read(native: bool) -> tuple[list[datetime], str]:
    with connection.cursor() as cursor:
        if native:
            native_timestamps(cursor)
        cursor.execute(
            "SELECT unnest(%s::timestamptz[])",
            [MOMENTS],
        )
        values = [row[0] for row in cursor.fetchall()]
        oid = connection.connection.adapters.types["timestamptz"].oid
        loader = cursor.cursor.adapters.get_loader(oid, Format.TEXT)
    return values, f"{loader.__module__}.{loader.__qualname__}"


@pytest.mark.django_db
def test_native_timestamps_read_the_same_aware_datetimes_as_django():
    django_values, django_loader = _read(native=False)
    native_values, native_loader = _read(native=True)

    assert native_values == django_values == MOMENTS
    assert [value.utcoffset().total_seconds() for value in native_values] == [0, 0]
    assert [value.tzinfo for value in native_values] == [value.tzinfo for value in django_values]
    assert "django" in django_loader and "django" not in native_loader
