"""The tickets' part of a customer's export and erasure (registered in customers.hooks,
docs/privacy.md).

The export holds what the customer may see of their tickets: the tickets, their public
comments and their timeline (the text of internal notes left out). The erasure replaces
every comment's text of the customer's tickets — theirs, and the agents' replies and notes
that quote them — by "[erased]", the subject too, empties the descriptions, the texts the
timeline keeps and the summaries sent to other teams. Statuses, times, SLA clocks and
breaches stay: the ticket metrics come out the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from tickets.models import CollaborationRequest, Ticket, TicketComment, TicketEvent, number_of

# The timeline fields whose values are texts people wrote.
_TEXT_FIELDS = ("subject", "description", "public", "internal")


def export_customer_tickets(*, customer) -> dict:
    """The customer's tickets with their public comments and timeline: three queries."""
    tickets = list(
        Ticket.objects.filter(customer_id=customer.pk)
        .order_by("created_at", "pk")
        .values(
            "id",
            "subject",
            "description",
            "type__code",
            "priority",
            "status",
            "source",
            "created_at",
            "resolved_at",
            "closed_at",
        )
    )
    ids = [ticket["id"] for ticket in tickets]
    comments, timeline = defaultdict(list), defaultdict(list)
    for comment in (
        TicketComment.objects.filter(ticket_id__in=ids, public=True)
        .order_by("created_at", "pk")
        .values("ticket_id", "from_customer", "author__username", "body", "created_at")
    ):
        comments[comment.pop("ticket_id")].append(comment)
    for event in (
        TicketEvent.objects.filter(ticket_id__in=ids)
        .order_by("created_at", "pk")
        .values("ticket_id", "kind", "field", "old", "new", "actor__username", "created_at")
    ):
        if event["field"] == "internal":
            event["new"] = ""  # a colleague's note, not the customer's to read
        timeline[event.pop("ticket_id")].append(event)
    for ticket in tickets:
        ticket["number"] = number_of(ticket["id"])
        ticket["comments"] = comments.get(ticket["id"], [])
        ticket["timeline"] = timeline.get(ticket["id"], [])
    return {"tickets": tickets}


def erase_customer_tickets(*, customer, placeholder: Callable[[str], str]) -> list[str]:
    """Erase the texts of the customer's tickets, in the caller's transaction. No files."""
    erased = placeholder(customer.language)
    tickets = Ticket.objects.filter(customer_id=customer.pk)
    ids = list(tickets.values_list("pk", flat=True))
    tickets.update(subject=erased, description="")
    TicketComment.objects.filter(ticket_id__in=ids).update(body=erased)
    events = TicketEvent.objects.filter(ticket_id__in=ids, field__in=_TEXT_FIELDS)
    events.exclude(old="").update(old=erased)
    events.exclude(new="").update(new=erased)
    CollaborationRequest.objects.filter(ticket_id__in=ids).update(context={})
    return []
