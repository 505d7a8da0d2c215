"""Redis killed (SIGKILL) and started again, empty, in the middle of live chats: the sockets
come back (the server keeps them or the client reconnects), the groups are joined again,
every persisted message is shown to every party once and in seq order, nothing a customer
sent is lost or stored twice.

The test's own Redis (tests/faults/processes.py), never the machine's."""

from __future__ import annotations

import asyncio

import pytest
from celery import current_app

from conversations.models import Conversation, Message
from conversations.services import post_agent_message, take_conversation
from conversations.tasks import send_due_outreach_task
from customers.models import Outreach
from helpdesk.channel_layer import RECONNECT_CODE
from tests.conversations.test_worker_killed import Worker, birthdays
from tests.factories import AgentFactory
from tests.faults.parties import Party, bodies, persisted
from tests.wsclient import login_cookie, open_session

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def layer_on(settings):
    """Point this process's channel layer at another Redis: what it publishes (a service
    called here, as a worker would) goes where the daphne under test listens."""

    def point(redis_url: str) -> None:
        layers = {**settings.CHANNEL_LAYERS}
        layers["default"] = {
            **layers["default"],
            "CONFIG": {**layers["default"]["CONFIG"], "hosts": [{"address": redis_url}]},
        }
        settings.CHANNEL_LAYERS = layers

    return point


def test_live_chats_survive_a_redis_restart(private_redis, start_daphne, layer_on):
    server = start_daphne(redis_url=private_redis.url)
    layer_on(private_redis.url)
    agent = AgentFactory()
    session = open_session(server)
    conversation = session["conversation"]
    take_conversation(conversation_id=conversation, agent=agent)
    held = Conversation.objects.get(pk=conversation)
    customer = Party("customer", url=lambda: f"{server.ws_url}/ws/chat/?token={session['token']}")
    desk = Party(
        "agent",
        url=lambda: f"{server.ws_url}/ws/desk/",
        headers={"Cookie": login_cookie(agent.user)},
        origin=server.url,
        conversation=conversation,
    )

    async def scenario():
        await customer.start()
        await desk.start()
        await customer.send("c1", "我的订单还没到")
        await desk.shows("我的订单还没到")
        await desk.send("a1", "我帮您查一下")
        await customer.shows("我帮您查一下")

        # Redis dies; another process commits an agent's message meanwhile (its publish
        # fails and is logged). The customer, idle, keeps an open socket all along.
        private_redis.kill()
        await asyncio.to_thread(
            post_agent_message,
            conversation=held,
            agent=agent,
            client_id="a2",
            body="查到了，明天送达",
        )
        private_redis.start()
        # Nothing else is said: the customer sees the message only because the server
        # told the socket to reconnect and resume once its subscription was back.
        await customer.shows("查到了，明天送达")
        await desk.shows("查到了，明天送达")

        # Redis dies again while the customer sends: the server cannot take the message
        # (the socket closes), the client keeps it and sends it again once it is back.
        private_redis.kill()
        await customer.send("c2", "好的，谢谢")
        await asyncio.sleep(1)  # Redis stays down a while; the client keeps trying
        private_redis.start()
        await desk.shows("好的，谢谢")
        await customer.shows("好的，谢谢")

        # And the chat goes on as before, both ways, typing included.
        await customer.send_frame({"type": "typing", "on": True})
        await desk.until(lambda party: party.typing, "the customer typing")
        await desk.send("a3", "不客气")
        await customer.send("c3", "再见")
        await customer.shows("不客气", "再见")
        await desk.shows("不客气", "再见")
        await customer.stop()
        await desk.stop()

    asyncio.run(scenario())

    stored = persisted(conversation)
    said = [body for _, body in stored[1:]]  # after "the agent joined"
    assert said[:4] == ["我的订单还没到", "我帮您查一下", "查到了，明天送达", "好的，谢谢"]
    assert sorted(said[4:]) == sorted(["不客气", "再见"])
    assert bodies(customer) == stored
    assert bodies(desk) == stored
    assert RECONNECT_CODE in customer.closes
    assert not customer.pending and not desk.pending


def test_celery_takes_work_again_after_a_redis_restart_and_its_messages_reach_the_chat(
    private_redis, start_daphne, workdir, started
):
    server = start_daphne(redis_url=private_redis.url)
    queue = "lumen-faults-care"
    worker = Worker(queue, workdir / "worker.log", REDIS_URL=private_redis.url)
    started.append(worker)
    session = open_session(server)
    conversation = Conversation.objects.get(pk=session["conversation"])
    [outreach] = birthdays([conversation.customer])
    customer = Party("customer", url=lambda: f"{server.ws_url}/ws/chat/?token={session['token']}")

    async def scenario():
        await customer.start()
        private_redis.kill()
        await asyncio.sleep(1)
        private_redis.start()
        # Redis came back empty: the sweep Beat runs every minute is sent again, as Beat
        # would, to the worker that lost its broker connection with the old Redis.
        with current_app.connection_for_write(private_redis.url) as broker:
            send_due_outreach_task.apply_async(queue=queue, connection=broker)
        await customer.until(
            lambda party: any((m["meta"] or {}).get("event") == "care" for m in party.messages),
            "the birthday greeting",
        )
        await customer.stop()

    asyncio.run(scenario())

    greetings = Message.objects.filter(conversation=conversation, meta__event="care")
    assert greetings.count() == 1
    assert Outreach.objects.get(pk=outreach).status == "sent"
    assert bodies(customer) == persisted(session["conversation"])
    assert worker.process.poll() is None  # the same worker, reconnected
