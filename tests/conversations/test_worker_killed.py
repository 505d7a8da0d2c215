"""A real Celery worker killed with SIGKILL in the middle of a batch, then a worker started
again: the task comes back (acknowledged late, Redis gives it back after the visibility
timeout), what the killed batch wrote is rolled back, and every outreach goes out once —
the care sender into chats and by email, and the SLA breach job.

The worker is paused at a known point of a batch by the test itself: holding a row lock
the batch's next statement needs (a chat the greeting goes into, a notice the breach job
writes), or by the mail backend tests/mailfile.py stopping after the Nth email."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from conversations.models import Message
from conversations.tasks import send_due_outreach_task
from customers.models import CareCampaign, Coupon, Outreach
from customers.services import care as claims
from tests.conftest import BASE_DIR, database_url
from tests.factories import AgentFactory, ConversationFactory, CustomerFactory, care_campaign
from tickets.defaults import ensure_defaults
from tickets.events import utc_sql
from tickets.models import SLAPolicy, SLATarget, TicketClock, TicketEvent, TicketType
from tickets.services import open_ticket
from tickets.tasks import record_breaches_task

pytestmark = pytest.mark.django_db(transaction=True)

BATCH = 10  # the worker's CARE_SEND_BATCH: 30 outreach are three batches
WAIT = 90.0  # seconds for anything a worker does on a busy machine


class Worker:
    """`celery worker` (one process, the solo pool) on a queue of its own, against the
    test database and Redis."""

    def __init__(self, queue: str, log: Path, **env: str):
        self.log = log
        environment = {
            **os.environ,
            "DATABASE_URL": database_url(connection.settings_dict),
            "REDIS_URL": settings.REDIS_URL,
            "SECRET_KEY": settings.SECRET_KEY,
            "CHANNEL_LAYER_PREFIX": settings.CHANNEL_LAYER_PREFIX,
            "CACHE_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
            "CONN_MAX_AGE": "0",
            "CARE_SEND_BATCH": str(BATCH),
            "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
            **env,
        }
        with open(log, "ab") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "helpdesk",
                    "worker",
                    "--pool=solo",
                    "-Q",
                    queue,
                    "-n",
                    f"{queue}@%h",
                    "-l",
                    "INFO",
                    "--without-heartbeat",
                    "--without-gossip",
                    "--without-mingle",
                ],
                cwd=BASE_DIR,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(lambda: " ready." in log.read_text(), "the worker to start", log)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for(condition, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            tail = log.read_text()[-3000:] if log else ""
            raise AssertionError(f"gave up waiting for {what}\n{tail}")
        time.sleep(0.2)


def query(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def waiting_on_a_lock() -> list[int]:
    """Backends of this database (not this one) waiting on a row lock."""
    return [
        pid
        for (pid,) in query(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
        )
    ]


def gone(pid: int) -> bool:
    return not query("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])


@pytest.fixture
def queue():
    return f"lumen-test-killed-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def workers(tmp_path):
    started: list[Worker] = []

    def start(queue: str, name: str, **env: str) -> Worker:
        worker = Worker(queue, tmp_path / f"{name}.log", **env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def holder():
    """A second session of the test database, to hold a lock the worker will wait for."""
    session = psycopg.connect(
        database_url(connection.settings_dict).replace("postgres://", "postgresql://")
    )
    yield session
    session.close()


def birthdays(customers) -> list[int]:
    campaign = care_campaign(CareCampaign.Kind.BIRTHDAY, coupon_amount="20.00")
    now = timezone.now() - timedelta(minutes=1)
    return [
        claims.claim_outreach(
            campaign=campaign, customer_id=customer.pk, occasion="birthday:2026", occurred_at=now
        )
        for customer in customers
    ]


def kill_while_paused(worker: Worker, backend: int | None = None, release=None) -> None:
    """SIGKILL, then let go of what held it: its database session, if it was waiting in
    one, ends its statement and then its transaction, never committed."""
    worker.kill()
    if release is not None:
        release()
    if backend is not None:
        wait_for(lambda: gone(backend), "the killed worker's session to end")
    time.sleep(2.5)  # past the visibility timeout (2 s) of the task it had taken


def test_a_worker_killed_mid_batch_of_chat_greetings_leaves_nothing_and_each_goes_once(
    queue, workers, holder
):
    chats = [ConversationFactory(customer=CustomerFactory()) for _ in range(3 * BATCH)]
    ids = birthdays(chat.customer for chat in chats)
    # The second batch's fifth greeting waits for this chat: four are written by then.
    holder.execute(
        "SELECT 1 FROM conversations_conversation WHERE id = %s FOR UPDATE", [chats[BATCH + 4].pk]
    )
    first = workers(queue, "first", CELERY_VISIBILITY_TIMEOUT="3600")

    task = send_due_outreach_task.apply_async(queue=queue)
    wait_for(lambda: waiting_on_a_lock(), "the worker to reach the held chat", first.log)
    [backend] = waiting_on_a_lock()
    kill_while_paused(first, backend, holder.rollback)
    after_kill = (
        Outreach.objects.filter(status="sent").count(),
        Message.objects.filter(meta__event="care").count(),
    )
    second = workers(queue, "second", CELERY_VISIBILITY_TIMEOUT="2")
    wait_for(
        lambda: not Outreach.objects.filter(status="pending").exists(), "every greeting", second.log
    )

    per_chat = Counter(
        Message.objects.filter(meta__event="care").values_list("conversation_id", flat=True)
    )
    assert after_kill == (BATCH, BATCH)  # the first batch committed, the second rolled back
    assert per_chat == {chat.pk: 1 for chat in chats}
    assert set(Outreach.objects.values_list("status", flat=True)) == {"sent"}
    assert Coupon.objects.count() == len(ids)
    assert task.id in second.log.read_text()  # the killed task came back to the new worker


def test_a_worker_killed_while_emailing_never_sends_one_twice(queue, workers, tmp_path):
    customers = [CustomerFactory(email=f"c{n}@example.com") for n in range(3 * BATCH)]
    ids = birthdays(customers)
    outbox = tmp_path / "outbox"
    mail = {"EMAIL_BACKEND": "tests.mailfile.EmailBackend", "LUMEN_TEST_MAIL_FILE": str(outbox)}
    first = workers(
        queue,
        "first",
        CELERY_VISIBILITY_TIMEOUT="3600",
        LUMEN_TEST_MAIL_PAUSE_AFTER=str(BATCH + 5),
        **mail,
    )

    task = send_due_outreach_task.apply_async(queue=queue)
    wait_for(
        lambda: Path(f"{outbox}.paused").exists(), "the fifth email of the second batch", first.log
    )
    kill_while_paused(first)
    second = workers(queue, "second", CELERY_VISIBILITY_TIMEOUT="2", **mail)
    killed_batch = ids[BATCH : 2 * BATCH]
    # Not "none pending": a batch is claimed ("sending") before its emails go, so the
    # wait lasts until every greeting outside the killed batch has been recorded sent.
    rest = [pk for pk in ids if pk not in killed_batch]
    wait_for(
        lambda: Outreach.objects.filter(pk__in=rest, status="sent").count() == len(rest),
        "every greeting",
        second.log,
    )

    handed = Counter(int(line) for line in outbox.read_text().split())
    status = dict(Outreach.objects.values_list("pk", "status"))
    assert max(handed.values()) == 1  # never twice
    assert set(handed) == set(ids[: BATCH + 5]) | set(ids[2 * BATCH :])
    # The killed batch was committed "being sent": five went, five did not, none again.
    assert [status[pk] for pk in killed_batch] == ["sending"] * BATCH
    assert all(status[pk] == "sent" for pk in ids if pk not in killed_batch)
    assert task.id in second.log.read_text()


def test_a_worker_killed_mid_breach_batch_leaves_nothing_and_each_clock_breaches_once(
    queue, workers, holder
):
    # The default SLA policy the migration seeded (an earlier test's flush removed it):
    # without it a ticket has no clocks.
    ensure_defaults(TicketType, SLAPolicy, SLATarget)
    agent = AgentFactory()
    tickets = [
        open_ticket(
            customer=CustomerFactory(),
            subject=f"耳机坏了 {n}",
            type_code="question",
            source="api",
            assignee=agent,
        )
        for n in range(20)
    ]
    TicketClock.objects.exclude(clock="resolution").update(due=None)
    TicketClock.objects.filter(clock="resolution").update(due=timezone.now() - timedelta(minutes=5))
    held = tickets[10]
    due = utc_sql("due")
    key_sql = (
        f"SELECT 'ticket:' || ticket_id || ':sla_breached:resolution@' || {due} "  # noqa: S608
        "FROM tickets_ticketclock WHERE clock = 'resolution'"
    )
    [(key,)] = query(key_sql + " AND ticket_id = %s", [held.pk])
    # The job's notice for this ticket must wait for this uncommitted one (same key).
    holder.execute(
        "INSERT INTO conversations_notice (agent_id, kind, key, text_zh, text_en, url, "
        "created_at) VALUES (%s, 'test', %s, '', '', '', now())",
        [agent.pk, key],
    )
    first = workers(queue, "first", CELERY_VISIBILITY_TIMEOUT="3600")

    task = record_breaches_task.apply_async(queue=queue)
    wait_for(lambda: waiting_on_a_lock(), "the breach job to reach the held notice", first.log)
    [backend] = waiting_on_a_lock()
    kill_while_paused(first, backend, holder.rollback)
    resolution = TicketClock.objects.filter(clock="resolution")
    after_kill = resolution.filter(breached_at__isnull=False).count()
    second = workers(queue, "second", CELERY_VISIBILITY_TIMEOUT="2")
    wait_for(
        lambda: not resolution.filter(breached_at__isnull=True).exists(),
        "every breach",
        second.log,
    )

    assert after_kill == 0  # the whole batch rolled back with the killed worker
    assert TicketEvent.objects.filter(kind="sla").count() == len(tickets)
    notices = Counter(agent.notices.filter(kind="sla_breached").values_list("key", flat=True))
    assert len(notices) == len(tickets) and set(notices.values()) == {1}
    assert task.id in second.log.read_text()
