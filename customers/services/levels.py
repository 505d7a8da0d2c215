"""Membership levels: every change recorded, an upgrade congratulated once."""

from __future__ import annotations

from django.db import transaction

from customers import events
from customers.models import CareCampaign, Customer, LevelChange
from customers.services import care, segments


def change_level(
    *, customer_id: int, level: str, source: str, changed_by=None, congratulate: bool = True
) -> LevelChange | None:
    """Set the customer's level, with a LevelChange row (None when it was that level
    already), and the segment that follows from it. An upgrade claims the
    membership-upgrade outreach of this change, in the same transaction: congratulated
    once, and not at all if the change rolls back (nor with `congratulate=False`: a
    customer the shop's systems create at their level). A change emits one
    `customer.updated` (level, and the segment when it follows) unless a caller tells
    the change it is part of (customers.events.announcing)."""
    if level not in Customer.Level.values:
        raise ValueError(f"unknown level {level!r}")
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        if customer.level == level:
            return None
        with events.announcing(customer_id):
            change = LevelChange.objects.create(
                customer=customer,
                old=customer.level,
                new=level,
                source=source,
                changed_by=changed_by,
            )
            customer.level = level
            customer.save(update_fields=["level", "updated_at"])
            segments.refresh_segment(customer_id=customer.pk)  # VIP, or no longer
            campaign = care.enabled_campaign(CareCampaign.Kind.LEVEL_UP)
            if congratulate and change.is_upgrade and campaign is not None:
                care.claim_outreach(
                    campaign=campaign,
                    customer_id=customer.pk,
                    occasion=f"level:{change.pk}",
                    occurred_at=change.created_at,
                    subject=level,
                )
    return change
