"""Fan-out: each event becomes one delivery per subscription wanting it, exactly once,
whatever runs twice; nothing for a rolled-back change; a ticket's events in order."""

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from helpdesk.ids import UUID7_SQL
from helpdesk.models import ApiKey, OutboundEvent, WebhookDelivery
from helpdesk.webhooks import deliveries, emit, emit_many, subscriptions
from tests.threads import at_once


def ticket(number: int, **fields) -> dict:
    return {"ticket": {"id": f"T-{number:06d}", **fields}}


def pairs() -> list[tuple]:
    return list(
        WebhookDelivery.objects.order_by("seq", "subscription_id").values_list(
            "event_id", "subscription_id"
        )
    )


@pytest.mark.django_db
def test_one_delivery_per_subscription_that_wants_the_event(private_allowed, subscribe):
    wants = subscribe("http://127.0.0.1:9/a", events=["ticket.created"])
    also = subscribe("http://127.0.0.1:9/b", events=["ticket.created", "ticket.updated"])
    subscribe("http://127.0.0.1:9/c", events=["survey.answered"])
    paused = subscribe("http://127.0.0.1:9/d", events=["ticket.created"])
    paused.active = False
    paused.save(update_fields=["active"])
    revoked_key, _ = ApiKey.issue(name="old", scopes=["webhooks"])
    subscribe("http://127.0.0.1:9/e", events=["ticket.created"], key=revoked_key)
    ApiKey.objects.filter(pk=revoked_key.pk).update(revoked_at=timezone.now())
    event = emit("ticket.created", ticket(1))

    made = deliveries.fan_out()

    assert made == 2
    assert sorted(pairs()) == sorted([(event.id, wants.pk), (event.id, also.pk)])
    event.refresh_from_db()
    assert event.fanned_out_at is not None


@pytest.mark.django_db
def test_a_subscription_gets_the_events_written_after_it(private_allowed, subscribe):
    with time_machine.travel(timezone.now() - timedelta(minutes=5)):
        before = emit("ticket.created", ticket(1))
    subscription = subscribe("http://127.0.0.1:9/a", events=["ticket.created"])
    after = emit("ticket.created", ticket(2))

    deliveries.fan_out()

    assert pairs() == [(after.id, subscription.pk)]
    before.refresh_from_db()
    assert before.fanned_out_at is not None  # looked at once, and not again


@pytest.mark.django_db
def test_the_subject_keeps_a_tickets_or_a_conversations_events_together(private_allowed, subscribe):
    subscribe("http://127.0.0.1:9/a", events=["ticket.updated", "survey.answered"])
    emit("ticket.updated", ticket(7))
    emit("survey.answered", {"id": "s-1", "conversation": "6f1c2a4e", "score": 5})

    deliveries.fan_out()

    assert list(WebhookDelivery.objects.order_by("seq").values_list("subject", flat=True)) == [
        "ticket:T-000007",
        "conversation:6f1c2a4e",
    ]


@pytest.mark.django_db(transaction=True)
def test_two_workers_and_a_second_sweep_fan_out_each_event_once(private_allowed, subscribe):
    one = subscribe("http://127.0.0.1:9/a", events=["ticket.created"])
    two = subscribe("http://127.0.0.1:9/b", events=["ticket.created"])
    events = emit_many([("ticket.created", ticket(n)) for n in range(300)])

    made = at_once(lambda: deliveries.fan_out(batch=40))
    again = deliveries.fan_out(batch=40)

    assert sum(made) == 600
    assert again == 0
    assert sorted(pairs()) == sorted(
        (event.id, subscription.pk) for event in events for subscription in (one, two)
    )
    assert not OutboundEvent.objects.filter(fanned_out_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_while_another_worker_fans_out_a_caller_leaves_it_the_work(private_allowed, subscribe):
    """One fan-out at a time: the one running sees what others committed meanwhile, so
    batches commit in the outbox's order."""
    subscription = subscribe("http://127.0.0.1:9/a", events=["ticket.created"])
    event = emit("ticket.created", ticket(1))
    holding, release = threading.Event(), threading.Event()

    def another_worker():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [deliveries.FAN_OUT_LOCK])
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    worker = threading.Thread(target=another_worker)
    worker.start()
    holding.wait(timeout=30)
    skipped = deliveries.fan_out()
    release.set()
    worker.join(timeout=30)
    made = deliveries.fan_out()

    assert (skipped, made) == (0, 1)
    assert pairs() == [(event.id, subscription.pk)]


