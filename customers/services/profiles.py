"""Customers pushed by the shop's systems (the partner API's `PUT /customers/{external_id}/`).

The external id is the shop's natural key: one customer holds it, as a verified `account`
identity (customers/services/identities.py), so a customer merged into another is found
through the one they went to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction

from customers import events
from customers.models import Customer, CustomerIdentity, CustomerTag, LevelChange
from customers.services import _tag_name, identities, levels

# The profile fields a partner sets as they are (level and tags have their own paths).
PROFILE_FIELDS = ("name", "email", "phone", "birthday", "language", "attributes")
MAX_PARTNER_TAGS = 20
SOURCE = "partner api"


@dataclass(frozen=True)
class Upserted:
    customer: Customer
    created: bool
    changed: list[str]


def upsert_customer(
    *,
    external_id: str,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    birthday: date | None = ...,  # type: ignore[assignment]
    language: str | None = None,
    attributes: dict | None = None,
    level: str | None = None,
    tags: list[str] | None = None,
) -> Upserted:
    """Create or update the customer holding the shop account `external_id`.

    Only the arguments given change (None, or `...` for `birthday`, leaves a field as it
    is); `tags` replaces the tags the partner set before (an agent's or a rule's tags stay).
    A level change goes through `levels.change_level` (its history row, the
    membership-upgrade care; a new customer's level is recorded, not congratulated). Idempotent: a call that changes nothing writes nothing and
    emits nothing; one that changes something emits one `customer.updated` on commit,
    naming the fields that changed. Two calls at once for a new id make one customer (the
    identity's unique index) and are serialized on its row lock."""
    given = {
        "name": name,
        "email": email,
        "phone": phone,
        "language": language,
        "attributes": attributes,
    }
    given = {field: value for field, value in given.items() if value is not None}
    if birthday is not ...:
        given["birthday"] = birthday
    with transaction.atomic():
        created = identities.verified_holder(CustomerIdentity.Kind.ACCOUNT, external_id) is None
        found = identities.customer_for_verified_identity(
            kind=CustomerIdentity.Kind.ACCOUNT,
            value=external_id,
            method=CustomerIdentity.Method.PARTNER_API,
            language=language or Customer.Language.ZH,
            name=name or "",
            source=SOURCE,
            announce=False,  # told below, with the fields the partner set
        )
        customer = Customer.objects.select_for_update().get(pk=found.pk)
        with events.told_by_caller(customer.pk):
            changed = _apply(customer, given=given, level=level, tags=tags, created=created)
        if created:
            changed = sorted({*changed, *given, *(["level"] if level else [])})
        if changed:
            customer = Customer.objects.get(pk=customer.pk)
            events.customer_updated(customer, changed=changed, created=created)
    return Upserted(customer=customer, created=created, changed=changed)


def _apply(
    customer: Customer, *, given: dict, level: str | None, tags: list[str] | None, created: bool
) -> list[str]:
    """The partner's fields, level and tags on the (locked) customer; what changed."""
    changed = [field for field, value in given.items() if getattr(customer, field) != value]
    for field in changed:
        setattr(customer, field, given[field])
    if changed:
        customer.save(update_fields=[*changed, "updated_at"])
    for field, kind in (
        ("phone", CustomerIdentity.Kind.PHONE),
        ("email", CustomerIdentity.Kind.EMAIL),
    ):
        if field in changed and getattr(customer, field):
            identities.claim_identity(
                customer_id=customer.pk,
                kind=kind,
                value=getattr(customer, field),
                source=SOURCE,
            )
    if level is not None and levels.change_level(
        customer_id=customer.pk,
        level=level,
        source=LevelChange.Source.API,
        congratulate=not created,
    ):
        changed.append("level")
    if tags is not None and _set_partner_tags(customer_id=customer.pk, names=tags):
        changed.append("tags")
    return changed


def change_profile(*, customer_id: int, changes: dict, changed_by) -> list[str]:
    """A supervisor's edit of a customer (admin): each field of `changes` set as given, the
    level through `levels.change_level` (its history row, the congratulation of an
    upgrade). Under the customer's row lock; one `customer.updated` on commit when what
    partners see of the customer changed (none for a save that changed nothing, or only
    what they do not see, such as quiet hours). Returns the fields that changed."""
    fields = {name: value for name, value in changes.items() if name != "level"}
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        with events.announcing(customer_id):
            changed = [name for name, value in fields.items() if getattr(customer, name) != value]
            for name in changed:
                setattr(customer, name, fields[name])
            if changed:
                customer.save(update_fields=[*changed, "updated_at"])
            if "level" in changes and levels.change_level(
                customer_id=customer_id,
                level=changes["level"],
                source=LevelChange.Source.ADMIN,
                changed_by=changed_by,
            ):
                changed.append("level")
    return changed


def _set_partner_tags(*, customer_id: int, names: list[str]) -> bool:
    """Make the partner's tags on this customer exactly `names`; whether any changed. A
    name an agent or a rule already put on the customer is theirs and stays so."""
    wanted = list(dict.fromkeys(_tag_name(name) for name in names))
    if len(wanted) > MAX_PARTNER_TAGS:
        raise ValueError(f"at most {MAX_PARTNER_TAGS} tags")
    current = dict(
        CustomerTag.objects.filter(customer_id=customer_id).values_list("name", "source")
    )
    gone = [
        name
        for name, source in current.items()
        if source == CustomerTag.Source.API and name not in wanted
    ]
    new = [name for name in wanted if name not in current]
    if gone:
        CustomerTag.objects.filter(
            customer_id=customer_id, source=CustomerTag.Source.API, name__in=gone
        ).delete()
    CustomerTag.objects.bulk_create(
        [
            CustomerTag(customer_id=customer_id, name=name, source=CustomerTag.Source.API)
            for name in new
        ]
    )
    return bool(gone or new)
