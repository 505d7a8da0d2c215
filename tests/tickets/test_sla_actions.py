"""At-risk warnings and what a breach sets off (notices, priority, escalation, the partner
event), each exactly once however often and by however many workers the jobs run."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.utils import translation

from conversations.models import Agent, Notice
from helpdesk.models import OutboundEvent
from tests.factories import AgentFactory, CustomerFactory, SkillGroupFactory
from tests.threads import at_once
from tickets.models import Priority, SLAPolicy, SLATarget, Ticket, TicketEvent
from tickets.services import (
    add_comment,
    change_ticket,
    open_ticket,
    record_breaches,
    warn_at_risk,
)
from tickets.tasks import warn_at_risk_task

pytestmark = pytest.mark.django_db(transaction=True)

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPENED = datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)
# A question (normal priority) of the default policy: first response in 4 h, at risk at 80%.
AT_RISK = OPENED + timedelta(minutes=193)
NOT_YET = OPENED + timedelta(minutes=191)
BREACHED = OPENED + timedelta(minutes=241)


def supervisor_of(group=None) -> Agent:
    boss = AgentFactory()
    boss.user.groups.add(Group.objects.get_or_create(name="Supervisors")[0])
    if group is not None:
        boss.skill_groups.add(group)
    return boss


def opened(group, **fields) -> Ticket:
    with time_machine.travel(OPENED, tick=False):
        return open_ticket(
            customer=CustomerFactory(),
            subject="耳机没声音",
            type_code="question",
            source=Ticket.Source.AGENT,
            skill_group=group,
            **fields,
        )


def notices(kind: str) -> list[tuple[int, str]]:
    return sorted(Notice.objects.filter(kind=kind).values_list("agent_id", "text_en"))


def test_the_at_risk_time_follows_the_policys_share_of_the_target(group, agent):
    ticket = opened(group)
    assert ticket.first_response_risk_at == OPENED + timedelta(minutes=192)
    assert ticket.resolution_risk_at == OPENED + timedelta(minutes=24 * 60 * 0.8)


def test_a_clock_at_risk_warns_the_assignee_once_with_a_timeline_row(group, agent):
    ticket = opened(group)
    assert ticket.assignee == agent

    assert warn_at_risk(now=NOT_YET) == []
    assert warn_at_risk(now=AT_RISK) == [(ticket.pk, "first_response")]
    assert warn_at_risk(now=AT_RISK + timedelta(minutes=5)) == []

    assert [a for a, _t in notices("sla_at_risk")] == [agent.pk]
    with translation.override("en"):
        text = Notice.objects.get(kind="sla_at_risk").text_en
    assert text.startswith(f"{ticket.number} is at risk: first response due")
    row = TicketEvent.objects.get(ticket=ticket, kind="sla")
    assert (row.field, row.new) == ("first_response", "at_risk")


def test_an_unassigned_ticket_at_risk_warns_the_groups_supervisors(group):
    boss, elsewhere = supervisor_of(group), supervisor_of(SkillGroupFactory(code="presales"))
    Agent.objects.filter(pk=boss.pk).update(status=Agent.Status.OFFLINE)  # nobody at work
    ticket = opened(group)
    assert ticket.assignee is None

    warn_at_risk(now=AT_RISK)

    assert [a for a, _t in notices("sla_at_risk")] == [boss.pk]
    assert elsewhere.notices.count() == 0


def test_a_paused_clock_is_never_at_risk_and_a_resumed_one_is_not_warned_twice(group, agent):
    ticket = opened(group)
    warn_at_risk(now=AT_RISK)
    with time_machine.travel(AT_RISK + timedelta(minutes=1), tick=False):
        change_ticket(ticket_id=ticket.pk, actor=None, status=Ticket.Status.PENDING_CUSTOMER)
    assert warn_at_risk(now=AT_RISK + timedelta(hours=10)) == []
    with time_machine.travel(AT_RISK + timedelta(hours=2), tick=False):
        change_ticket(ticket_id=ticket.pk, actor=None, status=Ticket.Status.OPEN)

    assert warn_at_risk(now=AT_RISK + timedelta(hours=2, minutes=1)) == []
    assert Notice.objects.filter(kind="sla_at_risk").count() == 1


def test_a_breach_notifies_the_assignee_and_the_groups_supervisors_once(group, agent):
    boss = supervisor_of(group)
    other_boss = supervisor_of(SkillGroupFactory(code="vip"))
    ticket = opened(group, assignee=agent)

    assert record_breaches(now=BREACHED) == [(ticket.pk, "first_response")]
    assert record_breaches(now=BREACHED + timedelta(minutes=1)) == []

    assert sorted(a for a, _t in notices("sla_breached")) == sorted([agent.pk, boss.pk])
    assert other_boss.notices.count() == 0
    assert notices("sla_breached")[0][1] == (
        f"SLA breached on {ticket.number} (first response): 耳机没声音"
    )


def test_a_breach_is_told_to_partners_once_with_the_clock_and_its_due_time(group, agent):
    ticket = opened(group)

    record_breaches(now=BREACHED)
    record_breaches(now=BREACHED)

    event = OutboundEvent.objects.get(event="ticket.sla_breached")
    assert event.data["clock"] == "first_response"
    assert event.data["ticket"]["id"] == ticket.number
    assert event.data["ticket"]["sla"]["breached"]["first_response"] is True
    assert event.data["due"].startswith("2026-12-02T06:00:00")  # 14:00 in Shanghai, in UTC
    envelope = event.envelope()
    assert envelope["event"] == "ticket.sla_breached" and envelope["id"] == str(event.id)


def test_the_policy_can_raise_the_priority_and_move_the_ticket_to_its_escalation_group(
    group, agent
):
    escalation = SkillGroupFactory(code="escalations")
    senior = AgentFactory(display_name="Senior")
    senior.skill_groups.add(escalation)
    SLAPolicy.objects.filter(is_default=True).update(
        raise_priority_on_breach=True, escalation_group=escalation
    )
    ticket = opened(group)

    record_breaches(now=BREACHED)

    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH
    assert (ticket.skill_group, ticket.assignee) == (escalation, senior)
    changes = set(
        TicketEvent.objects.filter(ticket=ticket, kind="changed").values_list("field", "new")
    )
    assert {("priority", str(Priority.HIGH)), ("skill_group", "escalations")} <= changes
    assert ("assignee", "Senior") in changes
    assert senior.notices.filter(kind="ticket_assigned").count() == 1
    record_breaches(now=BREACHED + timedelta(hours=1))
    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH  # raised once, not once a minute


def test_the_policy_can_turn_the_notices_off(group, agent):
    SLAPolicy.objects.filter(is_default=True).update(
        notify_assignee=False, notify_supervisors=False
    )
    supervisor_of(group)
    opened(group)

    warn_at_risk(now=AT_RISK)
    record_breaches(now=BREACHED)

    assert Notice.objects.filter(kind__startswith="sla").count() == 0
    assert TicketEvent.objects.filter(kind="sla").count() == 2  # still recorded


def test_two_workers_at_once_warn_and_notify_each_clock_once(group, agent):
    for _n in range(40):
        opened(group)
    results = at_once(lambda: warn_at_risk(now=AT_RISK, batch=7))

    assert sum(len(result) for result in results) == 40
    assert Notice.objects.filter(kind="sla_at_risk").count() == 40
    assert TicketEvent.objects.filter(kind="sla", new="at_risk").count() == 40


@pytest.fixture
def job_threads(monkeypatch) -> list:
    """The SLA jobs' worker threads started (by name: other threads come and go)."""
    started = []
    original = threading.Thread.start

    def start(thread):
        if thread.name.startswith("sla-job-"):
            started.append(thread.name)
        original(thread)

    monkeypatch.setattr(threading.Thread, "start", start)
    return started


