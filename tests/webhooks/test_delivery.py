"""Webhook deliveries to a real HTTP receiver: signed, retried, logged, disabled once."""

import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.utils import timezone

from conversations.models import Notice
from conversations.roles import SUPERVISORS
from helpdesk import tasks
from helpdesk.models import OutboundEvent, WebhookAttempt, WebhookDelivery, WebhookSubscription
from helpdesk.webhooks import deliveries, emit, subscriptions
from helpdesk.webhooks.signing import verify
from tests.factories import AgentFactory
from tests.webhooks.receiver import Answer

pytestmark = pytest.mark.django_db

TICKET = {"ticket": {"id": "T-000123", "subject": "耳机坏了", "status": "new"}}


def signed_by(secret: str, header: str, body: bytes) -> bool:
    """The receiver's check, written from the contract (not the helpdesk's code)."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    message = fields["t"].encode() + b"." + body
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"]) and abs(time.time() - int(fields["t"])) < 60


def sweep() -> deliveries.DeliveryRun:
    """What the Celery task does: fan out what is new, send what is due."""
    deliveries.fan_out()
    return deliveries.deliver_due()


def delivery_of(event: OutboundEvent) -> WebhookDelivery:
    return WebhookDelivery.objects.get(event=event)


def codes(delivery: WebhookDelivery) -> list:
    return list(delivery.attempt_log.order_by("number").values_list("status_code", flat=True))


# --- what arrives ---------------------------------------------------------------------------


def test_the_receiver_gets_the_signed_envelope_with_the_contracts_headers(
    receiver, private_allowed, subscribe
):
    subscription = subscribe(receiver.url())
    event = emit("ticket.created", TICKET)

    run = sweep()

    assert run.delivered == 1
    [request] = receiver.posts()
    assert json.loads(request.body) == {
        "id": str(event.id),
        "event": "ticket.created",
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": TICKET,
    }
    assert request.headers["x-helpdesk-event"] == "ticket.created"
    assert request.headers["x-helpdesk-delivery"] == str(event.id)
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert signed_by(subscription.secret, request.headers["x-helpdesk-signature"], request.body)
    assert not signed_by("whsec_other", request.headers["x-helpdesk-signature"], request.body)


def test_the_helpdesks_own_verify_agrees_and_refuses_a_changed_body_or_an_old_time(
    receiver, private_allowed, subscribe
):
    subscription = subscribe(receiver.url())
    emit("ticket.created", TICKET)
    sweep()
    [request] = receiver.posts()
    header = request.headers["x-helpdesk-signature"]

    assert verify(subscription.secret, header, request.body)
    assert not verify(subscription.secret, header, request.body + b" ")
    assert not verify(subscription.secret, header, request.body, now=time.time() + 301)


def test_a_delivery_and_its_attempt_are_recorded(receiver, private_allowed, subscribe):
    subscription = subscribe(receiver.url())
    event = emit("ticket.updated", TICKET)
    receiver.answer(Answer(200, b'{"received": true}'))

    sweep()

    delivery = delivery_of(event)
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert delivery.finished_at is not None
    attempt = delivery.attempt_log.get()
    assert (attempt.number, attempt.status_code, attempt.error) == (1, 200, "")
    assert attempt.response_excerpt == '{"received": true}'
    assert attempt.duration_ms >= 0
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0


def test_only_subscribed_events_are_sent(receiver, private_allowed, subscribe):
    subscribe(receiver.url(), events=["ticket.sla_breached"])
    emit("ticket.created", TICKET)
    breached = emit("ticket.sla_breached", {**TICKET, "clock": "resolution"})

    sweep()

    assert [r.headers["x-helpdesk-delivery"] for r in receiver.posts()] == [str(breached.id)]


# --- retries ----------------------------------------------------------------------------------------


def test_a_500_is_retried_until_it_succeeds(receiver, private_allowed, subscribe):
    subscription = subscribe(receiver.url())
    event = emit("ticket.created", TICKET)
    receiver.answer(500, 502, 200)

    run = sweep()

    delivery = delivery_of(event)
    assert codes(delivery) == [500, 502, 200]
    assert (delivery.state, run.delivered, run.failed) == ("delivered", 1, 2)
    posts = receiver.posts()
    assert {r.headers["x-helpdesk-delivery"] for r in posts} == {str(event.id)}
    assert all(
        signed_by(subscription.secret, r.headers["x-helpdesk-signature"], r.body) for r in posts
    )
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0


def test_a_400_is_not_retried(receiver, private_allowed, subscribe):
    event = emit_after(subscribe(receiver.url()))
    receiver.answer(Answer(400, b'{"error": "unknown event"}'))

    sweep()
    sweep()

    delivery = delivery_of(event)
    assert codes(delivery) == [400]
    assert (delivery.state, delivery.last_status_code) == ("failed", 400)
    assert delivery.attempt_log.get().response_excerpt == '{"error": "unknown event"}'
    assert len(receiver.posts()) == 1


def emit_after(subscription: WebhookSubscription) -> OutboundEvent:
    return emit("ticket.created", TICKET)


def test_retries_stop_at_the_limit(receiver, private_allowed, subscribe, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    event = emit_after(subscribe(receiver.url()))
    receiver.answer(*[503] * 10)

    sweep()
    sweep()

    delivery = delivery_of(event)
    assert codes(delivery) == [503, 503, 503]
    assert delivery.state == "failed"
    assert len(receiver.posts()) == 3


def test_the_backoff_doubles_with_jitter_and_waits_until_due(
    receiver, private_allowed, subscribe, settings
):
    settings.WEBHOOK_RETRY_BASE = 60
    event = emit_after(subscribe(receiver.url()))
    receiver.answer(500, 500, 200)

    sweep()
    first = delivery_of(event)
    first_wait = first.due_at - first.attempt_log.get().started_at
    sweep()  # not due yet: nothing sent
    assert len(receiver.posts()) == 1
    with time_machine.travel(first.due_at + timedelta(seconds=1)):
        sweep()
    second = delivery_of(event)
    second_wait = second.due_at - second.attempt_log.get(number=2).started_at
    with time_machine.travel(second.due_at + timedelta(seconds=1)):
        sweep()

    assert timedelta(seconds=30) <= first_wait <= timedelta(seconds=61)
    assert timedelta(seconds=60) <= second_wait <= timedelta(seconds=121)
    assert codes(delivery_of(event)) == [500, 500, 200]
    assert delivery_of(event).state == "delivered"


def test_a_network_error_is_logged_and_retried(private_allowed, subscribe, settings, receiver):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    closed = receiver.url()
    receiver.close()  # nothing listens on the port any more
    event = emit_after(subscribe(closed))

    sweep()

    delivery = delivery_of(event)
    assert delivery.state == "failed"
    attempts = list(delivery.attempt_log.order_by("number"))
    assert [a.status_code for a in attempts] == [None, None]
    assert all(a.error.startswith("ConnectError") for a in attempts)


def test_a_receiver_too_slow_times_out_and_is_retried(
    receiver, private_allowed, subscribe, settings
):
    settings.WEBHOOK_TIMEOUT = 0.3
    settings.WEBHOOK_RETRY_BASE = 3600
    event = emit_after(subscribe(receiver.url()))
    receiver.answer(Answer(200, delay=1.5))

    sweep()

    delivery = delivery_of(event)
    assert delivery.state == "pending"
    attempt = delivery.attempt_log.get()
    assert (attempt.status_code, attempt.error) == (None, "timed out after 0.3 s")
    assert delivery.due_at > timezone.now() + timedelta(minutes=29)


@pytest.fixture
def dripping():
    """A server that answers one header byte at a time, each within the read timeout,
    for as long as it is let."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        connection, _ = server.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not stop.wait(0.05):
                try:
                    connection.sendall(b"a")
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    stop.set()
    server.close()
    thread.join(timeout=5)


