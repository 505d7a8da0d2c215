"""Fixed-window rate limits kept in Redis, so they hold across daphne processes."""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis
from django.conf import settings

_clients: dict[int, aioredis.Redis] = {}


def _client() -> aioredis.Redis:
    loop_id = id(asyncio.get_running_loop())
    client = _clients.get(loop_id)
    if client is None:
        client = aioredis.Redis.from_url(
            settings.REDIS_URL,
            max_connections=settings.REDIS_MAX_CONNECTIONS,
            **settings.REDIS_CONNECTION_OPTIONS,
        )
        _clients[loop_id] = client
    return client


async def allow(key: str, *, limit: int, window: int = 10) -> bool:
    """Count one hit on `key`; False once more than `limit` hits fall in this window."""
    bucket = int(time.time() // window)
    name = f"{settings.CHANNEL_LAYER_PREFIX}:rl:{key}:{bucket}"
    pipe = _client().pipeline(transaction=False)
    pipe.incr(name)
    pipe.expire(name, window * 2)
    count, _ = await pipe.execute()
    return count <= limit
