"""The desks' "queue" event (their lists changed) leaves at most once per
QUEUE_UPDATE_DELAY across every process, and the last change is always told."""

import asyncio
import time

import pytest
from channels.layers import get_channel_layer

from conversations import events
from conversations.services import queue
from helpdesk.redis_clients import key, sync_redis

pytestmark = pytest.mark.django_db


@pytest.fixture
def delay(settings):
    settings.QUEUE_UPDATE_DELAY = 0.4
    sync_redis().delete(key("queue-told"))
    yield settings.QUEUE_UPDATE_DELAY
    sync_redis().delete(key("queue-told"))


def _desk_frames(action, seconds: float) -> list[float]:
    """When the desks' group received a "queue" event while `action` ran in a thread and
    for `seconds` more (seconds since the start)."""

    async def listen() -> list[float]:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(events.DESK_GROUP, channel)
        started = time.monotonic()
        try:
            await asyncio.to_thread(action)
            received = []
            while time.monotonic() - started < seconds:
                try:
                    event = await asyncio.wait_for(layer.receive(channel), timeout=0.1)
                except TimeoutError:
                    continue
                if event == events.queue_changed_event():
                    received.append(time.monotonic() - started)
            return received
        finally:
            await layer.group_discard(events.DESK_GROUP, channel)

    return asyncio.run(listen())


def test_changes_within_the_delay_tell_the_desks_at_once_and_once_more_after_it(delay):
    def burst():
        for _ in range(5):  # five flushes, as five processes would make them
            queue._publish({queue._DESKS})

    frames = _desk_frames(burst, seconds=4 * delay)

    assert len(frames) == 2  # not five
    assert frames[1] >= delay * 0.9  # the last change told once the first's delay ran out


def test_an_event_another_process_just_sent_is_followed_by_ours(delay):
    def other_process_told_the_desks():
        sync_redis().set(key("queue-told"), 1, px=int(delay * 1000))
        queue._publish({queue._DESKS})

    frames = _desk_frames(other_process_told_the_desks, seconds=4 * delay)

    assert len(frames) == 1
    assert frames[0] >= delay * 0.5  # not at once: when the other's delay ran out
