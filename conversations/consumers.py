"""Websocket consumers: authenticate, join groups, parse frames, call services.

The chat protocol is contracts/chat-protocol.md (docs/chat-protocol.md); the
desk protocol is docs/chat-protocol.md, "Agent desk socket".
"""

from __future__ import annotations

import asyncio
import json
import logging
from functools import partial
from urllib.parse import parse_qs
from uuid import UUID

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from conversations import events, presence, selectors, services
from conversations.models import Conversation, Message
from conversations.protocol import message_payload
from conversations.rooms.consumer import RoomFrames
from conversations.services import care
from helpdesk.channel_layer import RECONNECT_CODE
from helpdesk.origins import origin_allowed, origin_of
from helpdesk.ratelimit import allow

logger = logging.getLogger(__name__)

# Database work runs on a thread pool rather than the single shared thread, so
# one slow query does not hold up every socket of the process.
db = partial(database_sync_to_async, thread_sensitive=False)

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403
MAX_ATTACHMENTS = 10


class FrameError(Exception):
    def __init__(self, code: str, detail: str, **extra):
        super().__init__(detail)
        self.code, self.detail, self.extra = code, detail, extra


def _text(frame: dict, name: str, *, max_length: int, code: str = "bad_frame") -> str:
    value = frame.get(name)
    if not isinstance(value, str) or not value.strip():
        raise FrameError("bad_frame", f"'{name}' must be a non-empty string")
    if len(value) > max_length:
        raise FrameError(code, f"'{name}' is longer than {max_length} characters")
    return value


def _body(frame: dict, *, required: bool) -> str:
    """The message text: 1–4000 characters, or empty when files carry the message."""
    if not required and frame.get("body", "") == "":
        return ""
    return _text(frame, "body", max_length=settings.CHAT_MAX_BODY, code="too_long")


def _attachment_ids(frame: dict, client_id: str) -> list[UUID]:
    value = frame.get("attachments", [])
    if not isinstance(value, list) or len(value) > MAX_ATTACHMENTS:
        raise FrameError(
            "bad_frame",
            f"'attachments' must be a list of at most {MAX_ATTACHMENTS} ids",
            client_id=client_id,
        )
    if not all(isinstance(item, str) for item in value):
        raise FrameError("bad_frame", "attachment ids must be strings", client_id=client_id)
    try:
        return [UUID(item) for item in value]
    except ValueError:
        raise FrameError("not_found", "unknown attachment", client_id=client_id) from None


def _int(frame: dict, name: str) -> int:
    value = frame.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FrameError("bad_frame", f"'{name}' must be a non-negative integer")
    return value


def _uuid(frame: dict, name: str, *, what: str = "a conversation id") -> UUID:
    value = frame.get(name)
    try:
        if isinstance(value, str):
            return UUID(value)
    except ValueError:
        pass
    raise FrameError("bad_frame", f"'{name}' must be {what}")


class DirectDispatch:
    """Channels' own dispatch first closes the thread's old database connections: a hop
    to its one shared sync thread before every event of every socket, so all sockets'
    events queue behind that thread (a room of 200 agents at 20 messages a second is
    4,000 hops a second). A consumer that touches the database only through `db` (which
    closes them around each call, in the thread that ran it) dispatches directly."""

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


class FrameConsumer(DirectDispatch, AsyncWebsocketConsumer):
    """JSON frames with a `type`, each to a `frame_<type>` method; errors as frames.

    Frames over 64 KiB never get here: the server closes those sockets with
    1009 (helpdesk/server.py).
    """

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is not None:
            await self.send_error("bad_frame", "frames must be JSON text")
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            await self.send_error("bad_frame", "not JSON")
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        handler = (
            getattr(self, "frame_" + kind.replace(".", "_"), None)
            if isinstance(kind, str)
            else None
        )
        if handler is None or not kind.replace(".", "").replace("_", "").isalnum():
            await self.send_error("bad_frame", "unknown or missing frame type")
            return
        try:
            await handler(frame)
        except FrameError as error:
            await self.send_error(error.code, error.detail, **error.extra)

    async def send_json(self, content: dict) -> None:
        await self.send(text_data=json.dumps(content, ensure_ascii=False))

    async def send_error(self, code: str, detail: str, **extra) -> None:
        await self.send_json({"type": "error", "code": code, "detail": detail, **extra})

    async def layer_resubscribed(self, event):
        """Live events may have been published while this process was cut off from Redis
        (helpdesk/channel_layer.py): the client reconnects and resumes from its seq."""
        await self.close(code=RECONNECT_CODE)

    async def refuse(self, code: int) -> None:
        """Accept, then close with a code: a refused handshake would carry no reason."""
        await self.accept()
        await self.close(code=code)

    async def send_history(self, conversation_id: UUID, after_seq: int) -> None:
        def history() -> list[dict]:
            return [
                message_payload(m) for m in selectors.messages_after(conversation_id, after_seq)
            ]

        for payload in await db(history)():
            await self.send_json({"type": "message", "message": payload})


