"""Fixed-window rate limits kept in Redis, so they hold across daphne processes."""

from __future__ import annotations

import time

from helpdesk.redis_clients import async_redis, key


async def allow(name: str, *, limit: int, window: int = 10) -> bool:
    """Count one hit on `name`; False once more than `limit` hits fall in this window."""
    bucket = int(time.time() // window)
    counter = key("rl", name, bucket)
    pipe = async_redis().pipeline(transaction=False)
    pipe.incr(counter)
    pipe.expire(counter, window * 2)
    count, _ = await pipe.execute()
    return count <= limit
