"""Every write to a ticket itself: open, change, comment; the SLA clocks move with them.

Each service locks the ticket's row, writes the timeline row of what it
changed (who, old → new) in the same transaction, and recomputes the due times
the change affects (tickets/services/clock.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from conversations.models import Agent, Conversation, SkillGroup
from conversations.services.messages import post_system_message
from customers.commerce import REASON_KIND
from customers.models import AfterSalesRequest, Customer
from helpdesk.languages import django_language
from tickets import events
from tickets.defaults import TICKET_TYPES
from tickets.models import Priority, Ticket, TicketComment, TicketEvent, TicketType
from tickets.services import assignment, automation, care, flows
from tickets.services.clock import (
    default_policy,
    pause_clocks,
    recompute_due_times,
    resume_clocks,
    save_clocks,
    start_next_response,
    stop_clock,
)

MAX_SUBJECT = 200
MAX_BODY = 10_000
MAX_TAGS = 20


class TicketInputError(ValueError):
    """Input a person can correct; the message says what is wrong."""


class TicketClosed(Exception):
    """A closed ticket is reopened by a customer's reply, not edited."""


# --- classification ---------------------------------------------------------------

COMPLAINT_WORDS = ("投诉", "差评", "维权", "举报", "complain", "complaint", "unacceptable")
BILLING_WORDS = ("发票", "退款", "扣款", "账单", "invoice", "refund", "billing", "charged")


def classify(*, text: str, intent: str = "", slots: dict | None = None) -> str:
    """The type code a ticket gets from what the customer wrote and the bot understood."""
    lowered = text.lower()
    if any(word in lowered for word in COMPLAINT_WORDS):
        return "complaint"
    if intent == "after_sales_request":
        reason = (slots or {}).get("reason")
        return (
            "repair" if REASON_KIND.get(reason) == AfterSalesRequest.Kind.REPAIR else "after_sales"
        )
    if any(word in lowered for word in BILLING_WORDS):
        return "billing"
    return "question"


def priority_for(urgency: int, level: str) -> int:
    """Urgency × customer level: a VIP's ticket is one step more urgent."""
    steps = list(Priority.values)
    if level == Customer.Level.VIP and urgency in steps:
        return steps[min(steps.index(urgency) + 1, len(steps) - 1)]
    return urgency


# --- writes -----------------------------------------------------------------------


def _clean_text(value: str, *, field: str, limit: int, required: bool = True) -> str:
    if not isinstance(value, str):
        raise TicketInputError(_("%(field)s must be text.") % {"field": field})
    value = value.strip()
    if required and not value:
        raise TicketInputError(_("%(field)s may not be empty.") % {"field": field})
    if len(value) > limit:
        raise TicketInputError(
            _("%(field)s is too long (at most %(limit)d characters).")
            % {"field": field, "limit": limit}
        )
    return value


def _clean_tags(tags) -> list[str]:
    if isinstance(tags, str):
        tags = tags.split(",")
    cleaned = []
    for tag in tags or []:
        tag = _clean_text(tag, field=_("A tag"), limit=40, required=False)
        if tag and tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise TicketInputError(_("At most %(n)d tags.") % {"n": MAX_TAGS})
    return cleaned


# The partner API key on whose behalf the services run (the API views set it): its name is
# kept on the timeline rows and comments it makes, where no person is the actor.
_partner: ContextVar[str] = ContextVar("ticket_partner", default="")


@contextmanager
def on_behalf_of_partner(name: str) -> Iterator[None]:
    """Ticket writes inside this block are recorded as made through the partner key `name`."""
    token = _partner.set(f"API: {name}"[:120])
    try:
        yield
    finally:
        _partner.reset(token)


def _event(ticket: Ticket, kind: str, actor, field: str = "", old: Any = "", new: Any = ""):
    return TicketEvent(
        ticket=ticket,
        kind=kind,
        actor=actor,
        via=_partner.get(),
        field=field,
        old="" if old is None else str(old),
        new="" if new is None else str(new),
    )


