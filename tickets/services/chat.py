"""Tickets in the customer's chat: the bot tells a ticket's progress, takes the customer's
answer to a ticket reply, opens a ticket for a complaint or a repair, and hands over the
replies that were waiting for the customer. Registered as conversation hooks by
TicketsConfig; each runs inside the transaction of the bot's turn or the new session."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from conversations.models import Conversation, Message
from customers.commerce import REASON_KIND
from customers.models import AfterSalesRequest
from tickets.models import Ticket, number_of, pk_of
from tickets.services.from_conversations import prefill
from tickets.services.tickets import add_comment, classify, open_ticket

# T-000123 (the dash is required: product models such as "T1000" are not tickets); Chinese
# text around it has no word boundary, so the edges are "not a Latin letter or digit".
NUMBER = re.compile(r"(?<![A-Za-z0-9])T-(\d{1,9})(?![0-9])", re.IGNORECASE)
STATUS_ZH = re.compile(r"工单.{0,12}(进度|状态|怎么样|处理|到哪|结果|多久)|(进度|状态).{0,6}工单")
STATUS_EN = re.compile(
    r"\bticket\b.{0,30}\b(status|progress|update|going|news|happening)\b"
    r"|\b(status|progress|update)\b.{0,20}\bticket\b",
    re.IGNORECASE,
)
STATUS_TICKETS = 3
# A customer's message counts as their answer to a ticket reply when that reply is the
# last thing said to them in the chat, and not older than this.
ANSWER_WINDOW = timedelta(days=7)


def asks_ticket_status(text: str) -> bool:
    return bool(STATUS_ZH.search(text) or STATUS_EN.search(text))


def customer_wrote(*, conversation: Conversation, message: Message, text: str) -> str | None:
    """The customer-text hook: "what's the status of my ticket?" is answered from their
    own tickets (never anyone else's); a message right after a ticket reply becomes their
    reply on that ticket. None: the bot goes on as usual."""
    if asks_ticket_status(text) or (NUMBER.search(text) and len(text) <= 40):
        return ticket_status_text(customer_id=conversation.customer_id, text=text)
    ticket = _ticket_awaiting_answer(conversation)
    if ticket is None:
        return None
    add_comment(ticket_id=ticket.pk, body=text, from_customer=True)
    return _("Thank you, I've added this to ticket %(number)s. The team will answer you here.") % {
        "number": ticket.number
    }


def _ticket_awaiting_answer(conversation: Conversation) -> Ticket | None:
    last = (
        Message.objects.filter(conversation=conversation)
        .exclude(sender=Message.Sender.CUSTOMER)
        .order_by("-seq")
        .only("meta", "created_at")
        .first()
    )
    if last is None or (last.meta or {}).get("event") != "ticket_reply":
        return None
    if timezone.now() - last.created_at > ANSWER_WINDOW:
        return None
    pk = pk_of(str(last.meta.get("ticket", "")))
    return Ticket.objects.filter(pk=pk, customer_id=conversation.customer_id).first()


def ticket_status_text(*, customer_id: int, text: str) -> str:
    """The progress of the ticket the customer names, or of their open tickets."""
    named = NUMBER.search(text)
    mine = Ticket.objects.filter(customer_id=customer_id).select_related("assignee")
    if named:
        pk = pk_of(named.group(1))
        ticket = mine.filter(pk=pk).first() if pk else None
        if ticket is None:
            return _("I couldn't find ticket %(number)s on your account.") % {
                "number": number_of(pk) if pk else named.group(0).upper()
            }
        tickets = [ticket]
    else:
        tickets = list(
            mine.filter(status__in=Ticket.OPEN_STATUSES).order_by("-updated_at")[:STATUS_TICKETS]
        )
        if not tickets:
            return _(
                "You have no open tickets. If something is still not right, tell me about it "
                "or tap “Talk to a person”."
            )
    return "\n".join(_describe(ticket) for ticket in tickets)


STATUS_TEXT = {
    Ticket.Status.NEW: lambda: _("received, waiting for the team"),
    Ticket.Status.OPEN: lambda: _("being handled"),
    Ticket.Status.PENDING_CUSTOMER: lambda: _("waiting for your answer"),
    Ticket.Status.PENDING_INTERNAL: lambda: _("being checked by another team"),
    Ticket.Status.REOPENED: lambda: _("reopened, being handled"),
    Ticket.Status.RESOLVED: lambda: _("resolved"),
    Ticket.Status.CLOSED: lambda: _("closed"),
}


def _describe(ticket: Ticket) -> str:
    line = _("%(number)s “%(subject)s”: %(status)s, last update %(updated)s.") % {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": STATUS_TEXT[ticket.status](),
        "updated": formats.date_format(
            timezone.localtime(ticket.updated_at), "SHORT_DATETIME_FORMAT"
        ),
    }
    if ticket.is_open and ticket.resolution_due and ticket.sla_paused_at is None:
        line += " " + _("We aim to settle it by %(due)s.") % {
            "due": formats.date_format(
                timezone.localtime(ticket.resolution_due), "SHORT_DATETIME_FORMAT"
            )
        }
    return line


def ticket_from_understanding(*, conversation: Conversation, text: str, meta: dict) -> None:
    """The bot-understood hook: a complaint, or a repair the bot has just requested, becomes
    a ticket linked to the conversation (the customer is told its number) — once per
    conversation while that ticket is open."""
    repair = (
        meta.get("intent") == "after_sales_request"
        and meta.get("result") == "ok"
        and REASON_KIND.get((meta.get("slots") or {}).get("reason"))
        == AfterSalesRequest.Kind.REPAIR
    )
    complaint = classify(text=text) == "complaint"
    if not (repair or complaint):
        return
    if Ticket.objects.filter(conversations=conversation, status__in=Ticket.OPEN_STATUSES).exists():
        return
    subject, description, _type = prefill(conversation)
    open_ticket(
        customer=conversation.customer,
        subject=text.splitlines()[0][:80] if complaint else subject,
        description=description,
        type_code="complaint" if complaint else "repair",
        source=Ticket.Source.CHAT,
        conversation=conversation,
        skill_group=conversation.skill_group,
        tags=conversation.tags,
    )
