"""Room messages are kept ROOM_RETENTION_DAYS (30 by default), then deleted by Beat."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from conversations.rooms.models import (
    RoomAttachment,
    RoomMention,
    RoomMessage,
    RoomMessageRevision,
    UrgentAcknowledgement,
)

PURGE_BATCH = 5000

# The foreign keys do not cascade in the database (Django cascades in Python), so one
# statement deletes what hangs on the messages of a batch (mentions, revisions,
# acknowledgements, attachments) with them; replies of an old thread go with it. Uploads
# never sent that are past the retention go too. A batch at a time, so a large backlog
# never holds a long transaction. Returns how many of the batch were old, how many
# messages went, and the files to delete once committed.
_PURGE_SQL = f"""
WITH batch AS (
    SELECT id FROM {RoomMessage._meta.db_table}
     WHERE created_at < %(cutoff)s ORDER BY created_at LIMIT %(batch)s
), gone AS (
    SELECT id FROM batch
     UNION SELECT id FROM {RoomMessage._meta.db_table} WHERE parent_id IN (SELECT id FROM batch)
), mentions AS (
    DELETE FROM {RoomMention._meta.db_table} WHERE message_id IN (SELECT id FROM gone)
), revisions AS (
    DELETE FROM {RoomMessageRevision._meta.db_table} WHERE message_id IN (SELECT id FROM gone)
), acks AS (
    DELETE FROM {UrgentAcknowledgement._meta.db_table} WHERE message_id IN (SELECT id FROM gone)
), files AS (
    DELETE FROM {RoomAttachment._meta.db_table}
     WHERE message_id IN (SELECT id FROM gone)
        OR (message_id IS NULL AND created_at < %(cutoff)s)
    RETURNING file
), messages AS (
    DELETE FROM {RoomMessage._meta.db_table} WHERE id IN (SELECT id FROM gone) RETURNING 1
)
SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM messages),
       COALESCE((SELECT array_agg(file) FROM files), '{{}}')
"""  # noqa: S608 (constant table names)


def _delete_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def purge_old_messages(*, now: datetime | None = None, batch: int = PURGE_BATCH) -> int:
    """Delete the messages older than the retention period, with their replies, mentions,
    revisions, acknowledgements and attachments (the files after commit); how many
    messages went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.ROOM_RETENTION_DAYS)
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_PURGE_SQL, {"cutoff": cutoff, "batch": batch})
            old, deleted, files = cursor.fetchone()
            transaction.on_commit(lambda files=files: _delete_files(files))
        total += deleted
        if old < batch:
            return total
