"""Chat clients that follow the protocol's rules for a lost socket (docs/chat-protocol.md,
"Ordering and delivery"): reconnect, `resume` from the last complete seq, send again
every message not yet acknowledged with its client_id. What each one ends up showing is
what a person would see."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tests.faults.processes import WAIT


class Party:
    """One side of a conversation over whichever server `url()` names at the moment."""

    def __init__(
        self,
        name: str,
        *,
        url: Callable[[], str],
        headers: dict | None = None,
        origin: str | None = None,
        conversation: str | None = None,
    ):
        self.name = name
        self.url = url
        self.headers = headers
        self.origin = origin
        self.conversation = conversation  # set for the desk: frames name the conversation
        self.messages: list[dict] = []  # every message shown, in the order shown
        self.pending: dict[str, dict] = {}  # message.send frames not acknowledged yet
        self.closes: list[int] = []  # close codes of the sockets this party lost
        self.connections = 0
        self.typing: list[dict] = []
        self.statuses: list[dict] = []
        self._socket = None
        self._task: asyncio.Task | None = None

    @property
    def last_seq(self) -> int:
        return self.messages[-1]["seq"] if self.messages else 0

    def _frame(self, frame: dict) -> str:
        if self.conversation:
            frame = {**frame, "conversation": self.conversation}
        return json.dumps(frame)

    async def start(self) -> Party:
        await self._connect()
        self._task = asyncio.create_task(self._read())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._socket is not None:
            await self._socket.close()

    async def send(self, client_id: str, body: str) -> None:
        self.pending[client_id] = {"type": "message.send", "client_id": client_id, "body": body}
        with contextlib.suppress(ConnectionClosed):  # sent again after reconnecting
            await self._socket.send(self._frame(self.pending[client_id]))

    async def send_frame(self, frame: dict) -> None:
        await self._socket.send(self._frame(frame))

    async def _connect(self) -> None:
        deadline = time.monotonic() + WAIT
        while True:
            try:
                socket = await connect(
                    self.url(),
                    origin=self.origin,
                    additional_headers=self.headers,
                    open_timeout=5,
                )
                if self.conversation:
                    await socket.send(self._frame({"type": "subscribe"}))
                await socket.send(self._frame({"type": "resume", "after_seq": self.last_seq}))
                for frame in list(self.pending.values()):
                    await socket.send(self._frame(frame))
                self._socket = socket
                self.connections += 1
                return
            except (OSError, InvalidHandshake, ConnectionClosed, TimeoutError):
                # The server is down, or refused the socket while its Redis is: try again.
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    async def _read(self) -> None:
        while True:
            try:
                frame = json.loads(await self._socket.recv())
            except ConnectionClosed as closed:
                self.closes.append(closed.rcvd.code if closed.rcvd else 1006)
                await self._connect()
                continue
            if frame["type"] == "message":
                self._receive(frame["message"])
            elif frame["type"] == "typing":
                self.typing.append(frame)
            elif frame["type"] == "status":
                self.statuses.append(frame)

    def _receive(self, message: dict) -> None:
        if message["seq"] == self.last_seq + 1:
            self.messages.append(message)
            if message.get("client_id") and message["sender"] in ("customer", "agent"):
                self.pending.pop(message["client_id"], None)
        elif message["seq"] > self.last_seq + 1:
            # A gap: something was missed; ask for everything after what we have.
            asyncio.create_task(self.send_frame({"type": "resume", "after_seq": self.last_seq}))
        # A seq already shown (a resume crossing the live copy) is not shown twice.

    async def until(self, condition: Callable[[Party], object], what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not condition(self):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name} gave up waiting for {what}; shown: "
                    f"{[(m['seq'], m['body']) for m in self.messages]}, closes: {self.closes}"
                )
            await asyncio.sleep(0.05)

    async def shows(self, *bodies: str) -> None:
        await self.until(
            lambda party: set(bodies) <= {m["body"] for m in party.messages},
            f"messages {bodies}",
        )


def bodies(party: Party) -> list[tuple[int, str]]:
    """What a party shows: (seq, body) in the order shown."""
    return [(m["seq"], m["body"]) for m in party.messages]


def persisted(conversation_id: str) -> list[tuple[int, str]]:
    """What the database holds: (seq, body) in seq order."""
    from conversations.models import Message

    return list(
        Message.objects.filter(conversation_id=conversation_id)
        .order_by("seq")
        .values_list("seq", "body")
    )


async def both(*coroutines: Awaitable) -> list:
    return await asyncio.gather(*coroutines)
