"""The floor of the chat stack, for bench/chat_load.py: a bare websocket relay.

Same daphne server, same channel layer (settings.CHANNEL_LAYERS), but no
database, no auth, no rate limit and no validation beyond what keeps it from
crashing. Mounted at /ws/bench-relay/ only when BENCH_RELAY=1 (helpdesk/routing.py).

Protocol: connect to /ws/bench-relay/?room=<id>[,<id>…]&role=customer|agent; the
socket joins the group `bench.<room>` of each room. A frame {"type":
"message.send", "client_id": …, "body": …} from any socket reaches every socket
of its first room as {"type": "message", "message": {"client_id": …, "body": …,
"seq": n}}.
"""

from __future__ import annotations

import itertools
import json
import re
from urllib.parse import parse_qs

from channels.generic.websocket import AsyncWebsocketConsumer

from conversations.consumers import DirectDispatch
from helpdesk.channel_layer import RECONNECT_CODE

# What channels accepts in a group name, leaving room for the "bench." prefix.
_ROOM = re.compile(r"[A-Za-z0-9_.-]{1,80}")

# One counter per daphne process: enough to show the frame went through the relay.
_seq = itertools.count(1)


class RelayConsumer(DirectDispatch, AsyncWebsocketConsumer):
    """Dispatches as the helpdesk's consumers do (no connection hop per event): the floor
    is what they could reach."""

    groups_joined: list[str] = []

    async def connect(self):
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        rooms = (query.get("room") or [""])[0].split(",")
        if not rooms or len(rooms) > 100 or not all(_ROOM.fullmatch(room) for room in rooms):
            await self.close()
            return
        self.groups_joined = [f"bench.{room}" for room in rooms]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            frame = json.loads(text_data or "")
        except ValueError:
            return
        if not isinstance(frame, dict) or frame.get("type") != "message.send":
            return
        message = {
            "client_id": frame.get("client_id"),
            "body": frame.get("body"),
            "seq": next(_seq),
        }
        await self.channel_layer.group_send(
            self.groups_joined[0], {"type": "relay.message", "message": message}
        )

    async def layer_resubscribed(self, event):
        """As the helpdesk's consumers (helpdesk/channel_layer.py): reconnect, events may be lost."""
        await self.close(code=RECONNECT_CODE)

    async def relay_message(self, event):
        await self.send(text_data=json.dumps({"type": "message", "message": event["message"]}))
