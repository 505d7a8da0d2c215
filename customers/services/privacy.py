"""A customer's data on request (docs/privacy.md): everything held about them as one JSON
document, and their erasure.

`customers` imports no other app: the conversations', surveys' and tickets' parts come
from the exporters and erasure hooks those apps register in their AppConfig.ready
(customers.hooks). This module orchestrates: its own rows, then every registered part.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from customers import events, hooks
from customers.models import Customer, CustomerIdentity, CustomerMerge, Invitation, Outreach
from helpdesk import audit

EXPORT_FORMAT = "lumen-customer-export/1"
logger = logging.getLogger(__name__)


class ErasureRefused(Exception):
    """The customer cannot be erased now; str(error) says why, in the reader's language."""


class CustomerNotFound(LookupError):
    pass


def erased_placeholder(language: str) -> str:
    """What replaces an erased text, in the language of the conversation it was in."""
    with translation.override(language if language in Customer.Language.values else "zh"):
        return gettext("[erased]")


def find_customer(reference: str) -> Customer:
    """A customer by id (digits) or by the shop's external id (the commands' argument)."""
    reference = (reference or "").strip()
    found = None
    if reference.isascii() and reference.isdecimal():
        found = Customer.objects.filter(pk=int(reference)).first()
    if found is None and reference:
        found = Customer.objects.filter(external_id=reference).first()
    if found is None:
        raise CustomerNotFound(gettext("No customer %(ref)s.") % {"ref": reference})
    return found


def _profile(customer: Customer) -> dict:
    fields = [
        "id",
        "external_id",
        "name",
        "email",
        "phone",
        "language",
        "level",
        "timezone",
        "birthday",
        "attributes",
        "segment",
        "conversation_count",
        "points",
        "care_opt_out",
        "quiet_start",
        "quiet_end",
        "created_at",
        "updated_at",
        "erased_at",
    ]
    return {field: getattr(customer, field) for field in fields}


def _own_sections(customer: Customer) -> dict:
    """This app's rows about the customer: one query a section."""
    pk = customer.pk
    return {
        "identities": [
            {
                "kind": identity.kind,
                "value": identity.value,
                "verified": identity.verified,
                "verified_at": identity.verified_at,
                "verified_by": identity.verified_by,
                "source": identity.source,
                "created_at": identity.created_at,
            }
            for identity in CustomerIdentity.objects.filter(customer_id=pk).order_by("pk")
        ],
        "level_history": list(
            customer.level_changes.order_by("created_at", "pk").values(
                "old", "new", "source", "changed_by__username", "created_at"
            )
        ),
        "points_entries": list(
            customer.points_entries.order_by("created_at", "pk").values(
                "points", "reason", "key", "created_at"
            )
        ),
        "orders": list(
            customer.orders.order_by("placed_at", "pk").values(
                "number",
                "status",
                "items",
                "total",
                "carrier",
                "tracking_number",
                "placed_at",
                "shipped_at",
                "delivered_at",
                "tracking_events",
                "updated_at",
            )
        ),
        "after_sales_requests": list(
            customer.after_sales.order_by("created_at", "pk").values(
                "number", "order__number", "kind", "reason", "description", "status", "created_at"
            )
        ),
        "coupons": list(
            customer.coupons.order_by("issued_at", "pk").values(
                "code",
                "campaign",
                "title",
                "amount",
                "minimum_spend",
                "issued_at",
                "expires_at",
                "redeemed_at",
            )
        ),
        "tags": list(
            customer.tags.order_by("name").values(
                "name", "source", "rule__name_en", "detail", "created_by__username", "created_at"
            )
        ),
        "notes": list(
            customer.notes.order_by("created_at", "pk").values(
                "body", "author__username", "created_at", "updated_at"
            )
        ),
        "outreach": list(
            Outreach.objects.filter(customer_id=pk)
            .order_by("created_at", "pk")
            .values(
                "campaign__kind",
                "occasion",
                "status",
                "channel",
                "detail",
                "subject",
                "conversation_id",
                "due_at",
                "sent_at",
                "created_at",
            )
        ),
        "invitations": list(
            Invitation.objects.filter(customer_id=pk)
            .order_by("created_at", "pk")
            .values("source", "page_url", "language", "answer", "created_at", "answered_at")
        ),
        "merges": list(
            CustomerMerge.objects.filter(Q(survivor_id=pk) | Q(merged_id=pk))
            .order_by("created_at", "pk")
            .values(
                "survivor_id",
                "merged_id",
                "merged_name",
                "how",
                "reason",
                "merged_snapshot",
                "created_at",
                "undone_at",
            )
        ),
    }


