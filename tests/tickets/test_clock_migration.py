"""Migration 0010 moves the SLA clocks out of the ticket's row into TicketClock: every
ticket's clocks arrive as they were (due, at risk, warned, breached, paused), the jobs
and the API read them as before, and going back puts them into the ticket again."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import CustomerFactory
from tickets.models import Ticket, TicketClock, TicketType
from tickets.services import record_breaches, warn_at_risk

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("tickets", "0009_vip_revisit_type")]
AFTER = [("tickets", "0010_sla_clocks_apart")]
NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
FIELDS = ("due", "risk_at", "warned_at", "breached_at")


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.fixture
def old_tickets():
    """Tickets written by the code before 0009, in the columns it had: one whose first
    response is overdue and was warned, with resolution running; one waiting on the
    customer; one closed with a breached resolution; one with no clock at all."""
    apps = migrate(BEFORE)
    try:
        old_ticket = apps.get_model("tickets", "Ticket")
        common = {
            "type_id": TicketType.objects.get(code="question").pk,
            "customer_id": CustomerFactory().pk,
            "source": "chat",
            "subject": "耳机没声音",
        }
        late = old_ticket.objects.create(
            **common,
            status="new",
            first_response_due=NOW - timedelta(minutes=5),
            first_response_risk_at=NOW - timedelta(minutes=53),
            first_response_warned_at=NOW - timedelta(minutes=52),
            resolution_due=NOW + timedelta(hours=20),
            resolution_risk_at=NOW + timedelta(hours=15),
        )
        waiting = old_ticket.objects.create(
            **common,
            status="pending_customer",
            sla_paused_at=NOW - timedelta(hours=1),
            first_responded_at=NOW - timedelta(hours=2),
            resolution_due=NOW - timedelta(minutes=1),
            resolution_risk_at=NOW - timedelta(hours=3),
        )
        closed = old_ticket.objects.create(
            **common,
            status="closed",
            resolution_breached_at=NOW - timedelta(days=3),
        )
        bare = old_ticket.objects.create(**common, status="closed")
        yield {"late": late.pk, "waiting": waiting.pk, "closed": closed.pk, "bare": bare.pk}
    finally:
        # Every app's latest, not tickets' 0010 alone: going back to 0009 also unapplied
        # what depends on tickets (analytics' tables), which later tests need.
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def clocks_of(pk: int) -> dict[str, tuple]:
    return {
        row.clock: (*(getattr(row, name) for name in FIELDS), row.paused, row.ticket_open)
        for row in TicketClock.objects.filter(ticket_id=pk)
    }


def test_every_clock_arrives_as_it_was(old_tickets):
    migrate(AFTER)

    assert clocks_of(old_tickets["late"]) == {
        "first_response": (
            NOW - timedelta(minutes=5),
            NOW - timedelta(minutes=53),
            NOW - timedelta(minutes=52),
            None,
            False,
            True,
        ),
        "resolution": (
            NOW + timedelta(hours=20),
            NOW + timedelta(hours=15),
            None,
            None,
            False,
            True,
        ),
    }
    assert clocks_of(old_tickets["waiting"]) == {
        "resolution": (NOW - timedelta(minutes=1), NOW - timedelta(hours=3), None, None, True, True)
    }
    assert clocks_of(old_tickets["closed"]) == {
        "resolution": (None, None, None, NOW - timedelta(days=3), False, False)
    }
    assert clocks_of(old_tickets["bare"]) == {}


def test_the_ticket_reads_its_migrated_clocks_and_the_jobs_go_on_from_them(old_tickets):
    migrate(AFTER)

    closed = Ticket.objects.get(pk=old_tickets["closed"])
    assert closed.resolution_breached_at == NOW - timedelta(days=3)
    assert closed.first_response_due is None
    # The overdue first response breaches once; the paused resolution does not; the
    # warning already given is not given again.
    assert record_breaches(now=NOW) == [(old_tickets["late"], "first_response")]
    assert warn_at_risk(now=NOW) == []


def test_going_back_puts_the_clocks_into_the_ticket_again(old_tickets):
    migrate(AFTER)
    record_breaches(now=NOW)

    apps = migrate(BEFORE)
    old_ticket = apps.get_model("tickets", "Ticket")
    late = old_ticket.objects.get(pk=old_tickets["late"])
    assert late.first_response_breached_at == NOW
    assert late.first_response_warned_at == NOW - timedelta(minutes=52)
    assert late.resolution_due == NOW + timedelta(hours=20)
    assert late.next_response_due is None
    waiting = old_ticket.objects.get(pk=old_tickets["waiting"])
    assert (waiting.resolution_due, waiting.resolution_breached_at) == (
        NOW - timedelta(minutes=1),
        None,
    )
    assert old_ticket.objects.get(pk=old_tickets["closed"]).resolution_breached_at == (
        NOW - timedelta(days=3)
    )
