"""Publishing a live event from synchronous code leaves no reference cycles behind: under
chat load every message publishes, and cyclic garbage made the collector stop the server
for ~100 ms every second (docs/benchmarks.md, chat run 8)."""

import asyncio
import gc
import threading

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from helpdesk import realtime
from helpdesk.realtime import publish, publish_many

GROUP = "test-realtime-cycles"


def _cyclic_garbage_of(action, times: int) -> int:
    """Objects only the cycle collector could free, made by calling `action` `times` times
    the way a consumer's service call runs it: in a worker thread of a running event loop
    (sync_to_async), to which async_to_sync hands the coroutine back."""

    async def serve() -> int:
        await sync_to_async(action)()  # warm up: the layer's connection, the thread
        gc.collect()
        gc.disable()
        try:
            await sync_to_async(lambda: [action() for _ in range(times)])()
            return gc.collect()
        finally:
            gc.enable()

    return asyncio.run(serve())


def test_publishing_from_a_service_makes_no_cyclic_garbage():
    event = {"type": "chat.message", "seq": 1, "body": "你好"}

    garbage = _cyclic_garbage_of(lambda: publish(GROUP, event), 50)

    # Before the fix each publish left about 120 objects in cycles (some 6,000 here);
    # what is left now is a handful in all, not one per publish.
    assert garbage < 50


def test_a_published_event_reaches_the_group():
    async def listen() -> dict:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(GROUP, channel)
        try:
            await asyncio.to_thread(publish_many, [(GROUP, {"type": "chat.typing", "who": "a"})])
            return await asyncio.wait_for(layer.receive(channel), timeout=5)
        finally:
            await layer.group_discard(GROUP, channel)

    assert asyncio.run(listen()) == {"type": "chat.typing", "who": "a"}


def test_a_worker_publishes_through_one_loop_of_its_own(monkeypatch):
    """A Celery worker (helpdesk/celery.py) calls use_own_loop after its fork: every publish
    then runs on that one loop — never a new loop (and channel-layer connection) each."""
    monkeypatch.setattr(realtime, "_own_loop", None)
    realtime.use_own_loop()
    own = realtime._own_loop
    try:
        realtime.use_own_loop()  # a second call keeps the loop
        assert realtime._own_loop is own

        def no_new_loop(*args, **kwargs):
            raise AssertionError("async_to_sync made a loop for a publish")

        monkeypatch.setattr(realtime, "async_to_sync", no_new_loop)
        ran_on = []

        async def note_loop():
            ran_on.append((asyncio.get_running_loop(), threading.current_thread().name))

        realtime._run(note_loop)
        realtime._run(note_loop)
        assert ran_on == [(own, "realtime-loop")] * 2

        async def listen() -> dict:
            layer = get_channel_layer()
            channel = await layer.new_channel()
            await layer.group_add(GROUP, channel)
            try:
                await asyncio.to_thread(publish, GROUP, {"type": "chat.typing", "who": "w"})
                return await asyncio.wait_for(layer.receive(channel), timeout=5)
            finally:
                await layer.group_discard(GROUP, channel)

        assert asyncio.run(listen()) == {"type": "chat.typing", "who": "w"}
    finally:
        own.call_soon_threadsafe(own.stop)
