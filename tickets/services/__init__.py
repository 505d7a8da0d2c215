"""Every write to tickets, one module per part of the domain; the public names are here."""

from tickets.services.breaches import record_breaches, warn_at_risk
from tickets.services.clock import default_policy, target_for
from tickets.services.from_conversations import (
    prefill,
    ticket_for_closed_conversation,
    ticket_from_conversation,
    transcript,
)
from tickets.services.tickets import (
    EDITABLE,
    TicketClosed,
    TicketInputError,
    add_comment,
    change_ticket,
    classify,
    open_ticket,
    priority_for,
)

__all__ = [
    "EDITABLE",
    "TicketClosed",
    "TicketInputError",
    "add_comment",
    "change_ticket",
    "classify",
    "default_policy",
    "open_ticket",
    "prefill",
    "priority_for",
    "record_breaches",
    "target_for",
    "ticket_for_closed_conversation",
    "ticket_from_conversation",
    "transcript",
    "warn_at_risk",
]
