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

_closed: list[ClosedHook] = []
_panel: list[PanelHook] = []
_started: list[StartedHook] = []
_customer_text: list[ReplyHook] = []
_understood: list[UnderstoodHook] = []


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
