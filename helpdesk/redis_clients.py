"""Redis clients of this process, beside the channel layer and the cache."""

from __future__ import annotations

import asyncio
import threading

import redis
import redis.asyncio as aioredis
from django.conf import settings

_async_clients: dict[int, aioredis.Redis] = {}
_sync_client: redis.Redis | None = None
_sync_lock = threading.Lock()


def async_redis() -> aioredis.Redis:
    """A client for the running event loop (an asyncio connection pool belongs to one loop)."""
    loop_id = id(asyncio.get_running_loop())
    client = _async_clients.get(loop_id)
    if client is None:
        client = aioredis.Redis.from_url(
            settings.REDIS_URL,
            max_connections=settings.REDIS_MAX_CONNECTIONS,
            **settings.REDIS_CONNECTION_OPTIONS,
        )
        _async_clients[loop_id] = client
    return client


def sync_redis() -> redis.Redis:
    """A thread-safe client for synchronous code (Celery tasks, services)."""
    global _sync_client
    if _sync_client is None:
        with _sync_lock:
            if _sync_client is None:
                _sync_client = redis.Redis.from_url(
                    settings.REDIS_URL, **settings.REDIS_CONNECTION_OPTIONS
                )
    return _sync_client


def key(*parts: object) -> str:
    """A key under this installation's prefix."""
    return ":".join([settings.CHANNEL_LAYER_PREFIX, *map(str, parts)])
