"""Sliding-window rate limits kept in Redis, so they hold across daphne processes.

Each name keeps a log (a sorted set) of the hits it allowed in the last `window` seconds;
a hit is allowed while fewer than `limit` are in it. Unlike fixed windows, a burst that
straddles a window's boundary is not let through twice, and a refused hit is not logged,
so a sender over the limit gets `limit` hits through per window and no more (nor fewer).
"""

from __future__ import annotations

import time
import uuid

from django.conf import settings

from helpdesk.redis_clients import async_redis, key, sync_redis

# KEYS[1]: the log; ARGV: now (ms), window (ms), limit, a unique member for this hit.
_SLIDE = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return 1
"""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _arguments(name: str, limit: int, window: int | None) -> tuple[list[str], list]:
    seconds = settings.CHAT_RATE_WINDOW if window is None else window
    now_ms = _now_ms()
    return [key("rl", name)], [now_ms, seconds * 1000, limit, f"{now_ms}:{uuid.uuid4().hex}"]


async def allow(name: str, *, limit: int, window: int | None = None) -> bool:
    """Count one hit on `name`; False while `limit` hits already fall in the last `window`
    seconds (default `CHAT_RATE_WINDOW`)."""
    keys, args = _arguments(name, limit, window)
    return bool(await async_redis().eval(_SLIDE, len(keys), *keys, *args))


def allow_now(name: str, *, limit: int, window: int | None = None) -> bool:
    """`allow` for synchronous code (a view): the same logs."""
    keys, args = _arguments(name, limit, window)
    return bool(sync_redis().eval(_SLIDE, len(keys), *keys, *args))
