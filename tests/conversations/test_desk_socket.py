"""/ws/desk/ — the agent side of a live chat, over a real websocket."""

import asyncio

import pytest

from conversations.models import Conversation, Message
from conversations.services import take_conversation
from tests.factories import AgentFactory, UserFactory
from tests.wsclient import Socket, login_cookie, open_session

pytestmark = pytest.mark.django_db(transaction=True)


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture
def agent():
    return AgentFactory()


@pytest.fixture
def cookie(agent):
    return login_cookie(agent.user)


def test_customer_and_agent_chat_both_ways_with_typing_and_read_receipts(live, agent, cookie):
    session = open_session(live, language="zh")
    take_conversation(conversation_id=session["conversation"], agent=agent)
    conversation_id = session["conversation"]

    async def scenario():
        customer = await Socket.chat(live, session["token"])
        desk = await Socket.desk(live, cookie)
        await desk.send({"type": "subscribe", "conversation": conversation_id})
        await desk.expect("subscribed")
        await customer.send({"type": "typing", "on": True})
        customer_typing = await desk.expect("typing")
        await customer.send({"type": "message.send", "client_id": "q1", "body": "耳机没声音了"})
        question = await desk.message()
        await desk.send({"type": "typing", "conversation": conversation_id, "on": True})
        agent_typing = await customer.expect("typing")
        await desk.send(
            {
                "type": "message.send",
                "conversation": conversation_id,
                "client_id": "a1",
                "body": "请问是哪一款？",
            }
        )
        answer = await customer.message()
        await desk.send(
            {"type": "read", "conversation": conversation_id, "up_to_seq": question["seq"]}
        )
        receipt = await customer.expect("read")
        await customer.send({"type": "read", "up_to_seq": answer["seq"]})
        agent_receipt = await desk.expect("read")
        return customer_typing, question, agent_typing, answer, receipt, agent_receipt

    customer_typing, question, agent_typing, answer, receipt, agent_receipt = run(scenario())

    assert customer_typing == {
        "type": "typing",
        "conversation": conversation_id,
        "sender": "customer",
        "on": True,
    }
    assert question["body"] == "耳机没声音了"
    assert agent_typing == {"type": "typing", "sender": "agent", "on": True}
    assert answer["sender"] == "agent"
    assert answer["sender_name"] == agent.display_name
    assert answer["seq"] == question["seq"] + 1
    assert receipt["up_to_seq"] == question["seq"]
    assert agent_receipt["up_to_seq"] == answer["seq"]
    conversation = Conversation.objects.get(pk=conversation_id)
    assert (conversation.agent_read_seq, conversation.customer_read_seq) == (
        question["seq"],
        answer["seq"],
    )


async def conversations_heard(socket, within: float = 1.0) -> set[str]:
    """The conversations whose messages reach `socket` in the next `within` seconds."""
    heard = set()
    try:
        async with asyncio.timeout(within):
            while True:
                frame = await socket.recv(within)
                if frame["type"] == "message":
                    heard.add(frame["message"]["conversation"])
    except TimeoutError:
        return heard


