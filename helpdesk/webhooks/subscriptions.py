"""Partners' webhook subscriptions (contracts/partner-api.md, "Webhooks"): made through
the API or in admin, changed, enabled again, deleted, and a test event sent to one.
The deliveries themselves are helpdesk/webhooks/deliveries.py."""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.models import (
    TEST_EVENT,
    WEBHOOK_EVENTS,
    ApiKey,
    OutboundEvent,
    WebhookDelivery,
    WebhookSubscription,
)
from helpdesk.webhooks import fan_out_on_commit
from helpdesk.webhooks.targets import check_url


class SubscriptionError(Exception):
    """A subscription that cannot be made as asked; str() says why, to a person."""


class SubscriptionExists(SubscriptionError):
    pass


def create_subscription(
    *, api_key: ApiKey, url: str, events: list[str], active: bool = True
) -> WebhookSubscription:
    """A new subscription of `api_key` to `events` at `url`, with a new secret. The URL
    is checked (targets.check_url: TargetRefused says why not); a key has at most
    WEBHOOK_MAX_SUBSCRIPTIONS and one per URL (SubscriptionExists). The events are kept
    in the contract's order, each once. It receives the events written after it."""
    check_url(url)
    wanted = [event for event in WEBHOOK_EVENTS if event in set(events)]
    if not wanted or len(wanted) != len(set(events)):
        raise SubscriptionError(_("Choose events from the contract's list."))
    with transaction.atomic():
        # The key's row lock makes the count and the insert one step for this key.
        ApiKey.objects.select_for_update().filter(pk=api_key.pk).first()
        if WebhookSubscription.objects.filter(api_key=api_key).count() >= (
            settings.WEBHOOK_MAX_SUBSCRIPTIONS
        ):
            raise SubscriptionError(
                _("This key already has %(count)s subscriptions, the most it may have.")
                % {"count": settings.WEBHOOK_MAX_SUBSCRIPTIONS}
            )
        try:
            with transaction.atomic():
                return WebhookSubscription.objects.create(
                    api_key=api_key, url=url, events=wanted, active=active
                )
        except IntegrityError:
            raise SubscriptionExists(
                _("This key already has a subscription to this URL.")
            ) from None


def change_subscription(
    *, subscription_id: UUID, url: str, events: list[str], active: bool
) -> WebhookSubscription:
    """Change a subscription (admin). Turning a disabled one active again enables it:
    the failure count starts again and the deliveries that waited go out."""
    check_url(url)
    with transaction.atomic():
        subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription_id)
        enabling = active and not subscription.active
        subscription.url = url
        subscription.events = [event for event in WEBHOOK_EVENTS if event in set(events)]
        subscription.active = active
        fields = ["url", "events", "active", "updated_at"]
        if enabling:
            subscription.consecutive_failures = 0
            subscription.disabled_at = None
            subscription.disabled_reason = ""
            fields += ["consecutive_failures", "disabled_at", "disabled_reason"]
            fan_out_on_commit()
        try:
            with transaction.atomic():
                subscription.save(update_fields=fields)
        except IntegrityError:
            raise SubscriptionExists(
                _("This key already has a subscription to this URL.")
            ) from None
    return subscription


def enable_subscriptions(*, subscription_ids: list[UUID]) -> int:
    """Enable these subscriptions again (admin, after a receiver was fixed): active, the
    failure count at zero; their waiting deliveries go out. How many were inactive."""
    with transaction.atomic():
        count = WebhookSubscription.objects.filter(pk__in=subscription_ids, active=False).update(
            active=True,
            consecutive_failures=0,
            disabled_at=None,
            disabled_reason="",
            updated_at=timezone.now(),
        )
        if count:
            fan_out_on_commit()
    return count


def delete_subscription(*, subscription_id: UUID, api_key: ApiKey | None = None) -> bool:
    """Delete a subscription (of `api_key` only, when given) with its deliveries and
    their attempts, in set-based deletes (there may be many). False when there is no
    such subscription. A worker sending one of its deliveries at that moment records
    nothing (its rows are gone)."""
    with transaction.atomic():
        found = WebhookSubscription.objects.select_for_update().filter(pk=subscription_id)
        if api_key is not None:
            found = found.filter(api_key=api_key)
        if found.first() is None:
            return False
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM helpdesk_webhookattempt a USING helpdesk_webhookdelivery d "
                "WHERE a.delivery_id = d.id AND d.subscription_id = %s",
                [subscription_id],
            )
            cursor.execute(
                "DELETE FROM helpdesk_webhookdelivery WHERE subscription_id = %s",
                [subscription_id],
            )
            cursor.execute(
                "DELETE FROM helpdesk_webhooksubscription WHERE id = %s", [subscription_id]
            )
    return True


def send_test_event(*, subscription_id: UUID) -> WebhookDelivery:
    """A `webhook.test` event for this one subscription (admin's "send test event"),
    ready to send: call `deliver_due(only=delivery.pk)` after commit. Sent once, not
    retried; sent even while the subscription is disabled (to try a fixed receiver)."""
    with transaction.atomic():
        subscription = WebhookSubscription.objects.get(pk=subscription_id)
        now = timezone.now()
        event = OutboundEvent.objects.create(
            event=TEST_EVENT,
            data={
                "subscription": str(subscription.pk),
                "message": "A test event from Lumen Helpdesk.",
            },
            fanned_out_at=now,
        )
        return WebhookDelivery.objects.create(
            event=event, subscription=subscription, seq=event.seq, due_at=now, created_at=now
        )
