"""A small client for the chat protocol over a real websocket (tests only)."""

from __future__ import annotations

import asyncio
import json

import httpx
from django.test import Client
from django.utils import timezone
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from conversations.models import Conversation


def open_session(live, *, bot: bool = False, **body) -> dict:
    """A chat session; unless `bot`, the conversation waits for a person so the bot
    stays silent and the protocol can be watched on its own."""
    response = httpx.post(f"{live.url}/api/v1/chat/sessions/", json=body, timeout=10)
    assert response.status_code == 201, response.text
    session = response.json()
    if not bot:
        Conversation.objects.filter(pk=session["conversation"]).update(
            status="queued", queued_at=timezone.now()
        )
    return session


def login_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


class Socket:
    def __init__(self, connection):
        self.connection = connection

    @classmethod
    async def open(
        cls, url: str, *, origin: str | None = None, cookie: str | None = None
    ) -> Socket:
        headers = {"Cookie": cookie} if cookie else None
        connection = await connect(url, origin=origin, additional_headers=headers, open_timeout=10)
        return cls(connection)

    @classmethod
    async def chat(cls, live, token: str, **kwargs) -> Socket:
        return await cls.open(f"{live.ws_url}/ws/chat/?token={token}", **kwargs)

    @classmethod
    async def desk(cls, live, cookie: str, **kwargs) -> Socket:
        """An agent's desk socket; `cookie` from login_cookie(), made outside the event loop."""
        kwargs.setdefault("origin", live.url)
        return await cls.open(f"{live.ws_url}/ws/desk/", cookie=cookie, **kwargs)

    async def send(self, frame: dict | str) -> None:
        await self.connection.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, timeout: float = 5) -> dict:
        return json.loads(await asyncio.wait_for(self.connection.recv(), timeout))

    async def expect(self, kind: str, timeout: float = 5, **match) -> dict:
        """The next frame of this type (and these field values), skipping others."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.recv(timeout)
                if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                    return frame

    async def message(self, timeout: float = 5) -> dict:
        """The next message object, skipping other frames."""
        return (await self.expect("message", timeout))["message"]

    async def messages(self, count: int, timeout: float = 10) -> list[dict]:
        """The next `count` message objects, skipping other frames."""
        return [(await self.expect("message", timeout))["message"] for _ in range(count)]

    async def silent(self, within: float = 0.5, kind: str = "message") -> bool:
        """True when no frame of this type arrives within `within` seconds."""
        try:
            await self.expect(kind, timeout=within)
        except TimeoutError:
            return True
        return False

    async def close_code(self, timeout: float = 5) -> int:
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self.connection.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else 1006

    async def close(self) -> None:
        await self.connection.close()
