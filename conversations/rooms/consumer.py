"""The team rooms' frames on the desk socket (/ws/desk/): a part of DeskConsumer.

On connect the socket joins the group of every room the agent belongs to, and
re-reads them when told the agent's rooms changed and at every heartbeat (a
supervisor may have moved the agent between skill groups); an event of a room the
socket is no longer in is dropped. Frames: docs/chat-protocol.md, "Team rooms".
"""

from __future__ import annotations

from django.conf import settings

from conversations.rooms import events, selectors, services
from conversations.rooms.models import Room
from conversations.rooms.protocol import room_message_payload
from helpdesk.ratelimit import allow

MAX_RESUME = 10_000


class RoomFrames:
    """Mixed into DeskConsumer, which provides `agent`, `db`, `FrameError` and the
    frame helpers (see conversations/consumers.py)."""

    room_ids: frozenset[int] = frozenset()

    async def join_rooms(self) -> None:
        """Join the groups of the agent's rooms now, leave those they are no longer in."""
        agent = self.agent
        current = frozenset(
            await self.db(lambda: list(selectors.rooms_of(agent).values_list("pk", flat=True)))()
        )
        for room_id in current - self.room_ids:
            await self.channel_layer.group_add(events.room_group(room_id), self.channel_name)
        for room_id in self.room_ids - current:
            await self.channel_layer.group_discard(events.room_group(room_id), self.channel_name)
        self.room_ids = current

    async def leave_rooms(self) -> None:
        for room_id in self.room_ids:
            await self.channel_layer.group_discard(events.room_group(room_id), self.channel_name)
        self.room_ids = frozenset()

    async def _room(self, frame) -> Room:
        value = frame.get("room")
        room = None
        if isinstance(value, int) and not isinstance(value, bool):
            room = await self.db(selectors.room_for)(self.agent, value)
        if room is None:
            raise self.FrameError("not_found", "no such room")
        return room

    async def _service(self, service, reply_to: str | None = None, **kwargs):
        """Call a room service on the database pool; its refusals become error frames
        (naming `reply_to`, the client_id of the frame, when there is one)."""
        extra = {"client_id": reply_to} if reply_to else {}
        try:
            return await self.db(service)(**kwargs)
        except services.RoomInputError as error:
            raise self.FrameError("bad_frame", str(error), **extra) from None
        except services.MessageNotFound:
            raise self.FrameError("not_found", "no such message", **extra) from None
        except services.AttachmentNotFound:
            raise self.FrameError("not_found", "no such attachment", **extra) from None
        except services.RoomNotAllowed:
            raise self.FrameError("forbidden", "not allowed in this room", **extra) from None

    async def frame_room_send(self, frame):
        """{room, client_id, body, priority?, parent?, attachments?}: the message comes back
        to every socket of the room as `room.message` (a retried client_id: to this one
        only). `attachments` are ids the upload route answered (the body may then be "")."""
        room = await self._room(frame)
        client_id = self.text_field(frame, "client_id", max_length=64)
        if not await allow(f"rooms:{self.agent.pk}", limit=settings.CHAT_RATE_LIMIT * 3):
            raise self.FrameError(
                "rate_limited", "too many messages, slow down", client_id=client_id
            )
        parent = frame.get("parent")
        if parent is not None and not isinstance(parent, str):
            raise self.FrameError("bad_frame", "'parent' must be a message id", client_id=client_id)
        message, created = await self._service(
            services.post_message,
            client_id,
            room=room,
            author=self.agent,
            body=frame.get("body"),
            client_id=client_id,
            parent_id=parent,
            priority=frame.get("priority", 0),
            attachment_ids=frame.get("attachments", []),
        )
        if not created:
            payload = await self.db(room_message_payload)(message)
            await self.send_json({"type": "room.message", "message": payload})

    async def frame_room_resume(self, frame):
        """{room, after_rev}: every message new or changed since, once each, then
        `room.resumed` with the room's rev."""
        room = await self._room(frame)
        after = self.int_field(frame, "after_rev")

        payloads = await self.db(selectors.resume_payloads)(room, after, limit=MAX_RESUME)
        for payload in payloads:
            await self.send_json({"type": "room.message", "message": payload})
        last = payloads[-1]["rev"] if payloads else after
        await self.send_json({"type": "room.resumed", "room": room.pk, "rev": last})

    async def frame_room_read(self, frame):
        room = await self._room(frame)
        await self._service(
            services.mark_read,
            room=room,
            agent=self.agent,
            up_to_seq=self.int_field(frame, "up_to_seq"),
        )

    async def frame_room_ack(self, frame):
        room = await self._room(frame)
        await self._service(
            services.acknowledge, room=room, agent=self.agent, message_id=frame.get("message")
        )

    async def frame_rooms_unread(self, frame):
        """The unread counts of every room of the agent (a device that was away asks)."""
        rooms = await self.db(selectors.room_list)(self.agent)
        await self.send_json(
            {
                "type": "rooms.unread",
                "rooms": {str(r.pk): {"unread": r.unread, "mentions": r.mentions} for r in rooms},
                "unread": sum(r.unread for r in rooms),
                "mentions": sum(r.mentions for r in rooms),
            }
        )

    # Group events → frames.
    async def room_message(self, event):
        if int(event["room"]) in self.room_ids:
            await self.send_json({"type": "room.message", "message": event["message"]})

    async def rooms_read(self, event):
        await self.send_json({**event, "type": "rooms.read"})

    async def rooms_changed(self, event):
        await self.join_rooms()
        await self.send_json({"type": "rooms.changed"})

    async def rooms_reminder(self, event):
        await self.send_json({"type": "rooms.reminder", "message": event["message"]})