def test_a_backlog_is_worked_off_by_several_threads_each_clock_once(group, agent, job_threads):
    boss = supervisor_of(group)
    tickets = [opened(group, assignee=agent) for _n in range(25)]

    marked = record_breaches(now=BREACHED, batch=4, workers=3)

    assert sorted(job_threads) == ["sla-job-1", "sla-job-2"]  # the first batch was full
    assert sorted(marked) == sorted((t.pk, "first_response") for t in tickets)
    assert TicketEvent.objects.filter(kind="sla", new="breached").count() == 25
    assert OutboundEvent.objects.filter(event="ticket.sla_breached").count() == 25
    for person in (agent, boss):
        assert person.notices.filter(kind="sla_breached").count() == 25
    assert record_breaches(now=BREACHED, batch=4, workers=3) == []
    assert len(job_threads) == 2  # nothing due: no thread


def test_one_batch_due_takes_no_thread(group, agent, job_threads):
    opened(group, assignee=agent)

    assert len(warn_at_risk(now=AT_RISK, batch=4, workers=3)) == 1
    assert job_threads == []


def test_a_customer_reply_starts_a_fresh_next_response_clock(group, agent):
    ticket = opened(group)
    with time_machine.travel(OPENED + timedelta(minutes=10), tick=False):
        add_comment(ticket_id=ticket.pk, body="您好，请问是哪一款？", author=agent.user)
    with time_machine.travel(OPENED + timedelta(minutes=20), tick=False):
        add_comment(ticket_id=ticket.pk, body="白色那款", from_customer=True)
    assert record_breaches(now=OPENED + timedelta(hours=9)) == [(ticket.pk, "next_response")]
    with time_machine.travel(OPENED + timedelta(hours=10), tick=False):
        add_comment(ticket_id=ticket.pk, body="抱歉久等", author=agent.user)
    with time_machine.travel(OPENED + timedelta(hours=11), tick=False):
        add_comment(ticket_id=ticket.pk, body="还是不行", from_customer=True)

    ticket.refresh_from_db()
    assert ticket.next_response_breached_at is None
    assert ticket.next_response_due == OPENED + timedelta(hours=19)
    assert record_breaches(now=OPENED + timedelta(hours=19, minutes=1)) == [
        (ticket.pk, "next_response")
    ]


