"""Two daphne processes behind one Redis — the scale-out path: a customer on one and the
agent on the other chat as on one server; and one of them killed (SIGKILL) with live
sockets: its clients move to the other and resume, nothing lost or shown twice."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from conversations.models import Conversation
from conversations.services import take_conversation
from tests.factories import AgentFactory, SkillGroupFactory
from tests.faults.parties import Party, bodies, persisted
from tests.wsclient import Socket, login_cookie, open_session

pytestmark = pytest.mark.django_db(transaction=True)


async def message_from(socket: Socket, sender: str) -> dict:
    """The next message of this sender (system messages such as "agent joined" skipped)."""
    while (message := await socket.message(timeout=10))["sender"] != sender:
        pass
    return message


def test_a_customer_on_one_server_and_the_agent_on_the_other_chat_normally(
    private_redis, start_daphnes
):
    first, second = start_daphnes(2, redis_url=private_redis.url)
    group = SkillGroupFactory()
    agent = AgentFactory(capacity=2)
    agent.skill_groups.add(group)
    cookie = login_cookie(agent.user)
    session = open_session(first, bot=True)
    conversation = session["conversation"]

    async def scenario():
        desk = await Socket.desk(second, cookie)
        await desk.expect("presence", status="online")
        customer = await Socket.chat(first, session["token"])
        await customer.expect("status", status="bot")
        await customer.send({"type": "handoff", "skill_group": group.code})
        status = await customer.expect("status", status="assigned")
        assigned = await desk.expect("assigned", conversation=conversation)
        await desk.send({"type": "subscribe", "conversation": conversation})
        await desk.expect("subscribed")
        await customer.send({"type": "typing", "on": True})
        customer_typing = await desk.expect("typing")
        await customer.send({"type": "message.send", "client_id": "c1", "body": "耳机没声音了"})
        question = await message_from(desk, "customer")
        await desk.send({"type": "typing", "conversation": conversation, "on": True})
        agent_typing = await customer.expect("typing", sender="agent")
        await desk.send(
            {
                "type": "message.send",
                "conversation": conversation,
                "client_id": "a1",
                "body": "请问是哪一款？",
            }
        )
        answer = await message_from(customer, "agent")
        await desk.send(
            {"type": "read", "conversation": conversation, "up_to_seq": question["seq"]}
        )
        receipt = await customer.expect("read")
        await customer.close()
        await desk.close()
        return status, assigned, customer_typing, question, agent_typing, answer, receipt

    status, assigned, customer_typing, question, agent_typing, answer, receipt = asyncio.run(
        scenario()
    )

    assert status["agent"] == {"name": agent.display_name}
    assert assigned["by"] == "routing"
    assert customer_typing["sender"] == "customer" and customer_typing["on"] is True
    assert agent_typing == {"type": "typing", "sender": "agent", "on": True}
    assert (answer["body"], answer["sender_name"]) == ("请问是哪一款？", agent.display_name)
    assert answer["seq"] == question["seq"] + 1
    assert receipt["up_to_seq"] == question["seq"]
    assert Conversation.objects.get(pk=conversation).assignee == agent


def test_clients_of_a_killed_server_move_to_the_other_and_resume(private_redis, start_daphnes):
    servers = start_daphnes(2, redis_url=private_redis.url)
    doomed = servers[0]
    agent = AgentFactory()
    session = open_session(doomed)
    conversation = session["conversation"]
    take_conversation(conversation_id=conversation, agent=agent)

    def balanced(path: str):
        """As a load balancer in front: each new socket goes to the next server."""
        turn = itertools.cycle(servers)
        return lambda: f"{next(turn).ws_url}{path}"

    customer = Party("customer", url=balanced(f"/ws/chat/?token={session['token']}"))
    desk = Party(
        "agent",
        url=balanced("/ws/desk/"),
        headers={"Cookie": login_cookie(agent.user)},
        origin=doomed.url,
        conversation=conversation,
    )

    async def scenario():
        await customer.start()  # both on the first server
        await desk.start()
        await customer.send("c1", "订单 LM1001 什么时候发货？")
        await desk.shows("订单 LM1001 什么时候发货？")
        await desk.send("a1", "今天下午发货")
        await customer.shows("今天下午发货")

        # Both speak and the server dies at once: whether it stored the messages or not,
        # the clients send them again on the other server with the same client_ids.
        await customer.send("c2", "能改地址吗？")
        await desk.send("a2", "可以，请告诉我新地址")
        doomed.kill()
        await customer.shows("能改地址吗？", "可以，请告诉我新地址")
        await desk.shows("能改地址吗？", "可以，请告诉我新地址")

        await customer.send("c3", "上海市徐汇区")
        await desk.shows("上海市徐汇区")
        await desk.send("a3", "已改好")
        await customer.shows("已改好")
        await customer.stop()
        await desk.stop()

    asyncio.run(scenario())

    stored = persisted(conversation)
    said = [body for _, body in stored[1:]]  # after "the agent joined"
    assert said[:2] == ["订单 LM1001 什么时候发货？", "今天下午发货"]
    assert sorted(said[2:4]) == sorted(["能改地址吗？", "可以，请告诉我新地址"])
    assert said[4:] == ["上海市徐汇区", "已改好"]
    assert bodies(customer) == stored
    assert bodies(desk) == stored
    assert customer.closes == [1006] and desk.closes == [1006]
    assert customer.connections == 2 and desk.connections == 2
    assert not doomed.running and servers[1].running
