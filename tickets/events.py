"""What tickets tell the outside: the partner events (contracts/partner-api.md, "Webhooks"),
declared in one place. Emitted by the services in the transaction of the change."""

from __future__ import annotations

from conversations.rooms.services import post_ticket_card
from helpdesk import webhooks
from tickets.models import CLOCKS, Priority, Ticket


def ticket_data(ticket: Ticket) -> dict:
    """A ticket as partners see it: the partner API's representation (tickets/api.py), so
    an event carries the same object a GET of the ticket returns."""
    from tickets.api import TicketSerializer  # the API module imports the services

    return dict(TicketSerializer(ticket).data)


def ticket_created(ticket: Ticket) -> None:
    webhooks.emit("ticket.created", {"ticket": ticket_data(ticket)})
    _room_card(ticket, "created")


def ticket_updated(ticket: Ticket, *, changed: list[str]) -> None:
    if changed:
        webhooks.emit("ticket.updated", {"ticket": ticket_data(ticket), "changed": changed})
    if "assignee" in changed and ticket.assignee_id:
        _room_card(ticket, "assigned")
    if "status" in changed and ticket.status == Ticket.Status.RESOLVED:
        _room_card(ticket, "resolved")


def _room_card(ticket: Ticket, event: str) -> None:
    """The event as a card in the ticket's group's team room (docs/rooms.md)."""
    post_ticket_card(
        group_id=ticket.skill_group_id,
        ticket_id=ticket.pk,
        number=ticket.number,
        subject=ticket.subject,
        event=event,
        assignee=ticket.assignee.display_name if ticket.assignee_id else "",
    )


# --- the same in SQL, for the batch jobs ---------------------------------------------------
#
# The breach job writes its `ticket.sla_breached` events with one INSERT … SELECT a batch
# (tickets/services/breaches.py): a ticket's representation built by PostgreSQL from the
# rows, not by the serializer once per ticket. It is the serializer's output, key by key
# and value by value, and tests/tickets/test_ticket_json.py holds the two together.


def utc_sql(expression: str) -> str:
    """SQL for a time as the API writes it: ISO-8601 in UTC, microseconds when there are
    any, `Z` (DRF's DateTimeField with UTC); NULL stays NULL."""
    return (
        f"replace(to_char(({expression}) AT TIME ZONE 'UTC', "
        f"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '.000000Z', 'Z')"
    )


def number_sql(expression: str) -> str:
    """SQL for a ticket's number, as `number_of` writes it (T-000123; longer ids whole)."""
    return f"'T-' || CASE WHEN ({expression}) < 1000000 THEN lpad(({expression})::text, 6, '0') ELSE ({expression})::text END"


def ticket_json_sql(alias: str, *, breached=None) -> tuple[str, str]:
    """(a jsonb expression, the joins it needs) for the ticket in the row `alias` (its
    columns as `tickets_ticket` has them): what `ticket_data` returns for it. Its clocks
    are read through their index (a lateral subquery a ticket); `breached`, a function
    of a clock's alias, says which count as breached (the breach job's: those breached
    and those it is breaching)."""
    breached = breached or (lambda c: f"{c}.breached_at IS NOT NULL")
    priority = " ".join(
        f"WHEN {value} THEN '{priority.name.lower()}'"
        for value, priority in ((p.value, p) for p in Priority)
    )
    dues = ", ".join(f"'{clock}_due', {utc_sql(f'json_clocks.{clock}_due')}" for clock in CLOCKS)
    flags = ", ".join(
        f"'{clock}', COALESCE(json_clocks.{clock}_breached, false)" for clock in CLOCKS
    )
    per_clock = ", ".join(
        f"max(json_clock.due) FILTER (WHERE json_clock.clock = '{clock}') AS {clock}_due, "
        f"bool_or({breached('json_clock')}) FILTER (WHERE json_clock.clock = '{clock}')"
        f" AS {clock}_breached"
        for clock in CLOCKS
    )
    expression = f"""jsonb_build_object(
        'id', {number_sql(f"{alias}.id")},
        'subject', {alias}.subject,
        'description', {alias}.description,
        'type', json_type.code,
        'priority', CASE {alias}.priority {priority} END,
        'status', {alias}.status,
        'source', {alias}.source,
        'customer', json_customer.external_id,
        'conversations', COALESCE((
            SELECT jsonb_agg(json_conv.id::text ORDER BY json_conv.created_at)
            FROM tickets_ticket_conversations json_link
            JOIN conversations_conversation json_conv ON json_conv.id = json_link.conversation_id
            WHERE json_link.ticket_id = {alias}.id), '[]'::jsonb),
        'group', json_group.code,
        'assignee', CASE WHEN json_agent.id IS NULL THEN NULL
            ELSE jsonb_build_object('id', json_agent.id, 'name', json_agent.display_name) END,
        'tags', to_jsonb({alias}.tags),
        'sla', jsonb_build_object(
            'policy', json_policy.name,
            {dues},
            'paused', {alias}.sla_paused_at IS NOT NULL,
            'breached', jsonb_build_object({flags})),
        'created_at', {utc_sql(f"{alias}.created_at")},
        'updated_at', {utc_sql(f"{alias}.updated_at")},
        'resolved_at', {utc_sql(f"{alias}.resolved_at")},
        'closed_at', {utc_sql(f"{alias}.closed_at")})"""  # noqa: S608 (names, no values)
    joins = f"""
        JOIN tickets_tickettype json_type ON json_type.id = {alias}.type_id
        JOIN customers_customer json_customer ON json_customer.id = {alias}.customer_id
        LEFT JOIN conversations_skillgroup json_group ON json_group.id = {alias}.skill_group_id
        LEFT JOIN conversations_agent json_agent ON json_agent.id = {alias}.assignee_id
        LEFT JOIN tickets_slapolicy json_policy ON json_policy.id = {alias}.sla_policy_id
        CROSS JOIN LATERAL (
            SELECT {per_clock} FROM tickets_ticketclock json_clock
            WHERE json_clock.ticket_id = {alias}.id
        ) json_clocks"""  # noqa: S608 (names, no values)
    return expression, joins
