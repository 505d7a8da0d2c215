"""Ticket events as cards in the owning group's room, and live cards of pasted references."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conversations.rooms.models import RoomMessage
from conversations.rooms.services import post_message
from tests.conversations.rooms_helpers import team
from tests.factories import ConversationFactory, CustomerFactory
from tickets.defaults import ensure_defaults
from tickets.models import SLAPolicy, SLATarget, Ticket, TicketClock, TicketType
from tickets.services import change_ticket, open_ticket, record_breaches, warn_at_risk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _ticket_defaults(db):
    ensure_defaults(TicketType, SLAPolicy, SLATarget)


@pytest.fixture
def aftersales():
    return team("王芳", "张伟")


def _ticket(group, subject="耳机没声音", **kwargs):
    return open_ticket(
        customer=CustomerFactory(),
        subject=subject,
        type_code="repair",
        source=Ticket.Source.AGENT,
        skill_group=group,
        **kwargs,
    )


def _cards(room):
    return list(
        RoomMessage.objects.filter(room=room, kind="card")
        .order_by("seq")
        .values_list("seq", "card__event", "card__number")
    )


def test_created_assigned_and_resolved_tickets_post_cards_in_their_groups_room(aftersales):
    room, (wang, zhang) = aftersales
    ticket = _ticket(room.skill_group, assignee=wang)

    change_ticket(ticket_id=ticket.pk, actor=None, assignee=zhang)
    change_ticket(ticket_id=ticket.pk, actor=None, status=Ticket.Status.RESOLVED)
    change_ticket(ticket_id=ticket.pk, actor=None, tags=["x"])  # no card for this

    assert _cards(room) == [
        (1, "created", ticket.number),
        (2, "assigned", ticket.number),
        (3, "resolved", ticket.number),
    ]
    card = RoomMessage.objects.get(room=room, seq=2)
    assert (card.card["assignee"], card.refs) == ("张伟", [{"kind": "ticket", "id": ticket.pk}])


def test_a_ticket_without_a_group_posts_no_card(aftersales):
    room, _ = aftersales
    open_ticket(customer=CustomerFactory(), subject="x", type_code="question", source="agent")

    assert not RoomMessage.objects.filter(kind="card").exists()


def test_breaches_and_risks_post_one_card_a_ticket_with_one_statement_a_batch(aftersales):
    room, (wang,) = aftersales[0], aftersales[1][:1]
    tickets = [_ticket(room.skill_group, subject=f"#{n}") for n in range(3)]
    before = room.messages.count()
    post_message(room=room, author=wang, body="between")
    TicketClock.objects.filter(clock="first_response").update(
        due=timezone.now() - timedelta(minutes=1)
    )

    with CaptureQueriesContext(connection) as few:
        record_breaches()
    breached = _cards(room)[before:]
    more = [_ticket(room.skill_group, subject=f"#{n}") for n in range(3, 23)]
    TicketClock.objects.filter(ticket__in=more, clock="first_response").update(
        due=timezone.now() - timedelta(minutes=1)
    )
    with CaptureQueriesContext(connection) as many:
        record_breaches()
    record_breaches()  # nothing left: no card twice

    assert [event for _, event, _ in breached] == ["breached"] * 3
    assert sorted(number for _, _, number in breached) == sorted(t.number for t in tickets)
    assert len(many.captured_queries) == len(few.captured_queries)  # set-based, not per ticket
    seqs = list(room.messages.order_by("seq").values_list("seq", flat=True))
    room.refresh_from_db()
    assert seqs == list(range(1, room.last_seq + 1))  # consecutive, none taken twice
    assert RoomMessage.objects.filter(room=room, card__event="breached").count() == 23


def test_a_clock_at_risk_posts_its_card(aftersales):
    room, _ = aftersales
    ticket = _ticket(room.skill_group)
    TicketClock.objects.filter(ticket=ticket, clock="resolution").update(
        risk_at=timezone.now() - timedelta(minutes=1)
    )

    warn_at_risk()

    card = RoomMessage.objects.get(room=room, card__event="at_risk")
    assert (card.card["number"], card.card["clocks"]) == (ticket.number, ["resolution"])


def test_a_pasted_ticket_number_shows_the_tickets_state_now_to_those_who_may_see_it(
    client, aftersales
):
    room, (wang, zhang) = aftersales
    ticket = _ticket(room.skill_group, subject="<b>耳机</b>")
    elsewhere, (li,) = team("李娜", code="vip", name_zh="贵宾", name_en="VIP")
    hidden = _ticket(elsewhere.skill_group, subject="secret subject")
    post_message(room=room, author=wang, body=f"看看 {ticket.number} 和 {hidden.number}")
    change_ticket(ticket_id=ticket.pk, actor=None, status=Ticket.Status.RESOLVED)
    client.force_login(zhang.user)

    html = client.get(reverse("desk:room", args=[room.pk])).content.decode()

    assert f'href="/desk/tickets/{ticket.pk}/"' in html
    assert "&lt;b&gt;耳机&lt;/b&gt;" in html and "<b>耳机</b>" not in html
    assert "已解决" in html or "Resolved" in html
    assert "secret subject" not in html


def test_a_pasted_conversation_link_shows_its_card(client, aftersales):
    room, (wang, zhang) = aftersales
    conversation = ConversationFactory(status="assigned", assignee=zhang)
    post_message(
        room=room, author=wang, body=f"http://desk.example/desk/c/{conversation.pk}/ 看一下"
    )
    client.force_login(zhang.user)

    html = client.get(reverse("desk:room", args=[room.pk])).content.decode()

    assert f'class="room-card card-conversation" href="/desk/c/{conversation.pk}/"' in html
    assert conversation.customer.display_name in html
