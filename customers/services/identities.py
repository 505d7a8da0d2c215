"""Channel identities: how a customer is known on each channel, and what a verified one
may do that a claim may not.

- A **verified** identity (the shop's account vouched for by the identity hash, an app
  user or a WeChat / mini-program openid the partner API relays, an email an agent
  confirmed) belongs to one customer only; it finds that customer, and when two customers
  turn out to hold the same one they are merged (customers.services.merge).
- An **unverified claim** (an email typed into a chat, the email and phone the widget
  passes beside the identity hash, which signs the external id only) is kept on the
  customer who made it. It is never looked up, never merged on, and says nothing about
  anyone else who holds the same value.
"""

from __future__ import annotations

import re

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import events
from customers.models import Customer, CustomerIdentity, CustomerMerge

Kind = CustomerIdentity.Kind
Method = CustomerIdentity.Method


class InvalidIdentity(ValueError):
    """The kind or value is refused; str(error) says why."""


class IdentityConflict(Exception):
    """The identity is verified on a customer with another shop account: two accounts are
    never merged automatically (an agent may, by hand)."""


_PHONE_NOISE = re.compile(r"[\s\-().]")


def normalize(kind: str, value: object) -> str:
    """The form an identity is stored and compared in: an email in lower case, a phone
    without spaces or dashes, any other value trimmed."""
    if kind not in Kind.values:
        raise InvalidIdentity(_("Unknown kind of identity."))
    if not isinstance(value, str):
        raise InvalidIdentity(_("An identity is a text."))
    value = value.strip()
    if kind == Kind.EMAIL:
        value = value.lower()
        if "@" not in value[1:-1]:
            raise InvalidIdentity(_("That is not an email address."))
    elif kind == Kind.PHONE:
        value = _PHONE_NOISE.sub("", value)
        if not re.fullmatch(r"\+?\d{5,20}", value):
            raise InvalidIdentity(_("That is not a phone number."))
    if not value or "\x00" in value:
        raise InvalidIdentity(_("An identity cannot be empty."))
    if len(value) > CustomerIdentity.MAX_VALUE:
        raise InvalidIdentity(
            _("An identity is at most %(n)s characters.") % {"n": CustomerIdentity.MAX_VALUE}
        )
    return value


def verified_holder(kind: str, value: str) -> Customer | None:
    """The customer holding this verified identity (a shop account recorded only in
    `Customer.external_id`, from before identities were kept, counts too)."""
    found = (
        CustomerIdentity.objects.filter(kind=kind, value=value, verified=True)
        .select_related("customer")
        .first()
    )
    if found is not None:
        return found.customer
    if kind == Kind.ACCOUNT:
        return Customer.objects.filter(external_id=value).first()
    return None


def _record_verified(customer_id: int, kind: str, value: str, method: str, source: str, by=None):
    """The verified identity on this customer: inserted, or a claim of the same value on
    this customer promoted; nothing when it is there already. IntegrityError when another
    customer holds it verified."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO customers_customeridentity
                (customer_id, kind, value, verified, verified_at, verified_by, verified_user_id,
                 source, created_at)
            VALUES (%s, %s, %s, true, %s, %s, %s, %s, %s)
            ON CONFLICT ON CONSTRAINT identity_once_per_customer
            DO UPDATE SET verified = true, verified_at = EXCLUDED.verified_at,
                          verified_by = EXCLUDED.verified_by,
                          verified_user_id = EXCLUDED.verified_user_id
                    WHERE NOT customers_customeridentity.verified
            """,
            [customer_id, kind, value, now, method, getattr(by, "pk", None), source[:40], now],
        )


