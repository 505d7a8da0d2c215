"""Ticket events as cards in the owning group's team room (created, assigned, SLA at risk
or breached, resolved): written in the transaction of the change, shown on commit.

`conversations` knows nothing of tickets: the tickets app calls `post_ticket_card`
from its services, and its batch jobs put `room_cards_sql` into their statements, so a
batch of a thousand breaches makes its cards with one INSERT … SELECT, not a loop.
"""

from __future__ import annotations

from django.db import transaction

from conversations.rooms import events
from conversations.rooms.models import Room, RoomMessage
from conversations.rooms.protocol import room_message_payload
from conversations.rooms.services.messages import _advance
from helpdesk.ids import UUID7_SQL
from helpdesk.realtime import publish_all_on_commit

EVENTS = ("created", "assigned", "at_risk", "breached", "resolved")


def post_ticket_card(
    *,
    group_id: int | None,
    ticket_id: int,
    number: str,
    subject: str,
    event: str,
    assignee: str = "",
) -> RoomMessage | None:
    """A card of the ticket's `event` in its group's room (none without a group)."""
    if event not in EVENTS:
        raise ValueError(event)
    room = Room.objects.filter(skill_group_id=group_id).first() if group_id else None
    if room is None:
        return None
    with transaction.atomic():
        seq, rev = _advance(room.pk, seqs=1, revs=1)
        card = RoomMessage.objects.create(
            room=room,
            seq=seq,
            rev=rev,
            kind=RoomMessage.Kind.CARD,
            body=f"{number} {subject}"[:400],
            card={
                "kind": "ticket",
                "event": event,
                "ticket": ticket_id,
                "number": number,
                "subject": subject[:200],
                "assignee": assignee,
            },
            refs=[{"kind": "ticket", "id": ticket_id}],
        )
        publish_cards_on_commit([card.pk])
    return card


def room_cards_sql(*, source: str, event: str, number: str, clocks: str = "NULL") -> str:
    """CTEs (to follow others in a WITH) that post a card of `event` for every row of the
    CTE `source` (columns id, subject, skill_group_id) into its group's room: each room
    takes as many seqs as it gets cards, in one UPDATE, and the cards are numbered in
    the order of their tickets. `number`: SQL of a ticket's number from `src.id`;
    `clocks`: SQL of the clocks concerned. The CTE `room_cards` returns the cards' ids.
    Parameters used: %(now)s."""
    if event not in EVENTS:
        raise ValueError(event)
    room = Room._meta.db_table
    message = RoomMessage._meta.db_table
    return f""",
card_rows AS MATERIALIZED (
    SELECT r.id AS room_id, src.id AS ticket_id, src.subject, {number} AS number,
           {clocks} AS clocks,
           row_number() OVER (PARTITION BY r.id ORDER BY src.id) AS n,
           count(*) OVER (PARTITION BY r.id) AS total
    FROM {source} src JOIN {room} r ON r.skill_group_id = src.skill_group_id
),
card_rooms AS (
    UPDATE {room} r
       SET last_seq = r.last_seq + c.total, last_rev = r.last_rev + c.total,
           last_message_at = %(now)s
      FROM (SELECT DISTINCT room_id, total FROM card_rows) c
     WHERE r.id = c.room_id
 RETURNING r.id, r.last_seq - c.total AS seq0, r.last_rev - c.total AS rev0
),
room_cards AS (
    INSERT INTO {message} (id, room_id, seq, rev, kind, author_name, body, card, refs,
                           reply_count, tags, tags_edited, priority, client_id, created_at)
    SELECT {UUID7_SQL}, c.room_id, b.seq0 + c.n, b.rev0 + c.n, 'card', '',
           left(c.number || ' ' || c.subject, 400),
           jsonb_build_object('kind', 'ticket', 'event', '{event}', 'ticket', c.ticket_id,
                              'number', c.number, 'subject', left(c.subject, 200),
                              'assignee', '', 'clocks', to_jsonb(c.clocks)),
           jsonb_build_array(jsonb_build_object('kind', 'ticket', 'id', c.ticket_id)),
           0, '{{}}', false, 0, '', %(now)s
    FROM card_rows c JOIN card_rooms b ON b.id = c.room_id
    ORDER BY c.room_id, c.n
    RETURNING id
)"""  # noqa: S608 (names of this module; every value is a parameter)


def publish_cards_on_commit(card_ids: list) -> None:
    """The cards to their rooms once the transaction commits (one read for all of them)."""
    if not card_ids:
        return
    cards = RoomMessage.objects.filter(pk__in=card_ids).order_by("room_id", "seq")
    publish_all_on_commit(
        [
            (
                events.room_group(card.room_id),
                events.message_event({**room_message_payload(card, mentions=[]), "event": "new"}),
            )
            for card in cards
        ]
    )
