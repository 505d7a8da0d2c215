"""Reads of customers: what an agent sees of a customer beside the conversation.

`customer_360` knows only this app's data; `conversations.selectors.customer_panel` adds
the customer's conversations on top (this app imports no other, DESIGN.md), and the
tickets app will add its tickets the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, Sum

from customers.hooks import latest_activity
from customers.models import (
    AfterSalesRequest,
    Customer,
    CustomerIdentity,
    CustomerNote,
    CustomerTag,
    Order,
)

LATEST_ORDERS = 5
LATEST_CASES = 5

# The orders that count as money spent: paid, on its way or arrived.
SPENDING_STATUSES = (Order.Status.PAID, Order.Status.SHIPPED, Order.Status.DELIVERED)


@dataclass(frozen=True)
class Profile:
    name: str
    email: str
    phone: str
    external_id: str
    language: str
    language_label: str
    level: str
    level_label: str
    segment: str
    segment_label: str
    is_identified: bool
    since: object


@dataclass
class Customer360:
    """A customer's panel as plain data: the template reads it, nothing queries lazily."""

    customer_id: int
    profile: Profile
    identities: list[CustomerIdentity]
    tags: list[CustomerTag]
    notes: list[CustomerNote]
    orders: list[Order]
    order_count: int
    lifetime_spend: Decimal
    cases: list[AfterSalesRequest]
    case_count: int
    # Filled by the apps that own them (conversations now, tickets next).
    sections: dict[str, object] = field(default_factory=dict)


def profile(customer: Customer) -> Profile:
    return Profile(
        name=customer.display_name,
        email=customer.email,
        phone=customer.phone,
        external_id=customer.external_id or "",
        language=customer.language,
        language_label=customer.get_language_display(),
        level=customer.level,
        level_label=customer.get_level_display(),
        segment=customer.segment,
        segment_label=customer.get_segment_display(),
        is_identified=customer.is_identified,
        since=customer.created_at,
    )


def customer_tags(customer_id: int) -> list[CustomerTag]:
    """Manual tags first ("manual" > "auto"), then by name; an automatic one with its rule
    (the tag's name in both languages)."""
    return list(
        CustomerTag.objects.filter(customer_id=customer_id)
        .select_related("rule")
        .order_by("-source", "name")
    )


def customer_identities(customer_id: int) -> list[CustomerIdentity]:
    """How the customer is known on each channel: verified ones first."""
    return list(
        CustomerIdentity.objects.filter(customer_id=customer_id).order_by(
            "-verified", "kind", "value"
        )
    )


MATCHES = 10
MAX_QUERY = 100


def find_customers(q: str, *, exclude: int | None = None) -> list[Customer]:
    """Customers an agent may mean by `q` (to merge with): the customer number (#123), a
    shop account, email or phone (their fields or an identity, exactly), or a piece of the
    name. At most MATCHES, newest first; [] for an empty or overlong text."""
    q = " ".join(q.replace("\x00", "").split())
    if not q or len(q) > MAX_QUERY:
        return []
    match = (
        Q(external_id=q)
        | Q(email__iexact=q)
        | Q(phone=q)
        | Q(name__icontains=q)
        | Q(pk__in=CustomerIdentity.objects.filter(value__iexact=q).values("customer_id"))
    )
    number = q.removeprefix("#")
    if number.isascii() and number.isdecimal() and len(number) < 19:
        match |= Q(pk=int(number))
    found = Customer.objects.filter(match)
    if exclude is not None:
        found = found.exclude(pk=exclude)
    return list(found.order_by("-created_at", "-pk")[:MATCHES])


def customer_notes(customer_id: int) -> list[CustomerNote]:
    """Newest first, with their author and last editor."""
    return list(
        CustomerNote.objects.filter(customer_id=customer_id)
        .select_related("author", "last_edited_by")
        .order_by("-created_at", "-pk")
    )


def order_totals(customer_id: int) -> dict:
    """{count, spend} over all of a customer's orders, in one aggregate."""
    return Order.objects.filter(customer_id=customer_id).aggregate(
        count=Count("pk"),
        spend=Sum("total", filter=Q(status__in=SPENDING_STATUSES), default=Decimal("0")),
    )


def customer_360(customer: Customer) -> Customer360:
    """The customer's profile, identities, tags, notes, latest orders and after-sales
    requests with their totals. Seven queries whatever the number of orders, notes or requests (the counts and the
    spend are aggregated in SQL, the lists are sliced there)."""
    orders = order_totals(customer.pk)
    return Customer360(
        customer_id=customer.pk,
        profile=profile(customer),
        identities=customer_identities(customer.pk),
        tags=customer_tags(customer.pk),
        notes=customer_notes(customer.pk),
        orders=list(
            Order.objects.filter(customer_id=customer.pk).order_by("-placed_at", "-pk")[
                :LATEST_ORDERS
            ]
        ),
        order_count=orders["count"],
        lifetime_spend=orders["spend"],
        cases=list(
            AfterSalesRequest.objects.filter(customer_id=customer.pk)
            .select_related("order")
            .order_by("-created_at", "-pk")[:LATEST_CASES]
        ),
        case_count=AfterSalesRequest.objects.filter(customer_id=customer.pk).count(),
    )


def order_activity(*, customer_id: int, limit: int) -> list[dict]:
    """The customer's latest orders as recent activity (customers.hooks.customer_activity)."""
    return latest_activity(
        Order.objects.filter(customer_id=customer_id), type="order", key="number", limit=limit
    )
