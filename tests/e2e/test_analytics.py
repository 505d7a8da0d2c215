"""The analytics dashboards in a real browser on a phone: a supervisor opens the
overview, changes the range, drills into a chart to the conversations behind a bar; the
live board's numbers for today change without a reload."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from analytics.periods import day_bounds, today
from analytics.services.rollup import roll_up
from conversations.services import post_customer_message, request_handoff
from tests.analytics.scenario import build
from tests.e2e.desk_pages import PHONE, open_desk
from tests.factories import AgentFactory, ConversationFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def boss():
    agent = AgentFactory(display_name="主管 Boss", status="away")
    agent.user.groups.add(Group.objects.get_or_create(name="Supervisors")[0])
    return agent


def test_a_supervisor_changes_the_range_and_drills_into_a_chart(live, new_context, boss):
    scene = build(today() - timedelta(days=3))
    start, end = day_bounds(scene.day)
    roll_up(start=start, end=end)
    page = open_desk(new_context, live, boss, locale="en-US", viewport=PHONE)

    page.goto(f"{live.url}/desk/analytics/")
    card = page.locator(".target-card", has_text="Response rate")
    expect(card.locator(".target-value")).to_have_text("75.0%")
    expect(card).to_have_class("target-card missed")
    expect(page.locator("#chart-trend_conversations rect.chart-bar")).to_have_count(7)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.fill("#scope-from", scene.day.isoformat())
    page.fill("#scope-to", scene.day.isoformat())
    page.locator("#analytics-scope button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/desk/analytics/\?from={scene.day}&to={scene.day}&"))
    expect(page.locator("#chart-trend_conversations rect.chart-bar")).to_have_count(1)
    expect(page.locator("#chart-trend_conversations title").first).to_have_text(
        "Conversations per day"
    )

    page.locator("#chart-by_customer_level a.chart-link").first.click()
    expect(page.locator("#analytics-drill h1")).to_have_text("Conversations")
    expect(page.locator("#drill-list tbody tr")).to_have_count(6)  # the normal-level ones
    page.locator("#drill-list tbody tr a").first.click()
    expect(page).to_have_url(re.compile(r"/desk/c/[0-9a-f-]{36}/$"))


def test_the_live_board_counts_todays_conversations_without_a_reload(
    live, new_context, boss, call_service
):
    page = open_desk(new_context, live, boss, locale="en-US", path="/desk/board/")
    page.goto(f"{live.url}/desk/board/")
    expect(page.locator("#desk-connection")).to_have_class("desk-connection online")
    today_count = page.locator('#board-today li[data-metric="conversations"] strong')
    expect(today_count).to_have_text("0")

    conversation = ConversationFactory()
    call_service(
        post_customer_message, conversation_id=conversation.id, client_id="c1", body="我要找人工"
    )
    call_service(request_handoff, conversation_id=conversation.id)

    expect(today_count).to_have_text("1")
    expect(page.locator('#board-today li[data-metric="response_rate"] strong')).to_have_text("0.0%")
