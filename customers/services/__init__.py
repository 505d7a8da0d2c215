"""Writes to customers: identities vouched for by the shop, anonymous visitors, the notes
and tags agents keep on a customer."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from customers import events
from customers.models import Customer, CustomerIdentity, CustomerNote, CustomerTag


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
    """The hash made with the identity secret, or with one of its fallbacks while a
    rotation is under way (docs/operations.md)."""
    given = identity.hash.lower()
    secrets = [settings.CHAT_IDENTITY_SECRET, *settings.CHAT_IDENTITY_SECRET_FALLBACKS]
    if not given or not any(
        hmac.compare_digest(identity_hash(identity.external_id, secret), given)
        for secret in secrets
    ):
        raise IdentityRefused


def customer_for_identity(*, identity: Identity, language: str) -> Customer:
    """The customer with this verified external_id (a shop account), created or updated.

    Only called after verify_identity: an unverified claim never reaches a row. The
    account is looked up among verified identities first, so an account whose customer
    was merged into another finds that one. The email and phone beside it are not
    covered by the hash: they are recorded as unverified claims of this customer (and
    fill its contact fields), never looked up. A changed name, email or phone is told to
    `customer.updated` subscribers."""
    from customers.services import identities

    verify_identity(identity)
    with transaction.atomic():
        customer = identities.customer_for_verified_identity(
            kind=CustomerIdentity.Kind.ACCOUNT,
            value=identity.external_id,
            method=CustomerIdentity.Method.IDENTITY_HASH,
            language=language,
            name=identity.name,
            source="chat session",
        )
        customer = Customer.objects.select_for_update(no_key=True).get(pk=customer.pk)
        changed = [
            field
            for field in ("name", "email", "phone")
            if getattr(identity, field) and getattr(identity, field) != getattr(customer, field)
        ]
        for field in changed:
            setattr(customer, field, getattr(identity, field))
        if changed:
            customer.save(update_fields=[*changed, "updated_at"])
            events.fields_changed(customer, changed=changed)
        for kind, value in (
            (CustomerIdentity.Kind.EMAIL, identity.email),
            (CustomerIdentity.Kind.PHONE, identity.phone),
        ):
            if value:
                try:
                    identities.claim_identity(
                        customer_id=customer.pk, kind=kind, value=value, source="chat session"
                    )
                except identities.InvalidIdentity:
                    pass  # a malformed claim is not kept; the session goes on
    return customer


def identified_customer_id(identity: Identity) -> int | None:
    """The id of the customer this verified identity names, if they exist (nothing is
    created: asking is not signing in). IdentityRefused for a wrong hash."""
    verify_identity(identity)
    return (
        Customer.objects.filter(external_id=identity.external_id)
        .values_list("pk", flat=True)
        .first()
    )


def create_visitor(*, language: str) -> Customer:
    return Customer.objects.create(language=language)


MAX_TAGS = 20


class InvalidInput(ValueError):
    """The input is refused; str(error) says why, in the agent's language."""


class NotAllowed(Exception):
    """The user may not do this (e.g. delete a colleague's note)."""


def _note_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise InvalidInput(_("Write the note first."))
    if len(body) > CustomerNote.MAX_LENGTH:
        raise InvalidInput(
            _("A note is at most %(n)s characters.") % {"n": CustomerNote.MAX_LENGTH}
        )
    return body


def add_customer_note(*, customer_id: int, author, body: str) -> CustomerNote:
    """A note every agent sees on this customer's conversations."""
    return CustomerNote.objects.create(
        customer_id=customer_id, author=author, body=_note_body(body)
    )


def edit_customer_note(*, note: CustomerNote, editor, body: str) -> CustomerNote:
    """Any agent may correct a shared note; who did it last is kept."""
    note.body = _note_body(body)
    note.last_edited_by = editor
    note.save(update_fields=["body", "last_edited_by", "updated_at"])
    return note


def delete_customer_note(*, note: CustomerNote, user, is_supervisor: bool) -> None:
    """Only the note's author or a supervisor removes it."""
    if not is_supervisor and note.author_id != user.pk:
        raise NotAllowed
    note.delete()


def _tag_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput(_("Give the tag a name."))
    if len(name) > CustomerTag.MAX_LENGTH:
        raise InvalidInput(_("A tag is at most %(n)s characters.") % {"n": CustomerTag.MAX_LENGTH})
    return name


def add_customer_tag(*, customer_id: int, name: str, created_by) -> CustomerTag:
    """A manual tag, once per customer and name (adding it again returns the existing one,
    and tells nobody); a new one is told to `customer.updated` subscribers.

    The customer's row is locked while counting, so two agents tagging at once never take
    a customer past MAX_TAGS."""
    name = _tag_name(name)
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=customer_id).first()
        existing = CustomerTag.objects.filter(customer_id=customer_id, name=name).first()
        if existing is not None:
            return existing
        if CustomerTag.objects.filter(customer_id=customer_id).count() >= MAX_TAGS:
            raise InvalidInput(_("A customer has at most %(n)s tags.") % {"n": MAX_TAGS})
        with events.announcing(customer_id):
            return CustomerTag.objects.create(
                customer_id=customer_id,
                name=name,
                source=CustomerTag.Source.MANUAL,
                created_by=created_by,
            )


def remove_customer_tag(*, tag: CustomerTag) -> None:
    """Agents remove the tags they set; automatic ones belong to their rules, the partner
    API's to the shop's systems (its next PUT would put them back). Told to
    `customer.updated` subscribers."""
    if tag.source == CustomerTag.Source.API:
        raise InvalidInput(_("This tag is set by the shop's systems and kept by them."))
    if tag.source != CustomerTag.Source.MANUAL:
        raise InvalidInput(_("An automatic tag is kept by its rule."))
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=tag.customer_id).first()
        with events.announcing(tag.customer_id):
            tag.delete()
