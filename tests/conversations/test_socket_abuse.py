"""Websocket abuse (issue 10, "Attack") on a real daphne, for every socket: the chat's
(/ws/chat/), the desk's and the team rooms' (both on /ws/desk/). Origin and token refusals
are in test_chat_socket.py and test_desk_socket.py; here a 1 MiB frame on each socket, a
flood of each kind of message, and the server's memory under 100 frames a second and
repeated 1 MiB frames (a bound on its growth after a warm-up round, not on time)."""

import asyncio
from pathlib import Path

import pytest

from conversations.models import Conversation, Message
from conversations.rooms.models import RoomMessage
from conversations.services import take_conversation
from tests.conftest import LIVE_CHAT_RATE_LIMIT
from tests.conversations.rooms_helpers import team
from tests.wsclient import Socket, login_cookie, open_session

pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024
# The desk and the rooms allow an agent three times a conversation's rate (consumers).
AGENT_RATE_LIMIT = 3 * LIVE_CHAT_RATE_LIMIT


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture
def held(live):
    """A customer's chat session and the agent holding it (in a team, with its room)."""
    room, (agent,) = team("王芳")
    session = open_session(live)
    conversation = Conversation.objects.get(pk=session["conversation"])
    conversation.skill_group = room.skill_group
    conversation.save(update_fields=["skill_group"])
    take_conversation(conversation_id=conversation.id, agent=agent)
    return session, agent, room, login_cookie(agent.user)


def _frames(kind, held, n):
    session, agent, room, _ = held
    return {
        "chat": {"type": "message.send", "client_id": f"c{n}", "body": "spam"},
        "desk": {
            "type": "message.send",
            "conversation": session["conversation"],
            "client_id": f"d{n}",
            "body": "spam",
        },
        "room": {"type": "room.send", "room": room.pk, "client_id": f"r{n}", "body": "spam"},
    }[kind]


async def _open(kind, live, held):
    session, _, _, cookie = held
    if kind == "chat":
        return await Socket.chat(live, session["token"], origin=live.url)
    return await Socket.desk(live, cookie)


def _stored(kind):
    if kind == "room":
        return RoomMessage.objects.count()
    sender = "customer" if kind == "chat" else "agent"
    return Message.objects.filter(sender=sender).count()


@pytest.mark.parametrize("kind", ["chat", "desk", "room"])
def test_a_1_mib_frame_closes_every_socket_with_1009_and_stores_nothing(live, held, kind):
    async def scenario():
        socket = await _open(kind, live, held)
        frame = _frames(kind, held, 0) | {"body": "x" * MIB}
        await socket.send(frame)
        return await socket.close_code()

    before = _stored(kind)

    assert run(scenario()) == 1009
    assert _stored(kind) == before


@pytest.mark.parametrize("kind, limit", [("desk", AGENT_RATE_LIMIT), ("room", AGENT_RATE_LIMIT)])
def test_a_flood_on_the_desk_socket_is_rate_limited_and_the_excess_not_stored(
    live, held, kind, limit
):
    sent = limit + 10

    async def scenario():
        socket = await _open(kind, live, held)
        for n in range(sent):
            await socket.send(_frames(kind, held, n))
        frames = []
        try:
            while sum(f["type"] == "error" for f in frames) < sent - limit:
                frames.append(await socket.recv(timeout=30))
        except TimeoutError:
            raise AssertionError([f["type"] + ":" + f.get("code", "") for f in frames]) from None
        return [f for f in frames if f["type"] == "error"]

    before = _stored(kind)

    errors = run(scenario())

    assert {e["code"] for e in errors} == {"rate_limited"}
    assert _stored(kind) - before <= limit


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def _abuse_round(live, held, seconds: int):
    """100 frames a second on each of the three sockets for `seconds`, then 1 MiB frames
    on fresh connections (each closed with 1009), ten of each kind."""
    sockets = {kind: await _open(kind, live, held) for kind in ("chat", "desk", "room")}

    async def drain(socket):
        try:
            while True:
                await socket.connection.recv()
        except Exception:  # noqa: BLE001 (closed at the end of the round)
            return

    drains = [asyncio.create_task(drain(s)) for s in sockets.values()]
    for tick in range(seconds * 100):
        for kind, socket in sockets.items():
            await socket.send(_frames(kind, held, f"{seconds}-{tick}"))
        await asyncio.sleep(0.01)
    for socket in sockets.values():
        await socket.close()
    await asyncio.gather(*drains)
    for n in range(10):
        for kind in ("chat", "desk", "room"):
            socket = await _open(kind, live, held)
            await socket.send(_frames(kind, held, f"big{n}") | {"body": "x" * MIB})
            assert await socket.close_code() == 1009


def test_floods_and_1_mib_frames_leave_the_servers_memory_flat(live, held):
    pid = live.process.pid
    run(_abuse_round(live, held, seconds=2))  # warm-up: caches, pools, code paths
    warm = _rss_kib(pid)

    for _ in range(3):
        run(_abuse_round(live, held, seconds=3))
    after = _rss_kib(pid)

    assert after - warm < 50 * 1024, f"daphne grew from {warm} KiB to {after} KiB"
