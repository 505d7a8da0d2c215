"""/ws/chat/ — contracts/chat-protocol.md §2, over a real websocket to daphne."""

import asyncio
import time
from unittest import mock

import pytest
from django.core import signing

from conversations.models import Conversation, Message
from conversations.services.sessions import TOKEN_SALT
from tests.conftest import LIVE_CHAT_RATE_LIMIT
from tests.wsclient import Socket, open_session

pytestmark = pytest.mark.django_db(transaction=True)


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_message_is_stored_with_seq_1_and_delivered_to_every_socket(live):
    session = open_session(live)

    async def scenario():
        first, second = (
            await Socket.chat(live, session["token"]),
            await Socket.chat(live, session["token"]),
        )
        await first.send(
            {"type": "message.send", "client_id": "c-1", "body": "你好，我想问一下退货"}
        )
        return await first.message(), await second.message()

    on_first, on_second = run(scenario())

    assert on_first == on_second
    assert on_first["seq"] == 1
    assert on_first["client_id"] == "c-1"
    assert on_first["sender"] == "customer"
    assert on_first["body"] == "你好，我想问一下退货"
    assert Message.objects.get().seq == 1


def test_the_socket_first_says_the_status(live):
    session = open_session(live, bot=True)

    async def scenario():
        socket = await Socket.chat(live, session["token"])
        return await socket.recv()

    assert run(scenario()) == {"type": "status", "status": "bot"}


def test_a_repeated_client_id_stores_one_message_and_returns_it(live):
    session = open_session(live)

    async def scenario():
        socket = await Socket.chat(live, session["token"])
        frame = {"type": "message.send", "client_id": "same", "body": "hello"}
        await socket.send(frame)
        first = await socket.message()
        await socket.send(frame)
        second = await socket.message()
        return first, second, await socket.silent(0.5)

    first, second, silent_after = run(scenario())

    assert first["id"] == second["id"]
    assert silent_after
    assert Message.objects.count() == 1
    assert Conversation.objects.get().last_seq == 1


def test_seq_has_no_gaps_under_20_concurrent_senders(live):
    session = open_session(live)

    async def scenario():
        sockets = await asyncio.gather(*(Socket.chat(live, session["token"]) for _ in range(20)))
        await asyncio.gather(
            *(
                socket.send({"type": "message.send", "client_id": f"s-{n}", "body": f"message {n}"})
                for n, socket in enumerate(sockets)
            )
        )
        received = await asyncio.gather(*(socket.messages(20) for socket in sockets))
        return received

    received = run(scenario())

    assert sorted(Message.objects.values_list("seq", flat=True)) == list(range(1, 21))
    for messages in received:
        assert sorted(m["seq"] for m in messages) == list(range(1, 21))
        assert {m["client_id"] for m in messages} == {f"s-{n}" for n in range(20)}


def test_resume_returns_exactly_the_missed_messages_in_order(live):
    session = open_session(live)

    async def scenario():
        socket = await Socket.chat(live, session["token"])
        for n in range(5):
            await socket.send({"type": "message.send", "client_id": f"m{n}", "body": f"#{n}"})
        await socket.messages(5)
        await socket.close()
        again = await Socket.chat(live, session["token"])
        await again.send({"type": "resume", "after_seq": 2})
        resumed = await again.messages(3)
        return resumed, await again.silent(0.5)

    resumed, nothing_more = run(scenario())

    assert [m["seq"] for m in resumed] == [3, 4, 5]
    assert [m["body"] for m in resumed] == ["#2", "#3", "#4"]
    assert nothing_more


@pytest.mark.parametrize(
    "frame, code",
    [
        ("this is not json", "bad_frame"),
        ("[1, 2]", "bad_frame"),
        ('{"no_type": true}', "bad_frame"),
        ('{"type": "launch.missiles"}', "bad_frame"),
        ('{"type": "__init__"}', "bad_frame"),
        ('{"type": "message.send", "body": "no client id"}', "bad_frame"),
        ('{"type": "message.send", "client_id": "x"}', "bad_frame"),
        ('{"type": "message.send", "client_id": "x", "body": ""}', "bad_frame"),
        ('{"type": "message.send", "client_id": "x", "body": 42}', "bad_frame"),
        ('{"type": "message.send", "client_id": "' + "x" * 65 + '", "body": "hi"}', "bad_frame"),
        ('{"type": "message.send", "client_id": "x", "body": "' + "长" * 4001 + '"}', "too_long"),
        (
            '{"type": "message.send", "client_id": "x", "body": "hi", "attachments": "a"}',
            "bad_frame",
        ),
        ('{"type": "resume", "after_seq": "3"}', "bad_frame"),
        ('{"type": "resume", "after_seq": -1}', "bad_frame"),
        ('{"type": "typing", "on": "yes"}', "bad_frame"),
        ('{"type": "read", "up_to_seq": true}', "bad_frame"),
        ('{"type": "survey.answer", "survey": 1, "score": 5}', "bad_frame"),
        (
            '{"type": "survey.answer", "survey": "6f1c2a52-9b7e-4c1e-8d1f-2f3a4b5c6d7e", "score": 5}',
            "not_found",
        ),
    ],
)
def test_bad_frames_get_an_error_and_the_socket_stays_usable(live, frame, code):
    session = open_session(live)

    async def scenario():
        socket = await Socket.chat(live, session["token"])
        await socket.send(frame)
        error = await socket.expect("error")
        await socket.send({"type": "message.send", "client_id": "after", "body": "still here"})
        return error, await socket.message()

    error, after = run(scenario())

    assert error["code"] == code
    assert error["detail"]
    assert after["body"] == "still here"
    assert list(Message.objects.values_list("client_id", flat=True)) == ["after"]


