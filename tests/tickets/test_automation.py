"""Automation rules: conditions, each action, order, no loops, time-based rules exactly
once; the refund-status flow from the commerce adapter to the customer's confirmation."""

import threading
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from conversations.models import Agent, Notice
from conversations.roles import SUPERVISORS
from customers.models import AfterSalesRequest, Order
from helpdesk.models import OutboundEvent
from tests.factories import (
    AfterSalesRequestFactory,
    AgentFactory,
    CustomerFactory,
    OrderFactory,
    SkillGroupFactory,
    UserFactory,
)
from tickets import rules
from tickets.automation_defaults import DEMO_RULES, ensure_automation
from tickets.models import (
    AutomationRule,
    BusinessCalendar,
    ConfirmationRequest,
    Macro,
    OpeningHours,
    Priority,
    RuleRun,
    SLAPolicy,
    Ticket,
    TicketComment,
    TicketEvent,
)
from tickets.services import add_comment, change_ticket, open_ticket
from tickets.services.automation import run_time_rules
from tickets.services.flows import FlowError, ask_refund_status, is_confirmation, reply_received
from tickets.tasks import run_time_rules_task

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
FRIDAY_17 = datetime(2026, 12, 4, 17, 0, tzinfo=SHANGHAI)


@pytest.fixture
def group():
    return SkillGroupFactory(code="aftersales", name_zh="售后", name_en="After-sales")


def rule(name="rule", *, trigger="created", conditions=(), actions, position=0) -> AutomationRule:
    """A rule as admin would save it: checked by clean() first."""
    made = AutomationRule(
        name=name,
        trigger=trigger,
        conditions=list(conditions),
        actions=list(actions),
        position=position,
    )
    made.full_clean()
    made.save()
    return made


def ticket(**fields) -> Ticket:
    defaults = {
        "customer": CustomerFactory(),
        "subject": "耳机坏了",
        "type_code": "question",
        "source": Ticket.Source.AGENT,
    }
    return open_ticket(**(defaults | fields))


def holds(condition: dict, opened: Ticket, **facts) -> bool:
    (parsed,) = rules.parse_conditions([condition], trigger=facts.pop("trigger", "updated"))
    opened = Ticket.objects.select_related("customer", "type", "skill_group").get(pk=opened.pk)
    return parsed.holds(rules.Facts(ticket=opened, now=facts.pop("now", timezone.now()), **facts))


def timeline(opened: Ticket) -> list[tuple[str, str, str]]:
    return list(opened.events.order_by("created_at", "pk").values_list("kind", "field", "new"))


# --- conditions ---------------------------------------------------------------------

VIP_COMPLAINT = {
    "subject": "Refund 退款 still missing",
    "description": "订单 LM1 的退款",
    "type_code": "complaint",
    "source": Ticket.Source.CHAT,
    "tags": ["退款", "VIP"],
}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"field": "status", "op": "is", "value": "new"}, True),
        ({"field": "status", "op": "is_not", "value": "new"}, False),
        ({"field": "status", "op": "in", "value": ["open", "new"]}, True),
        ({"field": "status", "op": "not_in", "value": ["new"]}, False),
        ({"field": "priority", "op": "is", "value": "urgent"}, True),
        ({"field": "priority", "op": "gte", "value": "high"}, True),
        ({"field": "priority", "op": "lt", "value": 30}, False),
        ({"field": "type", "op": "is", "value": "complaint"}, True),
        ({"field": "type", "op": "is", "value": "question"}, False),
        ({"field": "skill_group", "op": "is", "value": "aftersales"}, True),
        ({"field": "skill_group", "op": "is", "value": ""}, False),
        ({"field": "customer_level", "op": "is", "value": "vip"}, True),
        ({"field": "customer_level", "op": "in", "value": ["gold", "silver"]}, False),
        ({"field": "source", "op": "is", "value": "chat"}, True),
        ({"field": "tags", "op": "contains", "value": "vip"}, True),
        ({"field": "tags", "op": "contains", "value": "退货"}, False),
        ({"field": "tags", "op": "not_contains", "value": "退货"}, True),
        ({"field": "subject", "op": "contains", "value": "REFUND"}, True),
        ({"field": "subject", "op": "contains", "value": ["坏了", "退款"]}, True),
        ({"field": "description", "op": "contains", "value": "发票"}, False),
        ({"field": "text", "op": "contains", "value": "LM1"}, True),
        ({"field": "text", "op": "not_contains", "value": "LM1"}, False),
        ({"field": "assigned", "op": "is", "value": False}, True),
        ({"field": "replied", "op": "is", "value": True}, False),
        ({"field": "hours_since_created", "op": "lt", "value": 1}, True),
        ({"field": "hours_since_created", "op": "gte", "value": 1}, False),
        ({"field": "hours_pending", "op": "gte", "value": 0}, False),  # not pending
    ],
)
def test_a_condition_holds_or_not_on_the_ticket_as_it_is(condition, expected, group):
    opened = ticket(customer=CustomerFactory(level="vip"), skill_group=group, **VIP_COMPLAINT)
    assert holds(condition, opened) is expected


