"""The one way live events leave a service: published to a group after commit."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


# A process that is no ASGI server (a Celery worker) publishes through one event loop of
# its own, kept running in a thread (`use_own_loop`); None elsewhere.
_own_loop: asyncio.AbstractEventLoop | None = None
_own_loop_lock = threading.Lock()


def use_own_loop() -> None:
    """Publish this process's events through one event loop of its own, started now in a
    daemon thread (idempotent). For processes with no event loop to hand publishes to — a
    Celery worker (helpdesk/celery.py, after the fork) — where async_to_sync would make a
    new loop for every publish, and with it a new connection of the channel layer (whose
    connections belong to a loop): 1.5 ms and a Redis connection a publish, against a
    fraction of a millisecond on a loop that stays."""
    global _own_loop
    with _own_loop_lock:
        if _own_loop is not None and _own_loop.is_running():
            return
        loop = asyncio.new_event_loop()
        started = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(started.set)
            loop.run_forever()

        threading.Thread(target=serve, name="realtime-loop", daemon=True).start()
        started.wait()
        _own_loop = loop


def _run(send, *args) -> None:
    """Run the coroutine function `send(*args)` to its end from synchronous code. Where this
    thread already runs an event loop (code called from a coroutine without a thread of
    its own, or a test driving a browser with Playwright's sync API), async_to_sync
    refuses: the send then gets a thread of its own, and this one waits for it. In a
    process with a loop of its own (`use_own_loop`) the send runs there.

    async_to_sync is not called inside an `except` block: it carries the exception being
    handled into the coroutine (re-raised there, with its traceback), which made every
    publish a reference cycle of some 120 objects with the caller's frames — a young
    garbage collection of ~100 ms every second or so under chat load (docs/benchmarks.md,
    chat run 8)."""
    if not _loop_running():
        if _own_loop is not None:
            asyncio.run_coroutine_threadsafe(send(*args), _own_loop).result()
        else:
            async_to_sync(send)(*args)
        return
    failure: list[BaseException] = []

    def run() -> None:
        try:
            async_to_sync(send)(*args)
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="realtime-send")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def publish_on_commit(group: str, event: dict[str, Any]) -> None:
    """Send `event` to `group` once the current transaction commits.

    A rolled-back transaction publishes nothing. A publish that fails (Redis
    down) is logged and does not undo the committed write: clients catch up
    with `resume` from their last seq.
    """
    transaction.on_commit(lambda: publish(group, event))


def publish_all_on_commit(items: list[tuple[str, dict[str, Any]]]) -> None:
    """Publish (group, event) pairs in their order once the transaction commits, in one trip
    to the event loop (a router's whole batch)."""
    transaction.on_commit(lambda: publish_in_order(items))


def publish_in_order(items: list[tuple[str, dict[str, Any]]]) -> None:
    async def send_all():
        layer = get_channel_layer()
        for group, event in items:
            try:
                await layer.group_send(group, event)
            except Exception:
                logger.exception("could not publish %s to %s", event.get("type"), group)

    _run(send_all)


def publish(group: str, event: dict[str, Any]) -> None:
    try:
        _run(get_channel_layer().group_send, group, event)
    except Exception:
        logger.exception("could not publish %s to %s", event.get("type"), group)


def publish_many(items: list[tuple[str, dict[str, Any]]]) -> None:
    """Publish several (group, event) pairs at once, in one trip to the event loop (for
    updates that are not part of a transaction, such as queue positions)."""

    async def send_all():
        layer = get_channel_layer()
        results = await asyncio.gather(
            *(layer.group_send(group, event) for group, event in items), return_exceptions=True
        )
        for (group, event), result in zip(items, results, strict=True):
            if isinstance(result, Exception):
                logger.error("could not publish %s to %s: %s", event.get("type"), group, result)

    _run(send_all)