def test_a_receiver_dripping_its_answer_is_cut_off_at_the_attempts_deadline(
    dripping, private_allowed, subscribe, settings
):
    settings.WEBHOOK_TIMEOUT = 0.2  # every byte comes within it; the whole never does
    settings.WEBHOOK_RETRY_BASE = 3600
    event = emit_after(subscribe(dripping))

    sweep()

    delivery = delivery_of(event)
    assert delivery.state == "pending"  # to be retried
    assert delivery.attempt_log.get().error == "timed out: no complete answer within 0.4 s"


def test_a_redirect_is_not_followed(receiver, private_allowed, subscribe):
    event = emit_after(subscribe(receiver.url()))
    receiver.answer(Answer(302, headers=(("Location", receiver.url("/elsewhere")),)))

    sweep()

    assert [r.path for r in receiver.requests] == ["/hook"]
    delivery = delivery_of(event)
    assert (delivery.state, delivery.last_status_code) == ("failed", 302)
    assert delivery.last_error == f"redirect not followed: {receiver.url('/elsewhere')}"


def test_only_the_beginning_of_a_long_answer_is_kept(receiver, private_allowed, subscribe):
    event = emit_after(subscribe(receiver.url()))
    receiver.answer(Answer(200, "好".encode() * 5000))

    sweep()

    excerpt = delivery_of(event).attempt_log.get().response_excerpt
    assert excerpt.startswith("好好好")
    assert len(excerpt.encode()) <= 1024 + 3


