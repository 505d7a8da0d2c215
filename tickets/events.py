"""What tickets tell the outside: the partner events (contracts/partner-api.md, "Webhooks"),
declared in one place. Emitted by the services in the transaction of the change."""

from __future__ import annotations

from helpdesk import webhooks
from tickets.models import CLOCKS, Priority, Ticket

PRIORITY_WORDS = {
    Priority.LOW: "low",
    Priority.NORMAL: "normal",
    Priority.HIGH: "high",
    Priority.URGENT: "urgent",
}


def ticket_data(ticket: Ticket) -> dict:
    """A ticket as partners see it (the API's representation and every ticket event)."""
    return {
        "id": ticket.number,
        "subject": ticket.subject,
        "type": ticket.type.code if ticket.type_id else None,
        "priority": PRIORITY_WORDS.get(ticket.priority, str(ticket.priority)),
        "status": ticket.status,
        "source": ticket.source,
        "customer": ticket.customer.external_id or None,
        "group": ticket.skill_group.code if ticket.skill_group_id else None,
        "assignee": ticket.assignee.display_name if ticket.assignee_id else None,
        "tags": list(ticket.tags),
        "sla": {
            "paused": ticket.sla_paused_at is not None,
            **{f"{clock}_due": getattr(ticket, f"{clock}_due") for clock in CLOCKS},
            "breached": {
                clock: getattr(ticket, f"{clock}_breached_at") is not None for clock in CLOCKS
            },
        },
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }


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
