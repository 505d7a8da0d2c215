"""The desk list's SLA filters (breached, at risk, due within the hour), read from the
tickets' clocks: each shows the open tickets it names and no other, whichever clock it
is, and a paused clock is in none of the running ones."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from tests.factories import CustomerFactory
from tickets.models import Ticket
from tickets.selectors import TicketFilters, ticket_list
from tickets.services import add_comment, change_ticket, open_ticket, record_breaches

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPENED = datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)
# The default policy's normal priority: first response in 4 h (at risk from 192 min),
# resolution in 24 h (at risk from 19.2 h). `group` and `agent` (of it): tests/tickets/conftest.py.


def opened(group, *, minutes_ago: int = 0) -> Ticket:
    with time_machine.travel(OPENED - timedelta(minutes=minutes_ago), tick=False):
        return open_ticket(
            customer=CustomerFactory(),
            subject="耳机没声音",
            type_code="question",
            source=Ticket.Source.AGENT,
            skill_group=group,
        )


def shown(agent, sla: str, now: datetime) -> set[int]:
    return set(ticket_list(agent, TicketFilters(sla=sla), now=now).values_list("pk", flat=True))


def test_each_sla_filter_shows_the_tickets_whose_clock_is_in_that_state(group, agent):
    fresh = opened(group)
    at_risk = opened(group, minutes_ago=200)  # first response at 80 %, due in 40 min
    due_soon = opened(group, minutes_ago=230)  # due in 10 min, and at risk
    breached = opened(group, minutes_ago=300)
    record_breaches(now=OPENED)
    now = OPENED + timedelta(seconds=30)

    assert shown(agent, "at_risk", now) == {at_risk.pk, due_soon.pk}
    assert shown(agent, "due_soon", now) == {at_risk.pk, due_soon.pk}
    assert shown(agent, "breached", now) == {breached.pk}
    assert fresh.pk in shown(agent, "", now)


def test_the_at_risk_filter_follows_the_resolution_clock_once_first_response_is_answered(
    group, agent
):
    ticket = opened(group, minutes_ago=20 * 60)  # resolution at risk after 19.2 h
    with time_machine.travel(OPENED - timedelta(hours=19, minutes=50), tick=False):
        add_comment(ticket_id=ticket.pk, body="我们看一下", author=agent.user)

    assert shown(agent, "at_risk", OPENED) == {ticket.pk}
    assert shown(agent, "breached", OPENED) == set()


def test_a_paused_clock_is_neither_at_risk_nor_due_soon_and_a_breach_stays_on_the_list(
    group, agent
):
    waiting = opened(group, minutes_ago=230)
    late = opened(group, minutes_ago=300)
    record_breaches(now=OPENED)
    for ticket in (waiting, late):
        with time_machine.travel(OPENED, tick=False):
            change_ticket(ticket_id=ticket.pk, actor=None, status=Ticket.Status.PENDING_CUSTOMER)
    now = OPENED + timedelta(seconds=30)

    assert shown(agent, "at_risk", now) == set()
    assert shown(agent, "due_soon", now) == set()
    assert shown(agent, "breached", now) == {late.pk}


def test_the_at_risk_list_in_the_desk_shows_the_ticket_and_its_due_time(client, group, agent):
    ticket = opened(group, minutes_ago=200)
    other = opened(group)
    client.force_login(agent.user)

    with time_machine.travel(OPENED, tick=False):
        body = client.get(reverse("tickets:list"), {"sla": "at_risk"}).content.decode()

    assert f'data-ticket="{ticket.number}"' in body
    assert f'data-ticket="{other.number}"' not in body
    due = ticket.resolution_due.astimezone(SHANGHAI)
    assert f"{due:%Y-%m-%d %H:%M}" in body


def test_a_breach_of_a_closed_ticket_is_in_the_list_of_all_statuses_only(group, agent):
    late, closed = opened(group, minutes_ago=300), opened(group, minutes_ago=300)
    record_breaches(now=OPENED)
    with time_machine.travel(OPENED, tick=False):
        change_ticket(ticket_id=closed.pk, actor=None, status=Ticket.Status.CLOSED)
    every = set(
        ticket_list(agent, TicketFilters(sla="breached", status=""), now=OPENED).values_list(
            "pk", flat=True
        )
    )

    assert shown(agent, "breached", OPENED) == {late.pk}
    assert every == {late.pk, closed.pk}
    assert set(closed.clocks.values_list("ticket_open", flat=True)) == {False}
    with time_machine.travel(OPENED, tick=False):
        add_comment(ticket_id=closed.pk, body="还是不行", from_customer=True)  # reopened
    assert shown(agent, "breached", OPENED) == {late.pk, closed.pk}


def test_the_customer_panel_reads_its_tickets_clocks_in_the_same_query(
    group, django_assert_num_queries
):
    from tickets.selectors import customer_tickets

    ticket = opened(group, minutes_ago=300)
    record_breaches(now=OPENED)

    with django_assert_num_queries(2):  # the latest with their clocks, the counts
        (shown,) = customer_tickets(customer_id=ticket.customer_id)["tickets"]["latest"]
        due, breached = shown.resolution_due, shown.first_response_breached_at

    ticket.refresh_from_db()
    assert due == ticket.resolution_due is not None
    assert breached == ticket.first_response_breached_at == OPENED
