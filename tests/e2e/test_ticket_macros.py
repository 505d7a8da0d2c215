"""An agent applies a macro on a ticket in one click and sees what it did: a real browser
over the real stack, at a phone's width."""

import pytest
from playwright.sync_api import expect

from tests.e2e.desk_pages import PHONE, open_desk
from tests.factories import AgentFactory, CustomerFactory, SkillGroupFactory
from tickets.defaults import ensure_defaults
from tickets.models import Macro, SLAPolicy, SLATarget, Ticket, TicketType
from tickets.services import open_ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def defaults():
    """The migration's types and default SLA policy (an earlier test's flush removed them)."""
    ensure_defaults(TicketType, SLAPolicy, SLATarget)


def test_an_agent_applies_a_macro_and_sees_the_reply_and_the_new_status(
    live, new_context, call_service
):
    group = SkillGroupFactory(code="aftersales", name_zh="售后服务", name_en="After-sales")
    agent = AgentFactory(display_name="李娜")
    agent.skill_groups.add(group)
    ticket = call_service(
        open_ticket,
        customer=CustomerFactory(name="王芳"),
        subject="耳机坏了",
        type_code="repair",
        source=Ticket.Source.AGENT,
        skill_group=group,
    )
    Macro.objects.create(
        name_zh="索要订单号（测试）",
        name_en="Ask for the order number (test)",
        actions=[
            {"action": "set", "field": "status", "value": "pending_customer"},
            {"action": "reply", "zh": "您好 {customer}，请告诉我们工单 {number} 的订单号。"},
        ],
    )

    desk = open_desk(new_context, live, agent, viewport=PHONE)
    desk.goto(f"{live.url}/desk/tickets/{ticket.pk}/")
    expect(desk.locator("#ticket-number")).to_have_text(ticket.number)
    desk.click("#macro-menu summary")
    desk.get_by_role("button", name="索要订单号（测试）").click()

    timeline = desk.locator("#ticket-timeline")
    expect(timeline).to_contain_text(f"您好 王芳，请告诉我们工单 {ticket.number} 的订单号。")
    expect(timeline).to_contain_text("索要订单号（测试）")
    expect(timeline).to_contain_text("等待顾客")
    expect(desk.locator("#ticket-meta")).to_contain_text("等待顾客")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING_CUSTOMER