def customer_for_verified_identity(
    *,
    kind: str,
    value: str,
    method: str,
    language: str = "zh",
    name: str = "",
    source: str = "",
    announce: bool = True,
) -> Customer:
    """The customer a verified channel identity belongs to, created with it when nobody
    holds it yet: what an inbound WeChat / app message (the partner API) or a chat session
    with an identity hash is attached to. Two calls at once create one customer (the
    identity's unique index; the loser's savepoint rolls back and it reads the winner's).
    A customer created with a shop account is told to `customer.updated` subscribers
    (`created: true`) unless `announce` is False (a caller that tells it itself)."""
    value = normalize(kind, value)
    if method not in Method.values:
        raise InvalidIdentity(_("Unknown way of verifying."))
    known = (
        CustomerIdentity.objects.filter(kind=kind, value=value, verified=True)
        .select_related("customer")
        .first()
    )
    if known is not None:
        return known.customer  # the common case (every inbound message): one query
    with transaction.atomic():
        holder = verified_holder(kind, value)
        if holder is not None:
            if kind == Kind.ACCOUNT and not holder.identities.filter(kind=kind, value=value):
                _record_verified(holder.pk, kind, value, Method.IMPORT, "external_id")
            return holder
        try:
            with transaction.atomic():
                customer = Customer.objects.create(
                    external_id=value if kind == Kind.ACCOUNT else None,
                    name=name[:120],
                    language=language if language in Customer.Language.values else "zh",
                )
                _record_verified(customer.pk, kind, value, method, source)
                if announce:
                    events.customer_created(customer.pk)
        except IntegrityError:
            holder = verified_holder(kind, value)
            if holder is None:
                raise
            return holder
    return customer


def claim_identity(*, customer_id: int, kind: str, value: str, source: str) -> CustomerIdentity:
    """Record an unverified claim on this customer (once per kind and value). It merges
    nothing, looks nobody up, and tells the caller nothing about other customers."""
    value = normalize(kind, value)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO customers_customeridentity
                    (customer_id, kind, value, verified, verified_at, verified_by,
                     verified_user_id, source, created_at)
                VALUES (%s, %s, %s, false, NULL, '', NULL, %s, now())
                ON CONFLICT ON CONSTRAINT identity_once_per_customer DO NOTHING
                """,
                [customer_id, kind, value, source[:40]],
            )
        return CustomerIdentity.objects.get(customer_id=customer_id, kind=kind, value=value)


def is_anonymous(customer: Customer) -> bool:
    """A visitor nobody vouched for: no shop account, no verified identity."""
    return not customer.external_id and not customer.identities.filter(verified=True).exists()


def attach_verified_identity(
    *,
    customer_id: int,
    kind: str,
    value: str,
    method: str,
    by=None,
    source: str = "",
    reason: str = "",
) -> CustomerMerge | None:
    """This customer verifiably holds this identity (the partner API links an openid to a
    shop account; an agent confirms an email). Recorded on the customer; when another
    customer holds it verified, the two are one person and are merged — into the one with
    a shop account, else into the one that held the identity — and the merge is returned.
    IdentityConflict (nothing changed) when both have shop accounts of their own."""
    from customers.services.merge import merge_customers

    value = normalize(kind, value)
    if method not in Method.values:
        raise InvalidIdentity(_("Unknown way of verifying."))
    with transaction.atomic():
        customer = Customer.objects.get(pk=customer_id)
        holder = verified_holder(kind, value)
        if holder is None or holder.pk == customer.pk:
            try:
                with transaction.atomic():
                    _record_verified(customer.pk, kind, value, method, source, by)
            except IntegrityError:
                raise IdentityConflict from None  # verified elsewhere a moment ago
            return None
        if customer.external_id and holder.external_id:
            raise IdentityConflict
        source_id, target_id = (
            (holder.pk, customer.pk) if customer.external_id else (customer.pk, holder.pk)
        )
        merge = merge_customers(
            source_id=source_id,
            target_id=target_id,
            how=CustomerMerge.How.IDENTITY,
            by=by,
            reason=reason
            or _("Both hold the verified identity %(kind)s %(value)s.")
            % {"kind": Kind(kind).label, "value": value},
        )
        _record_verified(target_id, kind, value, method, source, by)
    return merge
