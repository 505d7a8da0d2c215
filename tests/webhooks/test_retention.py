"""Retention: finished deliveries, their attempts and the outbox's events go after their
time, in batches; nothing still to be sent goes, and the order of what is left holds."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpdesk import tasks
from helpdesk.models import OutboundEvent, WebhookAttempt, WebhookDelivery
from helpdesk.webhooks import deliveries, emit, retention

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def ticket(number: int) -> dict:
    return {"ticket": {"id": f"T-{number:06d}"}}


def fanned_out(*, days_ago: float, number: int = 1) -> OutboundEvent:
    """An event written and fanned out `days_ago` days ago."""
    with time_machine.travel(timezone.now() - days_ago * DAY):
        event = emit("ticket.created", ticket(number))
        deliveries.fan_out()
    event.refresh_from_db()
    return event


def finish(event: OutboundEvent, *, state: str, days_ago: float = 0, attempts: int = 1):
    """Its delivery as a worker would leave it: `state`, finished `days_ago` days ago (a
    pending one is waiting for a retry), with that many attempts logged."""
    at = timezone.now() - days_ago * DAY
    delivery = WebhookDelivery.objects.get(event=event)
    delivery.state = state
    delivery.attempts = attempts
    delivery.finished_at = None if state in ("pending", "sending") else at
    delivery.due_at = at + timedelta(hours=1) if state == "pending" else at
    delivery.save()
    WebhookAttempt.objects.bulk_create(
        WebhookAttempt(delivery=delivery, number=n, started_at=at, duration_ms=5, status_code=503)
        for n in range(1, attempts + 1)
    )
    return delivery


@pytest.fixture
def subscribed(private_allowed, subscribe):
    with time_machine.travel(timezone.now() - 90 * DAY):
        return subscribe("http://127.0.0.1:9/hook", events=["ticket.created"])


def test_finished_deliveries_past_their_retention_go_with_their_attempts(settings, subscribed):
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 30
    delivered = finish(fanned_out(days_ago=40), state="delivered", days_ago=31, attempts=2)
    failed = finish(fanned_out(days_ago=40), state="failed", days_ago=31, attempts=8)
    recent = finish(fanned_out(days_ago=40), state="failed", days_ago=29, attempts=3)

    pruned = retention.prune()

    assert (pruned.deliveries, pruned.attempts) == (2, 10)
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [recent.pk]
    assert WebhookAttempt.objects.filter(delivery__in=[delivered.pk, failed.pk]).count() == 0
    assert recent.attempt_log.count() == 3


def test_deliveries_still_to_be_sent_are_kept_however_old(settings, subscribed):
    retrying = finish(fanned_out(days_ago=60), state="pending", attempts=5)
    sending = finish(fanned_out(days_ago=60), state="sending", attempts=1)
    never_tried = finish(fanned_out(days_ago=60), state="pending", attempts=0)

    pruned = retention.prune()

    assert (pruned.events, pruned.deliveries, pruned.attempts) == (0, 0, 0)
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {
        retrying.pk,
        sending.pk,
        never_tried.pk,
    }
    assert OutboundEvent.objects.count() == 3
    assert retrying.attempt_log.count() == 5


def test_events_nobody_subscribed_to_go_after_their_retention(settings):
    settings.WEBHOOK_EVENT_RETENTION_DAYS = 7
    old = fanned_out(days_ago=8)
    recent = fanned_out(days_ago=6)

    pruned = retention.prune()

    assert pruned.events == 1
    assert list(OutboundEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not OutboundEvent.objects.filter(pk=old.pk).exists()


def test_an_event_not_yet_fanned_out_is_kept_however_old(settings):
    with time_machine.travel(timezone.now() - 30 * DAY):
        waiting = emit("ticket.created", ticket(1))  # Beat was down: no fan-out yet

    assert retention.prune().events == 0
    assert OutboundEvent.objects.get().pk == waiting.pk


def test_an_event_stays_while_the_delivery_log_shows_it(settings, subscribed):
    settings.WEBHOOK_EVENT_RETENTION_DAYS = 7
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 30
    event = fanned_out(days_ago=20)
    finish(event, state="delivered", days_ago=20)

    assert retention.prune().events == 0
    with time_machine.travel(timezone.now() + 11 * DAY):
        pruned = retention.prune()

    assert (pruned.events, pruned.deliveries) == (1, 1)
    assert not OutboundEvent.objects.exists()


def test_an_event_with_a_delivery_still_retrying_is_kept(settings, subscribed):
    settings.WEBHOOK_EVENT_RETENTION_DAYS = 7
    event = fanned_out(days_ago=20)
    finish(event, state="pending", attempts=3)

    assert retention.prune().events == 0
    assert OutboundEvent.objects.filter(pk=event.pk).exists()


def test_batches_follow_each_other_until_nothing_is_left(settings, subscribed):
    settings.WEBHOOK_PRUNE_BATCH = 2
    for number in range(5):
        finish(fanned_out(days_ago=40, number=number), state="delivered", days_ago=35)

    with CaptureQueriesContext(connection) as queries:
        pruned = retention.prune()

    assert (pruned.events, pruned.deliveries, pruned.attempts) == (5, 5, 5)
    deletes = [query["sql"] for query in queries if "DELETE" in query["sql"]]
    # deliveries 2 + 2 + 1, then events 2 + 2 + 1: each batch its own statement
    assert len(deletes) == 6
    assert not OutboundEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert not WebhookAttempt.objects.exists()


def test_a_second_run_finds_nothing_more(settings, subscribed):
    finish(fanned_out(days_ago=40), state="failed", days_ago=35)
    retention.prune()

    pruned = retention.prune()

    assert (pruned.events, pruned.deliveries, pruned.attempts) == (0, 0, 0)


def test_a_subjects_later_events_still_go_in_order_once_an_earlier_ones_log_is_pruned(
    settings, subscribed
):
    # One ticket: the first event given up long ago, the next two waiting their turn.
    first = finish(fanned_out(days_ago=40), state="failed", days_ago=35)
    second = fanned_out(days_ago=1)
    third = fanned_out(days_ago=1)
    settings.WEBHOOK_EVENT_RETENTION_DAYS = 0

    retention.prune()
    claimed = deliveries._claim(limit=10, only=None)

    assert not WebhookDelivery.objects.filter(pk=first.pk).exists()
    assert [job.event.id for job in claimed] == [second.id]  # the third waits for it
    assert OutboundEvent.objects.filter(pk=third.pk).exists()
    assert emit("ticket.created", ticket(1)).seq > third.seq  # numbers are never reused


def test_the_task_prunes_through_celery_and_acknowledges_late(settings, subscribed):
    finish(fanned_out(days_ago=40), state="delivered", days_ago=35, attempts=2)

    assert tasks.prune_webhooks_task.apply().get() == {
        "events": 1,
        "deliveries": 1,
        "attempts": 2,
    }
    assert tasks.prune_webhooks_task.acks_late is True


def test_beat_prunes_every_hour(settings):
    assert settings.CELERY_BEAT_SCHEDULE["prune-webhooks"] == {
        "task": "helpdesk.tasks.prune_webhooks_task",
        "schedule": 3600.0,
    }
