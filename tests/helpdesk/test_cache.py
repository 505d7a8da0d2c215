"""One Redis connection pool per process for the cache, however many cache objects Django
makes (one per thread, and under ASGI one per request): requests do not each open a
connection to Redis (helpdesk/cache.py)."""

import threading

from django.core.cache import caches


def _pool_of(cache):
    return cache._cache._get_connection_pool(True)


def test_cache_objects_of_other_threads_share_one_pool():
    found = []
    mine = caches.create_connection("default")
    thread = threading.Thread(target=lambda: found.append(caches.create_connection("default")))
    thread.start()
    thread.join()

    assert found[0] is not mine
    assert _pool_of(found[0]) is _pool_of(mine)
    mine.set("shared-pool-check", "ok", 30)
    assert found[0].get("shared-pool-check") == "ok"