def test_a_desk_follows_a_bounded_number_of_conversations_and_can_let_one_go(live, cookie):
    # The live server's DESK_MAX_SUBSCRIPTIONS is 3 (tests/conftest.py).
    sessions = [open_session(live) for _ in range(4)]
    ids = [session["conversation"] for session in sessions]

    async def scenario():
        customers = [await Socket.chat(live, session["token"]) for session in sessions]
        desk = await Socket.desk(live, cookie)
        for conversation_id in ids[:3]:
            await desk.send({"type": "subscribe", "conversation": conversation_id})
            await desk.expect("subscribed", conversation=conversation_id)
        await desk.send({"type": "subscribe", "conversation": ids[3]})
        dropped = await desk.expect("unsubscribed")
        await desk.expect("subscribed", conversation=ids[3])
        for n, customer in enumerate(customers):
            await customer.send({"type": "message.send", "client_id": "m1", "body": f"第{n}位"})
        heard_first = await conversations_heard(desk)
        await desk.send({"type": "unsubscribe", "conversation": ids[3]})
        let_go = await desk.expect("unsubscribed")
        await customers[3].send({"type": "message.send", "client_id": "m2", "body": "还在吗"})
        await customers[1].send({"type": "message.send", "client_id": "m2", "body": "还在吗"})
        heard_then = await conversations_heard(desk)
        await desk.send({"type": "unsubscribe", "conversation": "not-a-uuid"})
        error = await desk.expect("error")
        return dropped, heard_first, let_go, heard_then, error

    dropped, heard_first, let_go, heard_then, error = run(scenario())

    assert dropped == {"type": "unsubscribed", "conversation": ids[0]}  # the oldest
    assert heard_first == {ids[1], ids[2], ids[3]}
    assert let_go == {"type": "unsubscribed", "conversation": ids[3]}
    assert heard_then == {ids[1]}
    assert error["code"] == "bad_frame"
    assert Message.objects.filter(conversation_id=ids[0]).count() == 1  # stored all the same


def test_the_waiting_list_is_told_when_a_customer_asks_for_a_person(live, agent, cookie):
    session = open_session(live, bot=True)

    async def scenario():
        desk = await Socket.desk(live, cookie)
        customer = await Socket.chat(live, session["token"])
        await customer.send({"type": "handoff"})
        return await desk.expect("queue")

    assert run(scenario()) == {"type": "queue"}


def test_an_agent_cannot_reply_to_a_conversation_they_do_not_hold(live, agent, cookie):
    session = open_session(live)
    conversation_id = session["conversation"]

    async def scenario():
        desk = await Socket.desk(live, cookie)
        await desk.send(
            {
                "type": "message.send",
                "conversation": conversation_id,
                "client_id": "x",
                "body": "hi",
            }
        )
        return await desk.expect("error")

    assert run(scenario())["code"] == "forbidden"
    assert not Message.objects.exists()


def test_an_agent_cannot_open_a_colleagues_conversation(live, agent, cookie):
    session = open_session(live)
    take_conversation(conversation_id=session["conversation"], agent=AgentFactory())

    async def scenario():
        desk = await Socket.desk(live, cookie)
        await desk.send({"type": "subscribe", "conversation": session["conversation"]})
        not_found = await desk.expect("error")
        await desk.send({"type": "resume", "conversation": session["conversation"], "after_seq": 0})
        return not_found, await desk.expect("error")

    subscribe_error, resume_error = run(scenario())

    assert subscribe_error["code"] == resume_error["code"] == "not_found"


@pytest.mark.parametrize(
    "frame",
    [
        "{oops",
        '{"type": "subscribe"}',
        '{"type": "subscribe", "conversation": "not-a-uuid"}',
        '{"type": "subscribe", "conversation": 12}',
        '{"type": "message.send", "conversation": "00000000-0000-0000-0000-000000000000", "client_id": "a", "body": "b"}',
        '{"type": "take.over.the.world"}',
    ],
)
def test_bad_desk_frames_get_an_error(live, cookie, frame):
    async def scenario():
        desk = await Socket.desk(live, cookie)
        await desk.send(frame)
        return await desk.expect("error")

    assert run(scenario())["code"] in ("bad_frame", "not_found")


@pytest.mark.parametrize("origin", ["https://evil.example", "null", None])
def test_a_foreign_or_missing_origin_closes_the_desk_socket_with_4403(live, cookie, origin):
    async def scenario():
        desk = await Socket.desk(live, cookie, origin=origin)
        return await desk.close_code()

    assert run(scenario()) == 4403


def test_a_user_who_is_not_an_agent_is_closed_with_4401(live):
    cookie = login_cookie(UserFactory())

    async def scenario():
        desk = await Socket.desk(live, cookie)
        return await desk.close_code()

    assert run(scenario()) == 4401


def test_an_anonymous_desk_socket_is_closed_with_4401(live):
    async def scenario():
        desk = await Socket.open(f"{live.ws_url}/ws/desk/", origin=live.url)
        return await desk.close_code()

    assert run(scenario()) == 4401