class ChatConsumer(FrameConsumer):
    """/ws/chat/?token=…: one customer's socket on one conversation."""

    conversation_id: UUID | None = None

    async def connect(self):
        if not origin_allowed(origin_of(self.scope), required=False):
            await self.refuse(CLOSE_FORBIDDEN_ORIGIN)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        session = services.read_chat_token((query.get("token") or [None])[0])
        conversation = await db(self._load)(session) if session else None
        if conversation is None:
            await self.refuse(CLOSE_UNAUTHORIZED)
            return
        self.conversation_id = conversation.id
        self.group = events.conversation_group(conversation.id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.chat_status(await db(selectors.live_status)(conversation))
        for survey in await db(care.open_surveys)(conversation):
            await self.send_json({"type": "survey", **survey})

    @staticmethod
    def _load(session) -> Conversation | None:
        # A token of a customer merged into another since still opens its conversation.
        return services.token_conversation(session, related=["assignee"])

    async def disconnect(self, code):
        if self.conversation_id is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def frame_message_send(self, frame):
        client_id = _text(frame, "client_id", max_length=64)
        attachments = _attachment_ids(frame, client_id)
        body = _body(frame, required=not attachments)
        if not await allow(f"chat:{self.conversation_id.hex}", limit=settings.CHAT_RATE_LIMIT):
            raise FrameError("rate_limited", "too many messages, slow down", client_id=client_id)
        try:
            message, created = await db(services.post_customer_message)(
                conversation_id=self.conversation_id,
                client_id=client_id,
                body=body,
                attachment_ids=attachments,
            )
        except services.ConversationClosed:
            raise FrameError("closed", "this conversation is closed", client_id=client_id) from None
        except services.AttachmentNotFound:
            raise FrameError("not_found", "unknown attachment", client_id=client_id) from None
        if not created:
            # A retry: this socket gets the stored message back; the others had it.
            await self.send_json({"type": "message", "message": await db(message_payload)(message)})
            return
        if message.conversation_status == Conversation.Status.BOT:
            await db(services.bot_turn)(conversation_id=self.conversation_id, message_id=message.id)

    async def frame_resume(self, frame):
        await self.send_history(self.conversation_id, _int(frame, "after_seq"))

    async def frame_typing(self, frame):
        on = frame.get("on")
        if not isinstance(on, bool):
            raise FrameError("bad_frame", "'on' must be true or false")
        await self.channel_layer.group_send(
            self.group,
            events.typing_event(conversation_id=self.conversation_id, sender="customer", on=on),
        )

    async def frame_read(self, frame):
        await db(services.mark_read)(
            conversation_id=self.conversation_id,
            reader=Message.Sender.CUSTOMER,
            up_to_seq=_int(frame, "up_to_seq"),
        )

    async def frame_handoff(self, frame):
        """`skill_group` (optional, an addition to v1): the customer's pick from the menu."""
        group = frame.get("skill_group")
        if group is not None and (not isinstance(group, str) or len(group) > 40):
            raise FrameError("bad_frame", "'skill_group' must be a group code")
        try:
            await db(services.request_handoff)(
                conversation_id=self.conversation_id,
                skill_group_code=group or None,
                reason="menu" if group else "request",
            )
        except services.ConversationClosed:
            raise FrameError("closed", "this conversation is closed") from None

    async def frame_leave_message(self, frame):
        """Addition to v1: {"type": "leave_message", "client_id", "body", "contact"} while no
        agent is online; the conversation closes with the message kept for a person."""
        client_id = _text(frame, "client_id", max_length=64)
        body = _text(frame, "body", max_length=settings.CHAT_MAX_BODY, code="too_long")
        contact = frame.get("contact", "")
        if not isinstance(contact, str) or len(contact) > 120:
            raise FrameError("bad_frame", "'contact' must be a string of at most 120 characters")
        try:
            await db(services.leave_message)(
                conversation_id=self.conversation_id,
                client_id=client_id,
                body=body,
                contact=contact,
            )
        except services.NobodyOnline:
            raise FrameError(
                "agents_online", "an agent can take this conversation now", client_id=client_id
            ) from None
        except services.ConversationClosed:
            raise FrameError("closed", "this conversation is closed", client_id=client_id) from None

    async def frame_rate(self, frame):
        """Addition to v1: {"type": "rate", "seq": n, "helpful": bool} on a bot answer that asked."""
        helpful = frame.get("helpful")
        if not isinstance(helpful, bool):
            raise FrameError("bad_frame", "'helpful' must be true or false")
        recorded = await db(services.rate_bot_answer)(
            conversation_id=self.conversation_id, seq=_int(frame, "seq"), helpful=helpful
        )
        if not recorded:
            raise FrameError("not_found", "no answer to rate there")
        await self.send_json({"type": "rated", "seq": frame["seq"], "helpful": helpful})

    async def frame_survey_answer(self, frame):
        survey = _uuid(frame, "survey", what="a survey id")
        score = frame.get("score")
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise FrameError("bad_frame", "'score' must be an integer from 1 to 5")
        comment = frame.get("comment", "")
        if not isinstance(comment, str):
            raise FrameError("bad_frame", "'comment' must be a string")
        if len(comment) > care.MAX_COMMENT:
            raise FrameError("too_long", f"'comment' is longer than {care.MAX_COMMENT} characters")
        try:
            answered = await db(care.answer_survey)(
                conversation_id=self.conversation_id,
                survey_id=survey,
                score=score,
                comment=comment.strip(),
            )
        except care.SurveyNotFound:
            raise FrameError("not_found", "no such survey") from None
        except care.SurveyAnswered:
            raise FrameError("already_answered", "this survey was answered before") from None
        await self.send_json(
            {
                "type": "survey.answered",
                "survey": str(answered.pk),
                "score": answered.score,
                "points": answered.reward_points,
            }
        )

    # Group events → frames.
    async def chat_message(self, event):
        await self.send_json({"type": "message", "message": event["message"]})

    async def chat_status(self, event):
        # The customer's socket is one conversation: its id would be noise here.
        payload = {k: v for k, v in event.items() if k not in ("type", "conversation")}
        await self.send_json({"type": "status", **payload})

    async def chat_typing(self, event):
        if event["sender"] != "customer":
            await self.send_json({"type": "typing", "sender": event["sender"], "on": event["on"]})

    async def chat_read(self, event):
        if event["reader"] == Message.Sender.AGENT:
            await self.send_json({"type": "read", "up_to_seq": event["up_to_seq"]})

    async def chat_survey(self, event):
        await self.send_json({"type": "survey", **{k: v for k, v in event.items() if k != "type"}})


# Tasks that wait out an agent's grace period; referenced so they are not collected.
_grace_checks: set[asyncio.Task] = set()


async def _away_unless_back(agent_id: int) -> None:
    """An agent's last desk closed: if none has reopened after the grace period, they are
    away and their conversations go back to the queue."""
    await asyncio.sleep(settings.AGENT_AWAY_GRACE)
    try:
        if await presence.live_sockets(agent_id) == 0:
            await db(services.desk_gone)(agent_id=agent_id)
    except Exception:
        logger.exception("could not settle agent %s after their desk closed", agent_id)


class DeskConsumer(RoomFrames, FrameConsumer):
    """/ws/desk/: an agent's socket (session login): lists, their conversations, alerts,
    and the team rooms (conversations/rooms/consumer.py)."""

    agent = None
    # What the rooms' part uses.
    db = staticmethod(db)
    FrameError = FrameError
    text_field = staticmethod(_text)
    int_field = staticmethod(_int)

    async def connect(self):
        if not origin_allowed(origin_of(self.scope), required=True):
            await self.refuse(CLOSE_FORBIDDEN_ORIGIN)
            return
        self.agent = await db(selectors.agent_for_user)(self.scope.get("user"))
        if self.agent is None:
            await self.refuse(CLOSE_UNAUTHORIZED)
            return
        # Oldest subscription first: past DESK_MAX_SUBSCRIPTIONS the oldest is dropped.
        self.subscribed: dict[UUID, None] = {}
        await self.channel_layer.group_add(events.DESK_GROUP, self.channel_name)
        await self.channel_layer.group_add(events.agent_group(self.agent.pk), self.channel_name)
        await self.join_rooms()
        await self.accept()
        await presence.socket_alive(self.agent.pk, self.channel_name)
        self.agent = await db(services.desk_opened)(agent_id=self.agent.pk)
        await self.send_json({"type": "presence", "status": self.agent.status})

    async def disconnect(self, code):
        if self.agent is None:
            return
        await self.channel_layer.group_discard(events.DESK_GROUP, self.channel_name)
        await self.channel_layer.group_discard(events.agent_group(self.agent.pk), self.channel_name)
        await self.leave_rooms()
        for conversation_id in list(self.subscribed):
            await self._unsubscribe(conversation_id)
        if await presence.socket_closed(self.agent.pk, self.channel_name) == 0:
            task = asyncio.get_running_loop().create_task(_away_unless_back(self.agent.pk))
            _grace_checks.add(task)
            task.add_done_callback(_grace_checks.discard)

    def _visible(self, conversation_id: UUID) -> Conversation | None:
        return selectors.visible_conversations(self.agent).filter(pk=conversation_id).first()

    async def _conversation(self, frame) -> Conversation:
        conversation = await db(self._visible)(_uuid(frame, "conversation"))
        if conversation is None:
            raise FrameError("not_found", "no such conversation")
        return conversation

    async def frame_ping(self, frame):
        """The desk's heartbeat (every 25 s): this socket is alive."""
        await presence.socket_alive(self.agent.pk, self.channel_name)
        await self.join_rooms()
        await self.send_json({"type": "pong"})

    async def frame_subscribe(self, frame):
        """Live events of a conversation. A socket holds at most DESK_MAX_SUBSCRIPTIONS:
        past it the one subscribed longest ago is dropped (`unsubscribed`), so a desk left
        open all day does not keep every conversation it ever showed."""
        conversation = await self._conversation(frame)
        if conversation.id in self.subscribed:
            self.subscribed[conversation.id] = self.subscribed.pop(conversation.id)  # newest
        else:
            while len(self.subscribed) >= settings.DESK_MAX_SUBSCRIPTIONS:
                oldest = next(iter(self.subscribed))
                await self._unsubscribe(oldest)
                await self.send_json({"type": "unsubscribed", "conversation": str(oldest)})
            self.subscribed[conversation.id] = None
            await self.channel_layer.group_add(
                events.conversation_group(conversation.id), self.channel_name
            )
            await self.channel_layer.group_add(
                events.staff_group(conversation.id), self.channel_name
            )
        await self.send_json({"type": "subscribed", "conversation": str(conversation.id)})
        await self.send_json({"type": "status", **await db(selectors.live_status)(conversation)})

    async def frame_unsubscribe(self, frame):
        """No more live events of this conversation on this socket (an unknown or
        unsubscribed one is acknowledged all the same: nothing to undo)."""
        conversation_id = _uuid(frame, "conversation")
        await self._unsubscribe(conversation_id)
        await self.send_json({"type": "unsubscribed", "conversation": str(conversation_id)})

    async def _unsubscribe(self, conversation_id: UUID) -> None:
        if conversation_id in self.subscribed:
            del self.subscribed[conversation_id]
            await self.channel_layer.group_discard(
                events.conversation_group(conversation_id), self.channel_name
            )
            await self.channel_layer.group_discard(
                events.staff_group(conversation_id), self.channel_name
            )

    async def frame_resume(self, frame):
        conversation = await self._conversation(frame)
        await self.send_history(conversation.id, _int(frame, "after_seq"))

    async def frame_message_send(self, frame):
        conversation = await self._conversation(frame)
        client_id = _text(frame, "client_id", max_length=64)
        attachments = _attachment_ids(frame, client_id)
        body = _body(frame, required=not attachments)
        if conversation.assignee_id != self.agent.pk:
            raise FrameError(
                "forbidden", "take the conversation before replying", client_id=client_id
            )
        if not conversation.is_open:
            raise FrameError("closed", "this conversation is closed", client_id=client_id)
        if not await allow(f"desk:{self.agent.pk}", limit=settings.CHAT_RATE_LIMIT * 3):
            raise FrameError("rate_limited", "too many messages, slow down", client_id=client_id)
        try:
            message, created = await db(services.post_agent_message)(
                conversation=conversation,
                agent=self.agent,
                client_id=client_id,
                body=body,
                attachment_ids=attachments,
            )
        except services.ConversationClosed:
            raise FrameError("closed", "this conversation is closed", client_id=client_id) from None
        except services.AttachmentNotFound:
            raise FrameError("not_found", "unknown attachment", client_id=client_id) from None
        if not created:
            await self.send_json({"type": "message", "message": await db(message_payload)(message)})

    async def frame_note(self, frame):
        """An internal note for the people of the conversation (never the customer)."""
        conversation = await self._conversation(frame)
        body = _text(frame, "body", max_length=settings.CHAT_MAX_BODY, code="too_long")
        try:
            await db(services.add_internal_note)(
                conversation_id=conversation.id, agent=self.agent, body=body
            )
        except services.NotAllowed:
            raise FrameError(
                "forbidden", "only the people of this conversation write notes"
            ) from None

    async def frame_typing(self, frame):
        conversation = await self._conversation(frame)
        on = frame.get("on")
        if not isinstance(on, bool):
            raise FrameError("bad_frame", "'on' must be true or false")
        if conversation.assignee_id != self.agent.pk:
            return  # only the person answering types to the customer
        await self.channel_layer.group_send(
            events.conversation_group(conversation.id),
            events.typing_event(conversation_id=conversation.id, sender="agent", on=on),
        )

    async def frame_read(self, frame):
        conversation = await self._conversation(frame)
        if conversation.assignee_id == self.agent.pk:
            await db(services.mark_read)(
                conversation_id=conversation.id,
                reader=Message.Sender.AGENT,
                up_to_seq=_int(frame, "up_to_seq"),
            )

    # Group events → frames.
    async def chat_message(self, event):
        await self.send_json({"type": "message", "message": event["message"]})

    async def chat_status(self, event):
        await self.send_json({k: v for k, v in event.items() if k != "type"} | {"type": "status"})

    async def chat_typing(self, event):
        if event["sender"] == "customer":
            await self.send_json(
                {
                    "type": "typing",
                    "conversation": event["conversation"],
                    "sender": "customer",
                    "on": event["on"],
                }
            )

    async def chat_read(self, event):
        if event["reader"] == Message.Sender.CUSTOMER:
            await self.send_json(
                {
                    "type": "read",
                    "conversation": event["conversation"],
                    "up_to_seq": event["up_to_seq"],
                }
            )

    async def chat_survey(self, event):
        """The survey's message is in the history the desk shows; the frame is the
        customer's."""

    async def desk_queue(self, event):
        await self.send_json({"type": "queue"})

    async def desk_assigned(self, event):
        await self.send_json({**event, "type": "assigned"})

    async def desk_invited(self, event):
        await self.send_json({**event, "type": "invited"})

    async def desk_released(self, event):
        await self.send_json({**event, "type": "released"})

    async def desk_note(self, event):
        await self.send_json({"type": "note", "note": event["note"]})

    async def desk_changed(self, event):
        await self.send_json({**event, "type": "changed"})

    async def desk_notice(self, event):
        await self.send_json({"type": "notice", "notice": event["notice"]})

    async def desk_presence(self, event):
        if event["agent"] == self.agent.pk:
            await self.send_json({"type": "presence", "status": event["status"]})
        await self.send_json({**event, "type": "agent_presence"})
