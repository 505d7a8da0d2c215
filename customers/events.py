"""What customers tell the outside: the partner events (contracts/partner-api.md,
"Webhooks"), declared in one place. Emitted by the services in the transaction of the
change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from customers.models import Customer
from helpdesk import webhooks

# What every change moves and so tells nothing by itself.
UNTOLD = {"updated_at"}


def customer_data(customer: Customer) -> dict:
    """A customer as partners see it: the partner API's representation (customers/api.py),
    so an event carries the same object a GET of the customer returns (without its
    recent activity)."""
    from customers.api import CustomerSerializer  # the API module imports the services

    return dict(CustomerSerializer(customer).data)


def customer_updated(customer: Customer, *, changed: list[str], created: bool) -> None:
    customer_updated_data(customer_data(customer), changed=changed, created=created)


def customer_updated_data(data: dict, *, changed: list[str], created: bool) -> None:
    """`customer.updated` with the customer's representation given (an erased customer's
    names the shop id it had, so that the partner knows whom to forget)."""
    webhooks.emit("customer.updated", {"customer": data, "changed": changed, "created": created})


# The customers whose changes an enclosing `announcing` (or the partner API's upsert,
# which tells its own) will tell: an inner one stays quiet, so a change made of several
# services' writes is told once.
_told_by_caller: ContextVar[frozenset[int]] = ContextVar("customers_told", default=frozenset())


def _represented(customer_id: int) -> tuple[Customer, dict] | None:
    customer = Customer.objects.prefetch_related("tags").filter(pk=customer_id).first()
    return None if customer is None else (customer, customer_data(customer))


@contextmanager
def announcing(*customer_ids: int) -> Iterator[None]:
    """Tell the changes made inside to `customer.updated` subscribers: on leaving without
    an error (inside the caller's transaction, so the event commits with the change),
    one event per customer with a shop account whose partner representation changed,
    naming the fields that did; none when nothing in it changed (a note, an admin save
    that changed nothing). A customer that exists only after (one an undone merge brings
    back) is told as `created`. Nested, the outermost tells."""
    told = _told_by_caller.get()
    mine = [pk for pk in dict.fromkeys(customer_ids) if pk is not None and pk not in told]
    before = {pk: _represented(pk) for pk in mine}
    token = _told_by_caller.set(told | set(mine))
    try:
        yield
    finally:
        _told_by_caller.reset(token)
    for pk in mine:
        after = _represented(pk)
        if after is None:
            continue  # merged away: the one it went to tells
        customer, now = after
        then = before[pk][1] if before[pk] is not None else None
        if not (now["external_id"] or (then and then["external_id"])):
            continue  # an anonymous visitor: no partner knows them
        changed = _changed(then, now)
        if changed:
            customer_updated(customer, changed=changed, created=then is None)


def _changed(then: dict | None, now: dict) -> list[str]:
    return sorted(
        field
        for field, value in now.items()
        if field not in UNTOLD and (then is None or then[field] != value)
    )


def customer_created(customer_id: int) -> None:
    """A customer with a shop account appeared other than by the partner API's PUT (which
    tells its own): added in admin, made by a chat session or an inbound message. Told
    with `created: true` and every field, unless an enclosing change tells it."""
    if customer_id in _told_by_caller.get():
        return
    represented = _represented(customer_id)
    if represented is not None and represented[1]["external_id"]:
        customer, now = represented
        customer_updated(customer, changed=_changed(None, now), created=True)


def fields_changed(customer: Customer, *, changed: list[str]) -> None:
    """`customer.updated` for these fields of the customer's own row (the caller knows
    what it changed: no representation read before), unless an enclosing change tells it,
    or no partner knows the customer."""
    if customer.external_id and customer.pk not in _told_by_caller.get():
        customer_updated(customer, changed=sorted(changed), created=False)


@contextmanager
def told_by_caller(customer_id: int) -> Iterator[None]:
    """The caller tells this customer's change itself: services called inside stay quiet."""
    token = _told_by_caller.set(_told_by_caller.get() | {customer_id})
    try:
        yield
    finally:
        _told_by_caller.reset(token)
