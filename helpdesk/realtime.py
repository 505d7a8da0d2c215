"""The one way live events leave a service: published to a group after commit."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


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

    async_to_sync(send_all)()


def publish(group: str, event: dict[str, Any]) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(group, event)
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

    async_to_sync(send_all)()