def export_customer(customer: Customer, *, by=None) -> dict:
    """Everything the helpdesk holds about one customer, as one JSON-able document: the
    profile, this app's rows and every registered app's sections. The number of queries
    does not grow with the customer's history (one a section). The export is in the audit
    log, with `by` (None: a management command)."""
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now(),
        "customer": _profile(customer),
        **_own_sections(customer),
    }
    others = hooks.customer_export(customer=customer)
    clash = document.keys() & others.keys()
    if clash:
        raise RuntimeError(f"export sections provided twice: {sorted(clash)}")
    document.update(others)
    audit.record(
        action=audit.Action.EXPORT,
        actor=by,
        actor_name=None if by is not None else "manage.py export_customer",
        target=customer,
        details={"what": "customer", "sections": sorted(document)},
    )
    return document


@dataclass(frozen=True)
class Erasure:
    customer: Customer
    erased: bool  # False: it had been erased before, nothing changed
    files: int  # files deleted from storage (on commit)


# The fields the erasure empties, with what they become.
_CLEARED = {
    "name": "",
    "email": "",
    "phone": "",
    "birthday": None,
    "attributes": {},
    "external_id": None,
    "quiet_start": None,
    "quiet_end": None,
    # No more care messages to a person who asked to be forgotten.
    "care_opt_out": True,
}


def erase_customer(*, customer_id: int, by=None) -> Erasure:
    """Erase a customer's personal data, keeping the row (its id is in every metric, its
    level and language are the metrics' dimensions) marked erased with the time.

    In one transaction, with the customer's row locked: the contact fields, birthday,
    attributes and shop id cleared (the name shown becomes "Erased customer N"); the
    channel identities, notes and tags deleted; merge records about them emptied of the
    copies they kept; outreach details and invitation pages cleared; then every
    registered app's erasure (conversations' texts and files, surveys' comments,
    tickets' texts). Files are deleted from storage on commit only. A partner that knew
    the customer is told once with `customer.updated`: the fields cleared and "erased",
    the representation naming the shop id it had.

    Erasing an erased customer changes nothing (`erased` False). ErasureRefused, nothing
    changed, while the customer has a conversation open (registered hooks decide)."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
        if customer is None:
            raise CustomerNotFound(gettext("No customer %(ref)s.") % {"ref": customer_id})
        if customer.erased_at is not None:
            return Erasure(customer=customer, erased=False, files=0)
        partner_id = customer.external_id
        before = events.customer_data(customer) if partner_id else None
        for field, value in _CLEARED.items():
            setattr(customer, field, value)
        customer.erased_at = timezone.now()
        customer.save(update_fields=[*_CLEARED, "erased_at", "updated_at"])
        customer.identities.all().delete()
        customer.notes.all().delete()
        customer.tags.all().delete()
        customer.after_sales.update(description="")
        Outreach.objects.filter(customer_id=customer.pk).exclude(detail="").update(detail="")
        Invitation.objects.filter(customer_id=customer.pk).update(page_url="", visitor="")
        CustomerMerge.objects.filter(Q(survivor_id=customer.pk) | Q(merged_id=customer.pk)).update(
            merged_name="", merged_snapshot=[], survivor_before={}, dropped=[]
        )
        with events.told_by_caller(customer.pk):  # told once, below, as erased
            files = hooks.customer_erased(customer=customer, placeholder=erased_placeholder)
        if files:
            transaction.on_commit(lambda: delete_files(files))
        if partner_id:
            data = events.customer_data(customer)
            data["external_id"] = partner_id
            changed = [f for f, v in data.items() if f not in events.UNTOLD and before[f] != v]
            events.customer_updated_data(data, changed=sorted([*changed, "erased"]), created=False)
        audit.record(
            action=audit.Action.CUSTOMER_ERASED,
            actor=by,
            actor_name=None if by is not None else "manage.py erase_customer",
            target_type=Customer._meta.label_lower,
            target_id=customer.pk,
            target_repr=str(customer),
            details={"files": len(files), "partner_told": bool(partner_id)},
        )
        logger.info(
            "customer %s erased by %s",
            customer.pk,
            by.get_username() if by is not None else "a command",
        )
    return Erasure(customer=customer, erased=True, files=len(files))


def delete_files(names: list[str]) -> None:
    """Delete these files of the default storage; one already gone is no error (a retry)."""
    for name in names:
        if name:
            default_storage.delete(name)
