"""Merging two customers who are one person, and undoing it exactly (docs/customers.md).

Everything that points at the merged-away customer — conversations and their messages,
tickets, orders, tags, notes, points, coupons, outreach, identities, whatever app it
belongs to — moves to the customer who stays, in one transaction. The relations are
found through Django's model metadata, so a model another app adds later moves too
without this module importing it.

Where a unique constraint would be broken by the move, the merged-away customer's row
makes room: a coupon of the same campaign is renamed, an outreach both had claimed for
the same occasion is sent at most once (the other is skipped), any other duplicate (a
tag both have, an identity, a dedicated agent) is dropped. The CustomerMerge row keeps
the merged-away customer as it was, the moved rows' ids, the changed rows' old values
and the dropped rows, so `unmerge_customers` puts exactly those back.

Locks, always in this order, so two merges of one pair, or a merge beside a chat message,
a closing conversation or the care sender, wait for each other instead of deadlocking:
the merged-away customer's care outreach, then the rows of every other relation (by
model, then id), then the two customers by id.
"""

from __future__ import annotations

import datetime
import json
import logging
import time
from contextlib import ExitStack

from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import OperationalError, connection, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import events, hooks
from customers.models import (
    Coupon,
    Customer,
    CustomerIdentity,
    CustomerMerge,
    LevelChange,
    Outreach,
)
from customers.services import segments, tag_rules
from helpdesk import audit

logger = logging.getLogger(__name__)

# Blank fields of the customer who stays are filled from the other's.
FILLED_FIELDS = ("name", "email", "phone", "birthday", "quiet_start", "quiet_end")
DEADLOCK_RETRIES = 3
MAX_REASON = 500


class MergeRefused(Exception):
    """The merge (or its undoing) cannot be done; str(error) says why, in the user's
    language. Nothing was changed."""


def relations() -> list[models.ForeignKey]:
    """Every foreign key to Customer, from any app (hidden ones and many-to-many tables
    included), outreach first (the care sender locks it before a conversation), then by
    model label: the order of the merge's locks."""
    fields = [
        rel.field
        for rel in Customer._meta.get_fields(include_hidden=True)
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)
    ]
    return sorted(fields, key=lambda f: (f.model is not Outreach, f.model._meta.label_lower))


def _label(field: models.ForeignKey) -> str:
    """A relation's key in CustomerMerge.moved: the model and its field ("app.model.field")."""
    return f"{field.model._meta.label_lower}.{field.name}"


def _rows(field: models.ForeignKey, customer_id: int):
    return field.model._base_manager.filter(**{field.attname: customer_id})


def merge_preview(*, source: Customer, target: Customer) -> list[tuple[str, int]]:
    """What a merge of `source` into `target` would move: (the rows' name, how many), in
    the order of the relations, the empty ones left out. Read only."""
    preview = []
    for field in relations():
        count = _rows(field, source.pk).count()
        if count:
            preview.append((str(field.model._meta.verbose_name_plural), count))
    return preview


class _ExactEncoder(DjangoJSONEncoder):
    """Times to the microsecond (Django's encoder cuts them to milliseconds): a restored
    row is the row as it was."""

    def default(self, o):
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        return super().default(o)


def _serialize(objects) -> list[dict]:
    return json.loads(json.dumps(serializers.serialize("python", objects), cls=_ExactEncoder))


def _restore(data: list[dict]) -> None:
    for item in serializers.deserialize("json", json.dumps(data)):
        item.save()


def _unique_sets(field: models.ForeignKey) -> list[tuple[list[str], models.Q | None]]:
    """The unique constraints of the field's model that include the field: (the other
    fields' attnames, the constraint's condition)."""
    model = field.model
    sets: list[tuple[list[str], models.Q | None]] = []
    if field.unique:
        sets.append(([], None))
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and field.name in constraint.fields:
            others = [
                model._meta.get_field(n).attname for n in constraint.fields if n != field.name
            ]
            sets.append((others, constraint.condition))
    for together in model._meta.unique_together:
        if field.name in together:
            sets.append(
                ([model._meta.get_field(n).attname for n in together if n != field.name], None)
            )
    return sets


def _conflicts(field: models.ForeignKey, source_id: int, target_id: int) -> list[tuple]:
    """(the merged-away customer's row, the staying customer's row it collides with)."""
    pairs = []
    for others, condition in _unique_sets(field):
        source_rows = _rows(field, source_id)
        # Locked, and so read as committed now: the care sender may be marking one sent.
        target_rows = _rows(field, target_id).select_for_update(no_key=True).order_by("pk")
        if condition is not None:
            source_rows, target_rows = source_rows.filter(condition), target_rows.filter(condition)
        taken = {tuple(getattr(row, name) for name in others): row for row in target_rows}
        if not taken:
            continue
        for row in source_rows:
            twin = taken.get(tuple(getattr(row, name) for name in others))
            if twin is not None:
                pairs.append((row, twin))
    return pairs


