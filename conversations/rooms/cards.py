"""Live cards: what a ticket number or a conversation link in a room message shows, read
when the card is shown (so it is the thing's state now), and only to whom may see it.

`conversations` may not import `tickets`: the tickets app registers its reader with
`register_card("ticket", reader)` at start-up. A reader takes the ids and the agent
looking, and returns {id: card} for the ones that agent may see; a card is a dict with
`title`, `subtitle`, `status`, `url` (a path of this site) and `kind`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from uuid import UUID

from django.urls import reverse

from conversations import selectors as desk_selectors
from conversations.models import Agent

CardReader = Callable[[list, Agent], dict]
_readers: dict[str, CardReader] = {}


def register_card(kind: str, reader: CardReader) -> None:
    _readers[kind] = reader


def _conversation_cards(ids: list, agent: Agent) -> dict:
    try:
        wanted = [UUID(str(pk)) for pk in ids]
    except ValueError:
        return {}
    cards = {}
    for conversation in desk_selectors.visible_conversations(agent).filter(pk__in=wanted):
        cards[str(conversation.pk)] = {
            "kind": "conversation",
            "title": conversation.customer.display_name,
            "subtitle": conversation.get_channel_display(),
            "status": conversation.get_status_display(),
            "assignee": conversation.assignee.display_name if conversation.assignee else "",
            "url": reverse("desk:conversation", args=[conversation.pk]),
        }
    return cards


register_card("conversation", _conversation_cards)


def cards_for(refs: Iterable[dict], agent: Agent) -> dict[tuple[str, str], dict]:
    """The cards of these references the agent may see, one read per kind:
    {(kind, str(id)): card}."""
    by_kind: dict[str, list] = {}
    for ref in refs:
        if isinstance(ref, dict) and ref.get("kind") in _readers:
            by_kind.setdefault(ref["kind"], []).append(ref.get("id"))
    found: dict[tuple[str, str], dict] = {}
    for kind, ids in by_kind.items():
        for pk, card in _readers[kind](ids, agent).items():
            found[(kind, str(pk))] = card
    return found


def attach_cards(messages: list, agent: Agent) -> None:
    """Set `message.cards` (the live cards of its references, in order) on each message."""
    cards = cards_for((ref for m in messages for ref in (m.refs or [])), agent)
    for message in messages:
        message.cards = [
            cards[(ref["kind"], str(ref["id"]))]
            for ref in (message.refs or [])
            if (ref.get("kind"), str(ref.get("id"))) in cards
        ]
