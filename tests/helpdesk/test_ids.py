"""Time-ordered ids (helpdesk/ids.py): made in Python and by PostgreSQL, the same kind."""

import time
import uuid

import pytest
from django.db import connection

from helpdesk.ids import UUID7_SQL, uuid7
from helpdesk.webhooks import emit_many


def _millis(value: uuid.UUID) -> int:
    return value.int >> 80


def _assert_version_7(values: list[uuid.UUID], before_ms: int, after_ms: int) -> None:
    for value in values:
        assert value.version == 7
        assert value.variant == uuid.RFC_4122
        assert before_ms <= _millis(value) <= after_ms
    assert len(set(values)) == len(values)


def test_python_ids_carry_the_time_and_sort_by_it():
    before = time.time_ns() // 1_000_000
    first = [uuid7() for _ in range(500)]
    time.sleep(0.003)
    second = [uuid7() for _ in range(500)]
    after = time.time_ns() // 1_000_000

    _assert_version_7(first + second, before, after)
    assert max(first) < min(second)


@pytest.mark.django_db
def test_postgres_makes_the_same_kind_of_id():
    before = time.time_ns() // 1_000_000
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {UUID7_SQL} FROM generate_series(1, 500)")  # noqa: S608
        first = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT pg_sleep(0.003)")
        cursor.execute(f"SELECT {UUID7_SQL} FROM generate_series(1, 500)")  # noqa: S608
        second = [row[0] for row in cursor.fetchall()]
    after = time.time_ns() // 1_000_000

    _assert_version_7(first + second, before - 5, after + 5)  # the two clocks may differ a little
    assert max(first) < min(second)


@pytest.mark.django_db
def test_partner_events_get_time_ordered_ids():
    before = time.time_ns() // 1_000_000
    events = emit_many([("customer.updated", {"id": n}) for n in range(3)])
    after = time.time_ns() // 1_000_000

    _assert_version_7([event.id for event in events], before, after)
