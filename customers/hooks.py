"""Hooks other apps register at start-up, called by this app's services.

`customers` imports no other app (DESIGN.md). Where a service here needs another app's
data (how many complaint tickets a customer had) or must tell it something happened (two
customers were merged), that app registers a function here from its AppConfig.ready.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

# provider(*, rule, since, customer_ids) -> {customer_id: amount}: how much of what `rule`
# counts each customer has since `since` (only `customer_ids` when not None; customers with
# nothing may be left out).
TagFacts = Callable[..., dict[int, Decimal]]
MergedHook = Callable[..., None]

_tag_facts: dict[str, list[tuple[str, TagFacts]]] = {}
_merged: list[MergedHook] = []


def on_tag_facts(kind: str, label: str, provider: TagFacts) -> TagFacts:
    """Register a provider of facts for tag rules of `kind` (TagRule.Kind). Several
    providers of one kind add up (complaints: tickets and chats); `label` names the
    provider's share in the tag's "from what"."""
    providers = _tag_facts.setdefault(kind, [])
    if all(existing is not provider for _label, existing in providers):
        providers.append((label, provider))
    return provider


def tag_facts(
    *, rule, since: datetime, customer_ids: list[int] | None
) -> dict[int, dict[str, Decimal]]:
    """{customer_id: {provider label: amount}} from every provider of the rule's kind."""
    facts: dict[int, dict[str, Decimal]] = {}
    for label, provider in _tag_facts.get(rule.kind, []):
        for customer_id, amount in provider(
            rule=rule, since=since, customer_ids=customer_ids
        ).items():
            if amount:
                facts.setdefault(customer_id, {})[label] = Decimal(amount)
    return facts


def on_customers_merged(hook: MergedHook) -> MergedHook:
    """Register `hook(*, merge, undone)`: called in the transaction of a merge (or of its
    undoing), after every row moved."""
    if hook not in _merged:
        _merged.append(hook)
    return hook


def customers_merged(*, merge, undone: bool = False) -> None:
    for hook in _merged:
        hook(merge=merge, undone=undone)


# provider(*, customer_id, limit) -> [{"type", "id", "status", "at"}]: the customer's
# latest things of another app (conversations, tickets), newest first, at most `limit`.
ActivityProvider = Callable[..., list[dict]]

_activity: list[ActivityProvider] = []


def on_customer_activity(provider: ActivityProvider) -> ActivityProvider:
    """Register a provider of a customer's recent activity (the partner API's customer)."""
    if provider not in _activity:
        _activity.append(provider)
    return provider


def customer_activity(*, customer_id: int, limit: int) -> list[dict]:
    """Every provider's latest items for this customer, newest first, at most `limit`."""
    items = [
        item for provider in _activity for item in provider(customer_id=customer_id, limit=limit)
    ]
    items.sort(key=lambda item: item["at"], reverse=True)
    return items[:limit]


def latest_activity(queryset, *, type: str, key: str, limit: int, label=str) -> list[dict]:
    """A provider's answer from its queryset: the latest `limit` rows by `updated_at`,
    each named by its `key` column written through `label`."""
    rows = queryset.order_by("-updated_at").values_list(key, "status", "updated_at")[:limit]
    return [
        {"type": type, "id": label(value), "status": status, "at": at} for value, status, at in rows
    ]


# provider(*, customer) -> {section: JSON-able value}: what another app holds about one
# customer, for the customer's export (customers.services.privacy). A bounded number of
# queries each, whatever the customer's history.
ExportProvider = Callable[..., dict]
# hook(*, customer, placeholder) -> [FieldFile name, …]: erase what another app holds about
# the customer, in the erasure's transaction; the files it names are deleted from storage
# on commit. `placeholder` gives the translated "[erased]" of a language.
ErasureHook = Callable[..., list]

_exporters: list[ExportProvider] = []
_erasers: list[ErasureHook] = []


def on_customer_export(provider: ExportProvider) -> ExportProvider:
    """Register a provider of sections of a customer's export."""
    if provider not in _exporters:
        _exporters.append(provider)
    return provider


def customer_export(*, customer) -> dict:
    """Every provider's sections for this customer; two providers never name one section."""
    sections: dict = {}
    for provider in _exporters:
        part = provider(customer=customer)
        clash = sections.keys() & part.keys()
        if clash:
            raise RuntimeError(f"export sections provided twice: {sorted(clash)}")
        sections.update(part)
    return sections


def on_customer_erased(hook: ErasureHook) -> ErasureHook:
    """Register `hook(*, customer, placeholder)`: called in the erasure's transaction."""
    if hook not in _erasers:
        _erasers.append(hook)
    return hook


def customer_erased(*, customer, placeholder) -> list:
    """Run every erasure hook; the storage names of the files they let go."""
    return [name for hook in _erasers for name in hook(customer=customer, placeholder=placeholder)]


# hook() -> None: outreach that is due was just claimed and committed (a chunk of today's
# birthdays, the VIP revisits): the sender may start on it now instead of at its next sweep.
ClaimedHook = Callable[[], None]

_claimed: list[ClaimedHook] = []


def on_outreach_claimed(hook: ClaimedHook) -> ClaimedHook:
    """Register `hook()`: called after the commit of a planner's claim that added rows."""
    if hook not in _claimed:
        _claimed.append(hook)
    return hook


def outreach_claimed() -> None:
    for hook in _claimed:
        hook()