def open_ticket(
    *,
    customer: Customer,
    subject: str,
    type_code: str,
    source: str,
    description: str = "",
    priority: int | None = None,
    skill_group: SkillGroup | None = None,
    conversation: Conversation | None = None,
    tags=(),
    actor=None,
    assignee: Agent | None = None,
) -> Ticket:
    """Open a ticket: classified by its type, prioritised by urgency × customer level
    (unless `priority` is given), in the type's group unless another is named, under
    the default SLA policy with its due times, with a "created" timeline row; given to
    `assignee`, else to the agent the group's strategy picks (tickets/services/
    assignment.py), who is told. When it comes from a conversation, the customer is told
    its number there. Its follow-up with the customer a day later is claimed (care).
    Emits `ticket.created`."""
    subject = _clean_text(subject, field=_("The subject"), limit=MAX_SUBJECT)
    description = _clean_text(
        description, field=_("The description"), limit=MAX_BODY * 5, required=False
    )
    ticket_type = _type(type_code)
    if source not in Ticket.Source.values:
        raise TicketInputError(_("Unknown source %(source)s.") % {"source": source})
    if priority is not None and priority not in Priority.values:
        raise TicketInputError(_("Unknown priority."))
    with transaction.atomic():
        ticket = Ticket(
            subject=subject,
            description=description,
            type=ticket_type,
            priority=priority or priority_for(ticket_type.urgency, customer.level),
            source=source,
            customer=customer,
            skill_group=skill_group
            or ticket_type.skill_group
            or (conversation.skill_group if conversation else None),
            tags=_clean_tags(tags),
            sla_policy=default_policy(),
            created_by=actor,
        )
        ticket.save()
        ticket.sla_clocks = {}  # a new ticket has none yet: no query for them
        recompute_due_times(ticket)
        ticket.assignee = assignee or assignment.choose_assignee(ticket)
        if ticket.assignee is not None:
            ticket.assigned_at = timezone.now()
        ticket.save(update_fields=["assignee", "assigned_at"])
        save_clocks(ticket)
        if conversation is not None:
            ticket.conversations.add(conversation)
            with override(django_language(conversation.language)):
                post_system_message(
                    conversation_id=conversation.id,
                    body=_(
                        "We have opened ticket %(number)s for you. We will keep you informed here."
                    )
                    % {"number": ticket.number},
                    meta={"event": "ticket_opened", "ticket": ticket.number},
                )
        care.plan_follow_up(ticket)
        created = [_event(ticket, TicketEvent.Kind.CREATED, actor, new=ticket.number)]
        if ticket.assignee is not None:
            created.append(
                _event(
                    ticket,
                    TicketEvent.Kind.ASSIGNED,
                    actor,
                    "assignee",
                    "",
                    ticket.assignee.display_name,
                )
            )
            assignment.tell_assignee(ticket, by=actor)
        TicketEvent.objects.bulk_create(created)
        events.ticket_created(ticket)
        automation.ticket_created(ticket)
    return ticket


EDITABLE = ("subject", "status", "priority", "type", "skill_group", "assignee", "tags")