def test_changed_names_what_the_update_changed():
    opened = ticket()
    condition = {"field": "changed", "op": "contains", "value": ["status", "customer_reply"]}
    assert holds(condition, opened, changed=frozenset({"customer_reply"})) is True
    assert holds(condition, opened, changed=frozenset({"tags"})) is False


def test_hours_pending_counts_business_hours_when_asked():
    """Pending from Friday 17:00 to Monday 17:00 in an office open 09:00–18:00 on weekdays:
    72 hours on the wall clock, 9 business hours."""
    calendar = BusinessCalendar.objects.create(name="Office", timezone="Asia/Shanghai")
    OpeningHours.objects.bulk_create(
        OpeningHours(calendar=calendar, weekday=day, opens=time(9), closes=time(18))
        for day in range(5)
    )
    SLAPolicy.objects.filter(is_default=True).update(calendar=calendar)
    with time_machine.travel(FRIDAY_17, tick=False):
        opened = ticket()
        change_ticket(ticket_id=opened.pk, actor=None, status=Ticket.Status.PENDING_CUSTOMER)
    monday_17 = FRIDAY_17 + timedelta(days=3)
    wall = {"field": "hours_pending", "op": "gte", "value": 48}
    business = wall | {"business": True}
    nine = {"field": "hours_pending", "op": "gte", "value": 9, "business": True}
    policy = SLAPolicy.objects.get(is_default=True)
    facts = {"now": monday_17, "calendar": lambda: policy.calendar.as_calendar()}
    assert holds(wall, opened, **facts) is True
    assert holds(business, opened, **facts) is False
    assert holds(nine, opened, **facts) is True


# --- bad definitions ------------------------------------------------------------------