def _make_room(field, source_id: int, target_id: int, record: CustomerMerge) -> None:
    """Settle the rows that would break a unique constraint once moved."""
    model = field.model
    for row, twin in _conflicts(field, source_id, target_id):
        if model is Coupon:
            # Both coupons stay the customer's to use: the moved one is renamed.
            record.changed.append(
                {"model": "customers.coupon", "pk": row.pk, "fields": {"campaign": row.campaign}}
            )
            row.campaign = f"{row.campaign[:48]}~m{source_id}"
            row.save(update_fields=["campaign"])
        elif model is Outreach:
            _settle_outreach(row, twin, source_id, target_id, record)
        elif model is CustomerIdentity and row.verified and not twin.verified:
            # The verified one stays: the staying customer's mere claim makes room.
            record.dropped.extend(_serialize([twin]))
            twin.delete()
        else:
            record.dropped.extend(_serialize([row]))
            row.delete()


def _settle_outreach(row: Outreach, twin: Outreach, source_id, target_id, record) -> None:
    """The same occasion claimed for both (a birthday greeting each): sent at most once.
    If either went out, the other, still pending, is skipped; if neither, the staying
    customer's waits and the moved one is skipped. The moved one is renamed (the claim is
    unique per customer and occasion)."""
    pending = Outreach.Status.PENDING
    detail = _("Merged: the same occasion was claimed for customer %(id)s.")
    skip_row = row.status == pending
    skip_twin = twin.status == pending and row.status != pending
    for outreach, other, skip in ((row, target_id, skip_row), (twin, source_id, skip_twin)):
        if not skip and outreach is twin:
            continue
        record.changed.append(
            {
                "model": "customers.outreach",
                "pk": outreach.pk,
                "fields": {
                    "status": outreach.status,
                    "detail": outreach.detail,
                    "occasion": outreach.occasion,
                },
            }
        )
        if skip:
            outreach.status = Outreach.Status.SKIPPED
            outreach.detail = (detail % {"id": other})[:300]
        if outreach is row:
            outreach.occasion = f"{row.occasion[:100]}~m{source_id}"
        outreach.save(update_fields=["status", "detail", "occasion"])


def _lock_customers(source_id: int, target_id: int) -> dict[int, Customer]:
    """Both customers, locked in id order; the merged-away one for delete (FOR UPDATE), the
    staying one for a change of its fields (FOR NO KEY UPDATE: rows may still be added
    that point at it)."""
    locked = {}
    for pk in sorted((source_id, target_id)):
        found = Customer.objects.select_for_update(no_key=pk == target_id).filter(pk=pk).first()
        if found is not None:
            locked[pk] = found
    return locked


def _with_deadlock_retry(work):
    """Run `work` again after a deadlock (PostgreSQL aborted this side of it); inside a
    caller's transaction there is nothing to retry: the caller's transaction is gone."""
    if transaction.get_connection().in_atomic_block:
        return work()
    for attempt in range(DEADLOCK_RETRIES):
        try:
            return work()
        except OperationalError as error:
            if "deadlock" not in str(error) or attempt == DEADLOCK_RETRIES - 1:
                raise
            logger.warning("customer merge hit a deadlock; trying again")
            time.sleep(0.05 * (attempt + 1))
    return None


def merge_direction(*, current: Customer, other: Customer) -> tuple[Customer, Customer]:
    """(merged away, stays) when an agent merges the customer in front of them with another:
    the one with a shop account stays when only one has, else the one in front of them."""
    if other.external_id and not current.external_id:
        return current, other
    return other, current


def merge_customers(
    *, source_id: int, target_id: int, how: str, by=None, reason: str = ""
) -> CustomerMerge:
    """Merge customer `source_id` into `target_id`, in one transaction, and record it.

    Guarantees: every row of any app that pointed at the merged-away customer points at
    the staying one (or made room as the module says); points are added up (the ledger
    entries move with them); the higher level is kept, with a LevelChange when it rises;
    blank contact fields are filled, an opt-out is kept; the merged-away customer's shop
    account and external id become identities of the staying one, so its identity hash
    and its old chat tokens still find the person. MergeRefused, nothing changed, when
    either is gone (merged already, perhaps by a concurrent call) or they are the same.
    Partners get one `customer.updated` for the staying customer when what they see of it
    changed, none for the one merged away (its shop account now finds the one who stays).
    """
    if source_id == target_id:
        raise MergeRefused(_("A customer cannot be merged with itself."))
    if how not in CustomerMerge.How.values:
        raise ValueError(f"unknown merge origin {how!r}")
    reason = (reason or "").strip()[:MAX_REASON]
    return _with_deadlock_retry(lambda: _merge(source_id, target_id, how, by, reason))


