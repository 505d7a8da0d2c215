"""Care about tickets (tickets/services/care.py): a ticket still open a day after it was
opened or reopened is followed up with the customer once, not when resolved meanwhile;
a VIP is revisited every N days of their own calendar by a "VIP revisit" ticket for their
dedicated agent (or the VIP group), once per period, whatever the timezone or DST."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import transaction

from conversations.models import Conversation, DedicatedAgent, Message, Notice
from conversations.services import care as sender
from conversations.services import close_conversation, post_customer_message
from customers.models import CareCampaign, Outreach
from customers.services import care as claims
from tests.factories import (
    AgentFactory,
    ConversationFactory,
    CustomerFactory,
    SkillGroupFactory,
    care_campaign,
)
from tests.threads import at_once
from tickets.models import Ticket, TicketType
from tickets.services import add_comment, change_ticket, open_ticket

OPENED = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def follow_ups():
    return Outreach.objects.filter(campaign__kind="ticket_follow_up")


def a_ticket(**customer) -> Ticket:
    return open_ticket(
        customer=CustomerFactory(**customer),
        subject="耳机坏了",
        type_code="question",
        source=Ticket.Source.API,
    )


@pytest.fixture
def follow_up_campaign(db):
    return care_campaign(CareCampaign.Kind.TICKET_FOLLOW_UP, delay_minutes=24 * 60, expire_hours=72)


# --- follow-up of a ticket ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "subject", "body"),
    [
        ("zh", "工单 {n} 的进展", "王芳，工单 {n} 仍在处理中。"),
        ("en", "Ticket {n}: an update", "王芳, ticket {n} is still being worked on."),
    ],
)
def test_a_ticket_still_open_a_day_later_is_followed_up_once_by_email(
    follow_up_campaign, language, subject, body
):
    with time_machine.travel(OPENED, tick=False):
        ticket = a_ticket(name="王芳", language=language, email="fang@example.com")
    with time_machine.travel(OPENED + timedelta(hours=23, minutes=59), tick=False):
        early = sender.send_due_outreach()
    with time_machine.travel(OPENED + timedelta(hours=24, minutes=1), tick=False):
        sent = sender.send_due_outreach()
        again = sender.send_due_outreach()

    assert (early, sent, again) == (0, 1, 0)
    [email] = mail.outbox
    assert email.subject == subject.format(n=ticket.number)
    assert email.body == body.format(n=ticket.number)
    outreach = follow_ups().get()
    assert outreach.occasion == f"ticket:{ticket.pk}:opened"
    assert outreach.due_at == OPENED + timedelta(hours=24)
    assert outreach.expires_at == OPENED + timedelta(hours=72)
    assert (outreach.status, outreach.channel) == ("sent", "email")


@pytest.mark.django_db
def test_the_follow_up_goes_into_a_chat_the_customer_has_open(follow_up_campaign):
    with time_machine.travel(OPENED, tick=False):
        ticket = a_ticket(email="fang@example.com")
        chat = ConversationFactory(customer=ticket.customer)
    with time_machine.travel(OPENED + timedelta(days=1, minutes=1), tick=False):
        sender.send_due_outreach()

    message = Message.objects.get(conversation=chat, meta__event="care")
    assert ticket.number in message.body
    assert mail.outbox == []


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_a_ticket_resolved_meanwhile_is_not_followed_up(follow_up_campaign, status):
    with time_machine.travel(OPENED, tick=False):
        ticket = a_ticket(email="fang@example.com")
    with time_machine.travel(OPENED + timedelta(hours=5), tick=False):
        change_ticket(ticket_id=ticket.pk, actor=None, status=status)
    with time_machine.travel(OPENED + timedelta(days=1, minutes=1), tick=False):
        sent = sender.send_due_outreach()

    outreach = follow_ups().get()
    assert sent == 0
    assert (outreach.status, outreach.detail) == ("skipped", "ticket resolved meanwhile")
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_reopened_ticket_is_followed_up_again_a_day_after_it_reopened(follow_up_campaign):
    with time_machine.travel(OPENED, tick=False):
        ticket = a_ticket(email="fang@example.com")
        change_ticket(ticket_id=ticket.pk, actor=None, status="resolved")
    reopened = OPENED + timedelta(days=3)
    with time_machine.travel(reopened, tick=False):
        add_comment(ticket_id=ticket.pk, body="还是不行", from_customer=True)
    with time_machine.travel(reopened + timedelta(days=1, minutes=1), tick=False):
        sent = sender.send_due_outreach()
        again = sender.send_due_outreach()

    rows = dict(follow_ups().values_list("occasion", "status"))
    assert (sent, again) == (1, 0)
    assert rows == {
        f"ticket:{ticket.pk}:opened": "expired",  # 72 h after it was due
        f"ticket:{ticket.pk}:reopened:20261206T100000": "sent",
    }
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_ticket_opened_in_a_rolled_back_transaction_claims_no_follow_up(follow_up_campaign):
    customer = CustomerFactory()

    with pytest.raises(RuntimeError), transaction.atomic():
        open_ticket(customer=customer, subject="x", type_code="question", source="api")
        raise RuntimeError("the request failed")

    assert not follow_ups().exists()


@pytest.mark.django_db
def test_a_ticket_from_an_unresolved_chat_is_followed_up_by_the_chats_follow_up_only(
    follow_up_campaign,
):
    care_campaign(CareCampaign.Kind.FOLLOW_UP, delay_minutes=24 * 60)
    conversation = ConversationFactory(
        customer=CustomerFactory(), status=Conversation.Status.QUEUED
    )
    post_customer_message(conversation_id=conversation.pk, client_id="c1", body="耳机坏了")

    close_conversation(conversation_id=conversation.pk, resolution="not_resolved")

    assert Ticket.objects.filter(conversations=conversation).count() == 1
    kinds = Outreach.objects.filter(campaign__kind__in=["follow_up", "ticket_follow_up"])
    assert list(kinds.values_list("campaign__kind", flat=True)) == ["follow_up"]


# --- VIP revisit -------------------------------------------------------------------------


@pytest.fixture
def revisit(db):
    group = SkillGroupFactory(code="vip")
    TicketType.objects.filter(code="vip_revisit").update(skill_group=group)
    care_campaign(CareCampaign.Kind.VIP_REVISIT, every_days=30, expire_hours=72)
    return group


def vip(**fields):
    return CustomerFactory(level="vip", timezone="Asia/Shanghai", **fields)


def run_revisits(at: datetime) -> int:
    with time_machine.travel(at, tick=False):
        claims.plan_vip_revisits()
        return sender.send_due_outreach()


def period(customer, day: date, every: int = 30) -> int:
    return ((day - date(2000, 1, 1)).days + customer.pk) // every


@pytest.mark.django_db
def test_a_vip_gets_a_revisit_ticket_for_their_dedicated_agent_who_is_told(revisit):
    customer = vip(name="王芳", email="fang@example.com")
    agent = AgentFactory(display_name="小李")
    DedicatedAgent.objects.create(customer=customer, agent=agent)

    made = run_revisits(OPENED)

    ticket = Ticket.objects.get()
    assert made == 1
    assert (ticket.type.code, ticket.assignee, ticket.skill_group) == (
        "vip_revisit",
        agent,
        revisit,
    )
    assert ticket.subject == "VIP 回访：王芳"
    assert ticket.description == "回访 王芳。"
    assert ticket.resolution_due is not None
    notice = Notice.objects.get(agent=agent)
    assert ticket.number in notice.text_en and notice.url == f"/desk/tickets/{ticket.pk}/"
    outreach = Outreach.objects.get()
    assert outreach.occasion == f"vip_revisit:30d:{period(customer, date(2026, 12, 3))}"
    assert (outreach.status, outreach.channel) == ("sent", "desk")
    assert outreach.detail == f"{ticket.number} → 小李"
    assert mail.outbox == [] and not Message.objects.exists()
    assert not follow_ups().exists()  # the shop's own ticket: the customer is not told


@pytest.mark.django_db
def test_without_a_dedicated_agent_the_revisit_goes_to_the_vip_group(revisit):
    vip()

    run_revisits(OPENED)

    ticket = Ticket.objects.get()
    assert (ticket.skill_group, ticket.assignee) == (revisit, None)
    assert Outreach.objects.get().detail == f"{ticket.number} → group vip (no dedicated agent)"


@pytest.mark.django_db
def test_a_revisit_type_left_without_a_group_goes_to_the_group_vip_chats_go_to(revisit):
    # A fresh installation: the type's migration ran before the demo made the VIP group.
    TicketType.objects.filter(code="vip_revisit").update(skill_group=None)
    vip()

    run_revisits(OPENED)

    assert Ticket.objects.get().skill_group == revisit


@pytest.mark.django_db
def test_a_vip_is_revisited_once_in_each_period_of_n_days(revisit):
    customer = vip()
    DedicatedAgent.objects.create(customer=customer, agent=AgentFactory())
    start = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

    runs = [start + timedelta(days=day, hours=hour) for day in range(90) for hour in (0, 8, 16)]
    for at in runs:  # three Beat runs a day
        run_revisits(at)

    days = sorted(
        t.created_at.astimezone(ZoneInfo("Asia/Shanghai")).date() for t in Ticket.objects.all()
    )
    periods = [period(customer, day) for day in days]
    # The period the customer is in on the first day, then every 30 days from its end.
    assert days[0] == date(2026, 12, 1)
    assert periods == list(range(periods[0], periods[0] + len(days)))
    assert [(b - a).days for a, b in zip(days[1:], days[2:], strict=False)] == [30] * (
        len(days) - 2
    )
    # One for each period the runs touched, their days taken in Shanghai (the last run,
    # 16:00 UTC on the 90th day, is already the next day there).
    shanghai = ZoneInfo("Asia/Shanghai")
    assert len(days) == len({period(customer, at.astimezone(shanghai).date()) for at in runs})


@pytest.mark.django_db
@pytest.mark.parametrize(
    "start",
    [
        datetime(2027, 3, 13, 5, 0, tzinfo=UTC),  # New York springs forward on 14 March
        datetime(2027, 11, 6, 4, 0, tzinfo=UTC),  # and falls back on 7 November
    ],
)
def test_periods_follow_the_customers_own_days_across_dst(revisit, start):
    care_campaign(CareCampaign.Kind.VIP_REVISIT, every_days=1)
    CustomerFactory(level="vip", timezone="America/New_York")

    for hour in range(70):  # every hour for three days, to 22:00 on the third
        with time_machine.travel(start + timedelta(hours=hour), tick=False):
            claims.plan_vip_revisits()

    first = start.astimezone(ZoneInfo("America/New_York")).date()
    local_days = [first + timedelta(days=n) for n in range(3)]
    claimed_on = sorted(
        row.due_at.astimezone(ZoneInfo("America/New_York")).date() for row in Outreach.objects.all()
    )
    assert claimed_on == local_days


@pytest.mark.django_db
def test_no_revisit_for_a_customer_who_opted_out_or_is_no_vip(revisit):
    vip(care_opt_out=True)
    CustomerFactory(level="gold", timezone="Asia/Shanghai")

    assert run_revisits(OPENED) == 0
    assert not Outreach.objects.exists() and not Ticket.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "reason"),
    [({"care_opt_out": True}, "customer opted out"), ({"level": "gold"}, "no longer VIP")],
)
def test_a_claimed_revisit_is_skipped_when_the_customer_changed_since(revisit, change, reason):
    customer = vip()
    with time_machine.travel(OPENED, tick=False):
        claims.plan_vip_revisits()
    type(customer).objects.filter(pk=customer.pk).update(**change)

    with time_machine.travel(OPENED + timedelta(minutes=1), tick=False):
        sent = sender.send_due_outreach()

    assert sent == 0
    assert (Outreach.objects.get().status, Outreach.objects.get().detail) == ("skipped", reason)
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_a_revisit_whose_ticket_fails_leaves_it_pending_and_the_next_run_makes_one(
    revisit, monkeypatch
):
    from tickets.services import tickets

    vip()
    real = tickets.open_ticket

    def broken(**kwargs):
        raise ConnectionError("database went away")

    monkeypatch.setattr(tickets, "open_ticket", broken)
    with pytest.raises(ConnectionError):
        run_revisits(OPENED)
    pending = Outreach.objects.get().status
    monkeypatch.setattr(tickets, "open_ticket", real)

    made = run_revisits(OPENED + timedelta(minutes=1))

    assert (pending, made) == ("pending", 1)
    assert Ticket.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_beats_and_four_workers_make_one_revisit_ticket():
    group = SkillGroupFactory(code="vip")
    TicketType.objects.update_or_create(
        code="vip_revisit",
        defaults={
            "name_zh": "VIP 回访",
            "name_en": "VIP revisit",
            "urgency": 10,
            "skill_group": group,
        },
    )
    care_campaign(CareCampaign.Kind.VIP_REVISIT, every_days=30)
    customer = vip()
    DedicatedAgent.objects.create(customer=customer, agent=AgentFactory())

    with time_machine.travel(OPENED, tick=False):
        planned = at_once(claims.plan_vip_revisits, times=2)
        sent = at_once(sender.send_due_outreach, times=4)

    assert sorted(planned) == [0, 1]
    assert sorted(sent) == [0, 0, 0, 1]
    assert Ticket.objects.filter(type__code="vip_revisit").count() == 1
