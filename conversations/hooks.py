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

_closed: list[ClosedHook] = []
_panel: list[PanelHook] = []


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
