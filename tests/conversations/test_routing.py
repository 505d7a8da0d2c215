"""Routing: strategies, priority, overflow, capacity, and draining the queue at once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import Agent, Conversation, DedicatedAgent, Message
from conversations.services import (
    AtCapacity,
    close_conversation,
    drain_queues,
    request_handoff,
    route_waiting,
    set_agent_status,
    take_conversation,
)
from tests.factories import AgentFactory, ConversationFactory, CustomerFactory, SkillGroupFactory

pytestmark = pytest.mark.django_db(transaction=True)


def agent_in(group, **fields):
    agent = AgentFactory(**fields)
    agent.skill_groups.add(group)
    return agent


def hand_off(group=None, **conversation_fields):
    conversation = ConversationFactory(**conversation_fields)
    request_handoff(conversation_id=conversation.id, skill_group_code=group.code if group else None)
    conversation.refresh_from_db()
    return conversation


def test_least_load_gives_the_conversation_to_the_agent_with_fewest_open_ones():
    group = SkillGroupFactory(strategy="least_load", prefer_returning_agent=False)
    busy = agent_in(group, capacity=5)
    idle = agent_in(group, capacity=5)
    for _ in range(2):
        ConversationFactory(status="assigned", assignee=busy, skill_group=group)

    conversation = hand_off(group)

    assert conversation.status == "assigned"
    assert conversation.assignee == idle


def test_round_robin_takes_turns_in_order_of_last_assignment():
    group = SkillGroupFactory(strategy="round_robin", prefer_returning_agent=False)
    now = timezone.now()
    first = agent_in(group, last_assigned_at=now - timedelta(minutes=30))
    second = agent_in(group, last_assigned_at=now - timedelta(minutes=20))
    third = agent_in(group, last_assigned_at=now - timedelta(minutes=10))

    assignees = [hand_off(group).assignee for _ in range(4)]

    assert assignees == [first, second, third, first]


def test_a_returning_customer_goes_back_to_the_agent_who_served_them_last():
    group = SkillGroupFactory(strategy="least_load", returning_window_hours=72)
    customer = CustomerFactory()
    known = agent_in(group)
    for _ in range(3):
        ConversationFactory(status="assigned", assignee=known, skill_group=group)
    agent_in(group)  # less loaded, but a stranger to this customer
    ConversationFactory(
        customer=customer,
        status="closed",
        assignee=known,
        assigned_at=timezone.now() - timedelta(hours=5),
    )

    conversation = hand_off(group, customer=customer)

    assert conversation.assignee == known


def test_a_returning_customer_outside_the_window_is_routed_like_anyone():
    group = SkillGroupFactory(strategy="least_load", returning_window_hours=24)
    customer = CustomerFactory()
    known = agent_in(group)
    ConversationFactory(status="assigned", assignee=known, skill_group=group)
    other = agent_in(group)
    ConversationFactory(
        customer=customer,
        status="closed",
        assignee=known,
        assigned_at=timezone.now() - timedelta(hours=30),
    )

    assert hand_off(group, customer=customer).assignee == other


def test_the_returning_agent_is_skipped_when_offline():
    group = SkillGroupFactory(strategy="least_load")
    customer = CustomerFactory()
    known = agent_in(group, status=Agent.Status.OFFLINE)
    other = agent_in(group)
    ConversationFactory(
        customer=customer, status="closed", assignee=known, assigned_at=timezone.now()
    )

    assert hand_off(group, customer=customer).assignee == other


def test_a_vip_goes_to_their_dedicated_agent_first():
    group = SkillGroupFactory(strategy="least_load", prefer_dedicated_agent=True)
    vip = CustomerFactory(level="vip")
    dedicated = agent_in(group)
    ConversationFactory(status="assigned", assignee=dedicated, skill_group=group)
    agent_in(group)
    DedicatedAgent.objects.create(customer=vip, agent=dedicated)

    conversation = hand_off(group, customer=vip)

    assert conversation.assignee == dedicated
    assert conversation.priority == Conversation.Priority.VIP


def test_the_router_considers_only_agents_who_could_take_what_waits():
    from conversations.selectors import agents_with_room

    group = SkillGroupFactory()
    elsewhere = SkillGroupFactory()
    member = agent_in(group)
    stranger = agent_in(elsewhere)  # online, with room, but nothing of theirs waits
    dedicated = agent_in(elsewhere)
    returning = agent_in(elsewhere)
    vip, known = CustomerFactory(level="vip"), CustomerFactory()
    DedicatedAgent.objects.create(customer=vip, agent=dedicated)
    ConversationFactory(customer=known, status="closed", assignee=returning)
    for customer in (vip, known):
        ConversationFactory(customer=customer, status="queued", skill_group=group)

    candidates = set(agents_with_room(serving={group.pk}))

    assert candidates == {member, dedicated, returning}
    assert stranger in set(agents_with_room())


def test_a_dedicated_agent_outside_the_group_still_gets_their_vip():
    group = SkillGroupFactory(prefer_dedicated_agent=True)
    elsewhere = SkillGroupFactory()
    agent_in(group)
    dedicated = agent_in(elsewhere)
    vip = CustomerFactory(level="vip")
    DedicatedAgent.objects.create(customer=vip, agent=dedicated)

    assert hand_off(group, customer=vip).assignee == dedicated


def test_an_agent_at_capacity_gets_nothing_more_and_the_rest_waits():
    group = SkillGroupFactory()
    agent = agent_in(group, capacity=2)

    conversations = [hand_off(group) for _ in range(3)]

    assert [c.status for c in conversations] == ["assigned", "assigned", "queued"]
    assert Conversation.objects.filter(assignee=agent, status="assigned").count() == 2


def test_closing_a_conversation_hands_the_freed_place_to_the_queue_at_once():
    group = SkillGroupFactory()
    agent = agent_in(group, capacity=1)
    held = hand_off(group)
    waiting = hand_off(group)
    assert waiting.status == "queued"

    close_conversation(conversation_id=held.id, agent=agent, resolution="resolved")

    waiting.refresh_from_db()
    assert (waiting.status, waiting.assignee) == ("assigned", agent)


def test_vip_is_served_before_a_longer_wait_when_a_place_frees():
    group = SkillGroupFactory()
    agent = agent_in(group, capacity=1)
    held = hand_off(group)
    normal = hand_off(group)
    vip = hand_off(group, customer=CustomerFactory(level="vip"))

    close_conversation(conversation_id=held.id, agent=agent, resolution="resolved")

    normal.refresh_from_db()
    vip.refresh_from_db()
    assert (vip.status, normal.status) == ("assigned", "queued")


def test_an_agent_coming_online_takes_the_waiting_conversations_at_once():
    group = SkillGroupFactory()
    agent = agent_in(group, status=Agent.Status.OFFLINE, capacity=5)
    waiting = [hand_off(group) for _ in range(3)]
    assert {c.status for c in waiting} == {"queued"}

    set_agent_status(agent_id=agent.pk, status=Agent.Status.ONLINE)

    assert Conversation.objects.filter(assignee=agent, status="assigned").count() == 3


def test_a_conversation_without_a_group_goes_to_any_online_agent():
    agent = AgentFactory()

    assert hand_off().assignee == agent


def test_a_conversation_overflows_to_the_fallback_group_only_after_the_wait():
    fallback = SkillGroupFactory()
    group = SkillGroupFactory(overflow_group=fallback, overflow_after=120)
    helper = agent_in(fallback)
    conversation = hand_off(group)
    assert conversation.status == "queued"

    route_waiting()
    conversation.refresh_from_db()
    assert conversation.status == "queued"

    Conversation.objects.filter(pk=conversation.pk).update(
        queued_at=timezone.now() - timedelta(seconds=121)
    )
    route_waiting()
    conversation.refresh_from_db()
    assert (conversation.status, conversation.assignee) == ("assigned", helper)


def test_an_agent_who_is_not_online_is_given_nothing():
    group = SkillGroupFactory()
    agent_in(group, status=Agent.Status.AWAY)
    waiting = ConversationFactory(status="queued", skill_group=group, queued_at=timezone.now())

    assert drain_queues() == []
    waiting.refresh_from_db()
    assert waiting.status == "queued"


def test_taking_by_hand_respects_capacity():
    agent = AgentFactory(capacity=1)
    ConversationFactory(status="assigned", assignee=agent)
    waiting = ConversationFactory(status="queued", queued_at=timezone.now())

    with pytest.raises(AtCapacity):
        take_conversation(conversation_id=waiting.id, agent=agent)

    waiting.refresh_from_db()
    assert waiting.status == "queued"


def test_the_customer_hears_who_joined_once():
    agent = AgentFactory(display_name="李娜")

    conversation = hand_off(language="zh")

    lines = list(
        Message.objects.filter(conversation=conversation, sender="system").values_list(
            "meta__event", flat=True
        )
    )
    assert lines == ["queued", "assigned"]
    assert conversation.assignee == agent
