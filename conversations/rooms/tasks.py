"""Scheduled work of the team rooms (Celery Beat)."""

from __future__ import annotations

from celery import shared_task

from conversations.rooms import services


@shared_task
def remind_urgent_task() -> int:
    """Addressees of urgent messages who have not acknowledged: reminded once an interval."""
    return services.remind_unacknowledged()


@shared_task
def purge_room_messages_task() -> int:
    """Messages older than ROOM_RETENTION_DAYS go."""
    return services.purge_old_messages()
