"""Urgent messages: each addressee acknowledges; the sender sees who has; Beat reminds
the others exactly once per interval until they do or the sender withdraws it."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from conversations import events as desk_events
from conversations.models import Agent
from conversations.rooms import events, selectors
from conversations.rooms.models import Room, RoomMessage, UrgentAcknowledgement
from conversations.rooms.protocol import room_message_payload
from conversations.rooms.services.messages import MessageNotFound, _changed
from conversations.rooms.services.rooms import RoomNotAllowed
from helpdesk.realtime import publish_all_on_commit


def _urgent(room: Room, message_id) -> RoomMessage:
    message = selectors.message_in(room, message_id)
    if message is None or not message.is_urgent or message.deleted_at is not None:
        raise MessageNotFound
    return message


def acknowledge(*, room: Room, agent: Agent, message_id) -> RoomMessage:
    """The addressee acknowledges (again is a no-op); everyone in the room sees who has."""
    message = _urgent(room, message_id)
    if not UrgentAcknowledgement.objects.filter(message=message, agent=agent).exists():
        raise RoomNotAllowed

    def change(message: RoomMessage) -> list[str] | None:
        done = UrgentAcknowledgement.objects.filter(
            message=message, agent=agent, acknowledged_at__isnull=True
        ).update(acknowledged_at=timezone.now())
        return [] if done else None

    return _changed(room, message.pk, change)


def withdraw(*, room: Room, by: Agent, message_id) -> RoomMessage:
    """The sender withdraws the urgency: no more reminders, nothing left to acknowledge."""
    message = _urgent(room, message_id)
    if message.author_id != by.pk:
        raise RoomNotAllowed

    def change(message: RoomMessage) -> list[str] | None:
        if message.urgent_withdrawn_at is not None:
            return None
        message.urgent_withdrawn_at = timezone.now()
        return ["urgent_withdrawn_at"]

    return _changed(room, message.pk, change)


# One statement claims every reminder that is due: an addressee is due when the interval
# has passed since the message or since their last reminder. The row is updated in the
# same statement, so a second worker or a second beat running at once finds it claimed
# (PostgreSQL re-checks the condition on the row it waited for) and reminds no one twice.
_DUE_SQL = f"""
UPDATE {UrgentAcknowledgement._meta.db_table} AS a
   SET reminders = a.reminders + 1, last_reminded_at = %(now)s
  FROM {RoomMessage._meta.db_table} AS m
 WHERE m.id = a.message_id
   AND a.acknowledged_at IS NULL
   AND m.urgent_withdrawn_at IS NULL
   AND m.deleted_at IS NULL
   AND COALESCE(a.last_reminded_at, a.created_at) <= %(due)s
RETURNING a.agent_id, a.message_id
"""  # noqa: S608 (constant table names)


def remind_unacknowledged(*, now: datetime | None = None) -> int:
    """Remind every addressee whose interval (ROOM_URGENT_REMIND_SECONDS) has passed
    without an acknowledgement: a `rooms.reminder` frame to each of their desks. How
    many were reminded."""
    now = now or timezone.now()
    due = now - timedelta(seconds=settings.ROOM_URGENT_REMIND_SECONDS)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_DUE_SQL, {"now": now, "due": due})
            rows = cursor.fetchall()
        if not rows:
            return 0
        messages = {
            m.pk: m
            for m in RoomMessage.objects.filter(pk__in={r[1] for r in rows})
            .select_related("author")
            .prefetch_related("mentions", "acks__agent", "attachments")
        }
        publish_all_on_commit(
            [
                (
                    desk_events.agent_group(agent_id),
                    events.reminder_event(room_message_payload(messages[message_id])),
                )
                for agent_id, message_id in rows
            ]
        )
    return len(rows)