def change_ticket(*, ticket_id: int, actor, **changes) -> Ticket:
    """Change fields of an open ticket; one timeline row per field that really changed.

    status: pending_customer stops the SLA clocks, leaving it restarts them (the
    business time in between is added to every target); resolved and closed stamp
    their time. priority: the due times follow the new target. A closed ticket
    raises TicketClosed.
    """
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TicketInputError(
            _("These fields cannot be changed: %(f)s") % {"f": ", ".join(sorted(unknown))}
        )
    now = timezone.now()
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("customer", "type", "skill_group", "assignee", "sla_policy__calendar")
            .get(pk=ticket_id)
        )
        if ticket.status == Ticket.Status.CLOSED:
            raise TicketClosed
        before = {name: _shown(ticket, name) for name in changes}
        if "subject" in changes:
            ticket.subject = _clean_text(
                changes["subject"], field=_("The subject"), limit=MAX_SUBJECT
            )
        if "tags" in changes:
            ticket.tags = _clean_tags(changes["tags"])
        if "type" in changes:
            ticket.type = _type(changes["type"])
        if "skill_group" in changes:
            ticket.skill_group = changes["skill_group"]
        if "assignee" in changes:
            assignee = changes["assignee"]
            if assignee is not None and not isinstance(assignee, Agent):
                raise TicketInputError(_("Unknown agent."))
            if assignee != ticket.assignee:
                ticket.assignee = assignee
                ticket.assigned_at = now if assignee else None
        if "priority" in changes:
            if changes["priority"] not in Priority.values:
                raise TicketInputError(_("Unknown priority."))
            ticket.priority = changes["priority"]
        if "status" in changes:
            _set_status(ticket, changes["status"], now)
        elif "priority" in changes:
            recompute_due_times(ticket)
        ticket.save()
        save_clocks(ticket)
        changed = [name for name in changes if _shown(ticket, name) != before[name]]
        TicketEvent.objects.bulk_create(
            _event(
                ticket, TicketEvent.Kind.CHANGED, actor, name, before[name], _shown(ticket, name)
            )
            for name in changed
        )
        if "assignee" in changed:
            assignment.tell_assignee(ticket, by=actor)
        events.ticket_updated(ticket, changed=changed)
        automation.ticket_updated(ticket, changed=changed)
    return ticket


def _type(code: str) -> TicketType:
    """The type with this code. One of the built-in types that admin deleted is made
    again from the defaults: a chat must be able to close whatever admin did."""
    ticket_type = TicketType.objects.select_related("skill_group").filter(code=code).first()
    if ticket_type is None:
        builtin = next((t for t in TICKET_TYPES if t[0] == code), None)
        if builtin is None:
            raise TicketInputError(_("Unknown ticket type %(code)s.") % {"code": code})
        _code, zh, en, urgency, position = builtin
        ticket_type, _created = TicketType.objects.get_or_create(
            code=code,
            defaults={"name_zh": zh, "name_en": en, "urgency": urgency, "position": position},
        )
    return ticket_type


def _shown(ticket: Ticket, name: str) -> str:
    """A field's value as the timeline records it."""
    if name == "tags":
        return ", ".join(ticket.tags)
    if name in ("type", "skill_group"):
        value = getattr(ticket, name)
        return value.code if value else ""
    if name == "assignee":
        return ticket.assignee.display_name if ticket.assignee else ""
    return str(getattr(ticket, name))


def _set_status(ticket: Ticket, status: str, now: datetime) -> None:
    if status not in Ticket.Status.values:
        raise TicketInputError(_("Unknown status %(status)s.") % {"status": status})
    if status == ticket.status:
        return
    ticket.status = status
    if status == Ticket.Status.PENDING_CUSTOMER:
        pause_clocks(ticket, now)
    else:
        resume_clocks(ticket, now)
    if status == Ticket.Status.RESOLVED:
        ticket.resolved_at = now
        stop_clock(ticket, "resolution", "next_response")
    elif status == Ticket.Status.CLOSED:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
        stop_clock(ticket, "resolution", "next_response")
    elif status in (Ticket.Status.OPEN, Ticket.Status.REOPENED, Ticket.Status.PENDING_INTERNAL):
        ticket.resolved_at = None
        recompute_due_times(ticket)
    if status == Ticket.Status.REOPENED:
        care.plan_follow_up(ticket, reopened=True)


