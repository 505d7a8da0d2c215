"""The conversations' part of a customer's export and erasure (registered in
customers.hooks, docs/privacy.md), and the retention of attachments and closed
conversations (the Beat job `apply_retention_task`).

Erasing a conversation replaces the text of every message in it — the customer's, the
bot's, the agents' and the system's alike, since a reply quotes what it answers ("your
order to 12 Nanjing Road…") — by "[erased]" in the conversation's language, deletes its
files from storage (the attachment rows stay as tombstones: name erased, type, size and
time kept), clears survey comments, the message left offline, internal notes, the page
and the bot's memory. Senders, sequence numbers, times and the bot's metadata (intent,
action, article, helpfulness) stay: every metric of docs/metrics.md is computed from
those, and comes out the same after an erasure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from conversations.models import (
    Attachment,
    Conversation,
    InternalNote,
    Message,
    OfflineMessage,
    Survey,
)
from customers.services.privacy import ErasureRefused, delete_files, erased_placeholder


def export_customer_conversations(*, customer) -> dict:
    """The customer's conversations with their messages, attachments' metadata and internal
    notes; their surveys and messages left offline. Six queries, whatever the history."""
    conversations = list(
        Conversation.objects.filter(customer_id=customer.pk)
        .order_by("created_at", "pk")
        .values(
            "id",
            "channel",
            "language",
            "status",
            "resolution",
            "tags",
            "page",
            "handoff_reason",
            "skill_group__code",
            "assignee__display_name",
            "created_at",
            "closed_at",
            "erased_at",
        )
    )
    ids = [conversation["id"] for conversation in conversations]
    nested: dict[str, dict[UUID, list]] = {
        "messages": defaultdict(list),
        "attachments": defaultdict(list),
        "internal_notes": defaultdict(list),
    }
    for message in (
        Message.objects.filter(conversation_id__in=ids)
        .order_by("conversation_id", "seq")
        .values("conversation_id", "seq", "sender", "sender_name", "body", "meta", "created_at")
    ):
        nested["messages"][message.pop("conversation_id")].append(message)
    for attachment in (
        Attachment.objects.filter(conversation_id__in=ids)
        .order_by("created_at", "pk")
        .values(
            "conversation_id",
            "id",
            "message_id",
            "uploaded_by",
            "name",
            "content_type",
            "size",
            "file",
            "transcript",
            "created_at",
        )
    ):
        # Metadata only: whether the file is still stored, never where.
        attachment["stored"] = bool(attachment.pop("file"))
        nested["attachments"][attachment.pop("conversation_id")].append(attachment)
    for note in (
        InternalNote.objects.filter(conversation_id__in=ids)
        .order_by("created_at", "pk")
        .values("conversation_id", "kind", "body", "agent__display_name", "created_at")
    ):
        nested["internal_notes"][note.pop("conversation_id")].append(note)
    for conversation in conversations:
        for key, rows in nested.items():
            conversation[key] = rows.get(conversation["id"], [])
    return {
        "conversations": conversations,
        "surveys": list(
            Survey.objects.filter(customer_id=customer.pk)
            .order_by("created_at", "pk")
            .values("conversation_id", "question", "score", "comment", "created_at", "answered_at")
        ),
        "offline_messages": list(
            OfflineMessage.objects.filter(customer_id=customer.pk)
            .order_by("created_at", "pk")
            .values("conversation_id", "body", "contact", "created_at", "handled_at")
        ),
    }


def erase_customer_conversations(*, customer, placeholder: Callable[[str], str]) -> list[str]:
    """Erase every conversation of the customer (in the caller's transaction); the storage
    names of their files, to delete on commit. ErasureRefused while one is open: close it
    first, so that nobody is still writing into what is being erased."""
    rows = list(
        Conversation.objects.select_for_update()
        .filter(customer_id=customer.pk)
        .values_list("pk", "language", "status")
    )
    if any(status != Conversation.Status.CLOSED for _pk, _language, status in rows):
        raise ErasureRefused(
            gettext("The customer has a conversation open: close it first, then erase.")
        )
    # Their survey answers given in another conversation of theirs are theirs too.
    Survey.objects.filter(customer_id=customer.pk).exclude(comment="").update(comment="")
    OfflineMessage.objects.filter(customer_id=customer.pk).update(
        body=placeholder(customer.language), contact=""
    )
    return erase_conversations(
        conversations=[(pk, language) for pk, language, _status in rows], placeholder=placeholder
    )


def erase_conversations(
    *,
    conversations: list[tuple[UUID, str]],
    placeholder: Callable[[str], str],
    now: datetime | None = None,
) -> list[str]:
    """Erase the texts and files of these (id, language) conversations, in the caller's
    transaction (module docstring); the storage names of the files let go, for the
    caller to delete on commit. A bounded number of statements per language."""
    now = now or timezone.now()
    by_language: dict[str, list[UUID]] = defaultdict(list)
    for pk, language in conversations:
        by_language[language].append(pk)
    files: list[str] = []
    for language, ids in by_language.items():
        erased = placeholder(language)
        Message.objects.filter(conversation_id__in=ids).update(body=erased)
        Message.objects.filter(conversation_id__in=ids, sender=Message.Sender.CUSTOMER).exclude(
            sender_name=""
        ).update(sender_name="")
        attachments = Attachment.objects.filter(conversation_id__in=ids)
        files += [name for name in attachments.values_list("file", flat=True) if name]
        attachments.update(file="", name=erased, transcript="")
        InternalNote.objects.filter(conversation_id__in=ids).update(body=erased)
        Survey.objects.filter(conversation_id__in=ids).exclude(comment="").update(comment="")
        OfflineMessage.objects.filter(conversation_id__in=ids).update(body=erased, contact="")
        # updated_at too: a partner syncing with ?updated_after= fetches the erased texts.
        Conversation.objects.filter(pk__in=ids).update(
            page={}, bot_context={}, erased_at=now, updated_at=now
        )
    return files


def retention_cutoff(days: int, now: datetime) -> datetime | None:
    """Before when a conversation must have closed for a retention of `days` to apply
    (None: the retention is off). Never inside the analytics' settle window, whose hours
    the rollup still recomputes from the raw texts (the unanswered-questions topics)."""
    if days <= 0:
        return None
    settled = now - timedelta(hours=settings.ANALYTICS_SETTLE_HOURS + 1)
    return min(now - timedelta(days=days), settled)


def purge_expired_attachments(*, now: datetime | None = None, batch: int | None = None) -> int:
    """Delete from storage the files of conversations closed more than
    ATTACHMENT_RETENTION_DAYS ago, `batch` rows a transaction (rows locked, others' skipped),
    files deleted after each commit; the rows stay as tombstones (file emptied). How many
    files went. Idempotent: a tombstone is never taken again."""
    now = now or timezone.now()
    batch = batch or settings.PRIVACY_RETENTION_BATCH
    cutoff = retention_cutoff(settings.ATTACHMENT_RETENTION_DAYS, now)
    if cutoff is None:
        return 0
    total = 0
    while True:
        with transaction.atomic():
            rows = list(
                Attachment.objects.filter(
                    conversation__status=Conversation.Status.CLOSED,
                    conversation__closed_at__lt=cutoff,
                )
                .exclude(file="")
                .order_by("pk")
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", "file")[:batch]
            )
            Attachment.objects.filter(pk__in=[pk for pk, _file in rows]).update(
                file="", transcript=""
            )
            names = [name for _pk, name in rows]
            transaction.on_commit(lambda names=names: delete_files(names))
        total += len(rows)
        if len(rows) < batch:
            return total


def anonymize_expired_conversations(
    *, now: datetime | None = None, batch: int | None = None
) -> int:
    """Erase the conversations closed more than CLOSED_CONVERSATION_RETENTION_DAYS ago
    (erase_conversations), `batch` conversations a transaction, oldest first, rows locked
    and others' skipped, files deleted after each commit. How many were erased.
    Idempotent: an erased conversation is never taken again."""
    now = now or timezone.now()
    batch = batch or settings.PRIVACY_RETENTION_BATCH
    cutoff = retention_cutoff(settings.CLOSED_CONVERSATION_RETENTION_DAYS, now)
    if cutoff is None:
        return 0
    total = 0
    while True:
        with transaction.atomic():
            rows = list(
                Conversation.objects.filter(
                    status=Conversation.Status.CLOSED, erased_at__isnull=True, closed_at__lt=cutoff
                )
                .order_by("closed_at", "pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", "language")[:batch]
            )
            names = erase_conversations(conversations=rows, placeholder=erased_placeholder, now=now)
            transaction.on_commit(lambda names=names: delete_files(names))
        total += len(rows)
        if len(rows) < batch:
            return total
