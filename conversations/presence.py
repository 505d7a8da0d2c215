"""Which agents have a desk open: their live sockets, kept in Redis across daphne processes.

Each agent has a sorted set of their desk sockets' channel names, scored by
the last sign of life (the socket opened, or sent a ping; the desk pings
every 25 s). A socket that closes leaves the set; one whose process died is
dropped once it has been silent for STALE_AFTER seconds.
"""

from __future__ import annotations

import time

from helpdesk.redis_clients import async_redis, key, sync_redis

STALE_AFTER = 90  # seconds without a ping


def _key(agent_id: int) -> str:
    return key("presence", int(agent_id))


async def socket_alive(agent_id: int, channel_name: str) -> None:
    """A desk socket opened or pinged."""
    client = async_redis()
    pipe = client.pipeline(transaction=False)
    pipe.zadd(_key(agent_id), {channel_name: time.time()})
    pipe.expire(_key(agent_id), STALE_AFTER * 2)
    await pipe.execute()


async def socket_closed(agent_id: int, channel_name: str) -> int:
    """A desk socket closed; returns how many of the agent's sockets are still alive."""
    client = async_redis()
    pipe = client.pipeline(transaction=False)
    pipe.zrem(_key(agent_id), channel_name)
    pipe.zremrangebyscore(_key(agent_id), "-inf", time.time() - STALE_AFTER)
    pipe.zcard(_key(agent_id))
    *_, alive = await pipe.execute()
    return alive


async def live_sockets(agent_id: int) -> int:
    client = async_redis()
    pipe = client.pipeline(transaction=False)
    pipe.zremrangebyscore(_key(agent_id), "-inf", time.time() - STALE_AFTER)
    pipe.zcard(_key(agent_id))
    _, alive = await pipe.execute()
    return alive


def live_sockets_now(agent_id: int) -> int:
    """The same, for synchronous code (the Celery sweep)."""
    pipe = sync_redis().pipeline(transaction=False)
    pipe.zremrangebyscore(_key(agent_id), "-inf", time.time() - STALE_AFTER)
    pipe.zcard(_key(agent_id))
    _, alive = pipe.execute()
    return alive
