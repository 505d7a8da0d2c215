"""Helpers for the raw SQL of set-based jobs (a thousand rows a statement)."""

from __future__ import annotations

from django.db import connection
from psycopg.types.datetime import TimestamptzLoader

# For a transaction's large statements whose cost PostgreSQL overestimates (a CTE's rows
# it cannot know): its JIT would spend more compiling them than they take to run — 90 ms
# of a breach batch's 310 (docs/benchmarks.md), and more than an hour's rollup takes.
NO_JIT = "SET LOCAL jit = off"


def native_timestamps(cursor) -> None:
    """Read this cursor's `timestamptz` columns with psycopg's own loader (in C) instead of
    Django's, which is pure Python (it re-attaches the connection's timezone to every
    value): reading a thousand rows of two timestamps took 15 ms with Django's and 5 ms
    with psycopg's (the care sender's batch, docs/benchmarks.md). Only when the session's
    timezone is UTC — Django's with USE_TZ — where both give the same aware datetimes
    (tzinfo `datetime.timezone.utc`); otherwise Django's loader stays."""
    if connection.timezone_name == "UTC":
        # Registering psycopg's Python class selects its C implementation.
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
