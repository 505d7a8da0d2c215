"""Two agents of two teams settle a ticket together: one asks from the ticket page, the
other is told live on the desk, accepts and answers on a phone, and the answer is in the
ticket's timeline. Real browsers over the real stack."""

import pytest
from playwright.sync_api import expect

from tests.e2e.desk_pages import PHONE, open_desk
from tests.factories import AgentFactory, CustomerFactory, SkillGroupFactory
from tickets.defaults import ensure_defaults
from tickets.models import CollaborationRequest, SLAPolicy, SLATarget, TicketType
from tickets.services import open_ticket

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def defaults():
    """The migration's types and default SLA policy (an earlier test's flush removed them)."""
    ensure_defaults(TicketType, SLAPolicy, SLATarget)


def test_an_agent_asks_another_team_which_answers_into_the_ticket(live, new_context, call_service):
    aftersales = SkillGroupFactory(code="aftersales", name_zh="售后服务", name_en="After-sales")
    tech = SkillGroupFactory(code="tech", name_zh="技术支持", name_en="Technical support")
    asking = AgentFactory(display_name="李娜")
    asking.skill_groups.add(aftersales)
    answering = AgentFactory(display_name="王工")
    answering.skill_groups.add(tech)
    ticket = call_service(
        open_ticket,
        customer=CustomerFactory(name="张三"),
        subject="耳机充不进电",
        type_code="repair",
        source="agent",
        skill_group=aftersales,
    )

    # The engineer's desk is open on a phone; the ticket is not theirs to open yet.
    engineer = open_desk(new_context, live, answering, viewport=PHONE)
    response = engineer.request.get(f"{live.url}/desk/tickets/{ticket.pk}/")
    assert response.status == 404

    # The agent asks the technical team from the ticket page.
    agent = open_desk(new_context, live, asking)
    agent.goto(f"{live.url}/desk/tickets/{ticket.pk}/")
    expect(agent.locator("#collab-ask")).to_have_attribute("open", "")
    agent.select_option("#collab-group", "tech")
    agent.fill("#collab-note", "固件 1.2 是否有充电的已知问题？")
    agent.click("#collab-send")
    expect(agent.locator("#collab-requests li.status-open")).to_contain_text("固件 1.2")
    expect(agent.locator("#ticket-timeline")).to_contain_text("固件 1.2")

    # The engineer is told live, and finds the request with the ticket's summary.
    expect(engineer.locator("#desk-toasts .toast")).to_contain_text(ticket.number)
    engineer.goto(f"{live.url}/desk/tickets/")
    engineer.click("#collab-requests-link")
    request_item = engineer.locator("#collab-for-us li.collab-request")
    expect(request_item).to_contain_text("固件 1.2")
    expect(request_item.locator(".collab-context")).to_contain_text("张三")
    expect(request_item.locator("time[data-countdown]")).to_be_visible()

    request_item.locator(".collab-accept").click()
    request_item = engineer.locator("#collab-for-us li.collab-request")
    expect(request_item).to_have_class("collab-request status-accepted")
    expect(request_item.locator(".collab-owner")).to_contain_text("王工")
    assert engineer.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    request_item.locator("textarea[name=text]").fill("是的，升级到固件 1.3 即可解决")
    request_item.locator(".collab-answer-send").click()
    expect(engineer.locator("#collab-for-us li.collab-request")).to_have_count(0)
    expect(engineer.locator("#collab-sent")).to_be_visible()

    # The agent reads the answer in the ticket's timeline and the request is done.
    agent.reload()
    expect(agent.locator("#ticket-timeline .collab-answered")).to_contain_text("固件 1.3")
    expect(agent.locator("#collab-requests li.status-answered")).to_contain_text("固件 1.3")
    assert CollaborationRequest.objects.get().owner == answering
    agent.goto(f"{live.url}/desk/notices/")
    expect(agent.locator("#notice-list li[data-kind=collaboration]").first).to_contain_text(
        "固件 1.3"
    )
