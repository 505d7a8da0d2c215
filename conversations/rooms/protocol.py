"""What a room message looks like on the desk socket (docs/chat-protocol.md, "Team rooms")."""

from __future__ import annotations

from django.urls import reverse

from conversations.protocol import iso
from conversations.rooms.models import (
    RoomAttachment,
    RoomMessage,
    UrgentAcknowledgement,
)


def room_attachment_payload(attachment: RoomAttachment) -> dict:
    """A file as the desk gets it: its link opens only for the room's members."""
    return {
        "id": str(attachment.id),
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": reverse("desk:room-attachment", args=[attachment.room_id, attachment.id]),
    }


def room_message_payload(
    message: RoomMessage,
    *,
    mentions: list[int] | None = None,
    acks: list[UrgentAcknowledgement] | None = None,
    attachments: list[RoomAttachment] | None = None,
) -> dict:
    """The message in its current state (a deleted one without its text or attachments);
    `mentions`, `acks` and `attachments` when already at hand, else read."""
    if mentions is None:
        mentions = [m.agent_id for m in message.mentions.all()]
    # Cards and system notices carry no attachments: no query for them.
    shown = message.kind == RoomMessage.Kind.TEXT and not message.deleted_at
    if shown and attachments is None:
        attachments = list(message.attachments.all())
    files = [room_attachment_payload(a) for a in attachments] if shown else []
    payload = {
        "id": str(message.id),
        "room": message.room_id,
        "seq": message.seq,
        "rev": message.rev,
        "kind": message.kind,
        "author": message.author_id,
        "author_name": message.author_name,
        "body": "" if message.deleted_at else message.body,
        "card": {} if message.deleted_at else message.card,
        "refs": [] if message.deleted_at else message.refs,
        "attachments": files,
        "parent": str(message.parent_id) if message.parent_id else None,
        "reply_count": message.reply_count,
        "tags": message.tags,
        "priority": message.priority,
        "pinned": message.pinned_at is not None,
        "mentions": sorted(mentions),
        "client_id": message.client_id or None,
        "created_at": iso(message.created_at),
        "edited_at": iso(message.edited_at) if message.edited_at else None,
        "deleted": message.deleted_at is not None,
    }
    if message.is_urgent:
        if acks is None:
            prefetched = "acks" in getattr(message, "_prefetched_objects_cache", {})
            acks = list(message.acks.all() if prefetched else message.acks.select_related("agent"))
        payload["urgent"] = {
            "withdrawn": message.urgent_withdrawn_at is not None,
            "addressees": [
                {
                    "agent": a.agent_id,
                    "name": a.agent.display_name,
                    "acknowledged_at": iso(a.acknowledged_at) if a.acknowledged_at else None,
                }
                for a in sorted(acks, key=lambda a: a.agent.display_name)
            ],
        }
    return payload
