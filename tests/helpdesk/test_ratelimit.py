"""The sliding-window rate limits (helpdesk/ratelimit.py) on the real Redis."""

import asyncio
import uuid

import pytest

from helpdesk import ratelimit
from helpdesk.redis_clients import key, sync_redis


@pytest.fixture
def name():
    name = f"test:{uuid.uuid4().hex}"
    yield name
    sync_redis().delete(key("rl", name))


@pytest.fixture
def clock(monkeypatch):
    """The limiter's clock, set by the test (seconds since the epoch)."""
    now = [1_800_000_000.0]
    monkeypatch.setattr(ratelimit, "_now_ms", lambda: int(now[0] * 1000))
    return now


def test_the_hit_past_the_limit_is_refused(name):
    assert [ratelimit.allow_now(name, limit=3, window=10) for _ in range(5)] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_a_burst_across_a_fixed_window_boundary_is_not_let_through_twice(name, clock):
    # Three at 9.9 s and three at 10.1 s: two fixed 10-second windows would allow all six.
    clock[0] = 1_800_000_009.9
    first = [ratelimit.allow_now(name, limit=3, window=10) for _ in range(3)]
    clock[0] = 1_800_000_010.1
    second = [ratelimit.allow_now(name, limit=3, window=10) for _ in range(3)]

    assert first == [True, True, True]
    assert second == [False, False, False]


def test_hits_are_allowed_again_once_the_window_has_slid_past_the_earlier_ones(name, clock):
    for at in (0.0, 4.0, 8.0):
        clock[0] = 1_800_000_000 + at
        assert ratelimit.allow_now(name, limit=3, window=10)
    clock[0] = 1_800_000_009.0
    assert not ratelimit.allow_now(name, limit=3, window=10)
    clock[0] = 1_800_000_010.5  # the hit at 0 s has left the window, those at 4 and 8 not
    assert ratelimit.allow_now(name, limit=3, window=10)
    assert not ratelimit.allow_now(name, limit=3, window=10)


def test_refused_hits_do_not_extend_the_block(name, clock):
    assert ratelimit.allow_now(name, limit=1, window=10)
    for second in range(1, 10):  # a sender that keeps trying every second
        clock[0] = 1_800_000_000 + second
        assert not ratelimit.allow_now(name, limit=1, window=10)
    clock[0] = 1_800_000_010.5
    assert ratelimit.allow_now(name, limit=1, window=10)


def test_the_log_expires_with_its_window(name):
    ratelimit.allow_now(name, limit=5, window=10)

    ttl = sync_redis().pttl(key("rl", name))

    assert 0 < ttl <= 10_000


def test_the_async_and_sync_limiters_share_one_log(name):
    async def hits():
        return [await ratelimit.allow(name, limit=3, window=10) for _ in range(2)]

    assert asyncio.run(hits()) == [True, True]
    assert ratelimit.allow_now(name, limit=3, window=10)
    assert not ratelimit.allow_now(name, limit=3, window=10)


def test_the_default_window_is_the_setting(name, clock, settings):
    settings.CHAT_RATE_WINDOW = 60
    assert ratelimit.allow_now(name, limit=1)
    clock[0] += 30
    assert not ratelimit.allow_now(name, limit=1)
    clock[0] += 31
    assert ratelimit.allow_now(name, limit=1)
