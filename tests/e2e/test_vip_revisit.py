"""A VIP's dedicated agent, on the desk on a phone, is told of the revisit the care campaign
made for them and opens the ticket, with its due time and what to do; in a real browser
over the real stack."""

import pytest
from playwright.sync_api import expect

from conversations.models import DedicatedAgent
from conversations.services import care as sender
from customers.models import CareCampaign
from customers.services import care as claims
from tests.e2e.desk_pages import PHONE, open_desk
from tests.factories import AgentFactory, CustomerFactory, SkillGroupFactory, care_campaign
from tickets.models import Ticket, TicketType

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("ticket_defaults"),
]


def test_the_dedicated_agent_is_told_of_the_vip_revisit_and_opens_it(
    live, new_context, call_service
):
    group = SkillGroupFactory(code="vip")
    TicketType.objects.filter(code="vip_revisit").update(skill_group=group)
    care_campaign(CareCampaign.Kind.VIP_REVISIT, every_days=30)
    agent = AgentFactory(display_name="李娜")
    agent.skill_groups.add(group)
    customer = CustomerFactory(name="王芳", level="vip", timezone="Asia/Shanghai")
    DedicatedAgent.objects.create(customer=customer, agent=agent)
    page = open_desk(new_context, live, agent, viewport=PHONE)

    call_service(claims.plan_vip_revisits)
    call_service(sender.send_due_outreach)

    ticket = Ticket.objects.get(type__code="vip_revisit")
    toast = page.locator("#desk-toasts .toast")
    expect(toast).to_have_text(f"工单 {ticket.number} 已分配给您：VIP 回访：王芳")
    expect(page.locator("#desk-notice-count")).to_have_text("1")
    toast.click()
    expect(page.locator("h1")).to_contain_text(ticket.number)
    expect(page.locator("main")).to_contain_text("回访 王芳。")
    expect(page.locator("main")).to_contain_text("VIP 回访")
    assert ticket.assignee == agent and ticket.resolution_due is not None
