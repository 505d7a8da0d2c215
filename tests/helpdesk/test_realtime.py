"""Publishing a live event from synchronous code leaves no reference cycles behind: under
chat load every message publishes, and cyclic garbage made the collector stop the server
for ~100 ms every second (docs/benchmarks.md, chat run 8)."""

import asyncio
import gc

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

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
