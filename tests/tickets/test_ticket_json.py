"""The ticket as partners see it, built by PostgreSQL for the breach job's events
(tickets.events.ticket_json_sql): the partner API's serializer's output exactly, for
tickets with and without each of the things a ticket may lack."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import AgentFactory, ConversationFactory, CustomerFactory, SkillGroupFactory
from tickets import selectors
from tickets.events import number_sql, ticket_data, ticket_json_sql, utc_sql
from tickets.models import Priority, SLAPolicy, Ticket, TicketClock, number_of
from tickets.services import change_ticket, open_ticket

pytestmark = pytest.mark.django_db


def built_by_sql(ticket: Ticket) -> dict:
    expression, joins = ticket_json_sql("t")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ({expression})::json FROM tickets_ticket t {joins} WHERE t.id = %s",  # noqa: S608
            [ticket.pk],
        )
        (data,) = cursor.fetchone()
    return data


def as_the_api_writes_it(ticket: Ticket) -> dict:
    return ticket_data(selectors.partner_tickets().get(pk=ticket.pk))


def a_ticket(**fields) -> Ticket:
    return open_ticket(
        customer=fields.pop("customer", None) or CustomerFactory(),
        subject=fields.pop("subject", "耳机没声音"),
        type_code=fields.pop("type_code", "question"),
        source=fields.pop("source", Ticket.Source.CHAT),
        **fields,
    )


def test_a_bare_ticket_a_visitor_left():
    ticket = a_ticket()  # no external id, no group, nobody, no conversation, no tags

    assert built_by_sql(ticket) == as_the_api_writes_it(ticket)
    assert built_by_sql(ticket)["customer"] is None


def test_a_ticket_with_everything():
    group = SkillGroupFactory(code="aftersales")
    agent = AgentFactory(display_name='小王 "Wang" <b>')
    agent.skill_groups.add(group)
    customer = CustomerFactory(external_id="u-1001")
    later, earlier = ConversationFactory(customer=customer), ConversationFactory(customer=customer)
    type(earlier).objects.filter(pk=earlier.pk).update(
        created_at=timezone.now() - timedelta(days=1)
    )
    ticket = a_ticket(
        customer=customer,
        subject="屏幕 <script>alert(1)</script> 'quoted' \\ back",
        description="第一行\n第二行\t\x01",
        type_code="repair",
        skill_group=group,
        assignee=agent,
        tags=["售后", "vip客户"],
        conversation=later,
    )
    ticket.conversations.add(earlier)
    change_ticket(ticket_id=ticket.pk, actor=None, priority=Priority.URGENT)
    Ticket.objects.filter(pk=ticket.pk).update(sla_paused_at=timezone.now())
    TicketClock.objects.filter(ticket=ticket, clock="first_response").update(
        breached_at=timezone.now(), paused=True
    )

    sql, api = built_by_sql(ticket), as_the_api_writes_it(ticket)
    assert sql == api
    assert sql["conversations"] == [str(earlier.pk), str(later.pk)]  # oldest first
    assert sql["sla"]["breached"]["first_response"] is True and sql["sla"]["paused"] is True


def test_resolved_and_closed_times_and_no_policy():
    ticket = a_ticket()
    change_ticket(ticket_id=ticket.pk, actor=None, status=Ticket.Status.CLOSED)
    SLAPolicy.objects.update(is_default=False)
    Ticket.objects.filter(pk=ticket.pk).update(sla_policy=None)

    sql = built_by_sql(ticket)
    assert sql == as_the_api_writes_it(ticket)
    assert sql["closed_at"] and sql["resolved_at"] and sql["sla"]["policy"] is None


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 4, 9, 30, tzinfo=UTC),  # no microseconds: none written
        datetime(2026, 12, 4, 9, 30, 5, 7, tzinfo=UTC),
        datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_times_to_the_microsecond_in_utc(moment):
    ticket = a_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(created_at=moment, updated_at=moment)
    TicketClock.objects.filter(ticket=ticket, clock="resolution").update(due=moment)

    sql = built_by_sql(ticket)
    assert sql == as_the_api_writes_it(ticket)
    assert sql["created_at"].endswith("Z")


@pytest.mark.parametrize("pk", [1, 123, 999_999, 1_000_000, 12_345_678_901])
def test_numbers_as_number_of_writes_them(pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {number_sql('%s')}", [pk] * 3)  # noqa: S608
        assert cursor.fetchone()[0] == number_of(pk)


def test_utc_of_null_is_null():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {utc_sql('NULL::timestamptz')}")  # noqa: S608
        assert cursor.fetchone()[0] is None
