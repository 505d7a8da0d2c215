"""A new ticket goes to an agent of its group by the group's strategy, who is told."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import Agent, Conversation, DedicatedAgent, Notice, SkillGroup
from tests.factories import AgentFactory, ConversationFactory, CustomerFactory, SkillGroupFactory
from tests.threads import at_once
from tickets.models import Ticket, TicketEvent
from tickets.services import change_ticket, open_ticket

pytestmark = pytest.mark.django_db


def member(group, **fields) -> Agent:
    agent = AgentFactory(**fields)
    agent.skill_groups.add(group)
    return agent


def ticket(group, customer=None, **fields) -> Ticket:
    return open_ticket(
        customer=customer or CustomerFactory(),
        subject="耳机坏了",
        type_code="repair",
        source=Ticket.Source.API,
        skill_group=group,
        **fields,
    )


def test_least_load_gives_the_ticket_to_the_agent_with_fewest_open_tickets():
    group = SkillGroupFactory(strategy=SkillGroup.Strategy.LEAST_LOAD)
    busy, free = member(group), member(group)
    for _n in range(2):
        ticket(group, assignee=busy)
    ticket(group, assignee=free)

    assert ticket(group).assignee == free


def test_resolved_tickets_do_not_count_as_load():
    group = SkillGroupFactory(strategy=SkillGroup.Strategy.LEAST_LOAD)
    first, second = member(group), member(group)
    for _n in range(3):
        done = ticket(group, assignee=first)
        change_ticket(ticket_id=done.pk, actor=None, status=Ticket.Status.RESOLVED)
    ticket(group, assignee=second)

    assert ticket(group).assignee == first


def test_round_robin_takes_turns():
    group = SkillGroupFactory(strategy=SkillGroup.Strategy.ROUND_ROBIN)
    agents = [member(group), member(group), member(group)]

    given = [ticket(group).assignee for _n in range(6)]

    assert given == agents + agents


def test_only_agents_at_work_take_tickets_and_with_nobody_the_ticket_waits_in_the_group():
    group = SkillGroupFactory()
    member(group, status=Agent.Status.OFFLINE)
    away = member(group, status=Agent.Status.AWAY)

    assert ticket(group).assignee == away
    Agent.objects.filter(pk=away.pk).update(status=Agent.Status.OFFLINE)
    waiting = ticket(group)
    assert waiting.assignee is None
    assert waiting.skill_group == group


def test_the_agent_who_served_the_customer_last_gets_their_ticket():
    group = SkillGroupFactory(prefer_returning_agent=True)
    member(group)
    known = member(group)
    customer = CustomerFactory()
    ConversationFactory(
        customer=customer,
        assignee=known,
        status=Conversation.Status.CLOSED,
        assigned_at=timezone.now() - timedelta(hours=5),
    )
    for _n in range(3):
        ticket(group, assignee=known)  # busier, but the customer knows them

    assert ticket(group, customer=customer).assignee == known


def test_a_vip_groups_dedicated_agent_comes_first():
    group = SkillGroupFactory(code="vip", prefer_dedicated_agent=True, prefer_returning_agent=False)
    member(group)
    dedicated = member(group)
    vip = CustomerFactory(level="vip")
    DedicatedAgent.objects.create(customer=vip, agent=dedicated)
    ticket(group, assignee=dedicated)

    assert ticket(group, customer=vip).assignee == dedicated


def test_the_assignee_is_told_and_the_timeline_says_who_has_it():
    group = SkillGroupFactory()
    agent = member(group, display_name="王芳")

    opened = ticket(group)

    notice = Notice.objects.get(agent=agent)
    assert notice.kind == "ticket_assigned"
    assert opened.number in notice.text_en and notice.url == f"/desk/tickets/{opened.pk}/"
    row = TicketEvent.objects.get(ticket=opened, kind="assigned")
    assert (row.field, row.new) == ("assignee", "王芳")


def test_an_agent_who_takes_a_ticket_themselves_is_not_told_but_a_colleague_given_it_is():
    group = SkillGroupFactory()
    me, colleague = member(group), member(group, status=Agent.Status.OFFLINE)
    opened = ticket(group, assignee=me, actor=me.user)
    assert me.notices.count() == 0

    change_ticket(ticket_id=opened.pk, actor=me.user, assignee=colleague)

    assert colleague.notices.filter(kind="ticket_assigned").count() == 1


@pytest.mark.django_db(transaction=True)
def test_tickets_opened_at_once_are_shared_out_evenly():
    group = SkillGroupFactory(strategy=SkillGroup.Strategy.LEAST_LOAD)
    agents = [member(group), member(group)]
    customer = CustomerFactory()

    at_once(lambda: ticket(group, customer=customer), times=6)

    load = Counter(Ticket.objects.values_list("assignee_id", flat=True))
    assert load == {agents[0].pk: 3, agents[1].pk: 3}
