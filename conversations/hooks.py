"""Hooks other apps register at start-up, called by this app's services.

`conversations` knows nothing of the apps built on it (DESIGN: dependencies
point one way). Where such an app must act on a conversation's life, it
registers a function here from its AppConfig.ready, and the service calls it
inside its own transaction: what the hook writes commits or rolls back with
the change that caused it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conversations.models import Conversation, OfflineMessage

ClosedHook = Callable[..., None]
PanelHook = Callable[..., dict]
StartedHook = Callable[..., None]
ReplyHook = Callable[..., "str | None"]
UnderstoodHook = Callable[..., None]
BoardHook = Callable[..., "dict | None"]

_closed: list[ClosedHook] = []
_panel: list[PanelHook] = []
_started: list[StartedHook] = []
_customer_text: list[ReplyHook] = []
_understood: list[UnderstoodHook] = []
_board: list[BoardHook] = []


def on_conversation_closed(hook: ClosedHook) -> ClosedHook:
    """Register `hook(*, conversation, offline_message)`: called when a conversation is
    closed (by an agent, the system, or a customer leaving a message)."""
    if hook not in _closed:
        _closed.append(hook)
    return hook


def conversation_closed(
    conversation: Conversation, *, offline_message: OfflineMessage | None = None
) -> None:
    for hook in _closed:
        hook(conversation=conversation, offline_message=offline_message)


def on_customer_panel(hook: PanelHook) -> PanelHook:
    """Register `hook(*, customer_id, agent) -> {section: data}`: more sections of the
    customer 360° panel (a fixed number of queries each, whatever the customer's history)."""
    if hook not in _panel:
        _panel.append(hook)
    return hook


def customer_panel_sections(*, customer_id: int, agent) -> dict:
    sections: dict = {}
    for hook in _panel:
        sections.update(hook(customer_id=customer_id, agent=agent))
    return sections


def on_conversation_started(hook: StartedHook) -> StartedHook:
    """Register `hook(*, conversation)`: a new conversation was opened for a customer (for
    example, to give them what was kept for them while they were away)."""
    if hook not in _started:
        _started.append(hook)
    return hook


def conversation_started(conversation: Conversation) -> None:
    for hook in _started:
        hook(conversation=conversation)


def on_customer_text(hook: ReplyHook) -> ReplyHook:
    """Register `hook(*, conversation, message, text) -> reply or None`: the first word on a
    customer's message to the bot. A hook that returns a reply has dealt with the message
    (the bot says the reply and does not try to understand it)."""
    if hook not in _customer_text:
        _customer_text.append(hook)
    return hook


def customer_text(*, conversation: Conversation, message, text: str) -> str | None:
    for hook in _customer_text:
        reply = hook(conversation=conversation, message=message, text=text)
        if reply:
            return reply
    return None


def on_bot_understood(hook: UnderstoodHook) -> UnderstoodHook:
    """Register `hook(*, conversation, text, meta)`: called after the bot answered a message,
    with what it understood (`meta` as in chat protocol §2: action, intent, slots, result)."""
    if hook not in _understood:
        _understood.append(hook)
    return hook


def bot_understood(*, conversation: Conversation, text: str, meta: dict) -> None:
    for hook in _understood:
        hook(conversation=conversation, text=text, meta=meta)


OutreachDueHook = Callable[..., dict]
DeskOutreachHook = Callable[..., "str | None"]

_outreach_due: list[OutreachDueHook] = []
_desk_outreach: list[DeskOutreachHook] = []


def on_outreach_due(hook: OutreachDueHook) -> OutreachDueHook:
    """Register `hook(*, due, campaigns) -> {outreach id: reason}`: a batch of care
    outreach about to be sent (`customers.services.care.DueOutreach` rows, the campaigns by
    id); the rows named are not sent, with the reason recorded (a ticket resolved since
    its follow-up was claimed). A fixed number of queries per batch."""
    if hook not in _outreach_due:
        _outreach_due.append(hook)
    return hook


def outreach_due(*, due: list, campaigns: dict) -> dict[int, str]:
    reasons: dict[int, str] = {}
    for hook in _outreach_due:
        reasons.update(hook(due=due, campaigns=campaigns))
    return reasons


def on_desk_outreach(hook: DeskOutreachHook) -> DeskOutreachHook:
    """Register `hook(*, outreach, campaign) -> str | None`: an outreach that is work for
    an agent (a VIP revisit) is due; the hook makes it in the desk, in the sender's
    transaction, and returns what it made (a ticket's number), or None when it is not
    its kind."""
    if hook not in _desk_outreach:
        _desk_outreach.append(hook)
    return hook


def desk_outreach(*, outreach, campaign) -> str | None:
    for hook in _desk_outreach:
        made = hook(outreach=outreach, campaign=campaign)
        if made:
            return made
    return None


def on_board(hook: BoardHook) -> BoardHook:
    """Register `hook() -> {"template": …, …} or None`: a section of the supervisors' live
    board, rendered with the board (its template gets the dict as `section`)."""
    if hook not in _board:
        _board.append(hook)
    return hook


def board_sections() -> list[dict]:
    return [section for hook in _board if (section := hook()) is not None]
