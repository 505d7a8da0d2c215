"""Messages a partner relays from a channel of its own (contracts/partner-api.md:
`POST /api/v1/inbound/messages/`): WeChat, the mini-program, the app, SMS, email.

Such a message travels like one sent over the chat socket: the customer is found by their
shop account (one customer, one history, whichever channel they write on), the message
joins their open conversation on that channel or starts one, is stored once per
`client_id` with the next seq, and the bot, routing and the agents take it from there.
What the customer should see comes back out through the `message.created` webhook
(conversations/webhooks.py), which the partner relays to the channel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import override

from conversations import remote_files
from conversations.files import AttachmentTooLarge, UploadRefused
from conversations.models import Attachment, Conversation, Message
from conversations.remote_files import Fetched
from conversations.services.attachments import store_attachment
from conversations.services.bot import bot_turn
from conversations.services.messages import (
    ConversationClosed,
    post_customer_message,
    post_system_message,
)
from conversations.services.sessions import start_conversation
from customers.models import Customer, CustomerIdentity
from customers.services.identities import customer_for_verified_identity
from helpdesk.languages import django_language
from helpdesk.webhooks.targets import deadline

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    """What came of an inbound message: the stored message (the first one, for a retry),
    whether this call stored it, and its attachments."""

    message: Message
    created: bool
    attachments: list[Attachment]


def receive_inbound_message(
    *,
    channel: str,
    external_id: str,
    client_id: str,
    body: str,
    attachment_urls: list[str] = (),
    language: str | None = None,
    name: str = "",
) -> Received:
    """Store a customer's message relayed from `channel` and let the bot answer it.

    - The customer is the holder of the shop account `external_id` (created with it the
      first time; a customer merged into another finds the one it went to), so a web chat
      opened with that account's identity hash is the same customer and history.
    - The message joins the customer's latest open conversation on this channel, or starts
      one (one at a time per customer and channel: a transaction-level advisory lock).
    - `client_id` makes a retry harmless: a message with it from this customer on this
      channel (in whichever of their conversations, closed since or not) is returned as
      it is, and nothing is written or answered again.
    - `attachment_urls` are fetched first (conversations/remote_files.py: the SSRF guard,
      the size cap, the time limit), then checked and stored like an upload
      (store_attachment) under generated names ("wechat-1.jpg"), and the message carries
      them. A file that cannot be fetched or is refused leaves a system line saying so
      after the message (event `attachment_failed`); the message is stored all the same.
    - While the conversation is with the bot, the bot's turn runs after the message is
      committed, as for the live chat (unless the message holds nothing: no text, and
      no file came); a queued or assigned conversation waits for its agent, who answers
      from the desk.

    InvalidIdentity (nothing written) for an external id that cannot be one.
    """
    customer = customer_for_verified_identity(
        kind=CustomerIdentity.Kind.ACCOUNT,
        value=external_id,
        method=CustomerIdentity.Method.PARTNER_API,
        language=language or "zh",
        name=name,
        source=f"inbound {channel}",
    )
    stored = _stored(customer.pk, channel, client_id)
    if stored is not None:
        return Received(stored, False, list(stored.attachment_set.all()))
    fetched = _fetch_all(attachment_urls)
    while True:
        conversation = open_conversation(customer=customer, channel=channel, language=language)
        try:
            message, created, files, failures = _store(
                conversation, fetched, channel=channel, client_id=client_id, body=body
            )
        except ConversationClosed:
            continue  # closed between finding it and writing to it: the next one is new
        break
    if created:
        with override(django_language(conversation.language)):
            for failure in failures:
                post_system_message(
                    conversation_id=conversation.id,
                    body=_failure_text(failure),
                    meta={
                        "event": "attachment_failed",
                        "client_id": client_id,
                        "url": failure.url,
                        "reason": failure.reason,
                        "detail": failure.detail,
                    },
                )
    if (
        created
        and message.conversation_status == Conversation.Status.BOT
        and (body.strip() or files)
    ):
        bot_turn(conversation_id=conversation.id, message_id=message.id)
    return Received(message, created, files if created else list(message.attachment_set.all()))


@dataclass(frozen=True)
class _Failure:
    url: str
    reason: str  # remote_files.FetchFailed's reasons, and unsupported
    detail: str


def _fetch_all(urls: list[str]) -> list[Fetched | _Failure]:
    """Every URL's file or why not, all within INBOUND_FETCH_DEADLINE."""
    if not urls:
        return []
    results: list[Fetched | _Failure] = []
    with remote_files.open_pool() as pool, deadline(settings.INBOUND_FETCH_DEADLINE):
        for url in urls:
            try:
                results.append(remote_files.fetch(pool, url))
            except remote_files.FetchFailed as failed:
                logger.info("inbound attachment %s not fetched: %s", url, failed.detail)
                results.append(_Failure(url, failed.reason, failed.detail))
    return results


