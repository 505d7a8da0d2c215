"""Bulk changes from the ticket list: through change_ticket per ticket, on the agent's
visible tickets only, closed ones skipped, at most 200, a form POST with CSRF."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import translation

from conversations.models import Agent
from tests.factories import AgentFactory, CustomerFactory, SkillGroupFactory
from tickets import selectors
from tickets.models import Priority, Ticket, TicketEvent
from tickets.services import TicketInputError, change_ticket, open_ticket
from tickets.services.bulk import MAX_BULK, bulk_change

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def agent(group):
    # Offline: new tickets wait unassigned in the group, so what the test assigns is all.
    agent = AgentFactory(display_name="李娜", status=Agent.Status.OFFLINE)
    agent.skill_groups.add(group)
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


def changes_of(ticket_obj) -> list[tuple[str, str, str]]:
    return list(
        TicketEvent.objects.filter(ticket=ticket_obj, kind="changed")
        .order_by("field")
        .values_list("field", "old", "new")
    )


def bulk(desk, tickets, **form):
    return desk.post(
        reverse("tickets:bulk"),
        {"ticket": [str(t.pk) for t in tickets], **form},
        HTTP_ACCEPT_LANGUAGE="en",
    )


# --- the service ---------------------------------------------------------------------


def test_a_bulk_change_goes_through_change_ticket_with_a_row_per_field(agent, group):
    one, two = ticket(group), ticket(group)
    due_before = one.resolution_due

    result = bulk_change(
        actor=agent, ticket_ids=[one.pk, two.pk], priority=Priority.URGENT, assignee=agent
    )

    assert (result.changed, result.skipped_count) == ([one.pk, two.pk], 0)
    for changed in (one, two):
        changed.refresh_from_db()
        assert (changed.priority, changed.assignee) == (Priority.URGENT, agent)
        assert changes_of(changed) == [("assignee", "", "李娜"), ("priority", "20", "40")]
        assert (
            TicketEvent.objects.filter(ticket=changed, kind="changed").first().actor == agent.user
        )
    assert one.resolution_due < due_before  # the clock follows the urgent target


def test_tickets_the_agent_cannot_see_are_ignored_and_reported(agent, group):
    mine = ticket(group)
    theirs = ticket(SkillGroupFactory(code="presales"))

    result = bulk_change(
        actor=agent, ticket_ids=[mine.pk, theirs.pk, 10**12], status="pending_internal"
    )

    assert result.changed == [mine.pk]
    assert result.not_visible == [theirs.pk, 10**12]
    assert Ticket.objects.get(pk=theirs.pk).status == "new"
    assert not changes_of(theirs)


def test_a_closed_ticket_is_skipped_and_reported(agent, group):
    open_one, closed = ticket(group), ticket(group)
    change_ticket(ticket_id=closed.pk, actor=None, status="closed")

    result = bulk_change(actor=agent, ticket_ids=[open_one.pk, closed.pk], priority=Priority.HIGH)

    assert (result.changed, result.closed, result.skipped_count) == ([open_one.pk], [closed.pk], 1)
    assert Ticket.objects.get(pk=closed.pk).priority == Priority.NORMAL
    assert [f for f, _old, _new in changes_of(closed)] == ["status"]


def test_a_ticket_already_as_asked_gets_no_timeline_row(agent, group):
    already = ticket(group, priority=Priority.HIGH)

    result = bulk_change(actor=agent, ticket_ids=[already.pk], priority=Priority.HIGH)

    assert (result.changed, result.unchanged) == ([], [already.pk])
    assert not changes_of(already)


def test_more_than_two_hundred_tickets_are_refused_and_nothing_changes(agent, group):
    first = ticket(group)
    ids = [first.pk, *range(10**9, 10**9 + MAX_BULK)]

    with translation.override("en"), pytest.raises(TicketInputError, match="At most 200 tickets"):
        bulk_change(actor=agent, ticket_ids=ids, priority=Priority.URGENT)

    assert Ticket.objects.get(pk=first.pk).priority == Priority.NORMAL


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"priority": 99}, "Unknown priority."),
        ({"priority": True}, "Unknown priority."),
        ({"status": "lost"}, "Unknown status lost."),
        ({"assignee": "me"}, "Unknown agent."),
        ({"skill_group": "aftersales"}, "Unknown group."),
        ({"add_tag": "x" * 41}, "A tag is 1 to 40 characters long."),
        ({"subject": "new"}, "These fields cannot be changed: subject"),
        ({}, "Choose what to change."),
    ],
)
def test_a_bad_change_is_refused_before_any_ticket_is_touched(agent, group, changes, message):
    one = ticket(group)

    with translation.override("en"), pytest.raises(TicketInputError, match=message):
        bulk_change(actor=agent, ticket_ids=[one.pk], **changes)

    assert not changes_of(one)


@pytest.mark.parametrize("ids", [[], "1,2", [1.5], [-1], [2**63]])
def test_ids_that_are_no_ticket_numbers_are_refused(agent, ids):
    with pytest.raises(TicketInputError):
        bulk_change(actor=agent, ticket_ids=ids, priority=Priority.HIGH)


def test_a_tag_is_added_to_the_tags_a_ticket_has(agent, group):
    tagged = ticket(group, tags=["vip"])

    bulk_change(actor=agent, ticket_ids=[tagged.pk], add_tag="退款")

    assert Ticket.objects.get(pk=tagged.pk).tags == ["vip", "退款"]
    assert changes_of(tagged) == [("tags", "vip", "vip, 退款")]


def test_a_ticket_the_tag_does_not_fit_is_skipped_with_the_reason(agent, group):
    full = ticket(group, tags=[f"t{n}" for n in range(20)])
    other = ticket(group)

    with translation.override("en"):
        result = bulk_change(actor=agent, ticket_ids=[full.pk, other.pk], add_tag="more")

    assert result.changed == [other.pk]
    assert result.refused == {full.pk: "At most 20 tags."}
    assert len(Ticket.objects.get(pk=full.pk).tags) == 20


def test_a_bulk_change_refreshes_the_agents_view_counts(
    agent, group, django_capture_on_commit_callbacks
):
    one = ticket(group)
    views = selectors.list_views(agent)
    assert selectors.view_counts(agent, views)[0] == 0  # my open tickets

    with django_capture_on_commit_callbacks(execute=True):
        bulk_change(actor=agent, ticket_ids=[one.pk], assignee=agent)

    assert selectors.view_counts(agent, views)[0] == 1


# --- the form ------------------------------------------------------------------------


def test_assign_to_me_and_a_priority_from_the_list(desk, agent, group):
    one, two, untouched = ticket(group), ticket(group), ticket(group)
    back = reverse("tickets:list") + "?priority=20&page=1"

    response = bulk(desk, [one, two], quick="assign_me", priority="40", next=back)
    page = desk.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert response.status_code == 303 and response["Location"] == back
    assert "2 tickets changed." in page
    changed = Ticket.objects.filter(pk__in=[one.pk, two.pk])
    assert {(t.assignee_id, t.priority) for t in changed} == {(agent.pk, 40)}
    assert Ticket.objects.get(pk=untouched.pk).assignee is None


def test_status_group_another_agent_and_a_tag_from_the_form(desk, group):
    one = ticket(group)
    colleague = AgentFactory()
    SkillGroupFactory(code="billing")

    bulk(
        desk,
        [one],
        status="pending_internal",
        group="billing",
        assignee=str(colleague.pk),
        tag="发票",
    )

    one.refresh_from_db()
    assert (one.status, one.skill_group.code, one.assignee, one.tags) == (
        "pending_internal",
        "billing",
        colleague,
        ["发票"],
    )
    assert [f for f, _old, _new in changes_of(one)] == ["assignee", "skill_group", "status", "tags"]


def test_the_message_reports_what_was_skipped_and_ignored(desk, group):
    closed, hidden = ticket(group), ticket(SkillGroupFactory(code="presales"))
    change_ticket(ticket_id=closed.pk, actor=None, status="closed")

    response = desk.post(
        reverse("tickets:bulk"),
        {"ticket": [str(closed.pk), str(hidden.pk), "abc"], "priority": "40"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    text = response.content.decode()
    assert f"1 closed ticket skipped: {closed.number}." in text
    assert "2 tickets not found or not yours to see: ignored." in text
    assert Ticket.objects.get(pk=hidden.pk).priority == Priority.NORMAL


def test_over_two_hundred_from_the_form_is_a_message_and_nothing_changes(desk, group):
    first = ticket(group)
    ids = [str(first.pk), *(str(n) for n in range(10**9, 10**9 + MAX_BULK))]

    response = desk.post(
        reverse("tickets:bulk"),
        {"ticket": ids, "priority": "40"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.redirect_chain[-1][1] == 303
    assert "At most 200 tickets at once: choose fewer." in response.content.decode()
    assert Ticket.objects.get(pk=first.pk).priority == Priority.NORMAL


@pytest.mark.parametrize(
    "form",
    [{"priority": "x"}, {"status": "<b>"}, {"assignee": "123456"}, {"group": "nope"}, {}],
)
def test_bad_form_values_are_a_message_not_an_error(desk, group, form):
    one = ticket(group)

    response = bulk(desk, [one], **form)

    assert response.status_code == 303
    assert not changes_of(one)


def test_a_foreign_next_address_goes_back_to_the_list(desk, group):
    response = bulk(desk, [ticket(group)], priority="40", next="https://evil.example/")

    assert response["Location"] == reverse("tickets:list")


def test_the_bulk_address_is_a_post(desk):
    assert desk.get(reverse("tickets:bulk")).status_code == 405


def test_a_bulk_change_needs_the_forms_csrf_token(agent, group):
    one = ticket(group)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(agent.user)

    forged = browser.post(reverse("tickets:bulk"), {"ticket": [str(one.pk)], "priority": "40"})
    assert forged.status_code == 403
    assert Ticket.objects.get(pk=one.pk).priority == Priority.NORMAL

    token = browser.get(reverse("tickets:list")).context["csrf_token"]
    done = browser.post(
        reverse("tickets:bulk"),
        {"ticket": [str(one.pk)], "priority": "40", "csrfmiddlewaretoken": token},
    )
    assert done.status_code == 303
    assert Ticket.objects.get(pk=one.pk).priority == Priority.URGENT


def test_the_list_has_a_checkbox_per_ticket_inside_the_bulk_form(desk, group):
    one = ticket(group)

    body = desk.get(reverse("tickets:list")).content.decode()

    form = body[
        body.index('id="ticket-bulk"') : body.index("</form>", body.index('id="ticket-bulk"'))
    ]
    assert f'name="ticket" value="{one.pk}"' in form
    assert 'name="csrfmiddlewaretoken"' in form


@pytest.mark.parametrize(
    "form",
    [
        {"ticket": ["²"], "priority": "40"},
        {"ticket": ["１"], "priority": "²"},
        {"ticket": ["1"], "assignee": "²"},
        {"ticket": ["1"], "group": "a\x00"},
        {"ticket": ["1"], "tag": "\x00"},
        {"ticket": [str(10**30)], "priority": "40"},
    ],
)
def test_hostile_form_values_are_a_message_not_an_error(desk, group, form):
    one = ticket(group)

    response = desk.post(reverse("tickets:bulk"), form)

    assert response.status_code == 303
    assert not changes_of(one)


def test_a_tag_with_a_nul_is_stored_without_it(agent, group):
    one = ticket(group)

    bulk_change(actor=agent, ticket_ids=[one.pk], add_tag="退\x00款")

    assert Ticket.objects.get(pk=one.pk).tags == ["退款"]
