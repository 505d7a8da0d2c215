"""A Celery worker killed (SIGKILL) while it is sending a webhook, then another worker:
every event reaches the receiver, each delivery is recorded delivered once, and the one
that was in flight is sent again with the same delivery id (webhooks are at least once:
the receiver cannot tell the helpdesk it got a request whose answer never came back).

tests/conversations/test_worker_killed.py covers the care batch and the SLA job."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.models import ApiKey, WebhookDelivery
from helpdesk.tasks import deliver_webhooks_task
from helpdesk.webhooks import emit, subscriptions
from tests.conversations.test_worker_killed import Worker
from tests.faults.processes import wait_for
from tests.webhooks.receiver import Answer, Receiver

pytestmark = pytest.mark.django_db(transaction=True)

TICKETS = [
    {"ticket": {"id": f"T-00010{n}", "subject": "耳机坏了", "status": "new"}} for n in range(3)
]
# One delivery claimed and sent at a time, to a receiver on 127.0.0.1, retried at once.
WORKER_ENV = {
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
    "WEBHOOK_RETRY_BASE": "0",
    "WEBHOOK_BATCH": "1",
    "WEBHOOK_SEND_THREADS": "1",
    "CELERY_VISIBILITY_TIMEOUT": "2",
}


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def test_a_worker_killed_while_sending_a_webhook_loses_none_and_records_each_once(
    receiver, workdir, started, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # the receiver is on 127.0.0.1
    key, _ = ApiKey.issue(name="CRM", scopes=["webhooks"])
    subscriptions.create_subscription(api_key=key, url=receiver.url(), events=["ticket.created"])
    events = [emit("ticket.created", ticket) for ticket in TICKETS]
    receiver.answer(Answer(delay=120))  # the first POST hangs: the worker dies waiting
    queue = f"lumen-faults-webhooks-{uuid.uuid4().hex[:8]}"
    first = Worker(queue, workdir / "first.log", **WORKER_ENV)
    started.append(first)

    deliver_webhooks_task.apply_async(queue=queue)
    wait_for(lambda: len(receiver.posts()) == 1, "the first POST", log=first.log)
    first.kill()
    in_flight = WebhookDelivery.objects.get(state="sending")
    # Its claim's lease (WEBHOOK_TIMEOUT-based, half a minute and more) runs out:
    WebhookDelivery.objects.filter(pk=in_flight.pk).update(
        due_at=timezone.now() - timedelta(seconds=1)
    )
    second = Worker(queue, workdir / "second.log", **WORKER_ENV)
    started.append(second)
    deliver_webhooks_task.apply_async(queue=queue)
    wait_for(
        lambda: set(WebhookDelivery.objects.values_list("state", flat=True)) == {"delivered"},
        "every delivery",
        log=second.log,
    )

    posted = Counter(post.headers["x-helpdesk-delivery"] for post in receiver.posts())
    assert posted == {str(event.id): 2 if event.id == in_flight.event_id else 1 for event in events}
    deliveries = WebhookDelivery.objects.order_by("event__seq")
    assert [d.state for d in deliveries] == ["delivered"] * 3
    assert {d.event_id: d.last_status_code for d in deliveries} == {e.id: 200 for e in events}