def test_the_scheduled_warning_task_reports_how_many_it_warned(group, agent):
    opened(group)
    with time_machine.travel(AT_RISK, tick=False):
        assert warn_at_risk_task.apply().get() == 1
        assert warn_at_risk_task.apply().get() == 0


def test_every_clock_of_a_ticket_that_ran_out_is_marked_in_one_run_and_each_acted_on(group, agent):
    boss = supervisor_of(group)
    ticket = opened(group, assignee=agent)
    late = OPENED + timedelta(days=2)  # first response and resolution both ran out

    assert record_breaches(now=late) == [(ticket.pk, "first_response"), (ticket.pk, "resolution")]
    assert record_breaches(now=late) == []

    ticket.refresh_from_db()
    assert ticket.first_response_breached_at == late == ticket.resolution_breached_at
    assert ticket.next_response_breached_at is None
    rows = TicketEvent.objects.filter(ticket=ticket, kind="sla").order_by("pk")
    assert [(r.field, r.new) for r in rows] == [
        ("first_response", "breached"),
        ("resolution", "breached"),
    ]
    events = OutboundEvent.objects.filter(event="ticket.sla_breached")
    assert sorted(e.data["clock"] for e in events) == ["first_response", "resolution"]
    # One notice each for the ticket, naming both clocks, in both languages.
    made = Notice.objects.filter(kind="sla_breached").values_list("agent_id", "text_zh", "text_en")
    assert sorted(made) == sorted(
        (
            who,
            f"工单 {ticket.number} 已超时（首次响应、解决）：耳机没声音",
            f"SLA breached on {ticket.number} (first response, resolution): 耳机没声音",
        )
        for who in (agent.pk, boss.pk)
    )


def test_the_breach_event_carries_the_ticket_as_the_api_returns_it_after_the_breach(group, agent):
    from tickets import selectors
    from tickets.events import ticket_data

    ticket = opened(group, assignee=agent, tags=["售后"])
    record_breaches(now=BREACHED)

    event = OutboundEvent.objects.get(event="ticket.sla_breached")
    assert event.data["ticket"] == ticket_data(selectors.partner_tickets().get(pk=ticket.pk))
    assert event.data["breached_at"] == "2026-12-02T06:01:00Z"
    assert event.data["due"] == "2026-12-02T06:00:00Z"


def test_a_ticket_in_no_group_is_told_to_every_supervisor(agent):
    bosses = {supervisor_of(SkillGroupFactory(code="vip")).pk, supervisor_of().pk}
    opened(None)

    record_breaches(now=BREACHED)

    assert {a for a, _t in notices("sla_breached")} == bosses


def test_a_batch_takes_the_same_queries_for_one_ticket_as_for_thirty(group, agent):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    supervisor_of(group)
    opened(group, assignee=agent)
    with CaptureQueriesContext(connection) as one:
        assert len(record_breaches(now=BREACHED)) == 1
    for _n in range(30):
        opened(group, assignee=agent)
    with CaptureQueriesContext(connection) as thirty:
        assert len(record_breaches(now=BREACHED + timedelta(minutes=1))) == 30

    assert len(thirty) == len(one)


