"""The ticket list at scale: a capped count instead of counting every match, pages that
stay within it, the search through the subject's character pairs, "my groups"."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.factories import CustomerFactory, SkillGroupFactory
from tickets import selectors
from tickets.models import Ticket
from tickets.services import change_ticket, open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def desk(client, agent):
    client.force_login(agent.user)
    return client


def ticket(group=None, **fields):
    defaults = {
        "customer": CustomerFactory(),
        "subject": "耳机坏了",
        "type_code": "repair",
        "source": "agent",
        "skill_group": group,
    }
    return open_ticket(**(defaults | fields))


def test_beyond_the_cap_the_count_says_more_and_the_page_says_why(desk, group, monkeypatch):
    monkeypatch.setattr(selectors, "LIST_COUNT_CAP", 3)
    for _ in range(4):
        ticket(group)

    body = desk.get(reverse("tickets:list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<span class="count" id="ticket-total">3+</span>' in body
    assert "More than 3 tickets match" in body


def test_a_page_beyond_the_last_is_the_last(agent, group):
    for _ in range(5):
        ticket(group)

    page = selectors.ticket_page(agent, selectors.TicketFilters(), "99", per_page=2)

    assert (page.number, page.num_pages, len(page.tickets), page.has_next) == (3, 3, 1, False)


@pytest.mark.parametrize("number", ["", "x", "-1", "0", "9" * 40])
def test_what_is_no_page_number_is_the_first_page(agent, group, number):
    ticket(group)

    page = selectors.ticket_page(agent, selectors.TicketFilters(), number, per_page=2)

    assert page.number == 1 and len(page.tickets) == 1


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("扫地机器", True),
        ("REFUND", True),
        ("机器人 漏", True),
        ("机人", False),
        ("robot", False),
        ("%", False),
        ("_", False),
    ],
)
def test_the_search_finds_a_piece_of_the_subject(agent, group, q, found):
    match = ticket(group, subject="扫地机器人 漏水 refund please")
    ticket(group, subject="耳机坏了")

    result = list(selectors.ticket_list(agent, selectors.TicketFilters(q=q)))

    assert result == ([match] if found else [])


def test_a_common_search_is_read_in_the_lists_order_and_finds_the_same(agent, group, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_COUNT_CAP", 1)
    urgent = ticket(group, subject="降噪耳机没有声音", priority=40)
    normal = ticket(group, subject="降噪耳机 充不进电")
    ticket(group, subject="发票开错了")
    by_name = ticket(group, customer=CustomerFactory(name="降噪先生"))

    page = selectors.ticket_page(agent, selectors.TicketFilters(q="降噪"), "1", per_page=50)

    assert (page.count, page.capped) == (1, True)
    assert page.tickets == [urgent, normal, by_name]


def test_the_search_finds_a_customers_name_and_a_number(agent, group):
    by_name = ticket(group, customer=CustomerFactory(name="欧阳娜娜"))
    other = ticket(group)

    assert list(selectors.ticket_list(agent, selectors.TicketFilters(q="阳娜"))) == [by_name]
    assert list(selectors.ticket_list(agent, selectors.TicketFilters(q=other.number))) == [other]


def test_a_search_of_one_character_matches_numbers_only(agent, group):
    ticket(group, subject="耳")

    assert list(selectors.ticket_list(agent, selectors.TicketFilters(q="耳"))) == []


def test_my_groups_are_the_groups_i_am_in_not_tickets_of_no_group(desk, agent, group):
    mine = ticket(group)
    ticket(None)
    ticket(SkillGroupFactory(code="presales"))

    tickets = list(selectors.ticket_list(agent, selectors.TicketFilters(group="@mine")))
    body = desk.get(reverse("tickets:list"), {"group": "@mine"}).content.decode()

    assert tickets == [mine]
    assert body.count("data-ticket=") == 1


def test_the_search_is_no_wider_than_what_the_agent_may_see(agent):
    ticket(SkillGroupFactory(code="presales"), subject="扫地机器人")

    assert not selectors.ticket_list(agent, selectors.TicketFilters(q="扫地")).exists()
    assert Ticket.objects.count() == 1


def test_a_search_of_every_status_finds_open_and_closed_tickets(agent, group):
    still_open = ticket(group, subject="扫地机器人 漏水")
    closed = ticket(group, subject="扫地机器人 噪音")
    change_ticket(ticket_id=closed.pk, actor=None, status="closed")

    everywhere = selectors.TicketFilters(status="", q="扫地机器")
    only_closed = selectors.TicketFilters(status="closed", q="扫地机器")

    assert set(selectors.ticket_list(agent, everywhere)) == {still_open, closed}
    assert list(selectors.ticket_list(agent, only_closed)) == [closed]


def test_the_customer_level_filter_keeps_the_tickets_of_that_level(agent, group):
    vip = ticket(group, customer=CustomerFactory(level="vip"))
    ticket(group, customer=CustomerFactory(level="normal"))

    assert list(selectors.ticket_list(agent, selectors.TicketFilters(level="vip"))) == [vip]


@pytest.mark.parametrize(
    "query",
    [
        {"q": "\x00"},
        {"q": "耳\x00机"},
        {"type": "\x00"},
        {"group": "a\x00b"},
        {"page": "²"},
        {"priority": "²"},
        {"q": "²"},
        {"q": "T-²"},
        {"q": "\\%_"},
        {"q": "x" * 5000},
        {"group": "@mine", "q": "<script>"},
    ],
)
def test_hostile_filters_are_a_list_not_an_error(desk, group, query):
    ticket(group)

    assert desk.get(reverse("tickets:list"), query).status_code == 200
