"""Fixtures of the fault tests: every process started here is killed when the test ends,
passed or failed, and its directory removed."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import database_url
from tests.faults.processes import Daphne, PostgresServer, Process, RedisServer


@pytest.fixture
def workdir():
    """A directory for the processes' data and logs, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="lumen-faults-") as directory:
        yield Path(directory)


@pytest.fixture
def started(workdir):
    """Every process a test starts; all killed at teardown, the last started first."""
    processes: list[Process] = []
    yield processes
    failures = []
    for process in reversed(processes):
        popen = getattr(process, "process", None)
        if popen is not None and popen.poll() is not None:
            continue  # killed by the test already
        try:
            process.kill()
        except Exception as error:  # kill the others all the same, then tell
            failures.append(error)
    if failures:
        raise failures[0]


@pytest.fixture
def private_redis(workdir, started) -> RedisServer:
    """A Redis of this test alone, free to be killed."""
    redis = RedisServer(workdir / "redis")
    redis.directory.mkdir()
    started.append(redis)
    return redis.start()


@pytest.fixture
def start_daphnes(workdir, started, transactional_db):
    """`start_daphnes(count, redis_url=…, database_url=…, **env)`: daphne processes on free
    ports, started side by side, by default against the test database (rows committed by
    the test are visible)."""
    made = 0

    def start(count: int, *, redis_url: str, database_url: str | None = None, **env: str):
        nonlocal made
        servers = []
        for _ in range(count):
            made += 1
            daphne = Daphne(
                workdir / f"daphne-{made}.log",
                database_url=database_url or the_test_database_url(),
                redis_url=redis_url,
                **env,
            )
            started.append(daphne)
            servers.append(daphne.spawn())
        return [daphne.ready() for daphne in servers]

    return start


@pytest.fixture
def start_daphne(start_daphnes):
    """`start_daphne(redis_url=…, database_url=…, **env)`: one daphne, as start_daphnes."""
    return lambda **kwargs: start_daphnes(1, **kwargs)[0]


def the_test_database_url() -> str:
    return database_url(connection.settings_dict)


@pytest.fixture
def private_postgres(workdir, started, transactional_db) -> PostgresServer:
    """A PostgreSQL of this test alone, free to be crashed, with the test database's
    schema."""
    postgres = PostgresServer(workdir)
    started.append(postgres)
    return postgres.start(copy_of=the_test_database_url())
