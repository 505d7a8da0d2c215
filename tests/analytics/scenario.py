"""A hand-built day whose every figure is known (docs/metrics.md), for the metric tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from conversations.models import AgentStatusLog, Conversation, Message, Survey
from customers.models import Customer
from tests.factories import AgentFactory, CustomerFactory, SkillGroupFactory
from tickets.defaults import ensure_defaults
from tickets.models import SLAPolicy, SLATarget, Ticket, TicketClock, TicketEvent, TicketType


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(settings.TIME_ZONE))


@dataclass
class Day:
    day: date
    t0: datetime
    agents: dict = field(default_factory=dict)
    groups: dict = field(default_factory=dict)
    conversations: dict = field(default_factory=dict)
    tickets: dict = field(default_factory=dict)


def conversation(
    customer,
    start: datetime,
    messages: list[tuple[str, float, dict]],
    *,
    channel="web",
    **fields,
) -> Conversation:
    """A conversation started at `start` with its messages at offsets (seconds); the other
    fields as given (times are offsets in seconds too when they end in _at)."""
    times = {
        name: start + timedelta(seconds=value)
        for name, value in fields.items()
        if name.endswith("_at") and value is not None
    }
    others = {name: value for name, value in fields.items() if not name.endswith("_at")}
    item = Conversation.objects.create(customer=customer, channel=channel, **others)
    for seq, (sender, offset, meta) in enumerate(messages, start=1):
        message = Message.objects.create(
            conversation=item,
            seq=seq,
            sender=sender,
            body=meta.pop("body", f"{sender} {seq}"),
            meta=meta,
        )
        Message.objects.filter(pk=message.pk).update(created_at=start + timedelta(seconds=offset))
    Conversation.objects.filter(pk=item.pk).update(
        created_at=start, last_seq=len(messages), **times
    )
    item.refresh_from_db()
    return item


def bot(offset, action="answer", **meta):
    return ("bot", offset, {"action": action, **meta})


def say(offset, body=None):
    return ("customer", offset, {"body": body} if body else {})


def agent(offset):
    return ("agent", offset, {})


def build(day: date, hour: int = 10) -> Day:
    """Eight conversations on `day` from 10:00 (local), two surveys answered and one not,
    one ticket answered in time, resolved late and reopened, one agent online 10:00–12:00."""
    ensure_defaults(TicketType, SLAPolicy, SLATarget)  # a flushed database has no types
    t0 = local(day, hour)
    scene = Day(day=day, t0=t0)
    sales = scene.groups["sales"] = SkillGroupFactory(code="sales")
    anna = scene.agents["anna"] = AgentFactory(display_name="Anna")
    ben = scene.agents["ben"] = AgentFactory(display_name="Ben")
    gold = CustomerFactory(level=Customer.Level.GOLD, language="en")
    c = scene.conversations
    # 1. The bot answers in 2 s and that settles it: contained, resolved, first contact.
    c["bot"] = conversation(
        CustomerFactory(), t0, [say(0), bot(2, intent="order_status", article="shipping")]
    )
    # 2. A fallback (4 s), a handoff (11 s), taken (12 s), the agent's first reply 20 s after
    #    the handoff, their next one 10 s after the customer; resolved at 100 s.
    c["handoff"] = conversation(
        gold,
        t0 + timedelta(minutes=1),
        [
            say(0, "What's the warranty?"),
            bot(4, "fallback"),
            say(10, "人工"),
            agent(31),
            say(40),
            agent(50),
        ],
        status="closed",
        resolution="resolved",
        queued_at=11,
        assigned_at=12,
        closed_at=100,
        assignee=anna,
        skill_group=sales,
        handoff_reason="request",
        tags=["warranty"],
    )
    # 3. Transferred once (to Ben), then resolved: resolved, not first contact.
    c["transfer"] = conversation(
        CustomerFactory(),
        t0 + timedelta(minutes=2),
        [say(0), bot(1, "handoff"), agent(61), say(70), agent(75)],
        status="closed",
        resolution="resolved",
        queued_at=1,
        assigned_at=1,
        closed_at=200,
        assignee=ben,
        skill_group=sales,
        transfer_count=1,
        handoff_reason="request",
    )
    # 4. Handed off, nobody online: a message left, never answered.
    c["left"] = conversation(
        CustomerFactory(),
        t0 + timedelta(minutes=3),
        [say(0), bot(1, "handoff"), say(30)],
        status="closed",
        resolution="left_message",
        queued_at=1,
        closed_at=30,
        handoff_reason="no_answer",
    )
    # 5. Spam: not counted anywhere but `spam`.
    c["spam"] = conversation(
        CustomerFactory(),
        t0 + timedelta(minutes=4),
        [say(0), bot(1)],
        status="closed",
        resolution="spam",
        closed_at=60,
    )
    # 6. Opened, nothing said: not a conversation of the metrics.
    c["silent"] = conversation(CustomerFactory(), t0 + timedelta(minutes=5), [])
    # 7. Resolved by Anna, but a ticket was opened from it: not first contact.
    c["ticketed"] = conversation(
        CustomerFactory(),
        t0 + timedelta(minutes=6),
        [say(0), bot(3, "handoff"), agent(13)],
        status="closed",
        resolution="resolved",
        queued_at=3,
        assigned_at=3,
        closed_at=60,
        assignee=anna,
    )
    # 8. The same customer twice within 24 h, the bot answering both: the first is not
    #    first contact (they came back), the second is a repeat contact.
    again = CustomerFactory()
    c["first_visit"] = conversation(
        again, t0 + timedelta(minutes=7), [say(0), bot(6, intent="order_status")]
    )
    c["second_visit"] = conversation(
        again, t0 + timedelta(hours=1), [say(0), bot(8, intent="returns")]
    )
    # Surveys: 5 and 3 answered, one never answered.
    for name, score in (("handoff", 5), ("transfer", 3), ("ticketed", None)):
        item = c[name]
        survey = Survey.objects.create(
            conversation=item,
            customer=item.customer,
            delivered_in=item,
            question="?",
            score=score,
        )
        Survey.objects.filter(pk=survey.pk).update(
            created_at=item.closed_at + timedelta(minutes=5),
            answered_at=item.closed_at + timedelta(minutes=10) if score else None,
        )
    # The ticket: first response in time (30 min), resolution due at 4 h and breached,
    # resolved at 5 h, reopened at 6 h.
    opened = t0 + timedelta(minutes=10)
    ticket = scene.tickets["late"] = Ticket.objects.create(
        subject="Broken",
        type=TicketType.objects.order_by("pk").first(),
        priority=2,
        status=Ticket.Status.REOPENED,
        source=Ticket.Source.CHAT,
        customer=c["ticketed"].customer,
        skill_group=sales,
        assignee=anna,
    )
    ticket.conversations.add(c["ticketed"])
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=opened,
        first_responded_at=opened + timedelta(minutes=30),
        resolved_at=opened + timedelta(hours=5),
    )
    TicketClock.objects.create(ticket=ticket, clock="first_response", due=None)
    TicketClock.objects.create(
        ticket=ticket, clock="resolution", due=None, breached_at=opened + timedelta(hours=4)
    )
    event = TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.CHANGED,
        field="status",
        old="resolved",
        new="reopened",
    )
    TicketEvent.objects.filter(pk=event.pk).update(created_at=opened + timedelta(hours=6))
    # Anna online 10:00–12:00 (she holds conversations 2 and 7 meanwhile), then away.
    AgentStatusLog.objects.filter(agent=anna).delete()
    AgentStatusLog.objects.create(
        agent=anna, status="online", started_at=t0, ended_at=t0 + timedelta(hours=2)
    )
    AgentStatusLog.objects.create(agent=anna, status="away", started_at=t0 + timedelta(hours=2))
    return scene