def _store(
    conversation: Conversation,
    fetched: list[Fetched | _Failure],
    *,
    channel: str,
    client_id: str,
    body: str,
) -> tuple[Message, bool, list[Attachment], list[_Failure]]:
    """The fetched files checked and stored in this conversation, and the message with
    them. Files stored for nothing (a concurrent retry stored the message first, or the
    conversation closed meanwhile) are deleted again."""
    files: list[Attachment] = []
    failures: list[_Failure] = []
    try:
        for number, item in enumerate(fetched, start=1):
            if isinstance(item, _Failure):
                failures.append(item)
                continue
            upload = SimpleUploadedFile("file", item.data, content_type=item.content_type)
            try:
                files.append(
                    store_attachment(
                        conversation_id=conversation.id,
                        uploaded_by=Message.Sender.CUSTOMER,
                        upload=upload,
                        shown_as=f"{channel}-{number}",
                    )
                )
            except AttachmentTooLarge as refused:
                failures.append(_Failure(item.url, "too_large", str(refused)))
            except UploadRefused as refused:
                failures.append(_Failure(item.url, "unsupported", str(refused)))
        message, created = post_customer_message(
            conversation_id=conversation.id,
            client_id=client_id,
            body=body,
            attachment_ids=[file.id for file in files],
        )
    except ConversationClosed:
        _discard(files)
        raise
    if not created:
        _discard(files)
    return message, created, files, failures


def _discard(files: list[Attachment]) -> None:
    for file in files:
        file.file.delete(save=False)
        file.delete()


def _failure_text(failure: _Failure) -> str:
    if failure.reason == "refused":
        why = _("its address is not one files can be fetched from")
    elif failure.reason == "too_large":
        why = _("it is larger than %(size)s MiB") % {
            "size": settings.ATTACHMENT_MAX_SIZE // (1024 * 1024)
        }
    elif failure.reason == "unsupported":
        why = _("this kind of file is not accepted")
    else:
        why = _("it could not be downloaded")
    return _("The attachment %(name)s could not be received: %(reason)s.") % {
        "name": remote_files.shown_name(failure.url),
        "reason": why,
    }


def _stored(customer_id: int, channel: str, client_id: str) -> Message | None:
    return (
        Message.objects.filter(
            conversation__customer_id=customer_id,
            conversation__channel=channel,
            client_id=client_id,
            sender=Message.Sender.CUSTOMER,
        )
        .prefetch_related("attachment_set")
        .first()
    )


def open_conversation(*, customer: Customer, channel: str, language: str | None) -> Conversation:
    """The customer's latest open conversation on `channel`, or a new one (no greeting: the
    bot answers the message that opened it). Two messages arriving at once for a customer
    with none open start one conversation: finding and starting are serialized per
    customer and channel."""
    open_ones = Conversation.objects.filter(
        customer=customer, channel=channel, status__in=Conversation.OPEN_STATUSES
    ).order_by("-created_at")
    conversation = open_ones.first()  # the common case: one query, no lock
    if conversation is not None:
        return conversation
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"inbound:{customer.pk}:{channel}"],
            )
        conversation = open_ones.first()  # started by a concurrent message meanwhile?
        if conversation is None:
            conversation = start_conversation(
                customer=customer,
                channel=channel,
                language=language or customer.language or "zh",
                greet=False,
            )
    return conversation