def test_two_clocks_at_risk_at_once_are_one_notice_naming_both(group, agent):
    SLATarget.objects.filter(policy__is_default=True, priority=Priority.NORMAL).update(
        first_response_minutes=60, resolution_minutes=70
    )
    ticket = opened(group)
    both = OPENED + timedelta(minutes=57)  # 80 %: 48 and 56 minutes

    assert warn_at_risk(now=both) == [(ticket.pk, "first_response"), (ticket.pk, "resolution")]
    assert warn_at_risk(now=both + timedelta(minutes=1)) == []

    made = Notice.objects.filter(kind="sla_at_risk").values_list("agent_id", "text_zh", "text_en")
    assert list(made) == [
        (
            agent.pk,
            f"工单 {ticket.number} 即将超时：首次响应 截止 12-02 11:00、解决 截止 12-02 11:10"
            " — 耳机没声音",
            f"{ticket.number} is at risk: first response due 12-02 11:00, "
            "resolution due 12-02 11:10 — 耳机没声音",
        )
    ]
    ticket.refresh_from_db()
    assert ticket.first_response_warned_at == both == ticket.resolution_warned_at
    rows = TicketEvent.objects.filter(ticket=ticket, kind="sla").order_by("pk")
    assert [(r.field, r.new) for r in rows] == [
        ("first_response", "at_risk"),
        ("resolution", "at_risk"),
    ]


def test_a_warning_batch_takes_the_same_queries_for_one_ticket_as_for_thirty(group, agent):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    opened(group)
    with CaptureQueriesContext(connection) as one:
        assert len(warn_at_risk(now=AT_RISK)) == 1
    for _n in range(30):
        opened(group)
    with CaptureQueriesContext(connection) as thirty:
        assert len(warn_at_risk(now=AT_RISK + timedelta(minutes=1))) == 30

    assert len(thirty) == len(one)


def test_a_ticket_a_change_holds_is_left_to_the_next_run_and_marked_then(group, agent):
    """The jobs take a ticket's row lock (SKIP LOCKED), as every change of its clocks does:
    a clock a change is moving at that moment is never marked from what it was before."""
    import threading

    from django.db import connection, transaction

    ticket = opened(group)
    held, done = threading.Event(), threading.Event()

    def change():
        try:
            with transaction.atomic():
                Ticket.objects.select_for_update().get(pk=ticket.pk)
                held.set()
                done.wait(30)
        finally:
            connection.close()

    worker = threading.Thread(target=change)
    worker.start()
    held.wait(30)
    try:
        assert record_breaches(now=BREACHED) == []
        assert warn_at_risk(now=AT_RISK) == []
    finally:
        done.set()
        worker.join()

    assert record_breaches(now=BREACHED) == [(ticket.pk, "first_response")]
    assert TicketEvent.objects.filter(kind="sla").count() == 1


def test_admin_shows_a_tickets_clocks_and_lists_due_times_in_the_same_queries(
    admin_client, group, agent
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ticket = opened(group)
    record_breaches(now=BREACHED)
    page = admin_client.get(f"/admin/tickets/ticket/{ticket.pk}/change/", HTTP_ACCEPT_LANGUAGE="en")
    with CaptureQueriesContext(connection) as one:
        admin_client.get("/admin/tickets/ticket/", HTTP_ACCEPT_LANGUAGE="en")
    for _n in range(5):
        opened(group)
    with CaptureQueriesContext(connection) as six:
        listing = admin_client.get("/admin/tickets/ticket/", HTTP_ACCEPT_LANGUAGE="en")

    body = page.content.decode()
    assert page.status_code == 200
    assert "SLA clocks" in body
    assert body.count('class="field-clock"') == 2  # first response and resolution
    assert listing.status_code == 200
    assert "Resolution due" in listing.content.decode()
    assert len(six) == len(one)


def test_a_run_of_several_batches_reaches_the_desk_as_one_frame_that_counts_them(
    live, group, agent
):
    import asyncio

    from asgiref.sync import sync_to_async

    from tests.wsclient import Socket, login_cookie

    for _n in range(5):
        opened(group, assignee=agent)
    cookie = login_cookie(agent.user)

    async def scenario():
        desk = await Socket.desk(live, cookie)
        await desk.expect("presence")
        marked = await sync_to_async(record_breaches)(now=BREACHED, batch=2)  # three batches
        frame = await desk.expect("notice")
        quiet = await desk.silent(kind="notice")
        await desk.close()
        return marked, frame["notice"], quiet

    marked, notice, quiet = asyncio.run(scenario())

    assert len(marked) == 5
    assert notice["kind"] == "sla_breached" and notice["count"] == 5
    assert quiet  # one toast for the run, not one a batch
    assert Notice.objects.filter(agent=agent, kind="sla_breached").count() == 5
