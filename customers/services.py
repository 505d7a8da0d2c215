"""Writes to customers: identities vouched for by the shop, anonymous visitors."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from customers.models import Customer


class IdentityRefused(Exception):
    """The identity's hash is missing or does not match: nothing is created."""


@dataclass(frozen=True)
class Identity:
    external_id: str
    name: str = ""
    email: str = ""
    phone: str = ""
    hash: str = ""


def identity_hash(external_id: str, secret: str | None = None) -> str:
    """hex HMAC-SHA256(secret, external_id): what a partner's backend computes."""
    key = (secret or settings.CHAT_IDENTITY_SECRET).encode()
    return hmac.new(key, external_id.encode(), hashlib.sha256).hexdigest()


def verify_identity(identity: Identity) -> None:
    expected = identity_hash(identity.external_id)
    if not identity.hash or not hmac.compare_digest(expected, identity.hash.lower()):
        raise IdentityRefused


def customer_for_identity(*, identity: Identity, language: str) -> Customer:
    """The customer with this verified external_id, created or updated.

    Only called after verify_identity: an unverified claim never reaches a row.
    """
    verify_identity(identity)
    with transaction.atomic():
        customer, created = Customer.objects.select_for_update().get_or_create(
            external_id=identity.external_id,
            defaults={
                "name": identity.name,
                "email": identity.email,
                "phone": identity.phone,
                "language": language,
            },
        )
        if not created:
            changed = [
                field
                for field in ("name", "email", "phone")
                if getattr(identity, field) and getattr(identity, field) != getattr(customer, field)
            ]
            for field in changed:
                setattr(customer, field, getattr(identity, field))
            if changed:
                customer.save(update_fields=[*changed, "updated_at"])
    return customer


def create_visitor(*, language: str) -> Customer:
    return Customer.objects.create(language=language)
