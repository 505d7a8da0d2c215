"""Writing in a room: post (once per client_id), reply in a thread, edit and delete
(recorded), tag and prioritise, pin, and how far an agent has read.

Membership is the caller's room: every service takes a `room` the agent was
found in by `selectors.room_for`, so no one writes where they may not read.
Every change takes the room's next `rev` under the room's row lock and is
published to the room's group after commit.
"""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from conversations import events as desk_events
from conversations.client_ids import AlreadyStored
from conversations.models import Agent
from conversations.rooms import events, selectors
from conversations.rooms.models import (
    Room,
    RoomMention,
    RoomMessage,
    RoomMessageRevision,
    RoomReadPosition,
    UrgentAcknowledgement,
)
from conversations.rooms.protocol import room_message_payload
from conversations.rooms.services.attachments import attach_uploads, clean_attachment_ids
from conversations.rooms.services.rooms import RoomInputError, RoomNotAllowed
from conversations.rooms.text import auto_tags, find_mentions, find_refs
from helpdesk.realtime import publish_all_on_commit, publish_on_commit

MAX_CLIENT_ID = 64


class MessageNotFound(Exception):
    """No such message in this room (404)."""


def _advance(room_id: int, *, seqs: int, revs: int) -> tuple[int, int]:
    """Take `seqs` places and `revs` changes of the room (one UPDATE … RETURNING, which
    holds the room's row lock until commit): the last seq and rev taken."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Room._meta.db_table} SET last_seq = last_seq + %s, "  # noqa: S608
            "last_rev = last_rev + %s, "
            "last_message_at = CASE WHEN %s > 0 THEN %s ELSE last_message_at END "
            "WHERE id = %s RETURNING last_seq, last_rev",
            [seqs, revs, seqs, timezone.now(), room_id],
        )
        return cursor.fetchone()


def _clean_body(body, *, may_be_empty: bool = False) -> str:
    if may_be_empty and (body is None or (isinstance(body, str) and not body.strip())):
        return ""
    if not isinstance(body, str) or not body.strip():
        raise RoomInputError(_("A message needs some text."))
    if len(body) > settings.CHAT_MAX_BODY:
        raise RoomInputError(
            _("A message has at most %(n)d characters.") % {"n": settings.CHAT_MAX_BODY}
        )
    return body.strip()


def _clean_tags(tags) -> list[str]:
    allowed = RoomMessage.Tag.values
    if not isinstance(tags, list | tuple) or any(t not in allowed for t in tags):
        raise RoomInputError(_("Tags are some of: %(tags)s.") % {"tags": ", ".join(allowed)})
    return [t for t in allowed if t in tags]


def _clean_priority(priority) -> int:
    if priority not in RoomMessage.Priority.values or isinstance(priority, bool):
        raise RoomInputError(_("Priority is 0 (normal), 1 (high) or 2 (urgent)."))
    return priority


def _publish(messages: list[RoomMessage], *, new: RoomMessage | None = None) -> None:
    """Each message's current state to its room after commit; `new` is marked as such (the
    desks count it unread and alert whom it mentions; a change alerts no one)."""
    publish_all_on_commit(
        [
            (
                events.room_group(m.room_id),
                events.message_event(
                    {**room_message_payload(m), "event": "new" if m is new else "changed"}
                ),
            )
            for m in messages
        ]
    )


def _names(room: Room, body: str):
    """The names an @ in `body` may reach in `room` (None: the text names nobody). Read
    before the room is locked: a message that names someone does not hold the other
    senders up while the room's members are read (room fan-out, docs/benchmarks.md)."""
    if "@" not in body and "＠" not in body:
        return None  # nobody named: the room's names are not read
    return selectors.mentionables(room)


def _mention(message: RoomMessage, room: Room, author: Agent | None, names) -> list[int]:
    """Store who the text names among `names` (from _names; never the author); their ids."""
    if names is None:
        return []
    reached: dict[int, str] = {}
    for found in find_mentions(message.body, names):
        for pk in found.agent_ids:
            reached.setdefault(pk, found.group)
    if author is not None:
        reached.pop(author.pk, None)
    RoomMention.objects.bulk_create(
        [
            RoomMention(message=message, agent_id=pk, room=room, seq=message.seq, via=via[:80])
            for pk, via in reached.items()
        ],
        ignore_conflicts=True,
    )
    return sorted(reached)