@translation.override("en")
@pytest.mark.parametrize(
    ("trigger", "conditions", "actions", "message"),
    [
        ("created", [{"field": "colour", "op": "is", "value": "red"}], [{"action": "webhook"}],
         "Condition 1: unknown field 'colour'"),
        ("created", [{"field": "status", "op": "gt", "value": "new"}], [{"action": "webhook"}],
         "Condition 1: status takes the operators is, is_not, in, not_in, not 'gt'."),
        ("created", [{"field": "status", "op": "is", "value": "done"}], [{"action": "webhook"}],
         "Condition 1: 'done' is not a status"),
        ("created", [{"field": "changed", "op": "contains", "value": "status"}],
         [{"action": "webhook"}], '"changed" only means something for rules on updates.'),
        ("time", [{"field": "status", "op": "is", "value": "new"}], [{"action": "webhook"}],
         "A time-based rule needs a condition on how long the ticket has waited"),
        ("created", {"field": "status"}, [{"action": "webhook"}],
         "Conditions must be a list"),
        ("created", [], [], "Actions must be a list with at least one action."),
        ("created", [], [{"action": "explode"}], "Action 1: unknown action 'explode'"),
        ("created", [], [{"action": "set", "field": "subject", "value": "x"}],
         "Action 1: set changes one of status, priority, type, skill_group, assignee"),
        ("created", [], [{"action": "set", "field": "priority", "value": "asap"}],
         "Action 1: 'asap' is not a priority"),
        ("created", [], [{"action": "add_tag", "value": "x" * 41}],
         "Action 1: the tag must be a text of 1 to 40 characters."),
        ("created", [], [{"action": "reply", "zh": "您好 {name.__class__}"}],
         "Action 1: unknown placeholder"),
        ("created", [], [{"action": "reply", "zh": "您好 {password}"}],
         "Action 1: unknown placeholder {password}"),
        ("created", [], [{"action": "reply"}], 'Action 1: give the text in "zh", in "en"'),
        ("created", [], [{"action": "notify", "to": ["everyone"]}],
         'Action 1: "to" must list some of: assignee, group, supervisors.'),
        ("created", [], [{"action": "webhook", "url": "http://x"}],
         "Action 1: unknown key url."),
        ("created", [], [{"action": "set", "field": "skill_group", "value": "nowhere"}],
         "There is no group nowhere."),
        ("created", [], [{"action": "set", "field": "assignee", "value": "ghost"}],
         "There is no agent with the user name ghost."),
        ("created", [{"field": "type", "op": "is", "value": "spaceship"}],
         [{"action": "webhook"}], "There is no ticket type spaceship."),
    ],
)  # fmt: skip
def test_a_bad_definition_is_refused_with_a_message_that_says_what_is_wrong(
    trigger, conditions, actions, message
):
    made = AutomationRule(name="bad", trigger=trigger, conditions=conditions, actions=actions)
    with pytest.raises(ValidationError) as refused:
        made.full_clean()
    assert any(message in text for text in refused.value.messages), refused.value.messages


@translation.override("en")
def test_a_macro_with_a_bad_action_is_refused():
    macro = Macro(name_zh="坏", name_en="Bad", actions=[{"action": "set", "field": "status"}])
    with pytest.raises(ValidationError) as refused:
        macro.full_clean()
    assert refused.value.messages[0].startswith("Action 1: None is not a status (one of: new,")


