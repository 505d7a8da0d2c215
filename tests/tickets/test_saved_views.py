"""Saved views of the desk's ticket list: saved from the filters, checked, shared by
supervisors only, shown as tabs with counts in one query, renamed, moved and deleted by
their owner only."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from conversations.models import Agent
from tests.factories import AgentFactory, CustomerFactory, SkillGroupFactory
from tickets import selectors
from tickets.models import Priority, SavedView, Ticket, TicketClock
from tickets.services import TicketInputError, open_ticket
from tickets.services.saved_views import delete_view, rename_view, save_view

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script>'


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()  # the tabs' counts are cached per agent
    yield
    cache.clear()


@pytest.fixture
def agent(group):
    # Offline: new tickets wait unassigned in the group, so what the test assigns is all.
    agent = AgentFactory(status=Agent.Status.OFFLINE)
    agent.skill_groups.add(group)
    return agent


@pytest.fixture
def supervisor():
    agent = AgentFactory()
    agent.user.groups.add(Group.objects.get_or_create(name="Supervisors")[0])
    return agent


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


def tabs(body: str) -> str:
    start = body.index('id="ticket-views"')
    return body[start : body.index("</nav>", start)]


# --- saving and checking ------------------------------------------------------------


def test_saving_the_current_filters_makes_a_tab_that_opens_them(desk, agent, group):
    urgent = ticket(group, priority=Priority.URGENT)
    ticket(group, priority=Priority.LOW)

    response = desk.post(
        reverse("tickets:views"),
        {"name": "  紧急   售后 ", "filter_priority": "40", "filter_group": "aftersales"},
    )

    view = SavedView.objects.get()
    assert (view.owner, view.name, view.scope) == (agent, "紧急 售后", "private")
    assert view.filters == {"priority": "40", "group": "aftersales"}
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:list") + "?priority=40&group=aftersales"
    body = desk.get(response["Location"]).content.decode()
    assert f'data-view="{view.pk}" class="active"' in tabs(body)
    assert body.count("data-ticket=") == 1 and urgent.number in body


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"colour": "red"}, "Unknown filter: colour."),
        ({"priority": "99"}, "99 is not a value of the filter priority."),
        ({"status": "lost"}, "lost is not a value of the filter status."),
        ({"sla": XSS}, "is not a value of the filter sla."),
        ({"type": "nope"}, "There is no ticket type nope."),
        ({"group": "nope"}, "There is no group nope."),
        ({"q": "x" * 101}, "The search is too long (at most 100 characters)."),
        ({"priority": ["40"]}, "The filter priority must be text."),
        ("status=open", "The filters must be a set of names and values."),
    ],
)
def test_filters_the_list_does_not_know_are_refused_with_a_message(agent, filters, message):
    with translation.override("en"), pytest.raises(TicketInputError) as refused:
        save_view(owner=agent, name="mine", filters=filters)

    assert message in str(refused.value)
    assert not SavedView.objects.exists()


def test_a_view_with_a_bad_filter_from_the_form_is_refused_on_the_list(desk):
    response = desk.post(
        reverse("tickets:views"),
        {"name": "x", "filter_colour": "red"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    assert "Unknown filter: colour." in response.content.decode()
    assert not SavedView.objects.exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [("   ", "Give the view a name."), ("x" * 61, "The name is too long (at most 60")],
)
def test_a_view_needs_a_name_of_at_most_sixty_characters(agent, name, message):
    with translation.override("en"), pytest.raises(TicketInputError, match=re.escape(message)):
        save_view(owner=agent, name=name, filters={})
    assert not SavedView.objects.exists()


def test_two_views_of_one_agent_may_not_share_a_name(agent):
    save_view(owner=agent, name="Mine", filters={})

    with translation.override("en"), pytest.raises(TicketInputError, match="already have"):
        save_view(owner=agent, name="Mine", filters={"priority": "40"})
    assert SavedView.objects.count() == 1


def test_a_hostile_name_is_shown_as_text(desk, agent):
    save_view(owner=agent, name=XSS, filters={})

    body = desk.get(reverse("tickets:list")).content.decode()

    assert XSS not in body and "&lt;script&gt;" in body


# --- sharing -------------------------------------------------------------------------


def test_an_agent_cannot_share_a_view(agent):
    with translation.override("en"), pytest.raises(TicketInputError, match="Only a supervisor"):
        save_view(owner=agent, name="ours", filters={}, scope="everyone")
    assert not SavedView.objects.exists()


def test_a_view_shared_with_everyone_is_a_tab_of_every_agent(desk, supervisor):
    shared = save_view(
        owner=supervisor, name="全部紧急", filters={"priority": "40"}, scope="everyone"
    )

    assert f'data-view="{shared.pk}"' in tabs(desk.get(reverse("tickets:list")).content.decode())


def test_a_view_shared_with_a_group_is_seen_by_its_members_only(supervisor, group):
    shared = save_view(owner=supervisor, name="售后", filters={}, scope="group", skill_group=group)
    member, outsider = AgentFactory(), AgentFactory()
    member.skill_groups.add(group)

    assert list(selectors.saved_views(member)) == [shared]
    assert list(selectors.saved_views(outsider)) == []


def test_a_private_view_is_its_owners_alone(agent):
    save_view(owner=agent, name="mine", filters={})

    assert list(selectors.saved_views(AgentFactory())) == []


def test_sharing_with_a_group_needs_the_group(supervisor):
    with translation.override("en"), pytest.raises(TicketInputError, match="Choose the group"):
        save_view(owner=supervisor, name="x", filters={}, scope="group")


# --- tabs and counts -----------------------------------------------------------------


def test_the_built_in_views_count_what_they_show(desk, agent, group):
    ticket(group)  # unassigned in my group
    mine = ticket(group)
    Ticket.objects.filter(pk=mine.pk).update(assignee=agent)
    late = ticket(group)
    TicketClock.objects.filter(ticket=late, clock="resolution").update(breached_at=timezone.now())
    soon = ticket(group)
    TicketClock.objects.filter(ticket=soon, clock="first_response").update(
        due=timezone.now() + timedelta(minutes=20)
    )
    ticket(SkillGroupFactory(code="presales"))  # another group's: in no count

    views = selectors.list_views(agent)
    counts = dict(zip([v.key for v in views], selectors.view_counts(agent, views), strict=True))

    assert counts == {"mine": 1, "unassigned": 3, "breached": 1, "due_soon": 1}
    body = desk.get(reverse("tickets:list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for name in ("My open tickets", "Unassigned in my groups", "Breached", "Due within the hour"):
        assert name in tabs(body)


def test_the_counts_of_all_views_take_one_query(agent, group):
    ticket(group)
    for n in range(6):
        save_view(owner=agent, name=f"v{n}", filters={"priority": str(Priority.values[n % 4])})
    views = selectors.list_views(agent)
    assert len(views) == 10
    agent.is_supervisor  # noqa: B018 (known once per request, before the counts)

    with CaptureQueriesContext(connection) as queries:
        selectors.view_counts(agent, views)

    assert len(queries) == 1


def test_a_view_searching_customers_is_still_counted_in_the_one_query(agent, group):
    ticket(group, customer=CustomerFactory(name="王芳"))
    save_view(owner=agent, name="王", filters={"q": "王芳"})
    views = selectors.list_views(agent)
    agent.is_supervisor  # noqa: B018 (known once per request, before the counts)

    with CaptureQueriesContext(connection) as queries:
        counts = selectors.view_counts(agent, views)

    assert len(queries) == 1 and counts[-1] == 1


def test_the_list_takes_as_many_queries_with_ten_views_as_with_none(desk, agent, group):
    ticket(group)
    with CaptureQueriesContext(connection) as none:
        desk.get(reverse("tickets:list"))
    for n in range(10):
        save_view(owner=agent, name=f"v{n}", filters={"q": f"耳机{n}"})
    selectors.forget_view_counts(agent)

    with CaptureQueriesContext(connection) as ten:
        body = desk.get(reverse("tickets:list")).content.decode()

    assert body.count("data-view=") == 14
    assert len(ten) == len(none)


def test_counts_come_from_the_cache_for_a_while(desk, agent, group):
    ticket(group)
    desk.get(reverse("tickets:list"))

    with CaptureQueriesContext(connection) as again:
        desk.get(reverse("tickets:list"))

    assert not any("SELECT (SELECT count(*)" in q["sql"] for q in again.captured_queries)


def test_a_count_beyond_the_cap_shows_as_more(desk, agent, group, monkeypatch):
    monkeypatch.setattr(selectors, "VIEW_COUNT_CAP", 2)
    for _ in range(3):
        ticket(group)

    body = desk.get(reverse("tickets:list")).content.decode()

    assert '<span class="count">2+</span>' in tabs(body)


# --- rename, move, delete ------------------------------------------------------------


def test_the_owner_renames_and_deletes_a_view(desk, agent):
    view = save_view(owner=agent, name="old", filters={})

    desk.post(reverse("tickets:view-rename", args=[view.pk]), {"name": "new"})
    assert SavedView.objects.get().name == "new"

    response = desk.post(reverse("tickets:view-delete", args=[view.pk]))
    assert response.status_code == 303 and response["Location"] == reverse("tickets:views")
    assert not SavedView.objects.exists()


def test_another_agents_view_is_a_404_and_stays_as_it_was(desk):
    theirs = save_view(owner=AgentFactory(), name="theirs", filters={})

    for name, data in (("view-rename", {"name": "mine"}), ("view-delete", {}), ("view-move", {})):
        assert desk.post(reverse(f"tickets:{name}", args=[theirs.pk]), data).status_code == 404
    assert SavedView.objects.get().name == "theirs"


def test_a_view_id_beyond_any_row_is_a_404(desk):
    assert desk.post(reverse("tickets:view-delete", args=[10**30])).status_code == 404


def test_renaming_to_a_name_in_use_is_refused_with_a_message(desk, agent):
    save_view(owner=agent, name="one", filters={})
    two = save_view(owner=agent, name="two", filters={})

    response = desk.post(
        reverse("tickets:view-rename", args=[two.pk]),
        {"name": "one"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert "You already have a view named one." in response.content.decode()
    assert SavedView.objects.get(pk=two.pk).name == "two"


def test_moving_a_view_earlier_changes_the_order_of_the_tabs(desk, agent):
    first = save_view(owner=agent, name="first", filters={})
    second = save_view(owner=agent, name="second", filters={"priority": "40"})

    desk.post(reverse("tickets:view-move", args=[second.pk]), {"direction": "up"})

    assert [v.saved for v in selectors.list_views(agent) if v.saved] == [second, first]


def test_rename_of_another_agents_view_by_the_service_is_refused(agent):
    theirs = save_view(owner=AgentFactory(), name="theirs", filters={})
    with pytest.raises(SavedView.DoesNotExist):
        rename_view(owner=agent, view_id=theirs.pk, name="mine")
    with pytest.raises(SavedView.DoesNotExist):
        delete_view(owner=agent, view_id=theirs.pk)


def test_the_manage_page_lists_my_views_and_those_shared_with_me(desk, agent, supervisor):
    mine = save_view(owner=agent, name="我的视图", filters={"priority": "40"})
    shared = save_view(owner=supervisor, name="共享视图", filters={}, scope="everyone")

    body = desk.get(reverse("tickets:views")).content.decode()

    assert f'data-view="{mine.pk}"' in body[body.index('id="my-views"') :]
    assert f'data-view="{shared.pk}"' in body[body.index('id="shared-views"') :]
    assert "?priority=40" in body


# --- methods and CSRF ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["view-rename", "view-move", "view-delete"])
def test_changing_a_view_is_a_post(desk, agent, name):
    view = save_view(owner=agent, name="v", filters={})
    assert desk.get(reverse(f"tickets:{name}", args=[view.pk])).status_code == 405
    assert desk.put(reverse("tickets:views")).status_code == 405


def test_saving_a_view_needs_the_forms_csrf_token(agent):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(agent.user)

    forged = browser.post(reverse("tickets:views"), {"name": "forged"})
    assert forged.status_code == 403
    assert not SavedView.objects.exists()

    page = browser.get(reverse("tickets:list"))
    token = page.context["csrf_token"]
    saved = browser.post(reverse("tickets:views"), {"name": "real", "csrfmiddlewaretoken": token})
    assert saved.status_code == 302
    assert SavedView.objects.get().name == "real"


def test_a_nul_in_a_name_or_a_filter_is_dropped_not_an_error(desk, agent):
    response = desk.post(
        reverse("tickets:views"),
        {"name": "我的\x00视图", "filter_type": "\x00", "filter_q": "耳\x00机"},
    )

    assert response.status_code == 302
    view = SavedView.objects.get()
    assert (view.name, view.filters) == ("我的视图", {"q": "耳机"})