def post_message(
    *,
    room: Room,
    author: Agent,
    body: str,
    client_id: str = "",
    parent_id: UUID | str | None = None,
    priority: int = RoomMessage.Priority.NORMAL,
    tags: list[str] | None = None,
    attachment_ids: list[UUID | str] | None = None,
) -> tuple[RoomMessage, bool]:
    """Store a message once per `client_id` (a retry gets the stored one and False).

    `attachment_ids` are the author's uploads into this room (store_room_attachment),
    not sent yet: the message carries them (its text may then be empty), or nothing is
    stored (AttachmentNotFound).

    Mentions (@name, @group, @all) are stored per agent; tags come from the text's
    keywords unless given. An urgent message asks each addressee to acknowledge it:
    the agents it mentions, or everyone in the room but the author when it mentions
    no one. A reply bumps its thread's root too. Published after commit.
    """
    attachment_ids = clean_attachment_ids(attachment_ids if attachment_ids is not None else [])
    body = _clean_body(body, may_be_empty=bool(attachment_ids))
    priority = _clean_priority(priority)
    if not isinstance(client_id, str) or len(client_id) > MAX_CLIENT_ID:
        raise RoomInputError(f"'client_id' has at most {MAX_CLIENT_ID} characters")
    given_tags = _clean_tags(tags) if tags is not None else None
    names = _names(room, body)
    fields = {
        "author": author,
        "author_name": author.display_name,
        "body": body,
        "refs": find_refs(body),
        "tags": given_tags if given_tags is not None else auto_tags(body),
        "tags_edited": given_tags is not None,
        "priority": priority,
        "client_id": client_id,
    }
    try:
        with transaction.atomic():
            message, changed, mentioned = _store(room, fields, parent_id, names)
            attach_uploads(message, attachment_ids, author)
            if message.is_urgent:
                addressees = mentioned or [
                    pk for pk in selectors.member_ids(room) if pk != author.pk
                ]
                UrgentAcknowledgement.objects.bulk_create(
                    [UrgentAcknowledgement(message=message, agent_id=pk) for pk in addressees]
                )
            _publish(changed, new=message)
    except AlreadyStored as duplicate:
        return duplicate.message, False
    # The author has read what they wrote; not under the room's lock (nobody else's
    # count depends on it).
    RoomReadPosition.objects.filter(room=room, agent=author, read_seq__lt=message.seq).update(
        read_seq=message.seq
    )
    return message, True


def _store(room: Room, fields: dict, parent_id, names):
    """The message (`fields`, worked out before) written under the room's lock, which is
    held from the first statement to the commit: as few statements as may be (the seq is
    taken first, and takes the lock, unless a reply must read its thread's root under
    it). The message, the messages changed (a reply's root first) and the agents it
    mentions."""
    parent = None
    if parent_id:
        Room.objects.select_for_update().filter(pk=room.pk).exists()
        parent = selectors.message_in(room, parent_id)
        if parent is None or parent.parent_id is not None:
            raise MessageNotFound
    seq, rev = _advance(room.pk, seqs=1, revs=2 if parent else 1)
    if fields["client_id"]:
        stored = RoomMessage.objects.filter(room=room, client_id=fields["client_id"]).first()
        if stored is not None:
            raise AlreadyStored(stored)
    message = RoomMessage.objects.create(room=room, seq=seq, rev=rev, parent=parent, **fields)
    mentioned = _mention(message, room, fields["author"], names)
    changed = [message]
    if parent is not None:
        RoomMessage.objects.filter(pk=parent.pk).update(
            reply_count=parent.reply_count + 1, rev=rev - 1
        )
        parent.reply_count += 1
        parent.rev = rev - 1
        changed.insert(0, parent)
    return message, changed, mentioned


def _own_message(room: Room, by: Agent, message_id, *, delete: bool = False) -> RoomMessage:
    message = selectors.message_in(room, message_id)
    if message is None or message.deleted_at is not None:
        raise MessageNotFound
    if message.author_id != by.pk and not (delete and by.is_supervisor):
        raise RoomNotAllowed
    return message


