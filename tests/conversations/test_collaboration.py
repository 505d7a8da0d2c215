"""Transfer, consulting colleagues, internal notes and tags — and what the customer sees."""

import asyncio

import pytest

from conversations.models import Agent, Conversation, InternalNote, Message, Participant
from conversations.services import (
    AtCapacity,
    NotAllowed,
    Unavailable,
    add_internal_note,
    invite_colleague,
    set_conversation_tags,
    take_conversation,
    transfer_to_agent,
    transfer_to_group,
)
from tests.factories import AgentFactory, ConversationFactory, SkillGroupFactory
from tests.wsclient import Socket, login_cookie, open_session

pytestmark = pytest.mark.django_db(transaction=True)


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture
def held():
    """A conversation an agent holds."""
    agent = AgentFactory(display_name="李娜")
    conversation = ConversationFactory(status="queued", language="zh")
    take_conversation(conversation_id=conversation.id, agent=agent)
    return conversation, agent


def system_lines(conversation):
    return list(
        Message.objects.filter(conversation=conversation, sender="system")
        .order_by("seq")
        .values_list("body", flat=True)
    )


def test_a_transfer_to_a_colleague_moves_the_chat_tells_the_customer_and_leaves_a_note(held):
    conversation, agent = held
    colleague = AgentFactory(display_name="王伟")

    transfer_to_agent(
        conversation_id=conversation.id, by=agent, to_agent_id=colleague.pk, note="要退款"
    )

    conversation.refresh_from_db()
    assert (conversation.assignee, conversation.transfer_count) == (colleague, 1)
    assert "李娜 已把您的对话转给 王伟" in system_lines(conversation)[-1]
    note = InternalNote.objects.get(conversation=conversation)
    assert (note.kind, note.agent) == ("transfer", agent)
    assert "要退款" in note.body


def test_a_transfer_to_a_colleague_who_is_away_or_full_is_refused(held):
    conversation, agent = held
    away = AgentFactory(status=Agent.Status.AWAY)
    full = AgentFactory(capacity=1)
    ConversationFactory(status="assigned", assignee=full)

    with pytest.raises(Unavailable):
        transfer_to_agent(conversation_id=conversation.id, by=agent, to_agent_id=away.pk)
    with pytest.raises(AtCapacity):
        transfer_to_agent(conversation_id=conversation.id, by=agent, to_agent_id=full.pk)

    conversation.refresh_from_db()
    assert conversation.assignee == agent


def test_only_the_people_of_a_conversation_may_transfer_it(held):
    conversation, _ = held
    stranger = AgentFactory()
    colleague = AgentFactory()

    with pytest.raises(NotAllowed):
        transfer_to_agent(conversation_id=conversation.id, by=stranger, to_agent_id=colleague.pk)

    assert Conversation.objects.get(pk=conversation.id).assignee != colleague


def test_a_transfer_to_a_group_keeps_the_customers_place_and_routes_it(held):
    conversation, agent = held
    group = SkillGroupFactory(name_zh="售后服务")
    specialist = AgentFactory()
    specialist.skill_groups.add(group)
    first_queued = Conversation.objects.get(pk=conversation.id).queued_at

    transfer_to_group(conversation_id=conversation.id, by=agent, group_code=group.code)

    conversation.refresh_from_db()
    assert (conversation.skill_group, conversation.assignee) == (group, specialist)
    assert conversation.queued_at == first_queued
    assert any("售后服务" in line for line in system_lines(conversation))


def test_inviting_a_colleague_lets_them_see_and_note_but_the_assignee_keeps_it(held):
    conversation, agent = held
    colleague = AgentFactory(display_name="Emma")

    invite_colleague(conversation_id=conversation.id, by=agent, colleague_id=colleague.pk)
    add_internal_note(conversation_id=conversation.id, agent=colleague, body="先查物流")

    conversation.refresh_from_db()
    assert conversation.assignee == agent
    assert Participant.objects.filter(conversation=conversation, agent=colleague).count() == 1
    assert "Emma" in system_lines(conversation)[-1]
    assert InternalNote.objects.filter(agent=colleague, body="先查物流").exists()


def test_a_stranger_cannot_write_notes_or_tags(held):
    conversation, _ = held
    stranger = AgentFactory()

    with pytest.raises(NotAllowed):
        add_internal_note(conversation_id=conversation.id, agent=stranger, body="hi")
    with pytest.raises(NotAllowed):
        set_conversation_tags(conversation_id=conversation.id, agent=stranger, tags=["x"])

    assert not InternalNote.objects.exists()


def test_tags_are_trimmed_deduplicated_and_limited(held):
    conversation, agent = held

    tags = set_conversation_tags(
        conversation_id=conversation.id,
        agent=agent,
        tags=["  退款 ", "Refund", "refund", "", "a   b", "x" * 60],
    )

    assert tags == ["退款", "Refund", "a b", "x" * 40]
    assert Conversation.objects.get(pk=conversation.id).tags == tags
    with pytest.raises(ValueError):
        set_conversation_tags(
            conversation_id=conversation.id, agent=agent, tags=[f"t{n}" for n in range(21)]
        )


def test_notes_reach_the_agents_desk_and_never_the_customers_socket(live):
    agent = AgentFactory()
    session = open_session(live)
    take_conversation(conversation_id=session["conversation"], agent=agent)
    cookie = login_cookie(agent.user)
    conversation_id = session["conversation"]

    async def scenario():
        customer = await Socket.chat(live, session["token"])
        desk = await Socket.desk(live, cookie)
        await desk.send({"type": "subscribe", "conversation": conversation_id})
        await desk.expect("subscribed")
        await desk.send({"type": "note", "conversation": conversation_id, "body": "VIP, 小心"})
        note = await desk.expect("note")
        customer_heard_nothing = await customer.silent(within=1.0, kind="note")
        frames = []
        try:
            while True:
                frames.append(await customer.recv(timeout=0.3))
        except TimeoutError:
            pass
        await customer.close()
        await desk.close()
        return note, customer_heard_nothing, frames

    note, silent, frames = run(scenario())

    assert note["note"]["body"] == "VIP, 小心"
    assert silent
    assert all("小心" not in str(frame) for frame in frames)


def test_a_stranger_s_note_frame_is_refused(live):
    owner = AgentFactory()
    stranger = AgentFactory()
    session = open_session(live)
    take_conversation(conversation_id=session["conversation"], agent=owner)
    Conversation.objects.filter(pk=session["conversation"]).update(status="closed")
    cookie = login_cookie(stranger.user)

    async def scenario():
        desk = await Socket.desk(live, cookie)
        await desk.send({"type": "note", "conversation": session["conversation"], "body": "x"})
        error = await desk.expect("error")
        await desk.close()
        return error

    assert run(scenario())["code"] == "not_found"
    assert not InternalNote.objects.exists()
