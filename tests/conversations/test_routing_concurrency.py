"""Routing under real concurrency on PostgreSQL: 200 handoffs at once against 20 agents."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.services import close_conversation, request_handoff
from tests.factories import AgentFactory, ConversationFactory, CustomerFactory, SkillGroupFactory

pytestmark = pytest.mark.django_db(transaction=True)

AGENTS, CAPACITY, CONVERSATIONS, THREADS = 20, 5, 200, 12


def _in_thread(function):
    def wrapper(*args):
        try:
            return function(*args)
        finally:
            connection.close()

    return wrapper


@pytest.fixture
def crowd():
    """20 agents of capacity 5 in one group; 200 conversations ready to hand off, every
    fifth of them a VIP's, queued a second apart so their order is known."""
    group = SkillGroupFactory(strategy="least_load", prefer_returning_agent=False)
    agents = [AgentFactory(capacity=CAPACITY) for _ in range(AGENTS)]
    for agent in agents:
        agent.skill_groups.add(group)
    vip = CustomerFactory(level="vip")
    conversations = [
        ConversationFactory(customer=vip if n % 5 == 0 else CustomerFactory())
        for n in range(CONVERSATIONS)
    ]
    return group, agents, conversations


def _hand_off_all(group, conversations):
    with ThreadPoolExecutor(THREADS) as pool:
        list(
            pool.map(
                _in_thread(
                    lambda c: request_handoff(conversation_id=c.id, skill_group_code=group.code)
                ),
                conversations,
            )
        )


def test_every_conversation_is_assigned_once_and_no_agent_goes_over_capacity(crowd):
    group, agents, conversations = crowd

    _hand_off_all(group, conversations)

    rows = Conversation.objects.filter(pk__in=[c.id for c in conversations])
    assert rows.filter(status="assigned").count() == AGENTS * CAPACITY
    assert rows.filter(status="queued").count() == CONVERSATIONS - AGENTS * CAPACITY
    loads = Counter(rows.filter(status="assigned").values_list("assignee_id", flat=True))
    assert sorted(loads.values()) == [CAPACITY] * AGENTS
    joined = Counter(
        Message.objects.filter(
            conversation__in=rows, sender="system", meta__event="assigned"
        ).values_list("conversation_id", flat=True)
    )
    assert set(joined.values()) == {1}
    assert len(joined) == AGENTS * CAPACITY


def test_the_rest_wait_in_priority_order_and_are_assigned_as_places_free(crowd):
    group, agents, conversations = crowd
    _hand_off_all(group, conversations)
    # Spread the queue times one second apart, in the order of creation, to know the order.
    start = timezone.now() - timedelta(hours=1)
    waiting = list(Conversation.objects.filter(status="queued").order_by("created_at"))
    for n, conversation in enumerate(waiting):
        Conversation.objects.filter(pk=conversation.pk).update(
            queued_at=start + timedelta(seconds=n)
        )
    expected = [c.pk for c in sorted(waiting, key=lambda c: (-c.priority, waiting.index(c)))]
    held = list(Conversation.objects.filter(status="assigned").order_by("assigned_at"))

    # Free 30 places, from several threads at once.
    with ThreadPoolExecutor(THREADS) as pool:
        list(
            pool.map(
                _in_thread(
                    lambda c: close_conversation(
                        conversation_id=c.id, agent=c.assignee, resolution="resolved"
                    )
                ),
                held[:30],
            )
        )

    now_assigned = set(
        Conversation.objects.filter(pk__in=expected, status="assigned").values_list("pk", flat=True)
    )
    assert now_assigned == set(expected[:30])
    loads = Counter(
        Conversation.objects.filter(status="assigned").values_list("assignee_id", flat=True)
    )
    assert max(loads.values()) <= CAPACITY
    assert sum(loads.values()) == AGENTS * CAPACITY
