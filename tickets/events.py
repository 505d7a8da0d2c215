"""What tickets tell the outside: the partner events (contracts/partner-api.md, "Webhooks"),
declared in one place. Emitted by the services in the transaction of the change."""

from __future__ import annotations

from helpdesk import webhooks
from tickets.models import Ticket


def ticket_data(ticket: Ticket) -> dict:
    """A ticket as partners see it: the partner API's representation (tickets/api.py), so
    an event carries the same object a GET of the ticket returns."""
    from tickets.api import TicketSerializer  # the API module imports the services

    return dict(TicketSerializer(ticket).data)


def ticket_created(ticket: Ticket) -> None:
    webhooks.emit("ticket.created", {"ticket": ticket_data(ticket)})


def ticket_updated(ticket: Ticket, *, changed: list[str]) -> None:
    if changed:
        webhooks.emit("ticket.updated", {"ticket": ticket_data(ticket), "changed": changed})


def sla_breached(tickets: list[Ticket], *, clock: str) -> None:
    """One `ticket.sla_breached` per ticket whose `clock` was just marked breached."""
    webhooks.emit_many([("ticket.sla_breached", _breach_data(t, clock)) for t in tickets])


def _breach_data(ticket: Ticket, clock: str) -> dict:
    return {
        "ticket": ticket_data(ticket),
        "clock": clock,
        "due": getattr(ticket, f"{clock}_due"),
        "breached_at": getattr(ticket, f"{clock}_breached_at"),
    }
