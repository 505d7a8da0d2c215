"""Proactive chat invitations (docs/care.md): which rule invites this visitor on this
page, one invitation per visitor per browsing session, and the answer counted once."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit
from uuid import UUID

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from customers.models import Customer, Invitation, InvitationRule, Order
from customers.services.segments import BUYING_STATUSES

# A visitor (or customer) invited once is not invited again for this long: a browsing
# session. The page asks at most once per page view besides.
SESSION_MINUTES = 30


class AlreadyAnswered(Exception):
    """The invitation was answered before: the first answer stands."""


@lru_cache(maxsize=256)
def _pattern(pattern: str) -> re.Pattern:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def url_matches(pattern: str, url: str) -> bool:
    """`*` stands for any characters. A pattern starting with / is matched against the
    URL's path and query ("/products/*"), any other against the whole URL; an empty
    pattern matches every page."""
    pattern = pattern.strip()
    if not pattern:
        return True
    if pattern.startswith("/"):
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
    else:
        target = url
    return _pattern(pattern).fullmatch(target) is not None


def rule_matches(
    rule: InvitationRule,
    *,
    url: str,
    seconds: int,
    segment: str,
    last_order_at: datetime | None,
    now: datetime,
) -> bool:
    if seconds < rule.min_seconds or not url_matches(rule.url_pattern, url):
        return False
    if rule.segment and rule.segment != segment:
        return False
    if rule.recent_order_days is not None:
        since = now - timedelta(days=rule.recent_order_days)
        if last_order_at is None or last_order_at < since:
            return False
    return True


def invite_after() -> list[int]:
    """The seconds on a page at which some enabled rule may invite: when a page asks."""
    return sorted(
        set(InvitationRule.objects.filter(enabled=True).values_list("min_seconds", flat=True))
    )


def find_invitation(
    *,
    customer_id: int | None,
    visitor: str,
    source: str,
    url: str,
    seconds: int,
    language: str,
    now: datetime | None = None,
) -> Invitation | None:
    """The invitation for this visitor on this page now, recorded; None when no enabled
    rule matches or the visitor (or customer) was invited within SESSION_MINUTES.

    An anonymous visitor is in the "new" segment with no orders. Two requests of one
    visitor at once are serialised (an advisory lock on the visitor), so one is invited
    at most once. Whether the customer is in a chat with an agent is the caller's to
    check (conversations)."""
    now = now or timezone.now()
    customer = Customer.objects.filter(pk=customer_id).first() if customer_id else None
    segment = customer.segment if customer else Customer.Segment.NEW
    with transaction.atomic():
        keys = [f"invite:visitor:{visitor}"] if visitor else []
        keys += [f"invite:customer:{customer_id}"] if customer is not None else []
        if keys:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest(%s::text[]) k", [keys]
                )
        seen = Q(visitor=visitor) if visitor else Q(pk__in=[])
        if customer is not None:
            seen |= Q(customer=customer)
        if Invitation.objects.filter(
            seen, created_at__gt=now - timedelta(minutes=SESSION_MINUTES)
        ).exists():
            return None
        rules = list(InvitationRule.objects.filter(enabled=True).order_by("position", "pk"))
        last_order_at = None
        if customer is not None and any(r.recent_order_days is not None for r in rules):
            last_order_at = (
                Order.objects.filter(customer=customer, status__in=BUYING_STATUSES)
                .order_by("-placed_at")
                .values_list("placed_at", flat=True)
                .first()
            )
        for rule in rules:
            if rule_matches(
                rule,
                url=url,
                seconds=seconds,
                segment=segment,
                last_order_at=last_order_at,
                now=now,
            ):
                return Invitation.objects.create(
                    rule=rule,
                    customer=customer,
                    visitor=visitor,
                    source=source,
                    page_url=url[:2000],
                    language=language,
                )
    return None


def answer_invitation(*, invitation_id: UUID, answer: str) -> Invitation:
    """Record the visitor's answer, once: AlreadyAnswered for a second one (the first
    stands); Invitation.DoesNotExist for an unknown id."""
    if answer not in (Invitation.Answer.ACCEPTED, Invitation.Answer.DECLINED):
        raise ValueError(f"unknown answer {answer!r}")
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation_id)
        if invitation.answer:
            raise AlreadyAnswered
        invitation.answer = answer
        invitation.answered_at = timezone.now()
        invitation.save(update_fields=["answer", "answered_at"])
    return invitation


def take_accepted_invitation(
    *, invitation_id: UUID, customer_id: int, conversation_id: UUID
) -> str | None:
    """An accepted invitation opens the chat: its message, once, for the conversation it
    opened (None when it is unknown, not accepted, already used, or another customer's).
    In the caller's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE customers_invitation AS i
               SET conversation_id = %(conversation)s,
                   customer_id = COALESCE(i.customer_id, %(customer)s)
              FROM customers_invitationrule r
             WHERE i.id = %(id)s AND r.id = i.rule_id AND i.answer = 'accepted'
               AND i.conversation_id IS NULL
               AND (i.customer_id IS NULL OR i.customer_id = %(customer)s)
            RETURNING i.language, r.message_zh, r.message_en
            """,
            {"id": invitation_id, "customer": customer_id, "conversation": conversation_id},
        )
        row = cursor.fetchone()
    if row is None:
        return None
    language, message_zh, message_en = row
    return message_en if language == "en" else message_zh
