"""Fixed-window rate limits kept in Redis, so they hold across daphne processes."""

from __future__ import annotations

import time

from helpdesk.redis_clients import async_redis, key, sync_redis


def _counter(name: str, window: int) -> str:
    return key("rl", name, int(time.time() // window))


async def allow(name: str, *, limit: int, window: int = 10) -> bool:
    """Count one hit on `name`; False once more than `limit` hits fall in this window."""
    counter = _counter(name, window)
    pipe = async_redis().pipeline(transaction=False)
    pipe.incr(counter)
    pipe.expire(counter, window * 2)
    count, _ = await pipe.execute()
    return count <= limit


def allow_now(name: str, *, limit: int, window: int = 10) -> bool:
    """`allow` for synchronous code (a view): the same counters."""
    counter = _counter(name, window)
    pipe = sync_redis().pipeline(transaction=False)
    pipe.incr(counter)
    pipe.expire(counter, window * 2)
    count, _ = pipe.execute()
    return count <= limit