def _merge(source_id: int, target_id: int, how: str, by, reason: str) -> CustomerMerge:
    with transaction.atomic(), ExitStack() as told:
        for field in relations():
            list(
                _rows(field, source_id)
                .select_for_update(no_key=True)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        locked = _lock_customers(source_id, target_id)
        if len(locked) < 2:
            raise MergeRefused(_("One of the two customers no longer exists (merged already?)."))
        source, target = locked[source_id], locked[target_id]
        if source.erased_at is not None or target.erased_at is not None:
            raise MergeRefused(_("An erased customer cannot be merged."))
        # Partners hear of the customer who stays, once, with all it took (the merged-away
        # one's shop account now finds it); of the one merged away, nothing more.
        told.enter_context(events.announcing(target_id))
        record = CustomerMerge(
            survivor_id=target_id,
            merged_id=source_id,
            merged_name=source.display_name[:120],
            how=how,
            reason=reason,
            merged_by=by,
            merged_snapshot=_serialize([source]),
            moved={},
            changed=[],
            dropped=[],
        )
        for customer in (source, target):
            if customer.external_id:
                _keep_account(customer)
        for field in relations():
            _make_room(field, source_id, target_id, record)
            rows = _rows(field, source_id)
            ids = [str(pk) for pk in rows.order_by("pk").values_list("pk", flat=True)]
            if ids:
                rows.update(**{field.attname: target_id})
                record.moved[_label(field)] = ids
        record.survivor_before = _take_over(source, target, by)
        # The segment follows the history that moved; the undoing puts the old one back.
        segment = segments.refresh_segment(customer_id=target_id)
        if segment != target.segment:
            record.survivor_before["fields"]["segment"] = [target.segment, segment]
        record.save()
        Customer.objects.filter(pk=source_id).delete()
        audit.record(
            action=audit.Action.CUSTOMERS_MERGED,
            actor=by,
            target=target,
            details={
                "merge_id": record.pk,
                "merged_id": source_id,
                "merged_name": record.merged_name,
                "how": how,
                "reason": reason,
            },
        )
        hooks.customers_merged(merge=record)
        tag_rules.evaluate_on_commit([target_id])
    return record


def _keep_account(customer: Customer) -> None:
    """The customer's shop account as a verified identity (accounts recorded only in
    `external_id`, from before identities were kept, get theirs now)."""
    CustomerIdentity.objects.get_or_create(
        customer=customer,
        kind=CustomerIdentity.Kind.ACCOUNT,
        value=customer.external_id,
        defaults={
            "verified": True,
            "verified_at": timezone.now(),
            "verified_by": CustomerIdentity.Method.IMPORT,
            "source": "external_id",
        },
    )


def _take_over(source: Customer, target: Customer, by) -> dict:
    """The staying customer takes what the other had: points, the higher level, blank
    fields filled, an opt-out, the external id when it had none. Returns, for the undoing,
    the points added and each changed field's [value before, value set]."""
    fields: dict[str, list] = {}

    def take(name: str, value) -> None:
        fields[name] = [_json_value(getattr(target, name)), _json_value(value)]
        setattr(target, name, value)

    for name in FILLED_FIELDS:
        if getattr(source, name) and not getattr(target, name):
            take(name, getattr(source, name))
    if source.care_opt_out and not target.care_opt_out:
        take("care_opt_out", True)
    if source.external_id and not target.external_id:
        Customer.objects.filter(pk=source.pk).update(external_id=None)
        take("external_id", source.external_id)
    if Customer.LEVEL_RANK[source.level] > Customer.LEVEL_RANK[target.level]:
        LevelChange.objects.create(
            customer=target,
            old=target.level,
            new=source.level,
            source=LevelChange.Source.MERGE,
            changed_by=by,
        )
        take("level", source.level)
    target.points += source.points
    # The conversations moved with the rest: the segment counts them (docs/care.md).
    target.conversation_count += source.conversation_count
    target.save(update_fields=["points", "conversation_count", *fields, "updated_at"])
    return {
        "points_added": source.points,
        "conversations_added": source.conversation_count,
        "fields": fields,
    }


def _json_value(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def surviving_customer_id(customer_id: int, *, hops: int = 10) -> int | None:
    """Where a merged-away customer's history is now, following later merges (one
    query); None for a customer that was never merged away."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE chain (id, depth) AS (
                SELECT survivor_id, 1 FROM customers_customermerge
                WHERE merged_id = %(id)s AND undone_at IS NULL
                UNION ALL
                SELECT m.survivor_id, chain.depth + 1
                FROM customers_customermerge m JOIN chain ON m.merged_id = chain.id
                WHERE m.undone_at IS NULL AND chain.depth < %(hops)s
            )
            SELECT id FROM chain ORDER BY depth DESC LIMIT 1
            """,
            {"id": customer_id, "hops": hops},
        )
        row = cursor.fetchone()
    return row[0] if row else None


def unmerge_customers(*, merge_id: int, by, reason: str = "") -> CustomerMerge:
    """Undo a merge: the merged-away customer comes back as it was (same id), exactly the
    rows that moved go back to it, the changed rows get their old values, the dropped
    duplicates return, and the staying customer's points, level (recorded) and filled
    fields are put back where the merge changed them and nobody has since. Rows added to
    the staying customer after the merge stay with it.

    MergeRefused, nothing changed, when it was undone already or the staying customer has
    since been merged away itself (undo that merge first). Partners get `customer.updated`
    for the staying customer when what they see of it changed, and for the one who comes
    back (with a shop account) with `created: true`."""
    reason = (reason or "").strip()[:500]
    return _with_deadlock_retry(lambda: _unmerge(merge_id, by, reason))


def _unmerge(merge_id: int, by, reason: str) -> CustomerMerge:
    with transaction.atomic(), ExitStack() as told:
        record = CustomerMerge.objects.select_for_update().filter(pk=merge_id).first()
        if record is None:
            raise MergeRefused(_("No such merge."))
        if record.undone_at is not None:
            raise MergeRefused(_("This merge was undone already."))
        target = Customer.objects.select_for_update(no_key=True).filter(pk=record.survivor_id)
        target = target.first()
        if target is None:
            raise MergeRefused(
                _("The customer it was merged into has been merged away since: undo that first.")
            )
        if target.erased_at is not None:
            raise MergeRefused(_("The customer it was merged into has been erased since."))
        # The one who stayed, with what it gives back; the one who comes back, as created.
        told.enter_context(events.announcing(record.survivor_id, record.merged_id))
        before = record.survivor_before
        took_account = before.get("fields", {}).get("external_id")
        if took_account and target.external_id == took_account[1]:
            Customer.objects.filter(pk=target.pk).update(external_id=None)
            target.external_id = None
        _restore(record.merged_snapshot)
        by_label = {_label(field): field for field in relations()}
        for label, ids in record.moved.items():
            field = by_label.get(label)
            if field is None:
                logger.warning("merge %s: %s is no model any more; its rows stay", merge_id, label)
                continue
            field.model._base_manager.filter(pk__in=ids, **{field.attname: target.pk}).update(
                **{field.attname: record.merged_id}
            )
        for change in record.changed:
            model = _model(change["model"])
            model._base_manager.filter(pk=change["pk"]).update(**change["fields"])
        _restore(record.dropped)
        _give_back(target, before, by)
        record.undone_at = timezone.now()
        record.undone_by = by
        record.undo_reason = reason
        record.save(update_fields=["undone_at", "undone_by", "undo_reason"])
        audit.record(
            action=audit.Action.MERGE_UNDONE,
            actor=by,
            target=target,
            details={
                "merge_id": record.pk,
                "merged_id": record.merged_id,
                "merged_name": record.merged_name,
                "reason": reason,
            },
        )
        hooks.customers_merged(merge=record, undone=True)
        tag_rules.evaluate_on_commit([record.survivor_id, record.merged_id])
    return record


def _model(label: str):
    from django.apps import apps

    return apps.get_model(label)


def _give_back(target: Customer, before: dict, by) -> None:
    """The staying customer's points less what the merge added, and each field the merge
    set back to its old value, unless someone has changed it since (then it is kept)."""
    Customer.objects.filter(pk=target.pk).update(
        points=F("points") - before.get("points_added", 0),
        conversation_count=F("conversation_count") - before.get("conversations_added", 0),
    )
    changed = []
    for name, (old, new) in before.get("fields", {}).items():
        field = Customer._meta.get_field(name)
        if _json_value(getattr(target, name)) != new:
            continue
        if name == "level":
            LevelChange.objects.create(
                customer=target, old=new, new=old, source=LevelChange.Source.MERGE, changed_by=by
            )
        setattr(target, name, field.to_python(old))
        changed.append(name)
    if changed:
        target.save(update_fields=[*changed, "updated_at"])
