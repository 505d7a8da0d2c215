"""Telling waiting customers where they are in the queue, and the desks that their lists
changed: live, but not at every single change.

Every change to a group's queue moves everyone behind it. Publishing every
position at every change would be quadratic in a burst (500 handoffs, 500
changes, up to 500 positions each), and telling every desk at every change
would send each of them hundreds of frames. Instead a change marks its group
(or just "the desks"), and a short while later (`QUEUE_UPDATE_DELAY`, default
0.5 s) one query reads each marked group's positions, each waiting
conversation gets one status event, and the desks one "queue" event. A burst
of changes within that while costs one update. With the delay set to 0
(tests), the update is published at once.

The desks' "queue" event goes to every desk of every agent, and each desk then
fetches its lists again: it leaves at most once per delay across all processes
(daphne's, the workers'), not once per process. A process that finds the event
sent by another within the delay sends its own when that delay is over (a
Redis key with the delay as its life), so the desks always hear of the last
change.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, transaction
from redis import RedisError

from helpdesk.redis_clients import key, sync_redis

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_pending: set[int | None] = set()
_timer: threading.Timer | None = None
_DESKS = object()  # marks "the desks' lists changed", beside the groups


def announce_queue(skill_group_id: int | None) -> None:
    """After commit: the group's waiting customers get their new positions soon, and the
    desks are told their lists changed."""
    transaction.on_commit(lambda: _mark(skill_group_id))


def announce_desks() -> None:
    """After commit: the desks are told their lists changed (once per burst of changes)."""
    transaction.on_commit(lambda: _mark(_DESKS))


def _mark(what, delay: float | None = None) -> None:
    global _timer
    if settings.QUEUE_UPDATE_DELAY <= 0:
        _publish({what})
        return
    with _lock:
        _pending.add(what)
        if _timer is None:
            _timer = threading.Timer(delay or settings.QUEUE_UPDATE_DELAY, _flush)
            _timer.daemon = True
            _timer.start()


def _flush() -> None:
    global _timer
    with _lock:
        marked = set(_pending)
        _pending.clear()
        _timer = None
    try:
        _publish(marked)
    except Exception:
        logger.exception("could not publish queue positions")
    finally:
        close_old_connections()  # this thread's connection goes back to the pool


def _publish(marked: set) -> None:
    from conversations import events
    from helpdesk.realtime import publish

    for group in marked - {_DESKS}:
        publish_positions(group)
    wait = _desks_told_recently()
    if wait:
        _mark(_DESKS, delay=wait)  # after the other process's event: ours then
        return
    publish(events.DESK_GROUP, events.queue_changed_event())


def _desks_told_recently() -> float:
    """0 when this process may tell the desks now (and has claimed the next delay for it);
    else the seconds until the event another process sent is a delay old."""
    delay = settings.QUEUE_UPDATE_DELAY
    if delay <= 0:
        return 0
    client = sync_redis()
    told = key("queue-told")
    try:
        if client.set(told, 1, nx=True, px=max(1, int(delay * 1000))):
            return 0
        left = client.pttl(told)
    except RedisError:
        return 0  # Redis away: the publish fails too, and is logged
    # A moment after the key's end (gone already, PTTL is negative: try again soon).
    return max(left, 10) / 1000 + 0.01


def publish_positions(skill_group_id: int | None) -> int:
    """One status event to each waiting conversation of the group; returns how many."""
    from conversations import events, selectors
    from conversations.protocol import queued_status
    from helpdesk.realtime import publish_many

    positions = selectors.queue_positions(skill_group_id)
    if not positions:
        return 0
    per_position = selectors.seconds_per_position(skill_group_id)
    publish_many(
        [
            (
                events.conversation_group(conversation_id),
                events.status_event(
                    queued_status(
                        conversation_id,
                        position=position,
                        estimated_wait=selectors.estimated_wait(per_position, position),
                    )
                ),
            )
            for conversation_id, position in positions
        ]
    )
    return len(positions)
