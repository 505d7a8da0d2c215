"""What happens to tickets when their customer is merged into another (or back)."""

from __future__ import annotations

from tickets.models import TicketEvent

MOVED = "tickets.ticket.customer"


def record_customer_merge(*, merge, undone: bool = False) -> int:
    """The merged hook (customers.hooks, registered by TicketsConfig): each ticket that
    moved gets a timeline row "customer #old → #new", with who merged (or undid it), in the
    merge's transaction. Returns how many."""
    ids = merge.moved.get(MOVED, [])
    old, new = f"#{merge.merged_id}", f"#{merge.survivor_id}"
    if undone:
        old, new = new, old
    events = TicketEvent.objects.bulk_create(
        TicketEvent(
            ticket_id=int(ticket_id),
            kind=TicketEvent.Kind.CHANGED,
            actor=merge.undone_by if undone else merge.merged_by,
            via="customer merge",
            field="customer",
            old=old,
            new=new,
        )
        for ticket_id in ids
    )
    return len(events)