# --- disabling after repeated failure ---------------------------------------------------------------


@pytest.fixture
def supervisors():
    group, _ = Group.objects.get_or_create(name=SUPERVISORS)
    people = [AgentFactory(), AgentFactory()]
    for agent in people:
        agent.user.groups.add(group)
    AgentFactory()  # an agent, not a supervisor: told nothing
    return people


def test_n_failures_in_a_row_disable_the_subscription_once_with_one_notice(
    receiver, private_allowed, subscribe, settings, supervisors
):
    settings.WEBHOOK_DISABLE_AFTER = 3
    subscription = subscribe(receiver.url())
    for n in range(5):
        emit("ticket.created", {"ticket": {"id": f"T-{n:06d}"}})
    receiver.answer(*[400] * 10)

    deliveries.fan_out()
    deliveries.deliver_due(batch=1)
    deliveries.deliver_due(batch=1)

    subscription.refresh_from_db()
    assert subscription.active is False
    assert subscription.disabled_at is not None
    assert subscription.disabled_reason == "3 failed attempts in a row; the last: HTTP 400"
    assert len(receiver.posts()) == 3  # nothing more went to a disabled subscription
    notices = Notice.objects.filter(kind="webhook_disabled")
    assert sorted(notices.values_list("agent_id", flat=True)) == sorted(a.pk for a in supervisors)
    assert f"{receiver.url()} disabled after 3 failed attempts" in notices.first().text_en
    assert notices.first().url == f"/admin/helpdesk/webhooksubscription/{subscription.pk}/change/"
    assert WebhookDelivery.objects.filter(state="pending").count() == 2


def test_a_failure_that_comes_in_late_does_not_disable_or_tell_twice(
    receiver, private_allowed, subscribe, settings, supervisors
):
    settings.WEBHOOK_DISABLE_AFTER = 2
    subscription = subscribe(receiver.url())
    for n in range(4):
        emit("ticket.created", {"ticket": {"id": f"T-{n:06d}"}})
    receiver.answer(*[500] * 4)
    settings.WEBHOOK_MAX_ATTEMPTS = 1

    deliveries.fan_out()
    deliveries.deliver_due(batch=4)  # four failures recorded at once, past the limit

    subscription.refresh_from_db()
    assert (subscription.active, subscription.consecutive_failures) == (False, 4)
    assert Notice.objects.filter(kind="webhook_disabled").count() == len(supervisors)


def test_a_success_starts_the_count_again(receiver, private_allowed, subscribe, settings):
    settings.WEBHOOK_DISABLE_AFTER = 3
    subscription = subscribe(receiver.url())
    for n in range(4):
        emit("ticket.created", {"ticket": {"id": f"T-{n:06d}"}})
    receiver.answer(400, 400, 200, 400)

    deliveries.fan_out()
    deliveries.deliver_due(batch=1)

    subscription.refresh_from_db()
    assert (subscription.active, subscription.consecutive_failures) == (True, 1)