@pytest.mark.django_db(transaction=True)
def test_a_subscription_deleted_during_the_fan_out_leaves_no_delivery_and_no_event_behind(
    private_allowed, subscribe
):
    """The deletion commits while the fan-out's batch, which saw the subscription, waits
    to commit its deliveries: the batch fails on the foreign key and is made again."""
    gone = subscribe("http://127.0.0.1:9/a", events=["ticket.created"])
    kept = subscribe("http://127.0.0.1:9/b", events=["ticket.created"])
    events = emit_many([("ticket.created", ticket(n)) for n in range(20)])
    deleted, release = threading.Event(), threading.Event()
    made: list[int] = []

    def delete():
        try:
            with transaction.atomic():
                subscriptions.delete_subscription(subscription_id=gone.pk)
                deleted.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    def fan_out():
        try:
            deleted.wait(timeout=30)
            made.append(deliveries.fan_out())
        finally:
            connection.close()

    threads = [threading.Thread(target=delete), threading.Thread(target=fan_out)]
    for thread in threads:
        thread.start()
    waiting_on_a_lock()
    release.set()
    for thread in threads:
        thread.join(timeout=60)

    assert made == [20]
    assert sorted(pairs()) == sorted((event.id, kept.pk) for event in events)
    assert not OutboundEvent.objects.filter(fanned_out_at__isnull=True).exists()


def waiting_on_a_lock() -> None:
    """Until another session of this database waits for a lock (the fan-out's commit,
    on the deleted subscription's row)."""
    for _ in range(600):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)
    raise AssertionError("the fan-out never waited on the deletion")


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_delivers_nothing(receiver, private_allowed, subscribe):
    subscribe(receiver.url())

    with pytest.raises(RuntimeError), transaction.atomic():
        emit("ticket.created", ticket(1))
        raise RuntimeError("the change failed")
    deliveries.fan_out()
    deliveries.deliver_due()

    assert not OutboundEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert receiver.requests == []


@pytest.mark.django_db
def test_a_transaction_enqueues_one_delivery_task_however_many_events(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        emit("ticket.created", ticket(1))
        emit("ticket.updated", ticket(1))
        emit_many([("ticket.updated", ticket(n)) for n in range(5)])

    assert len(callbacks) == 1


@pytest.mark.django_db
def test_a_rolled_back_savepoint_leaves_the_outer_transactions_task(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            emit("ticket.created", ticket(1))
            raise RuntimeError
        emit("ticket.updated", ticket(2))

    assert len(callbacks) == 1


@pytest.mark.django_db
def test_events_written_by_sql_get_their_order_and_are_fanned_out_by_the_sweep(
    receiver, private_allowed, subscribe
):
    """The breach job writes its events by INSERT … SELECT, with no task of its own to
    deliver them: the Beat sweep does."""
    subscribe(receiver.url(), events=["ticket.sla_breached"])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO helpdesk_outboundevent (id, event, data, created_at) "  # noqa: S608
            f"SELECT {UUID7_SQL}, 'ticket.sla_breached', "
            "jsonb_build_object('ticket', jsonb_build_object('id', 'T-' || n)), clock_timestamp() "
            "FROM generate_series(1, 3) n ORDER BY n"
        )

    from helpdesk.tasks import deliver_webhooks_task

    delivered = deliver_webhooks_task.apply().get()

    assert delivered == 3
    seqs = list(OutboundEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert len(set(seqs)) == 3
    assert (
        sorted(r.headers["x-helpdesk-event"] for r in receiver.posts())
        == ["ticket.sla_breached"] * 3
    )


# --- order ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_tickets_events_go_in_order_and_wait_for_an_earlier_one_retrying(
    receiver, private_allowed, subscribe, settings
):
    settings.WEBHOOK_RETRY_BASE = 60
    subscribe(receiver.url(), events=["ticket.created", "ticket.updated"])
    created = emit("ticket.created", ticket(1, status="new"))
    opened = emit("ticket.updated", ticket(1, status="open"))
    solved = emit("ticket.updated", ticket(1, status="resolved"))
    other = emit("ticket.created", ticket(2))
    receiver.answer(500)  # the first POST: the first event of T-000001

    deliveries.fan_out()
    deliveries.deliver_due(batch=1)
    sent_first = [r.headers["x-helpdesk-delivery"] for r in receiver.posts()]
    retry_at = WebhookDelivery.objects.get(event=created).due_at
    with time_machine.travel(retry_at + timedelta(seconds=1)):
        deliveries.deliver_due()

    ids = [r.headers["x-helpdesk-delivery"] for r in receiver.posts()]
    assert sent_first == [str(created.id), str(other.id)]  # T-000001's later events wait
    assert [i for i in ids if i != str(other.id)] == [
        str(created.id),
        str(created.id),
        str(opened.id),
        str(solved.id),
    ]
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"delivered"}


@pytest.mark.django_db
def test_a_given_up_event_lets_the_next_one_of_its_ticket_go(receiver, private_allowed, subscribe):
    subscribe(receiver.url(), events=["ticket.created", "ticket.updated"])
    refused = emit("ticket.created", ticket(1))
    later = emit("ticket.updated", ticket(1))
    receiver.answer(422)

    deliveries.fan_out()
    deliveries.deliver_due()

    assert [r.headers["x-helpdesk-delivery"] for r in receiver.posts()] == [
        str(refused.id),
        str(later.id),
    ]
    assert WebhookDelivery.objects.get(event=later).state == "delivered"