def test_admin_refuses_a_bad_rule_with_its_message_and_saves_a_good_one(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:tickets_automationrule_add")
    form = {
        "name": "Tag refunds",
        "trigger": "created",
        "conditions": '[{"field": "subject", "op": "contains", "value": "退款"}]',
        "actions": '[{"action": "add_tag", "vlaue": "refund"}]',
        "position": "0",
        "is_active": "on",
    }
    with translation.override("en"):
        refused = client.post(url, form, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200
    assert "Action 1: unknown key vlaue." in refused.content.decode()
    assert not AutomationRule.objects.filter(name="Tag refunds").exists()

    saved = client.post(url, form | {"actions": '[{"action": "add_tag", "value": "refund"}]'})
    assert saved.status_code == 302
    assert AutomationRule.objects.get(name="Tag refunds").actions == [
        {"action": "add_tag", "value": "refund"}
    ]


def test_admin_shows_a_definition_indented_with_its_chinese_as_written(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    made = rule(actions=[{"action": "note", "zh": "请跟进"}])
    body = client.get(reverse("admin:tickets_automationrule_change", args=[made.pk])).content
    assert "\n  {\n    &quot;action&quot;: &quot;note&quot;" in body.decode()
    assert "请跟进" in body.decode()


def test_the_seeded_rules_are_valid_and_start_inactive():
    ensure_automation(AutomationRule, Macro)
    ensure_automation(AutomationRule, Macro)  # again: nothing more
    seeded = AutomationRule.objects.filter(name__in=[name for name, *_ in DEMO_RULES])
    assert seeded.count() == len(DEMO_RULES)
    assert not seeded.filter(is_active=True).exists()
    for made in seeded:
        made.full_clean()
    for macro in Macro.objects.all():
        macro.full_clean()


# --- actions ------------------------------------------------------------------------


def test_a_rule_sets_fields_and_its_row_comes_before_the_changes_it_made(group):
    agent = AgentFactory(user=UserFactory(username="lina"))
    rule(
        "Complaints to after-sales",
        conditions=[{"field": "subject", "op": "contains", "value": "投诉"}],
        actions=[
            {"action": "set", "field": "priority", "value": "urgent"},
            {"action": "set", "field": "type", "value": "complaint"},
            {"action": "set", "field": "skill_group", "value": "aftersales"},
            {"action": "set", "field": "assignee", "value": "lina"},
            {"action": "set", "field": "status", "value": "open"},
        ],
    )

    opened = ticket(subject="我要投诉")

    assert (opened.priority, opened.type.code, opened.skill_group, opened.assignee) == (
        Priority.URGENT,
        "complaint",
        group,
        agent,
    )
    assert opened.status == Ticket.Status.OPEN
    assert timeline(opened) == [
        ("created", "", opened.number),
        ("rule", "rule", "Complaints to after-sales"),
        ("changed", "priority", "40"),
        ("changed", "type", "complaint"),
        ("changed", "skill_group", "aftersales"),
        ("changed", "assignee", agent.display_name),
        ("changed", "status", "open"),
    ]
    assert set(opened.events.values_list("actor", flat=True)) == {None}


def test_a_rule_whose_conditions_do_not_hold_does_nothing():
    rule(
        conditions=[{"field": "type", "op": "is", "value": "complaint"}],
        actions=[{"action": "add_tag", "value": "complaint"}],
    )
    opened = ticket(type_code="question")
    assert opened.tags == []
    assert timeline(opened) == [("created", "", opened.number)]


def test_a_rule_adds_and_removes_tags_once():
    rule(
        actions=[
            {"action": "add_tag", "value": "auto"},
            {"action": "add_tag", "value": "AUTO"},  # already there
            {"action": "remove_tag", "value": "old"},
            {"action": "remove_tag", "value": "absent"},
        ]
    )
    opened = ticket(tags=["old", "keep"])
    assert opened.tags == ["keep", "auto"]
    assert opened.events.filter(kind="changed", field="tags").count() == 2


def test_a_rule_replies_in_the_customer_s_language_with_the_placeholders_filled():
    rule(
        actions=[
            {
                "action": "reply",
                "zh": "您好 {customer}，工单 {number} 已收到（{status}）。",
                "en": "Hello {customer}, we have ticket {number} ({status}, {priority}).",
            },
            {"action": "note", "zh": "自动回复已发送：{subject}"},
        ]
    )
    english = ticket(customer=CustomerFactory(name="Ann", language="en"))
    chinese = ticket(customer=CustomerFactory(name="王芳", language="zh"))

    reply, note = english.comments.order_by("pk")
    assert reply.public and reply.author is None
    assert reply.body == f"Hello Ann, we have ticket {english.number} (New, Normal)."
    assert not note.public and note.body == "自动回复已发送：耳机坏了"
    assert chinese.comments.filter(public=True).get().body == (
        f"您好 王芳，工单 {chinese.number} 已收到（新建）。"
    )


def test_a_template_that_is_only_in_one_language_serves_both():
    rule(actions=[{"action": "reply", "zh": "已收到 {number}"}])
    english = ticket(customer=CustomerFactory(language="en"))
    assert english.comments.get().body == f"已收到 {english.number}"


def test_a_rule_notifies_the_assignee_the_group_and_the_supervisors_once_each(group):
    # Offline: the new ticket waits unassigned until the change below gives it to them.
    assignee = AgentFactory(status=Agent.Status.OFFLINE)
    colleague = AgentFactory(status=Agent.Status.OFFLINE)
    colleague.skill_groups.add(group)
    assignee.skill_groups.add(group)
    supervisor = AgentFactory()
    supervisor.user.groups.add(Group.objects.get_or_create(name=SUPERVISORS)[0])
    bystander = AgentFactory()
    rule(
        "VIP watch",
        trigger="updated",
        conditions=[{"field": "changed", "op": "contains", "value": "assignee"}],
        actions=[{"action": "notify", "to": ["assignee", "group", "supervisors"]}],
    )
    opened = ticket(skill_group=group)

    change_ticket(ticket_id=opened.pk, actor=None, assignee=assignee)

    notices = Notice.objects.filter(kind="ticket_automation")
    assert sorted(notices.values_list("agent", flat=True)) == sorted(
        [assignee.pk, colleague.pk, supervisor.pk]
    )
    assert not Notice.objects.filter(agent=bystander).exists()
    notice = notices.get(agent=assignee)
    assert notice.text_en == f"VIP watch: ticket {opened.number} (耳机坏了) needs your attention."
    assert notice.url == reverse("tickets:detail", args=[opened.pk])


def test_a_rule_emits_a_ticket_updated_webhook_event():
    rule("Tell the shop", actions=[{"action": "webhook"}])
    opened = ticket()
    event = OutboundEvent.objects.get(event="ticket.updated")
    assert event.data["ticket"]["id"] == opened.number
    assert event.data["changed_by"] == {"rule": "Tell the shop"}


def test_a_rule_that_cannot_be_carried_out_changes_nothing_and_says_why():
    doomed = SkillGroupFactory(code="doomed")
    rule(
        "Route",
        actions=[
            {"action": "add_tag", "value": "routed"},
            {"action": "set", "field": "skill_group", "value": "doomed"},
        ],
    )
    doomed.delete()
    with translation.override("en"):
        opened = ticket()
    assert opened.tags == []
    assert timeline(opened) == [
        ("created", "", opened.number),
        ("rule", "failed", "Route: There is no group doomed."),
    ]


def test_rules_run_in_order_each_seeing_what_the_one_before_changed():
    rule(
        "second",
        position=20,
        conditions=[{"field": "priority", "op": "is", "value": "urgent"}],
        actions=[{"action": "add_tag", "value": "seen-urgent"}],
    )
    rule("first", position=10, actions=[{"action": "set", "field": "priority", "value": "urgent"}])

    opened = ticket()

    assert opened.tags == ["seen-urgent"]
    assert [new for kind, _f, new in timeline(opened) if kind == "rule"] == ["first", "second"]


def test_a_later_rule_does_not_see_into_the_past():
    rule(
        "first",
        position=10,
        conditions=[{"field": "priority", "op": "is", "value": "urgent"}],
        actions=[{"action": "add_tag", "value": "seen-urgent"}],
    )
    rule("second", position=20, actions=[{"action": "set", "field": "priority", "value": "urgent"}])
    assert ticket().tags == []


def test_an_inactive_rule_does_not_run():
    made = rule(actions=[{"action": "add_tag", "value": "x"}])
    AutomationRule.objects.filter(pk=made.pk).update(is_active=False)
    assert ticket().tags == []


# --- no loops -----------------------------------------------------------------------


def test_what_rules_change_does_not_trigger_rules_again():
    """A rule on every update that itself updates the ticket would run forever: it runs
    once per update an agent makes."""
    rule(
        "note every update",
        trigger="updated",
        actions=[
            {"action": "note", "zh": "有更新"},
            {"action": "set", "field": "priority", "value": "high"},
        ],
    )
    rule(
        "on priority",
        trigger="updated",
        position=10,
        conditions=[{"field": "changed", "op": "contains", "value": "priority"}],
        actions=[{"action": "add_tag", "value": "priority-changed"}],
    )
    opened = ticket()
    agent = AgentFactory()

    change_ticket(ticket_id=opened.pk, actor=agent.user, status=Ticket.Status.OPEN)

    assert TicketComment.objects.filter(ticket=opened, body="有更新").count() == 1
    opened.refresh_from_db()
    assert opened.priority == Priority.HIGH
    assert opened.tags == []  # the priority changed by a rule, not by the agent
    assert [new for kind, _f, new in timeline(opened) if kind == "rule"] == ["note every update"]


def test_a_change_that_changes_nothing_triggers_no_rule():
    rule("any update", trigger="updated", actions=[{"action": "add_tag", "value": "x"}])
    opened = ticket()
    change_ticket(ticket_id=opened.pk, actor=None, status=opened.status)
    opened.refresh_from_db()
    assert opened.tags == []


def test_a_customer_reply_triggers_the_rules_on_updates_with_what_it_changed():
    rule(
        "customer answered",
        trigger="updated",
        conditions=[{"field": "changed", "op": "contains", "value": "customer_reply"}],
        actions=[{"action": "add_tag", "value": "answered"}],
    )
    opened = ticket()
    add_comment(ticket_id=opened.pk, body="还在吗", from_customer=True)
    add_comment(ticket_id=opened.pk, body="internal", public=False)
    opened.refresh_from_db()
    assert opened.tags == ["answered"]
    assert opened.events.filter(kind="rule").count() == 1


def test_rules_do_not_run_on_a_closed_ticket():
    rule("any update", trigger="updated", actions=[{"action": "add_tag", "value": "x"}])
    opened = ticket()
    change_ticket(ticket_id=opened.pk, actor=None, status=Ticket.Status.CLOSED)
    opened.refresh_from_db()
    assert opened.tags == [] and not opened.events.filter(kind="rule").exists()


# --- time-based rules -----------------------------------------------------------------


def waiting_rule() -> AutomationRule:
    return rule(
        "no reply for 4 hours",
        trigger="time",
        conditions=[
            {"field": "status", "op": "is", "value": "new"},
            {"field": "hours_since_created", "op": "gte", "value": 4},
        ],
        actions=[
            {"action": "add_tag", "value": "waiting"},
            {"action": "note", "zh": "4 小时未回复"},
        ],
    )


def aged(count: int, hours: float) -> list[Ticket]:
    tickets = [ticket() for _ in range(count)]
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(
        created_at=timezone.now() - timedelta(hours=hours)
    )
    return tickets


def test_a_time_based_rule_fires_once_however_often_the_task_runs():
    made = waiting_rule()
    (old,) = aged(1, hours=5)
    (young,) = aged(1, hours=1)

    assert run_time_rules_task.apply().get() == 1
    assert run_time_rules_task.apply().get() == 0

    assert list(RuleRun.objects.values_list("rule", "ticket")) == [(made.pk, old.pk)]
    old.refresh_from_db()
    assert old.tags == ["waiting"]
    assert old.comments.get().body == "4 小时未回复"
    assert not young.events.filter(kind="rule").exists()


def test_a_time_based_rule_fires_on_a_ticket_that_waited_long_enough_later():
    waiting_rule()
    (opened,) = aged(1, hours=1)
    assert run_time_rules() == []
    with time_machine.travel(timezone.now() + timedelta(hours=4)):
        assert [pk for _rule, pk in run_time_rules()] == [opened.pk]


def test_a_time_based_rule_does_not_fire_again_after_the_ticket_qualifies_again():
    waiting_rule()
    (opened,) = aged(1, hours=5)
    run_time_rules()
    change_ticket(ticket_id=opened.pk, actor=None, tags=[])
    assert run_time_rules() == []


def test_what_a_time_based_rule_changes_triggers_no_rule_on_updates():
    waiting_rule()
    rule("on update", trigger="updated", actions=[{"action": "add_tag", "value": "updated"}])
    (opened,) = aged(1, hours=5)
    run_time_rules()
    opened.refresh_from_db()
    assert opened.tags == ["waiting"]


def test_the_pending_customer_rule_resolves_after_48_business_hours():
    (_name, trigger, conditions, actions) = DEMO_RULES[2]
    rule("pending 48", trigger=trigger, conditions=conditions, actions=actions)
    customer = CustomerFactory(name="Ann", language="en")
    opened = ticket(customer=customer)
    change_ticket(ticket_id=opened.pk, actor=None, status=Ticket.Status.PENDING_CUSTOMER)
    Ticket.objects.filter(pk=opened.pk).update(sla_paused_at=timezone.now() - timedelta(hours=47))
    assert run_time_rules() == []

    Ticket.objects.filter(pk=opened.pk).update(sla_paused_at=timezone.now() - timedelta(hours=49))
    assert len(run_time_rules()) == 1

    opened.refresh_from_db()
    assert opened.status == Ticket.Status.RESOLVED
    assert opened.comments.get().body.startswith("Hello Ann, we have not heard from you")


def test_the_time_based_rules_run_every_few_minutes_and_survive_a_lost_worker(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["run-time-based-ticket-rules"]
    assert entry == {"task": "tickets.tasks.run_time_rules_task", "schedule": 300.0}
    assert run_time_rules_task.acks_late and run_time_rules_task.reject_on_worker_lost


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_fire_a_time_based_rule_exactly_once_per_ticket():
    made = waiting_rule()
    tickets = aged(30, hours=5)
    results: list[list] = []
    start = threading.Barrier(2)

    def worker():
        try:
            start.wait()
            results.append(run_time_rules())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    fired = sorted(pair for result in results for pair in result)
    assert fired == sorted((made.pk, t.pk) for t in tickets)
    assert RuleRun.objects.count() == 30
    assert TicketEvent.objects.filter(kind="rule").count() == 30
    assert TicketComment.objects.filter(body="4 小时未回复").count() == 30


# --- the refund-status flow -----------------------------------------------------------


@pytest.fixture
def refund_customer():
    customer = CustomerFactory(name="Ann", language="en", external_id="demo-9")
    order = OrderFactory(
        customer=customer, number="LM20260001", status=Order.Status.RETURNED, total="299.00"
    )
    AfterSalesRequestFactory(
        order=order, number="AS000001", status=AfterSalesRequest.Status.APPROVED
    )
    return customer


def test_the_refund_status_reply_comes_from_the_adapter_in_the_customer_s_language(
    refund_customer,
):
    opened = ticket(customer=refund_customer)
    agent = AgentFactory()

    comment = ask_refund_status(ticket_id=opened.pk, actor=agent.user)

    assert comment.public and comment.author == agent.user
    assert comment.body.splitlines() == [
        f"Hello Ann, here is where your refund stands (ticket {opened.number}):",
        "Your return request AS000001 for order LM20260001: approved, the refund is on its way.",
        "Order LM20260001 has been returned; ¥299.00 is refunded to the original payment.",
        "Does this settle your question? Reply “yes” and we will close the ticket; "
        "otherwise tell us what is still missing.",
    ]
    opened.refresh_from_db()
    assert opened.status == Ticket.Status.PENDING_CUSTOMER
    assert ConfirmationRequest.objects.get(ticket=opened, answered_at__isnull=True)


def test_without_an_after_sales_request_the_latest_order_is_reported_in_chinese():
    customer = CustomerFactory(name="王芳", language="zh")
    OrderFactory(customer=customer, number="LM1", status=Order.Status.DELIVERED)
    opened = ticket(customer=customer)
    body = ask_refund_status(ticket_id=opened.pk, actor=None).body
    assert "LM1" in body and "已签收" in body


@translation.override("en")
def test_a_customer_with_nothing_to_report_is_refused_and_nothing_is_written():
    opened = ticket(customer=CustomerFactory(name="Bo"))
    with pytest.raises(FlowError, match="Bo has no orders or after-sales requests"):
        ask_refund_status(ticket_id=opened.pk, actor=None)
    assert not opened.comments.exists() and not ConfirmationRequest.objects.exists()
    assert timeline(opened) == [("created", "", opened.number)]


@translation.override("en")
def test_the_order_system_not_answering_is_a_message_not_an_error(refund_customer, monkeypatch):
    from customers.commerce import CommerceUnavailable

    class Down:
        def recent_orders(self, **kwargs):
            raise CommerceUnavailable("timeout")

    monkeypatch.setattr("tickets.services.flows.commerce", Down)
    opened = ticket(customer=refund_customer)
    with pytest.raises(FlowError, match="The order system is not answering"):
        ask_refund_status(ticket_id=opened.pk, actor=None)
    assert not opened.comments.exists()


def test_the_customer_s_confirmation_resolves_the_ticket(refund_customer):
    opened = ticket(customer=refund_customer)
    ask_refund_status(ticket_id=opened.pk, actor=None)

    add_comment(ticket_id=opened.pk, body="Yes, thanks — solved!", from_customer=True)

    opened.refresh_from_db()
    assert opened.status == Ticket.Status.RESOLVED
    assert ConfirmationRequest.objects.get(ticket=opened).confirmed is True
    assert timeline(opened)[-3:] == [
        ("changed", "status", "open"),  # the customer's reply took it off pending
        ("flow", "refund_status", "confirmed"),
        ("changed", "status", "resolved"),
    ]


def test_a_reply_that_does_not_confirm_leaves_the_ticket_with_the_agents(refund_customer):
    opened = ticket(customer=refund_customer)
    ask_refund_status(ticket_id=opened.pk, actor=None)

    add_comment(ticket_id=opened.pk, body="还没到账，怎么回事？", from_customer=True)
    add_comment(ticket_id=opened.pk, body="好的谢谢", from_customer=True)  # later: not an answer

    opened.refresh_from_db()
    assert opened.status == Ticket.Status.OPEN
    assert ConfirmationRequest.objects.get(ticket=opened).confirmed is False
    assert list(opened.events.filter(kind="flow").values_list("new", flat=True)) == [
        "awaiting",
        "not_confirmed",
    ]


def test_reply_received_answers_the_open_request_and_ignores_agents(refund_customer):
    opened = ticket(customer=refund_customer)
    ask_refund_status(ticket_id=opened.pk, actor=None)
    agent_reply = TicketComment.objects.create(ticket=opened, body="好的", public=True)
    customer_reply = TicketComment.objects.create(ticket=opened, body="好的", from_customer=True)

    reply_received(ticket=opened, comment=agent_reply)
    assert ConfirmationRequest.objects.get().answered_at is None

    reply_received(ticket=opened, comment=customer_reply)
    assert opened.status == Ticket.Status.RESOLVED  # the object is brought up to date


def test_asking_again_replaces_the_open_request(refund_customer):
    opened = ticket(customer=refund_customer)
    ask_refund_status(ticket_id=opened.pk, actor=None)
    ask_refund_status(ticket_id=opened.pk, actor=None)
    assert ConfirmationRequest.objects.filter(ticket=opened).count() == 2
    assert ConfirmationRequest.objects.filter(ticket=opened, answered_at__isnull=True).count() == 1


def test_a_rule_can_run_the_refund_flow(refund_customer):
    rule(
        "refunds answer themselves",
        conditions=[{"field": "subject", "op": "contains", "value": ["退款", "refund"]}],
        actions=[{"action": "refund_status"}],
    )
    opened = ticket(customer=refund_customer, subject="Where is my refund?")
    assert opened.status == Ticket.Status.PENDING_CUSTOMER
    assert "AS000001" in opened.comments.get().body


@pytest.mark.parametrize(
    "text",
    ["是", "是的", "好的", "好的，谢谢", "解决了", "已经到账了，谢谢", "没问题了", "嗯嗯",
     "yes", "Yes!", "ok", "thanks, solved", "Thank you", "got it 👍"],
)  # fmt: skip
def test_a_confirmation_is_understood_in_both_languages(text):
    assert is_confirmation(text)


@pytest.mark.parametrize(
    "text",
    ["不是", "没解决", "还没到账", "谢谢，但是还没退款", "是吗？", "不好", "好的，还有一个问题",
     "no", "not yet", "yes but when?", "thanks, but it's still missing", "No thanks", "",
     "好的" + "，我再详细说一下情况" * 10],
)  # fmt: skip
def test_anything_else_is_not_a_confirmation(text):
    assert not is_confirmation(text)