def add_comment(
    *,
    ticket_id: int,
    body: str,
    public: bool = True,
    author=None,
    from_customer: bool = False,
) -> TicketComment:
    """A reply or a note on a ticket.

    An agent's first public reply stops the first-response clock and answers any
    pending next response; a new ticket becomes open. The reply reaches the
    customer in the ticket's conversation. The customer's reply reopens a
    resolved or closed ticket, takes one pending on them back to open (the clocks
    run again) and starts the next-response clock.
    """
    body = _clean_text(body, field=_("The comment"), limit=MAX_BODY)
    now = timezone.now()
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("customer", "sla_policy__calendar")
            .get(pk=ticket_id)
        )
        comment = TicketComment.objects.create(
            ticket=ticket,
            author=author,
            via=_partner.get(),
            from_customer=from_customer,
            public=public or from_customer,
            body=body,
        )
        old_status = ticket.status
        if from_customer:
            if ticket.status in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED):
                ticket.closed_at = None
                _set_status(ticket, Ticket.Status.REOPENED, now)
            elif ticket.status == Ticket.Status.PENDING_CUSTOMER:
                _set_status(ticket, Ticket.Status.OPEN, now)
            start_next_response(ticket, now)
        elif public:
            if ticket.first_responded_at is None:
                ticket.first_responded_at = now
                stop_clock(ticket, "first_response")
            stop_clock(ticket, "next_response")
            if ticket.status in (Ticket.Status.NEW, Ticket.Status.REOPENED):
                ticket.status = Ticket.Status.OPEN
            deliver_reply(comment, ticket=ticket)
        ticket.save()
        save_clocks(ticket)
        timeline = [
            _event(
                ticket,
                TicketEvent.Kind.COMMENTED,
                author,
                field="public" if comment.public else "internal",
                new=body[:200],
            )
        ]
        if ticket.status != old_status:
            timeline.append(
                _event(
                    ticket, TicketEvent.Kind.CHANGED, author, "status", old_status, ticket.status
                )
            )
        TicketEvent.objects.bulk_create(timeline)
        events.ticket_updated(
            ticket,
            changed=["comments"] + (["status"] if ticket.status != old_status else []),
        )
        flows.reply_received(ticket=ticket, comment=comment)
        automation.ticket_updated(ticket, changed=automation.comment_changes(comment, old_status))
    return comment


def deliver_reply(comment: TicketComment, *, ticket: Ticket) -> None:
    """A public reply reaches the customer in a chat they have open: the ticket's own
    conversation if it is still open, else the customer's latest open conversation (which
    is then linked to the ticket). With none open, it is also shown in the ticket's last
    conversation (the customer may still be looking at it) and waits: it is delivered into
    the next conversation they open (`deliver_waiting_replies`)."""
    open_chats = Conversation.objects.filter(
        customer_id=ticket.customer_id, status__in=Conversation.OPEN_STATUSES
    )
    conversation = (
        open_chats.filter(tickets=ticket).order_by("-created_at").first()
        or open_chats.order_by("-created_at").first()
    )
    if conversation is None:
        last = ticket.conversations.order_by("-created_at").first()
        if last is not None:
            _post_reply(last, ticket, comment.body)
        return
    ticket.conversations.add(conversation)
    _post_reply(conversation, ticket, comment.body)
    comment.delivered_in = conversation
    comment.delivered_at = timezone.now()
    comment.save(update_fields=["delivered_in", "delivered_at"])


def _post_reply(conversation: Conversation, ticket: Ticket, body: str) -> None:
    with override(django_language(conversation.language)):
        post_system_message(
            conversation_id=conversation.id,
            body=_("Reply on ticket %(number)s: %(body)s")
            % {"number": ticket.number, "body": body},
            meta={"event": "ticket_reply", "ticket": ticket.number},
        )


def deliver_waiting_replies(*, conversation: Conversation) -> int:
    """The started hook (registered by TicketsConfig): public replies that found no open
    chat of this customer are posted into the conversation they just opened, oldest first,
    each once (the rows are locked and marked in this transaction). Returns how many."""
    waiting = list(
        TicketComment.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(
            ticket__customer_id=conversation.customer_id,
            public=True,
            from_customer=False,
            delivered_at__isnull=True,
        )
        .select_related("ticket")
        .order_by("created_at", "pk")[:20]
    )
    now = timezone.now()
    for comment in waiting:
        comment.ticket.conversations.add(conversation)
        _post_reply(conversation, comment.ticket, comment.body)
        comment.delivered_in, comment.delivered_at = conversation, now
    TicketComment.objects.bulk_update(waiting, ["delivered_in", "delivered_at"])
    return len(waiting)
