"""The channel layer: channels_redis' PubSub layer, which tells this process's sockets
when live events may have been lost.

A PUBLISH reaches only the subscribers connected at that moment. When the layer's
subscription connection to Redis drops (Redis restarted, a network cut) redis-py
connects again and subscribes to every channel and group anew, so the sockets stay
open — but whatever was published in between never reaches them, and nothing would
tell them. So, once the subscription is back, every consumer of this process gets a
`layer.resubscribed` event; the websocket consumers close with RECONNECT_CODE and
the client reconnects and resumes from its last seq (docs/chat-protocol.md)."""

from __future__ import annotations

import asyncio
import logging

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
    _wrap_close,
)
from channels_redis.utils import create_pool
from redis import asyncio as aioredis
from redis.asyncio.client import PubSub

logger = logging.getLogger(__name__)

# A websocket close code: "reconnect now and resume; events may have been missed".
RECONNECT_CODE = 4012
RESUBSCRIBED = {"type": "layer.resubscribed"}


class _PubSub(PubSub):
    """redis-py's PubSub calls on_connect only when it connects again (the first
    connection is made before the callback is registered)."""

    def __init__(self, *args, on_reconnect, **kwargs):
        super().__init__(*args, **kwargs)
        self._on_reconnect = on_reconnect

    async def on_connect(self, connection):
        await super().on_connect(connection)
        self._on_reconnect()


class _Shard(RedisSingleShardConnection):
    def _ensure_redis(self):
        if self._redis is None:
            pool = create_pool(self.host)
            self._redis = aioredis.Redis(connection_pool=pool)
            self._pubsub = _PubSub(pool, on_reconnect=self._tell_every_channel)

    def _tell_every_channel(self) -> None:
        channels = self.channel_layer.channels
        logger.warning(
            "subscription to Redis %s made again: telling %d channels to resume",
            self.host.get("address"),
            len(channels),
        )
        message = self.channel_layer.channel_layer.serialize(RESUBSCRIBED)
        for queue in list(channels.values()):
            queue.put_nowait(message)


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._shards = [_Shard(shard.host, self) for shard in self._shards]


class ResubscribingChannelLayer(RedisPubSubChannelLayer):
    def _get_layer(self):
        # As the parent's, with a loop layer whose shards tell their channels.
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
            return layer