def test_a_frame_over_64_kib_closes_the_socket_with_1009(live):
    session = open_session(live)

    async def scenario():
        socket = await Socket.chat(live, session["token"])
        await socket.send({"type": "message.send", "client_id": "big", "body": "x" * (65 * 1024)})
        return await socket.close_code()

    assert run(scenario()) == 1009
    assert not Message.objects.exists()


def _expired_token(conversation_id, customer_id):
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 31 * 24 * 3600):
        return signing.dumps(
            {"cu": customer_id, "co": conversation_id.hex}, salt=TOKEN_SALT, compress=True
        )


@pytest.mark.parametrize(
    "kind", ["missing", "garbage", "tampered", "expired", "wrong salt", "other customer"]
)
def test_a_bad_token_closes_with_4401(live, kind):
    session = open_session(live)
    conversation = Conversation.objects.get(pk=session["conversation"])
    token = {
        "missing": "",
        "garbage": "abc",
        "tampered": session["token"][:-3] + "AAA",
        "expired": _expired_token(conversation.id, conversation.customer_id),
        "wrong salt": signing.dumps({"cu": conversation.customer_id, "co": conversation.id.hex}),
        "other customer": signing.dumps(
            {"cu": conversation.customer_id + 1000, "co": conversation.id.hex},
            salt=TOKEN_SALT,
            compress=True,
        ),
    }[kind]

    async def scenario():
        socket = await Socket.chat(live, token)
        return await socket.close_code()

    assert run(scenario()) == 4401


def test_a_foreign_origin_closes_the_chat_socket_with_4403(live):
    session = open_session(live)

    async def scenario():
        socket = await Socket.chat(live, session["token"], origin="https://evil.example")
        return await socket.close_code()

    assert run(scenario()) == 4403


def test_a_flood_is_rate_limited_and_the_excess_is_not_stored(live):
    session = open_session(live)
    sent = LIVE_CHAT_RATE_LIMIT + 5

    async def scenario():
        socket = await Socket.chat(live, session["token"])
        for n in range(sent):
            await socket.send({"type": "message.send", "client_id": f"f{n}", "body": "spam"})
        frames = [await socket.recv() for _ in range(sent + 1)]  # + the status frame
        return [f for f in frames if f["type"] == "error"]

    errors = run(scenario())

    assert {e["code"] for e in errors} == {"rate_limited"}
    assert len(errors) + Message.objects.count() == sent
    assert Message.objects.count() <= LIVE_CHAT_RATE_LIMIT


def test_handoff_queues_the_conversation_and_tells_the_customer(live):
    session = open_session(live, bot=True, language="en")

    async def scenario():
        socket = await Socket.chat(live, session["token"])
        await socket.expect("status")
        await socket.send({"type": "handoff"})
        frames = {frame["type"]: frame for frame in [await socket.recv(), await socket.recv()]}
        return frames["status"], frames["message"]["message"]

    status, notice = run(scenario())

    assert status["status"] == "queued"
    assert status["queue_position"] == 1
    assert notice["sender"] == "system"
    assert "person" in notice["body"]
    assert Conversation.objects.get().status == "queued"


def test_a_closed_conversation_refuses_messages_with_closed(live):
    session = open_session(live)
    Conversation.objects.filter(pk=session["conversation"]).update(status="closed")

    async def scenario():
        socket = await Socket.chat(live, session["token"])
        await socket.send({"type": "message.send", "client_id": "late", "body": "anyone?"})
        return await socket.expect("error")

    assert run(scenario())["code"] == "closed"
    assert not Message.objects.exists()