def test_enabling_again_sends_what_waited(receiver, private_allowed, subscribe, settings):
    settings.WEBHOOK_DISABLE_AFTER = 1
    subscription = subscribe(receiver.url())
    first = emit("ticket.created", {"ticket": {"id": "T-000001"}})
    second = emit("ticket.created", {"ticket": {"id": "T-000002"}})
    receiver.answer(400)
    deliveries.fan_out()
    deliveries.deliver_due(batch=1)
    assert WebhookSubscription.objects.get().active is False

    subscriptions.enable_subscriptions(subscription_ids=[subscription.pk])
    sweep()

    subscription.refresh_from_db()
    assert (subscription.active, subscription.disabled_at, subscription.consecutive_failures) == (
        True,
        None,
        0,
    )
    assert (delivery_of(first).state, delivery_of(second).state) == ("failed", "delivered")


# --- claims ------------------------------------------------------------------------------------------


def test_a_lapsed_claim_is_taken_again_and_the_late_result_is_not_recorded_over_it(
    receiver, private_allowed, subscribe
):
    """A worker that stalled past its lease: another sends and records; the stalled one's
    late answer is logged as an attempt but finishes nothing a second time."""
    event = emit_after(subscribe(receiver.url()))
    deliveries.fan_out()
    [stalled] = deliveries._claim(limit=10, only=None)
    WebhookDelivery.objects.filter(pk=stalled.delivery_id).update(
        due_at=timezone.now() - timedelta(seconds=1)
    )  # its lease lapsed
    receiver.answer(200, 500)

    deliveries.deliver_due()  # another worker: delivered
    late = deliveries._send(_pool(), stalled)  # the stalled worker's POST gets the 500
    deliveries._record([late])

    delivery = delivery_of(event)
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200)
    assert sorted(delivery.attempt_log.values_list("number", "status_code")) == [
        (1, 500),
        (2, 200),
    ]


def _pool():
    import httpcore

    from helpdesk.webhooks.targets import GuardedBackend

    return httpcore.ConnectionPool(network_backend=GuardedBackend())


def test_a_claimed_delivery_is_not_claimed_again_while_its_lease_holds(
    receiver, private_allowed, subscribe
):
    emit_after(subscribe(receiver.url()))
    deliveries.fan_out()

    first = deliveries._claim(limit=10, only=None)
    second = deliveries._claim(limit=10, only=None)

    assert (len(first), second) == (1, [])


def test_deleting_a_subscription_while_it_is_being_sent_records_nothing(
    receiver, private_allowed, subscribe
):
    subscription = subscribe(receiver.url())
    emit_after(subscription)
    deliveries.fan_out()
    [job] = deliveries._claim(limit=10, only=None)
    outcome = deliveries._send(_pool(), job)

    subscriptions.delete_subscription(subscription_id=subscription.pk)
    deliveries._record([outcome])

    assert not WebhookDelivery.objects.exists()
    assert not WebhookAttempt.objects.exists()


# --- Celery ----------------------------------------------------------------------------------------


def test_the_task_fans_out_and_delivers(receiver, private_allowed, subscribe):
    subscribe(receiver.url())
    emit("ticket.created", TICKET)

    assert tasks.deliver_webhooks_task.apply().get() == 1
    assert len(receiver.posts()) == 1


def test_the_task_acknowledges_late_and_beat_sweeps_every_15_seconds(settings):
    assert tasks.deliver_webhooks_task.acks_late is True
    assert settings.CELERY_BEAT_SCHEDULE["deliver-webhooks"] == {
        "task": "helpdesk.tasks.deliver_webhooks_task",
        "schedule": 15.0,
    }


def test_a_run_out_of_time_hands_on_to_a_new_task(receiver, private_allowed, subscribe):
    subscribe(receiver.url())
    for n in range(3):
        emit("ticket.created", {"ticket": {"id": f"T-{n:06d}"}})
    deliveries.fan_out()

    run = deliveries.deliver_due(batch=1, budget=0)

    assert (run.more, run.delivered) == (True, 0)
