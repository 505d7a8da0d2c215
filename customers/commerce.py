"""The commerce adapter: orders, parcels, after-sales and coupons for self-service.

One interface, two implementations:

- `LocalCommerce` (default) reads and writes this helpdesk's own tables
  (Order, Coupon, AfterSalesRequest), which the demo data and the partner API fill;
- `HttpCommerce` calls the shop's own order system at COMMERCE_URL with a
  timeout; when that system is down or slow it raises CommerceUnavailable and
  the bot says so kindly instead of failing.

Every call is scoped to a customer: an order number that belongs to someone
else is "not found", never shown.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from customers.models import AfterSalesRequest, Coupon, Customer, Order


class CommerceUnavailable(Exception):
    """The order system did not answer in time, or answered with an error."""


class OrderNotFound(Exception):
    """No such order for this customer."""


@dataclass(frozen=True)
class OrderInfo:
    number: str
    status: str
    items: list = field(default_factory=list)
    total: Decimal = Decimal(0)
    carrier: str = ""
    tracking_number: str = ""
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    events: list = field(default_factory=list)


@dataclass(frozen=True)
class AfterSalesInfo:
    number: str
    order_number: str
    kind: str
    reason: str
    status: str
    created: bool


@dataclass(frozen=True)
class CouponInfo:
    code: str
    title: str
    amount: Decimal
    minimum_spend: Decimal
    expires_at: datetime
    created: bool


# What the shop offers through the assistant; nothing else is ever granted.
COUPON_CAMPAIGNS = {
    "new-customer": {
        "title": {"zh": "新人专享券", "en": "Welcome coupon"},
        "amount": Decimal("20"),
        "minimum_spend": Decimal("99"),
        "days": 30,
    },
}

REASON_KIND = {
    "changed_mind": AfterSalesRequest.Kind.RETURN,
    "damaged_in_transit": AfterSalesRequest.Kind.RETURN,
    "wrong_or_missing_item": AfterSalesRequest.Kind.EXCHANGE,
    "defective": AfterSalesRequest.Kind.REPAIR,
    "other": AfterSalesRequest.Kind.RETURN,
}


class Commerce(Protocol):
    def find_order(
        self,
        *,
        customer: Customer,
        order_number: str | None = None,
        tracking_number: str | None = None,
    ) -> OrderInfo: ...

    def recent_orders(self, *, customer: Customer, limit: int = 3) -> list[OrderInfo]: ...

    def request_after_sales(
        self, *, customer: Customer, order_number: str, reason: str, description: str = ""
    ) -> AfterSalesInfo: ...

    def claim_coupon(self, *, customer: Customer, campaign: str, language: str) -> CouponInfo: ...


def _order_info(order: Order) -> OrderInfo:
    return OrderInfo(
        number=order.number,
        status=order.status,
        items=order.items,
        total=order.total,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        shipped_at=order.shipped_at,
        delivered_at=order.delivered_at,
        events=order.tracking_events,
    )


class LocalCommerce:
    def find_order(self, *, customer, order_number=None, tracking_number=None) -> OrderInfo:
        orders = Order.objects.filter(customer=customer)
        if order_number:
            orders = orders.filter(number=order_number.upper())
        elif tracking_number:
            orders = orders.filter(tracking_number=tracking_number.upper())
        else:
            raise OrderNotFound
        order = orders.first()
        if order is None:
            raise OrderNotFound
        return _order_info(order)

    def recent_orders(self, *, customer, limit=3) -> list[OrderInfo]:
        return [
            _order_info(o)
            for o in Order.objects.filter(customer=customer).order_by("-placed_at")[:limit]
        ]

    def request_after_sales(
        self, *, customer, order_number, reason, description=""
    ) -> AfterSalesInfo:
        """Open a request once: asking again for the same order and kind returns the open one."""
        kind = REASON_KIND.get(reason, AfterSalesRequest.Kind.RETURN)
        with transaction.atomic():
            order = (
                Order.objects.select_for_update()
                .filter(customer=customer, number=order_number.upper())
                .first()
            )
            if order is None:
                raise OrderNotFound
            existing = AfterSalesRequest.objects.filter(
                order=order, kind=kind, status="open"
            ).first()
            created = existing is None
            request = existing or AfterSalesRequest.objects.create(
                number=f"AS{timezone.now():%y%m%d}{secrets.randbelow(10**6):06d}",
                customer=customer,
                order=order,
                kind=kind,
                reason=reason,
                description=description[:2000],
            )
        return AfterSalesInfo(
            request.number, order.number, request.kind, request.reason, request.status, created
        )

    def claim_coupon(self, *, customer, campaign, language) -> CouponInfo:
        offer = COUPON_CAMPAIGNS[campaign]
        defaults = {
            "code": f"LC{secrets.token_hex(5).upper()}",
            "title": offer["title"]["en" if language == "en" else "zh"],
            "amount": offer["amount"],
            "minimum_spend": offer["minimum_spend"],
            "expires_at": timezone.now() + timedelta(days=offer["days"]),
        }
        try:
            with transaction.atomic():
                coupon, created = Coupon.objects.get_or_create(
                    customer=customer, campaign=campaign, defaults=defaults
                )
        except IntegrityError:  # a concurrent claim won: the coupon exists now
            coupon, created = Coupon.objects.get(customer=customer, campaign=campaign), False
        return CouponInfo(
            coupon.code,
            coupon.title,
            coupon.amount,
            coupon.minimum_spend,
            coupon.expires_at,
            created,
        )


class HttpCommerce:
    """The shop's own order system, over JSON/HTTP, with a hard timeout.

    GET  {url}/orders/{number}?customer={external_id}            → order JSON
    GET  {url}/orders/?customer={external_id}&tracking={number}  → [order JSON]
    GET  {url}/orders/?customer={external_id}&limit=N            → [order JSON]
    POST {url}/after-sales/ {customer, order_number, reason, description} → request JSON
    POST {url}/coupons/claim/ {customer, campaign}                → coupon JSON
    """

    def __init__(self, base_url: str, token: str = "", timeout: float = 3.0, transport=None):
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"} if token else {},
            timeout=timeout,
            transport=transport,
        )

    def _call(self, method: str, path: str, **kwargs):
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise CommerceUnavailable(str(error)) from error
        if response.status_code == 404:
            raise OrderNotFound
        if response.status_code >= 400:
            raise CommerceUnavailable(f"order system answered {response.status_code}")
        try:
            return response.json()
        except ValueError as error:
            raise CommerceUnavailable(
                "order system answered with something that is not JSON"
            ) from error

    @staticmethod
    def _order(data: dict) -> OrderInfo:
        try:
            return OrderInfo(
                number=str(data["number"]),
                status=str(data["status"]),
                items=list(data.get("items") or []),
                total=Decimal(str(data.get("total") or 0)),
                carrier=str(data.get("carrier") or ""),
                tracking_number=str(data.get("tracking_number") or ""),
                shipped_at=parse_datetime(data["shipped_at"]) if data.get("shipped_at") else None,
                delivered_at=parse_datetime(data["delivered_at"])
                if data.get("delivered_at")
                else None,
                events=list(data.get("events") or []),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as error:
            raise CommerceUnavailable(f"unexpected order data: {error}") from error

    def find_order(self, *, customer, order_number=None, tracking_number=None) -> OrderInfo:
        if not customer.external_id:
            raise OrderNotFound
        if order_number:
            return self._order(
                self._call(
                    "GET",
                    f"/orders/{order_number.upper()}",
                    params={"customer": customer.external_id},
                )
            )
        rows = self._call(
            "GET",
            "/orders/",
            params={"customer": customer.external_id, "tracking": tracking_number},
        )
        if not rows:
            raise OrderNotFound
        return self._order(rows[0])

    def recent_orders(self, *, customer, limit=3) -> list[OrderInfo]:
        if not customer.external_id:
            return []
        rows = self._call(
            "GET", "/orders/", params={"customer": customer.external_id, "limit": limit}
        )
        return [self._order(row) for row in rows[:limit]]

    def request_after_sales(
        self, *, customer, order_number, reason, description=""
    ) -> AfterSalesInfo:
        if not customer.external_id:
            raise OrderNotFound
        data = self._call(
            "POST",
            "/after-sales/",
            json={
                "customer": customer.external_id,
                "order_number": order_number.upper(),
                "reason": reason,
                "description": description[:2000],
            },
        )
        return AfterSalesInfo(
            str(data.get("number", "")),
            order_number.upper(),
            str(data.get("kind", "")),
            reason,
            str(data.get("status", "open")),
            bool(data.get("created", True)),
        )

    def claim_coupon(self, *, customer, campaign, language) -> CouponInfo:
        if not customer.external_id:
            raise OrderNotFound
        data = self._call(
            "POST", "/coupons/claim/", json={"customer": customer.external_id, "campaign": campaign}
        )
        return CouponInfo(
            str(data["code"]),
            str(data.get("title", "")),
            Decimal(str(data.get("amount", 0))),
            Decimal(str(data.get("minimum_spend", 0))),
            parse_datetime(data["expires_at"]),
            bool(data.get("created", True)),
        )


def commerce() -> Commerce:
    """The configured adapter (COMMERCE_BACKEND = local | http)."""
    if settings.COMMERCE_BACKEND == "http":
        return HttpCommerce(
            settings.COMMERCE_URL, settings.COMMERCE_TOKEN, settings.COMMERCE_TIMEOUT
        )
    return LocalCommerce()
