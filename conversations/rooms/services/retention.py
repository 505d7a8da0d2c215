"""Room messages are kept ROOM_RETENTION_DAYS (30 by default), then deleted by Beat."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from conversations.rooms.models import RoomMessage

PURGE_BATCH = 5000

# Replies of an old thread go with it (the foreign key cascades); a batch at a time, so a
# large backlog never holds a long transaction.
_PURGE_SQL = f"""
DELETE FROM {RoomMessage._meta.db_table}
 WHERE id IN (SELECT id FROM {RoomMessage._meta.db_table}
               WHERE created_at < %s ORDER BY created_at LIMIT %s)
"""  # noqa: S608 (constant table name)


def purge_old_messages(*, now: datetime | None = None, batch: int = PURGE_BATCH) -> int:
    """Delete the messages older than the retention period; how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.ROOM_RETENTION_DAYS)
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_PURGE_SQL, [cutoff, batch])
            deleted = cursor.rowcount
        total += deleted
        if deleted < batch:
            return total
