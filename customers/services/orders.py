"""Orders arriving from the shop (the demo data now, the partner API later) and coupons
being redeemed: what follows from them here, in the same transaction."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from customers.models import Coupon, Order
from customers.services import care, recommendations, segments, tag_rules

# The fields an upsert may set (the rest of an order is this app's own).
ORDER_FIELDS = (
    "status",
    "items",
    "total",
    "carrier",
    "tracking_number",
    "placed_at",
    "shipped_at",
    "delivered_at",
    "tracking_events",
)


class OrderOfAnotherCustomer(ValueError):
    """The order number is another customer's: an order never changes hands."""


# A status reached without its time gets the moment it arrived: the reminders count from it.
STATUS_TIMES = {Order.Status.SHIPPED: "shipped_at", Order.Status.DELIVERED: "delivered_at"}


def upsert_order(*, customer_id: int, number: str, **fields) -> tuple[Order, bool]:
    """Create or update the order `number` of this customer, then `order_saved`; returns
    (order, created). Only the fields that differ are written, and an update that changes
    nothing sets nothing off. An order reaching `shipped` or `delivered` without its time
    gets now. Another customer's order number raises OrderOfAnotherCustomer (nothing is
    changed): an order never changes hands."""
    unknown = set(fields) - set(ORDER_FIELDS)
    if unknown:
        raise ValueError(f"not order fields: {sorted(unknown)}")
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(number=number).first()
        created = order is None
        status_time = STATUS_TIMES.get(fields.get("status"))
        if status_time and fields.get(status_time) is None:
            if created or (
                order.status != fields["status"] and getattr(order, status_time) is None
            ):
                fields[status_time] = timezone.now()
        if created:
            order = Order.objects.create(customer_id=customer_id, number=number, **fields)
        elif order.customer_id != customer_id:
            raise OrderOfAnotherCustomer(f"order {number} belongs to another customer")
        else:
            changed = [name for name, value in fields.items() if getattr(order, name) != value]
            if not changed:
                return order, False
            for name in changed:
                setattr(order, name, fields[name])
            order.save(update_fields=[*changed, "updated_at"])
        order_saved(order=order)
    return order, created


def order_saved(*, order: Order) -> None:
    """What an order arriving or changing sets off, in the caller's transaction: the
    customer's segment, the shipped / delivered reminders (claimed once), the
    conversion of a recommendation whose product it contains (counted once), and after
    commit the customer's automatic tags re-evaluated."""
    segments.refresh_segment(customer_id=order.customer_id)
    care.plan_order_reminders(order_number=order.number)
    recommendations.record_order_conversions(order_id=order.pk)
    tag_rules.order_changed(order=order)


class CouponNotFound(Exception):
    """No coupon has this code."""


class CouponNotRedeemable(Exception):
    """The coupon was redeemed before, or has expired: `coupon` says which."""

    def __init__(self, coupon: Coupon):
        super().__init__(coupon.code)
        self.coupon = coupon


def coupon_state(coupon: Coupon, *, at: datetime | None = None) -> str:
    """The coupon's state at `at` (now by default): redeemed, expired or active."""
    if coupon.redeemed_at is not None:
        return "redeemed"
    return "expired" if coupon.expires_at <= (at or timezone.now()) else "active"


def coupons_in_state(queryset, state: str, *, at: datetime | None = None):
    """The coupons of `queryset` whose `coupon_state` at `at` is `state`, in SQL."""
    at = at or timezone.now()
    return queryset.filter(
        {
            "redeemed": Q(redeemed_at__isnull=False),
            "expired": Q(redeemed_at__isnull=True, expires_at__lte=at),
            "active": Q(redeemed_at__isnull=True, expires_at__gt=at),
        }[state]
    )


def redeem_coupon(*, code: str, at: datetime | None = None) -> Coupon:
    """Mark the coupon redeemed at `at` (now by default), once, and count the conversion
    of the recommendation that offered it. CouponNotFound for an unknown code;
    CouponNotRedeemable for one redeemed before (the first redemption stands) or expired
    by then. Two redemptions at once: the coupon's row lock lets one through."""
    at = at or timezone.now()
    with transaction.atomic():
        coupon = Coupon.objects.select_for_update().filter(code=code).first()
        if coupon is None:
            raise CouponNotFound(code)
        if coupon_state(coupon, at=at) != "active":
            raise CouponNotRedeemable(coupon)
        coupon.redeemed_at = at
        coupon.save(update_fields=["redeemed_at"])
        recommendations.record_coupon_conversions(coupon_id=coupon.pk)
    return coupon
