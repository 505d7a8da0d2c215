"""Agents' presence over real desk sockets, and what waiting customers are told, live."""

import asyncio

import pytest
from django.db import connection

from conversations.models import Agent, Conversation, OfflineMessage
from conversations.services import take_conversation
from tests.factories import AgentFactory, SkillGroupFactory
from tests.wsclient import Socket, login_cookie, open_session

pytestmark = pytest.mark.django_db(transaction=True)

GRACE = 2  # the live server's AGENT_AWAY_GRACE (tests/conftest.py)


def run(coroutine):
    return asyncio.run(coroutine)


def in_own_thread(function):
    """For asyncio.to_thread: the thread gives its database connection back when done."""

    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    return wrapper


def test_opening_the_desk_brings_an_offline_agent_online(live):
    agent = AgentFactory(status=Agent.Status.OFFLINE)
    cookie = login_cookie(agent.user)

    async def scenario():
        desk = await Socket.desk(live, cookie)
        frame = await desk.expect("presence")
        await desk.close()
        return frame

    assert run(scenario()) == {"type": "presence", "status": "online"}
    agent.refresh_from_db()
    assert agent.status == "online"


def test_an_agent_whose_desk_closes_is_away_and_their_chat_goes_to_a_colleague(live):
    group = SkillGroupFactory()
    leaving = AgentFactory(status=Agent.Status.OFFLINE)
    staying = AgentFactory(status=Agent.Status.OFFLINE)
    for agent in (leaving, staying):
        agent.skill_groups.add(group)
    session = open_session(live)
    Conversation.objects.filter(pk=session["conversation"]).update(skill_group=group)
    leaving_cookie, staying_cookie = login_cookie(leaving.user), login_cookie(staying.user)

    async def scenario():
        first = await Socket.desk(live, leaving_cookie)
        await first.expect("presence", status="online")
        await asyncio.to_thread(
            in_own_thread(take_conversation), conversation_id=session["conversation"], agent=leaving
        )
        second = await Socket.desk(live, staying_cookie)
        await second.expect("presence", status="online")
        customer = await Socket.chat(live, session["token"])
        await customer.expect("status", status="assigned")
        await first.close()
        assigned = await second.expect("assigned", timeout=GRACE + 8)
        requeued = await customer.expect("status", status="assigned", timeout=5)
        await second.close()
        await customer.close()
        return assigned, requeued

    assigned, status = run(scenario())

    assert assigned["conversation"] == session["conversation"]
    assert status["agent"] == {"name": staying.display_name}
    leaving.refresh_from_db()
    assert (leaving.status, leaving.away_on_disconnect) == ("away", True)
    assert Conversation.objects.get(pk=session["conversation"]).assignee == staying


def test_a_reload_within_the_grace_period_changes_nothing(live):
    agent = AgentFactory(status=Agent.Status.OFFLINE)
    session = open_session(live)
    cookie = login_cookie(agent.user)

    async def scenario():
        desk = await Socket.desk(live, cookie)
        await desk.expect("presence", status="online")
        await desk.close()
        again = await Socket.desk(live, cookie)
        await again.expect("presence", status="online")
        await asyncio.sleep(GRACE + 1)
        await again.close()

    take_conversation(conversation_id=session["conversation"], agent=agent)
    run(scenario())

    conversation = Conversation.objects.get(pk=session["conversation"])
    assert (conversation.status, conversation.assignee) == ("assigned", agent)


def test_waiting_customers_see_their_place_and_the_expected_wait(live):
    group = SkillGroupFactory()
    agent = AgentFactory(status=Agent.Status.ONLINE, capacity=1)
    agent.skill_groups.add(group)
    first = open_session(live, bot=True)
    second = open_session(live, bot=True)
    third = open_session(live, bot=True)

    async def scenario():
        sockets = [await Socket.chat(live, s["token"]) for s in (first, second, third)]
        for socket in sockets:
            await socket.expect("status", status="bot")
        for socket in sockets:
            await socket.send({"type": "handoff", "skill_group": group.code})
            await asyncio.sleep(0.2)
        assigned = await sockets[0].expect("status", status="assigned")
        place = await sockets[2].expect("status", status="queued", queue_position=2)
        for socket in sockets:
            await socket.close()
        return assigned, place

    assigned, place = run(scenario())

    assert assigned["agent"] == {"name": agent.display_name}
    assert place["agents_online"] is True
    assert isinstance(place["estimated_wait"], int) and place["estimated_wait"] > 0


def test_with_nobody_online_the_customer_leaves_a_message_and_the_chat_closes(live):
    session = open_session(live, bot=True)

    async def scenario():
        customer = await Socket.chat(live, session["token"])
        await customer.send({"type": "handoff"})
        queued = await customer.expect("status", status="queued")
        await customer.send(
            {
                "type": "leave_message",
                "client_id": "left-1",
                "body": "耳机坏了，请回电",
                "contact": "138 0000 0000",
            }
        )
        echoed = await customer.message()
        closed = await customer.expect("status", status="closed")
        await customer.close()
        return queued, echoed, closed

    queued, echoed, closed = run(scenario())

    assert queued["agents_online"] is False and queued["estimated_wait"] is None
    assert (echoed["body"], echoed["client_id"]) == ("耳机坏了，请回电", "left-1")
    left = OfflineMessage.objects.get()
    assert (left.body, left.contact) == ("耳机坏了，请回电", "138 0000 0000")
    conversation = Conversation.objects.get(pk=session["conversation"])
    assert (conversation.status, conversation.resolution) == ("closed", "left_message")


def test_leaving_a_message_is_refused_while_someone_could_answer(live):
    AgentFactory(status=Agent.Status.ONLINE, capacity=0)  # online, but full
    other = AgentFactory(status=Agent.Status.ONLINE)
    session = open_session(live)
    take_conversation(conversation_id=session["conversation"], agent=other)

    async def scenario():
        customer = await Socket.chat(live, session["token"])
        await customer.send({"type": "leave_message", "client_id": "x", "body": "hello"})
        error = await customer.expect("error")
        await customer.close()
        return error

    assert run(scenario())["code"] == "agents_online"
    assert not OfflineMessage.objects.exists()


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "leave_message", "client_id": "x"},
        {"type": "leave_message", "client_id": "x", "body": "hi", "contact": 42},
        {"type": "leave_message", "client_id": "x", "body": "hi", "contact": "x" * 121},
        {"type": "handoff", "skill_group": ["presales"]},
    ],
)
def test_bad_routing_frames_are_refused_and_change_nothing(live, frame):
    session = open_session(live, bot=True)

    async def scenario():
        customer = await Socket.chat(live, session["token"])
        await customer.send(frame)
        error = await customer.expect("error")
        await customer.close()
        return error

    assert run(scenario())["code"] == "bad_frame"
    conversation = Conversation.objects.get(pk=session["conversation"])
    assert conversation.status == "bot"
    assert not OfflineMessage.objects.exists()