def edit_message(*, room: Room, by: Agent, message_id, body: str) -> RoomMessage:
    """The author changes their text; the old text is kept as a revision. New mentions
    are added (people already told are not told twice); automatic tags follow the text
    unless a person set them."""
    body = _clean_body(body)
    names = _names(room, body)
    with transaction.atomic():
        message = _own_message(room, by, message_id)
        if body == message.body:
            return message
        _, rev = _advance(room.pk, seqs=0, revs=1)
        RoomMessageRevision.objects.create(
            message=message, action=RoomMessageRevision.Action.EDIT, body=message.body, by=by
        )
        message.body = body
        message.refs = find_refs(body)
        if not message.tags_edited:
            message.tags = auto_tags(body)
        message.edited_at = timezone.now()
        message.rev = rev
        message.save(update_fields=["body", "refs", "tags", "edited_at", "rev"])
        _mention(message, room, message.author, names)
        _publish([message])
    return message


def delete_message(*, room: Room, by: Agent, message_id) -> RoomMessage:
    """The author (or a supervisor) deletes a message: its text is kept as a revision,
    the room shows that it was deleted; an urgent one no longer asks for acknowledgements."""
    with transaction.atomic():
        message = _own_message(room, by, message_id, delete=True)
        _, rev = _advance(room.pk, seqs=0, revs=1)
        RoomMessageRevision.objects.create(
            message=message, action=RoomMessageRevision.Action.DELETE, body=message.body, by=by
        )
        message.deleted_at = timezone.now()
        message.rev = rev
        message.save(update_fields=["deleted_at", "rev"])
        _publish([message])
    return message


def _changed(room: Room, message_id, change) -> RoomMessage:
    """Apply `change` (the fields it set, [] for none but a new rev, None for no change at
    all) under the room's lock, take the next rev, publish."""
    with transaction.atomic():
        Room.objects.select_for_update().filter(pk=room.pk).exists()
        message = selectors.message_in(room, message_id)
        if message is None or message.deleted_at is not None:
            raise MessageNotFound
        fields = change(message)
        if fields is None:
            return message
        _, message.rev = _advance(room.pk, seqs=0, revs=1)
        message.save(update_fields=[*fields, "rev"])
        _publish([message])
    return message


def set_labels(*, room: Room, by: Agent, message_id, tags: list[str], priority: int) -> RoomMessage:
    """Any member corrects a message's type tags and priority (normal or high; urgency is
    chosen when sending, since it asks people to acknowledge)."""
    tags = _clean_tags(tags)
    priority = _clean_priority(priority)

    def change(message: RoomMessage) -> list[str] | None:
        if message.is_urgent or priority == RoomMessage.Priority.URGENT:
            wanted = message.priority
        else:
            wanted = priority
        if message.tags == tags and message.priority == wanted and message.tags_edited:
            return None
        message.tags, message.priority, message.tags_edited = tags, wanted, True
        return ["tags", "priority", "tags_edited"]

    return _changed(room, message_id, change)


def set_pinned(*, room: Room, by: Agent, message_id, pinned: bool) -> RoomMessage:
    """Any member pins a message to the room's top, or takes it off."""

    def change(message: RoomMessage) -> list[str] | None:
        if (message.pinned_at is not None) == pinned:
            return None
        message.pinned_at = timezone.now() if pinned else None
        message.pinned_by = by if pinned else None
        return ["pinned_at", "pinned_by"]

    return _changed(room, message_id, change)


def mark_read(*, room: Room, agent: Agent, up_to_seq: int) -> RoomReadPosition:
    """The agent has read the room up to `up_to_seq` (never backwards, never past its last
    message). One position for all their devices: each of them is told the new counts."""
    if not isinstance(up_to_seq, int) or isinstance(up_to_seq, bool) or up_to_seq < 0:
        raise RoomInputError("'up_to_seq' must be a non-negative integer")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {RoomReadPosition._meta.db_table} "  # noqa: S608
                "(room_id, agent_id, read_seq, updated_at) "
                "SELECT r.id, %s, LEAST(%s, r.last_seq), now() "
                f"FROM {Room._meta.db_table} r WHERE r.id = %s "
                "ON CONFLICT (agent_id, room_id) DO UPDATE "
                "SET read_seq = GREATEST(EXCLUDED.read_seq, "
                f"{RoomReadPosition._meta.db_table}.read_seq), updated_at = now()",
                [agent.pk, up_to_seq, room.pk],
            )
        counted = selectors.unread_of(agent, room)
        publish_on_commit(
            desk_events.agent_group(agent.pk),
            events.read_event(
                room_id=room.pk,
                read_seq=counted.read_seq,
                unread=counted.unread,
                mentions=counted.mentions,
            ),
        )
    return RoomReadPosition.objects.get(room=room, agent=agent)
