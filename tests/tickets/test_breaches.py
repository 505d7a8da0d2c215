"""The breach job: every clock that ran out is marked once, however many runs there are."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import CustomerFactory
from tests.threads import at_once
from tickets.models import Ticket, TicketClock, TicketEvent
from tickets.services import change_ticket, open_ticket, record_breaches
from tickets.tasks import record_breaches_task

pytestmark = pytest.mark.django_db(transaction=True)


def overdue_tickets(count: int) -> list[Ticket]:
    customer = CustomerFactory()
    tickets = [
        open_ticket(customer=customer, subject=f"#{n}", type_code="question", source="agent")
        for n in range(count)
    ]
    TicketClock.objects.filter(clock="first_response").update(
        due=timezone.now() - timedelta(minutes=1)
    )
    return tickets


def test_a_clock_that_ran_out_is_marked_once_with_a_timeline_row():
    (ticket,) = overdue_tickets(1)

    assert record_breaches() == [(ticket.pk, "first_response")]
    assert record_breaches() == []

    ticket.refresh_from_db()
    assert ticket.first_response_breached_at is not None
    assert ticket.resolution_breached_at is None  # its own clock has not run out
    rows = TicketEvent.objects.filter(ticket=ticket, kind="sla")
    assert list(rows.values_list("field", "new")) == [("first_response", "breached")]


def test_two_workers_at_once_mark_each_breach_exactly_once():
    tickets = overdue_tickets(60)
    results = at_once(lambda: record_breaches())

    marked = [pair for result in results for pair in result]
    assert sorted(marked) == sorted((t.pk, "first_response") for t in tickets)
    assert TicketEvent.objects.filter(kind="sla").count() == 60


def test_a_paused_clock_never_breaches():
    (ticket,) = overdue_tickets(1)
    change_ticket(ticket_id=ticket.pk, actor=None, status=Ticket.Status.PENDING_CUSTOMER)
    TicketClock.objects.update(due=timezone.now() - timedelta(minutes=1))

    assert record_breaches() == []


def test_the_scheduled_task_reports_how_many_it_marked():
    overdue_tickets(3)
    assert record_breaches_task.apply().get() == 3
    assert record_breaches_task.apply().get() == 0
