"""The cache backend: Django's Redis cache, with one connection pool per process.

Django keeps a cache object per thread and, under ASGI, per request (its connection
handler is context-local), and its Redis client makes its own connection pool per cache
object. So every request that touched the cache — every desk request, through the
sessions — opened a new TCP connection to Redis and left a pool in reference cycles for
the garbage collector. Here the pools are shared by every cache object of the process,
keyed by server and options; redis-py's pools are thread-safe and reset themselves in a
forked child.
"""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_pools: dict[tuple, object] = {}
_lock = threading.Lock()


class SharedPoolRedisCacheClient(RedisCacheClient):
    def _get_connection_pool(self, write):
        server = self._servers[self._get_connection_pool_index(write)]
        # The options are the settings' own objects, the same for every cache object.
        options = tuple((name, id(value)) for name, value in sorted(self._pool_options.items()))
        key = (server, self._pool_class, options)
        pool = _pools.get(key)
        if pool is None:
            with _lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = _pools[key] = self._pool_class.from_url(server, **self._pool_options)
        return pool


class SharedPoolRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient
