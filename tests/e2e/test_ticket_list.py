"""The desk's ticket list on a phone: an agent changes two tickets at once from the bulk
bar, saves the filters as a view and opens it from its tab — a real browser over the
real stack, no script needed for any of it."""

import re

import pytest
from playwright.sync_api import expect

from conversations.models import Agent
from tests.e2e.desk_pages import PHONE, open_desk
from tests.factories import AgentFactory, CustomerFactory, SkillGroupFactory
from tickets.defaults import ensure_defaults
from tickets.models import SavedView, SLAPolicy, SLATarget, Ticket, TicketType
from tickets.services import open_ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def defaults():
    """The migration's types and default SLA policy (an earlier test's flush removed them)."""
    ensure_defaults(TicketType, SLAPolicy, SLATarget)


def test_an_agent_assigns_two_tickets_to_themselves_saves_a_view_and_opens_it(
    live, new_context, call_service
):
    group = SkillGroupFactory(code="aftersales", name_zh="售后服务", name_en="After-sales")
    # Offline: new tickets wait unassigned in the group, so what the test assigns is all.
    agent = AgentFactory(display_name="李娜", status=Agent.Status.OFFLINE)
    agent.skill_groups.add(group)
    one, two, other = (
        call_service(
            open_ticket,
            customer=CustomerFactory(name=f"顾客{n}"),
            subject=subject,
            type_code="repair",
            source="agent",
            skill_group=group,
        )
        for n, subject in enumerate(["耳机没有声音", "扫地机器人漏水", "发票开错了"])
    )
    desk = open_desk(new_context, live, agent, viewport=PHONE)
    desk.goto(f"{live.url}/desk/tickets/")
    expect(desk.locator("#ticket-list li[data-ticket]")).to_have_count(3)

    # Two tickets chosen, a priority, "assign to me": both change, the third does not.
    for chosen in (one, two):
        desk.locator(f'li[data-ticket="{chosen.number}"] input[name="ticket"]').check()
    expect(desk.locator("#bulk-selected")).to_have_text("(2)")
    desk.select_option("#bulk-priority", "40")
    desk.click("#bulk-assign-me")
    expect(desk.locator(".flash li")).to_have_count(1)
    for chosen in (one, two):
        row = desk.locator(f'li[data-ticket="{chosen.number}"]')
        expect(row.locator(".assignee")).to_have_text("李娜")
        expect(row).to_have_class(re.compile(r"\bpriority-40\b"))
    expect(desk.locator(f'li[data-ticket="{other.number}"] .assignee')).not_to_have_text("李娜")
    assert set(Ticket.objects.filter(assignee=agent).values_list("pk", flat=True)) == {
        one.pk,
        two.pk,
    }

    # The urgent ones as a view of their own, then opened again from its tab.
    desk.select_option(".ticket-filters select[name=priority]", "40")
    desk.click(".ticket-filters button[type=submit]")
    expect(desk.locator("#ticket-list li[data-ticket]")).to_have_count(2)
    desk.click("#save-view summary")
    desk.fill("#save-view-name", "我的紧急工单")
    desk.click("#save-view-submit")
    view = SavedView.objects.get()
    expect(desk.locator("#ticket-views a.active")).to_contain_text("我的紧急工单")

    desk.click('#ticket-views a[data-view="breached"]')
    expect(desk.locator("#ticket-list li[data-ticket]")).to_have_count(0)
    desk.click(f'#ticket-views a[data-view="{view.pk}"]')
    expect(desk).to_have_url(re.compile(r"[?&]priority=40\b"))
    expect(desk.locator("#ticket-list li[data-ticket]")).to_have_count(2)
    expect(desk.locator(f'#ticket-views a[data-view="{view.pk}"] .count')).to_have_text("2")
