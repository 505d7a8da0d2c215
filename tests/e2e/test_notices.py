"""An agent hears of a ticket given to them while on the desk: a toast, the unread count,
the notices page; in a real browser over the real stack."""

import pytest
from playwright.sync_api import expect

from tests.e2e.desk_pages import PHONE, open_desk
from tests.factories import AgentFactory, CustomerFactory, SkillGroupFactory
from tickets.models import Ticket
from tickets.services import open_ticket

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("ticket_defaults"),
]


def test_a_ticket_given_to_the_agent_shows_a_toast_and_the_unread_count_on_a_phone(
    live, new_context, call_service
):
    group = SkillGroupFactory(code="aftersales")
    agent = AgentFactory(display_name="李娜")
    agent.skill_groups.add(group)
    page = open_desk(new_context, live, agent, viewport=PHONE)
    expect(page.locator("#desk-notice-count")).to_be_hidden()

    ticket = call_service(
        open_ticket,
        customer=CustomerFactory(),
        subject="耳机没声音",
        type_code="repair",
        source=Ticket.Source.API,
        skill_group=group,
    )

    toast = page.locator("#desk-toasts .toast")
    expect(toast).to_have_text(f"工单 {ticket.number} 已分配给您：耳机没声音")
    expect(page.locator("#desk-notice-count")).to_have_text("1")
    toast.click()
    expect(page.locator("h1")).to_contain_text(ticket.number)
    expect(page.locator("#desk-notice-count")).to_have_text("1")

    page.goto(f"{live.url}/desk/notices/")
    expect(page.locator("#notice-list li.unread")).to_have_count(1)
    page.get_by_role("button", name="全部标为已读").click()
    expect(page.locator("#notice-list li.unread")).to_have_count(0)
    expect(page.locator("#desk-notice-count")).to_be_hidden()
