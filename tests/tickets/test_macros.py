"""Macros on the desk's ticket page: one click applies a bundle of actions, for those who
may; the timeline says who applied which; bad requests change nothing."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conversations.models import Agent
from conversations.roles import SUPERVISORS
from customers.models import AfterSalesRequest, Order
from tests.factories import (
    AfterSalesRequestFactory,
    AgentFactory,
    CustomerFactory,
    OrderFactory,
    SkillGroupFactory,
)
from tickets.models import (
    AutomationRule,
    Macro,
    Ticket,
    TicketComment,
    TicketEvent,
)
from tickets.services import add_comment, change_ticket, open_ticket

pytestmark = pytest.mark.django_db

XSS = '<img src=x onerror="alert(1)">'


@pytest.fixture
def agent(group):
    # Offline, so new tickets wait in the group unassigned and the timelines below hold
    # only what the macros do.
    agent = AgentFactory(status=Agent.Status.OFFLINE)
    agent.skill_groups.add(group)
    return agent


@pytest.fixture
def desk(client, agent):
    client.force_login(agent.user)
    return client


def macro(name="问订单号", *, actions=None, groups=(), name_en=None) -> Macro:
    made = Macro(
        name_zh=name,
        name_en=name_en or f"{name} (en)",
        actions=actions
        or [
            {"action": "set", "field": "status", "value": "pending_customer"},
            {
                "action": "reply",
                "zh": "请提供订单号（{number}）",
                "en": "Your order number, please",
            },
        ],
    )
    made.full_clean()
    made.save()
    made.skill_groups.set(groups)
    return made


def ticket(group=None, **fields) -> Ticket:
    defaults = {
        "customer": CustomerFactory(),
        "subject": "耳机坏了",
        "type_code": "repair",
        "source": "agent",
        "skill_group": group,
    }
    return open_ticket(**(defaults | fields))


def apply_url(opened: Ticket, made: Macro) -> str:
    return reverse("tickets:apply-macro", args=[opened.pk, made.pk])


def test_one_click_applies_the_macro_and_the_timeline_says_who_applied_it(desk, agent, group):
    opened = ticket(group)
    made = macro()

    response = desk.post(apply_url(opened, made), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:detail", args=[opened.pk])
    opened.refresh_from_db()
    assert opened.status == Ticket.Status.PENDING_CUSTOMER
    reply = TicketComment.objects.get(ticket=opened)
    assert reply.public and reply.author == agent.user
    assert reply.body == f"请提供订单号（{opened.number}）"
    rows = list(opened.events.exclude(kind="created").values_list("kind", "field", "actor"))
    assert rows[:2] == [("macro", "macro", agent.user.pk), ("changed", "status", agent.user.pk)]
    page = desk.get(reverse("tickets:detail", args=[opened.pk]), HTTP_ACCEPT_LANGUAGE="en")
    body = page.content.decode()
    assert "Macro “问订单号 (en)” applied." in body
    assert f"{agent.user.username} · " in body and "applied the macro “问订单号 (en)”" in body
    assert "请提供订单号" in body


def test_the_menu_lists_the_macros_for_everyone_and_for_the_agent_s_groups_only(desk, group):
    opened = ticket(group)
    mine = macro("售后话术", groups=[group])
    everyone = macro("通用")
    theirs = macro("售前话术", groups=[SkillGroupFactory(code="presales")])

    body = desk.get(reverse("tickets:detail", args=[opened.pk])).content.decode()

    assert apply_url(opened, mine) in body and apply_url(opened, everyone) in body
    assert apply_url(opened, theirs) not in body


def test_another_group_s_macro_is_a_404_and_changes_nothing(desk, group):
    opened = ticket(group)
    theirs = macro("售前话术", groups=[SkillGroupFactory(code="presales")])
    assert desk.post(apply_url(opened, theirs)).status_code == 404
    assert not opened.events.filter(kind="macro").exists()


def test_a_supervisor_may_apply_any_macro(client, group):
    supervisor = AgentFactory()
    supervisor.user.groups.add(Group.objects.get_or_create(name=SUPERVISORS)[0])
    client.force_login(supervisor.user)
    opened = ticket(SkillGroupFactory(code="presales"))
    theirs = macro("售前话术", groups=[group])
    assert client.post(apply_url(opened, theirs)).status_code == 302
    assert opened.events.filter(kind="macro").count() == 1


def test_a_ticket_the_agent_cannot_see_is_a_404_and_changes_nothing(desk):
    theirs = ticket(SkillGroupFactory(code="presales"))
    response = desk.post(apply_url(theirs, macro()))
    assert response.status_code == 404
    assert not TicketComment.objects.filter(ticket=theirs).exists()
    theirs.refresh_from_db()
    assert theirs.status == Ticket.Status.NEW


def test_applying_a_macro_takes_a_post(desk, group):
    opened = ticket(group)
    assert desk.get(apply_url(opened, macro())).status_code == 405


def test_an_unknown_or_inactive_macro_is_a_404(desk, group):
    opened = ticket(group)
    url = reverse("tickets:apply-macro", args=[opened.pk, 10**30])
    assert desk.post(url).status_code == 404
    asleep = macro()
    Macro.objects.filter(pk=asleep.pk).update(is_active=False)
    assert desk.post(apply_url(opened, asleep)).status_code == 404


def test_a_visitor_who_is_not_logged_in_is_sent_to_the_login(client, group):
    opened = ticket(group)
    response = client.post(apply_url(opened, macro()))
    assert response.status_code == 302 and "/desk/login/" in response["Location"]
    assert not opened.events.filter(kind="macro").exists()


def test_a_macro_on_a_closed_ticket_is_refused_with_a_message_and_writes_nothing(desk, group):
    opened = ticket(group)
    change_ticket(ticket_id=opened.pk, actor=None, status=Ticket.Status.CLOSED)

    response = desk.post(apply_url(opened, macro()), follow=True, HTTP_ACCEPT_LANGUAGE="en")

    assert "This ticket is closed." in response.content.decode()
    assert not opened.events.filter(kind="macro").exists()
    assert not TicketComment.objects.filter(ticket=opened).exists()


def test_a_macro_that_cannot_be_carried_out_leaves_no_trace(desk, group):
    doomed = SkillGroupFactory(code="doomed")
    made = macro(
        actions=[
            {"action": "reply", "zh": "已转交"},
            {"action": "set", "field": "skill_group", "value": "doomed"},
        ]
    )
    doomed.delete()
    opened = ticket(group)

    response = desk.post(apply_url(opened, made), follow=True, HTTP_ACCEPT_LANGUAGE="en")

    assert "There is no group doomed." in response.content.decode()
    assert list(opened.events.values_list("kind", flat=True)) == ["created"]
    assert not TicketComment.objects.filter(ticket=opened).exists()


def test_the_rules_on_updates_run_once_after_a_macro_for_what_it_changed(desk, group):
    rule = AutomationRule(
        name="status changed",
        trigger="updated",
        conditions=[{"field": "changed", "op": "contains", "value": ["status", "public_reply"]}],
        actions=[{"action": "add_tag", "value": "touched"}],
    )
    rule.full_clean()
    rule.save()
    opened = ticket(group)

    desk.post(apply_url(opened, macro()))

    opened.refresh_from_db()
    assert opened.tags == ["touched"]
    assert opened.events.filter(kind="rule").count() == 1


def test_the_refund_macro_replies_from_the_shop_waits_and_the_confirmation_resolves(desk, group):
    customer = CustomerFactory(name="Ann", language="en")
    order = OrderFactory(customer=customer, number="LM7", status=Order.Status.DELIVERED)
    AfterSalesRequestFactory(order=order, number="AS7", status=AfterSalesRequest.Status.OPEN)
    opened = ticket(group, customer=customer)
    refund = macro("查退款", name_en="Refund status check", actions=[{"action": "refund_status"}])

    desk.post(apply_url(opened, refund))

    opened.refresh_from_db()
    assert opened.status == Ticket.Status.PENDING_CUSTOMER
    reply = TicketComment.objects.get(ticket=opened)
    assert "Your return request AS7 for order LM7: we are reviewing it." in reply.body
    page = desk.get(reverse("tickets:detail", args=[opened.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert 'id="awaiting-confirmation"' in page.content.decode()

    add_comment(ticket_id=opened.pk, body="OK thanks", from_customer=True)

    opened.refresh_from_db()
    assert opened.status == Ticket.Status.RESOLVED
    page = desk.get(reverse("tickets:detail", args=[opened.pk]), HTTP_ACCEPT_LANGUAGE="en")
    body = page.content.decode()
    assert "The customer confirmed: the ticket is resolved" in body
    assert 'id="awaiting-confirmation"' not in body


def test_the_refund_macro_for_a_customer_without_orders_is_a_message_and_no_trace(desk, group):
    opened = ticket(group, customer=CustomerFactory(name="Bo"))
    refund = macro("查退款", name_en="Refund status check", actions=[{"action": "refund_status"}])

    response = desk.post(apply_url(opened, refund), follow=True, HTTP_ACCEPT_LANGUAGE="en")

    assert "Bo has no orders or after-sales requests to report on." in response.content.decode()
    assert list(opened.events.values_list("kind", flat=True)) == ["created"]


def test_hostile_html_in_macro_names_templates_and_rule_names_is_inert(desk, group):
    hostile = macro(XSS, name_en=XSS, actions=[{"action": "reply", "zh": f"您好 {XSS}"}])
    rule = AutomationRule(
        name=f"rule {XSS}", trigger="created", actions=[{"action": "note", "zh": XSS}]
    )
    rule.full_clean()
    rule.save()
    opened = ticket(group, customer=CustomerFactory(name=XSS))
    desk.post(apply_url(opened, hostile))

    body = desk.get(reverse("tickets:detail", args=[opened.pk])).content.decode()

    assert XSS not in body
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in body
    assert TicketComment.objects.filter(ticket=opened, body=XSS).exists()  # stored as written


def test_the_ticket_page_takes_as_many_queries_with_ten_macros_as_with_one(desk, group):
    opened = ticket(group)
    macro("一")
    url = reverse("tickets:detail", args=[opened.pk])
    with CaptureQueriesContext(connection) as one:
        desk.get(url)
    for n in range(9):
        macro(f"宏{n}", groups=[group])
    with CaptureQueriesContext(connection) as ten:
        body = desk.get(url).content.decode()
    assert body.count("data-macro=") >= 10
    assert len(ten) == len(one)


def test_a_macro_row_is_written_even_when_the_macro_changes_nothing(desk, group):
    opened = ticket(group, tags=["vip"])
    made = macro(actions=[{"action": "add_tag", "value": "vip"}])
    desk.post(apply_url(opened, made))
    assert list(opened.events.values_list("kind", flat=True)) == ["created", "macro"]
    assert TicketEvent.objects.filter(ticket=opened, kind="changed").count() == 0
