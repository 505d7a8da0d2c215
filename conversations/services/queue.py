"""Telling waiting customers where they are in the queue, live but not too often.

Every change to a group's queue moves everyone behind it. Publishing every
position at every change would be quadratic in a burst (500 handoffs, 500
changes, up to 500 positions each); instead a change marks its group, and a
short while later (`QUEUE_UPDATE_DELAY`, default 0.5 s) one query reads the
group's positions and each waiting conversation gets one status event. A
burst of changes within that while costs one update. With the delay set to 0
(tests), the update is published at once.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, transaction

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_pending: set[int | None] = set()
_timer: threading.Timer | None = None


def announce_queue(skill_group_id: int | None) -> None:
    """After commit: the group's waiting customers get their new positions soon."""
    transaction.on_commit(lambda: _mark(skill_group_id))


def _mark(skill_group_id: int | None) -> None:
    global _timer
    delay = settings.QUEUE_UPDATE_DELAY
    if delay <= 0:
        publish_positions(skill_group_id)
        return
    with _lock:
        _pending.add(skill_group_id)
        if _timer is None:
            _timer = threading.Timer(delay, _flush)
            _timer.daemon = True
            _timer.start()


def _flush() -> None:
    global _timer
    with _lock:
        groups = set(_pending)
        _pending.clear()
        _timer = None
    try:
        for group in groups:
            publish_positions(group)
    except Exception:
        logger.exception("could not publish queue positions")
    finally:
        close_old_connections()  # this thread's connection goes back to the pool


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
