"""Webhook deliveries (contracts/partner-api.md, "Webhooks"): from the outbox to the
partners' subscriptions (helpdesk/webhooks/subscriptions.py).

An event reaches a partner in three steps, each safe to repeat and to run on many
workers at once:

1. A service writes it to the outbox (`helpdesk.webhooks.emit`) in the transaction of
   the change; after commit a Celery task (`deliver_webhooks_task`) runs 2 and 3.
2. `fan_out` makes one delivery per (event, active subscription wanting that event) —
   a batch of events at a time, in one INSERT … SELECT, the events marked fanned out
   in the same statement, the pair unique; one fan-out at a time (an advisory lock),
   in the outbox's order.
3. `deliver_due` claims the deliveries that are due (SKIP LOCKED, the claim a lease of
   WEBHOOK_TIMEOUT-based length), POSTs them signed, and records each attempt.

Celery Beat runs the same task every 15 s, so an event whose task was
lost (a crash between commit and enqueue, the broker away, the breach job writing
events by SQL) is fanned out by the next sweep, a retry goes out when it is due, and a
delivery whose worker died is claimed again when its lease lapses.

What is guaranteed:

- Each event is fanned out once: one delivery per subscription, never two
  (`webhook_delivery_once`), whatever runs twice. A rolled-back change has no event and
  so no delivery.
- A delivery's result is recorded once, by the claim that holds it (`attempts` is the
  claim's number), so it is delivered or failed once; every attempt is logged.
- At least once, not exactly once: a worker that dies after the POST and before
  recording it leaves the delivery to be sent again. The receiver de-duplicates on the
  event id (`X-Helpdesk-Delivery`).
- Order: for one subscription, the events of one ticket (and of one conversation, or
  one customer) are sent one at a time in the order they were written (the outbox's
  sequence); a later one waits while an earlier one is pending or retrying, and goes
  once it is delivered or given up. Events of different tickets go in parallel, in no
  promised order. A ticket's events are written under its row lock, so "written
  before" is "happened before".
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import httpcore
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from helpdesk.models import TEST_EVENT, OutboundEvent, WebhookDelivery, WebhookSubscription
from helpdesk.webhooks.signing import HEADER as SIGNATURE_HEADER
from helpdesk.webhooks.signing import signature_header
from helpdesk.webhooks.targets import AttemptTooLong, GuardedBackend, TargetRefused, deadline

logger = logging.getLogger(__name__)

FAN_OUT_BATCH = 5000
# A run stops taking new batches after this long and hands on to a fresh task.
RUN_BUDGET_SECONDS = 50.0
USER_AGENT = "Lumen-Helpdesk-Webhooks/1"
MAX_ERROR = 300


# --- fan-out ----------------------------------------------------------------------------------

# What orders a delivery among its subscription's others: the ticket, conversation or
# customer the event is about ('' for none: no order to keep).
SUBJECT_SQL = """left(COALESCE(CASE
    WHEN jsonb_typeof(m.data -> 'ticket') = 'object'
        THEN 'ticket:' || (m.data -> 'ticket' ->> 'id')
    WHEN jsonb_typeof(m.data -> 'conversation') = 'object'
        THEN 'conversation:' || (m.data -> 'conversation' ->> 'id')
    WHEN jsonb_typeof(m.data -> 'conversation') = 'string'
        THEN 'conversation:' || (m.data ->> 'conversation')
    WHEN jsonb_typeof(m.data -> 'message') = 'object'
        THEN 'conversation:' || (m.data -> 'message' ->> 'conversation')
    WHEN jsonb_typeof(m.data -> 'customer') = 'object'
        THEN 'customer:' || (m.data -> 'customer' ->> 'external_id')
END, ''), 100)"""

ACTIVE_KEY_SQL = "k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > %(now)s)"

FAN_OUT_SQL = f"""
WITH batch AS (
    SELECT id FROM helpdesk_outboundevent
    WHERE fanned_out_at IS NULL
    ORDER BY seq
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
),
marked AS (
    UPDATE helpdesk_outboundevent e SET fanned_out_at = %(now)s
    FROM batch WHERE e.id = batch.id
    RETURNING e.id, e.event, e.data, e.seq, e.created_at
),
made AS (
    INSERT INTO helpdesk_webhookdelivery
        (event_id, subscription_id, seq, subject, state, attempts, due_at, created_at,
         last_error)
    SELECT m.id, s.id, m.seq, {SUBJECT_SQL}, 'pending', 0, %(now)s, %(now)s, ''
    FROM marked m
    JOIN helpdesk_webhooksubscription s
      ON s.active AND m.event = ANY(s.events) AND s.created_at <= m.created_at
    JOIN helpdesk_apikey k ON k.id = s.api_key_id AND {ACTIVE_KEY_SQL}
    ORDER BY m.seq, s.id
    ON CONFLICT (event_id, subscription_id) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM marked), (SELECT count(*) FROM made)
"""  # noqa: S608 (no values: SUBJECT_SQL and ACTIVE_KEY_SQL are constants)


# PostgreSQL advisory lock key: one fan-out at a time in the whole installation.
FAN_OUT_LOCK = 0x4C554D454E + 0x10  # "LUMEN" (the router's) + 16


def fan_out(*, batch: int = FAN_OUT_BATCH, budget: float = RUN_BUDGET_SECONDS) -> int:
    """Make the deliveries of every event not yet fanned out: for each, one per active
    subscription (of an active key) that wants its kind and was made before it. A batch
    of events per statement and transaction, the lowest sequence numbers first, marked
    in the same statement; the (event, subscription) pair is unique, so running this
    twice, or on two workers, makes each delivery once. Returns how many were made.

    One fan-out runs at a time (a transaction-level advisory lock, taken per batch): a
    caller that finds it taken returns at once, since the one running looks again for
    new events after releasing it, and so sees whatever was committed before the
    caller tried. Batches therefore commit in sequence order, and an event's deliveries
    never exist before those of an earlier event of its ticket (which the order of
    sending relies on)."""
    made = conflicts = 0
    started = time.monotonic()
    while time.monotonic() - started < budget:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [FAN_OUT_LOCK])
                if not cursor.fetchone()[0]:
                    return made  # the fan-out running looks again once it is done
                cursor.execute(FAN_OUT_SQL, {"batch": batch, "now": timezone.now()})
                marked, count = cursor.fetchone()
        except IntegrityError:
            # A subscription was deleted while this batch made its deliveries (the
            # foreign key, checked at commit): the batch rolled back whole and is made
            # again without it.
            conflicts += 1
            if conflicts > 3:
                raise
            continue
        made += count
        if marked < batch and not _events_to_fan_out():
            break
    return made


def _events_to_fan_out() -> bool:
    """Whether an event waits to be fanned out (asked after the lock was released: an
    event committed meanwhile, whose own fan-out found the lock taken, is seen here)."""
    return OutboundEvent.objects.filter(fanned_out_at__isnull=True).exists()


# --- delivery -------------------------------------------------------------------------------


@dataclass
class Job:
    """A claimed delivery: what to POST where."""

    delivery_id: int
    attempt: int
    subscription_id: UUID
    url: str
    secret: str
    event: OutboundEvent

    @property
    def is_test(self) -> bool:
        return self.event.event == TEST_EVENT


@dataclass
class Outcome:
    """How one attempt went."""

    job: Job
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str = ""
    excerpt: str = ""
    retryable: bool = False
    finished_at: datetime = field(default_factory=timezone.now)

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def summary(self) -> str:
        return f"HTTP {self.status_code}" if self.status_code is not None else self.error


@dataclass
class DeliveryRun:
    """What a `deliver_due` run did."""

    delivered: int = 0
    failed: int = 0  # attempts that failed (retried or given up)
    last: Outcome | None = None  # the last attempt made (what admin's test button shows)
    more: bool = False  # stopped by its budget with deliveries still due


def _claim_sql(only: bool) -> str:
    chosen = "d.id = %(only)s" if only else f"s.active AND {ACTIVE_KEY_SQL}"
    return f"""
WITH due AS (
    SELECT d.id
    FROM helpdesk_webhookdelivery d
    JOIN helpdesk_webhooksubscription s ON s.id = d.subscription_id
    JOIN helpdesk_apikey k ON k.id = s.api_key_id
    WHERE d.state IN ('pending', 'sending') AND d.due_at <= %(now)s AND {chosen}
      AND (d.subject = '' OR NOT EXISTS (
          SELECT 1 FROM helpdesk_webhookdelivery e
          WHERE e.subscription_id = d.subscription_id AND e.subject = d.subject
            AND e.state IN ('pending', 'sending') AND e.seq < d.seq))
    ORDER BY d.due_at, d.seq
    LIMIT %(limit)s
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE helpdesk_webhookdelivery d
SET state = 'sending', attempts = d.attempts + 1, due_at = %(lease_until)s
FROM due, helpdesk_outboundevent e, helpdesk_webhooksubscription s
WHERE d.id = due.id AND e.id = d.event_id AND s.id = d.subscription_id
RETURNING d.id, d.attempts, s.id, s.url, s.secret, e.id, e.event, e.data, e.created_at, e.seq
"""  # noqa: S608 (no values: the condition is one of two constants)


def _lease_seconds(batch: int) -> float:
    """How long a claim holds: the batch sent WEBHOOK_SEND_THREADS at a time, each POST
    at most about twice WEBHOOK_TIMEOUT (connect, then the response), and a margin."""
    rounds = math.ceil(batch / max(1, settings.WEBHOOK_SEND_THREADS))
    return rounds * 2 * settings.WEBHOOK_TIMEOUT + 30


def _claim(*, limit: int, only: int | None) -> list[Job]:
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _claim_sql(only is not None),
            {
                "now": now,
                "limit": limit,
                "only": only,
                "lease_until": now + timedelta(seconds=_lease_seconds(limit)),
            },
        )
        rows = cursor.fetchall()
    jobs = []
    for delivery_id, attempt, sub_id, url, secret, event_id, kind, data, created_at, seq in rows:
        event = OutboundEvent(
            id=event_id,
            event=kind,
            data=json.loads(data) if isinstance(data, str) else data,
            created_at=created_at,
            seq=seq,
        )
        jobs.append(Job(delivery_id, attempt, sub_id, url, secret, event))
    return jobs


def body_of(event: OutboundEvent) -> bytes:
    """The bytes POSTed (and signed): the envelope as compact UTF-8 JSON."""
    return json.dumps(event.envelope(), ensure_ascii=False, separators=(",", ":")).encode()


def _send(pool: httpcore.ConnectionPool, job: Job) -> Outcome:
    """POST one delivery; never raises. Connecting, sending and each read wait at most
    WEBHOOK_TIMEOUT, and the whole attempt at most twice that (targets.deadline)."""
    body = body_of(job.event)
    headers = [
        ("Content-Type", "application/json; charset=utf-8"),
        ("User-Agent", USER_AGENT),
        ("X-Helpdesk-Event", job.event.event),
        ("X-Helpdesk-Delivery", str(job.event.id)),
        (SIGNATURE_HEADER, signature_header(job.secret, body)),
    ]
    timeout = settings.WEBHOOK_TIMEOUT
    started_at = timezone.now()
    started = time.monotonic()
    outcome = Outcome(job=job, started_at=started_at, duration_ms=0)
    try:
        # The log's errors are technical text, in English like the network's own.
        with (
            override("en"),
            deadline(2 * timeout),
            pool.stream(
                "POST",
                job.url,
                headers=headers,
                content=body,
                extensions={
                    "timeout": {
                        "connect": timeout,
                        "read": timeout,
                        "write": timeout,
                        "pool": timeout,
                    }
                },
            ) as response,
        ):
            outcome.status_code = response.status
            outcome.excerpt = _excerpt(response)
            if 300 <= response.status < 400:
                location = dict((name.lower(), value) for name, value in response.headers).get(
                    b"location", b""
                )
                outcome.error = f"redirect not followed: {location.decode('latin-1')}"
    except TargetRefused as refused:
        outcome.error = str(refused)
    except AttemptTooLong:
        outcome.error = f"timed out: no complete answer within {2 * timeout:g} s"
        outcome.retryable = True
    except httpcore.TimeoutException:
        outcome.error = f"timed out after {timeout:g} s"
        outcome.retryable = True
    except (httpcore.NetworkError, httpcore.RemoteProtocolError) as error:
        outcome.error = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        outcome.retryable = True
    except httpcore.UnsupportedProtocol as error:
        outcome.error = f"unsupported URL: {error}"
    except Exception as error:  # a bug must not leave the delivery claimed until the lease lapses
        logger.exception("webhook delivery %s failed", job.delivery_id)
        outcome.error = f"{type(error).__name__}: {error}"
        outcome.retryable = True
    outcome.duration_ms = round((time.monotonic() - started) * 1000)
    outcome.finished_at = timezone.now()
    if outcome.status_code is not None and outcome.status_code >= 500:
        outcome.retryable = True
    outcome.error = outcome.error[:MAX_ERROR]
    return outcome


def _excerpt(response: httpcore.Response) -> str:
    """The beginning of the response body, at most WEBHOOK_RESPONSE_EXCERPT bytes, what
    arrived before the attempt's deadline."""
    cap = settings.WEBHOOK_RESPONSE_EXCERPT
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_stream():
            chunks.append(chunk)
            size += len(chunk)
            if size >= cap:
                break
    except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.RemoteProtocolError):
        pass  # the status code is what counts; the excerpt is what arrived
    text = b"".join(chunks)[:cap].decode("utf-8", errors="replace")
    return text.replace("\x00", "\ufffd")  # PostgreSQL text holds no NUL


def _send_all(pool: httpcore.ConnectionPool, jobs: list[Job]) -> list[Outcome]:
    threads = max(1, min(settings.WEBHOOK_SEND_THREADS, len(jobs)))
    if threads == 1:
        return [_send(pool, job) for job in jobs]
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhook") as executor:
        return list(executor.map(lambda job: _send(pool, job), jobs))


def retry_delay(attempt: int) -> float:
    """Seconds before attempt `attempt + 1`: WEBHOOK_RETRY_BASE doubled each attempt,
    at most WEBHOOK_RETRY_MAX, then jittered to between half and all of it (so the
    retries of a burst do not arrive together)."""
    delay = min(settings.WEBHOOK_RETRY_MAX, settings.WEBHOOK_RETRY_BASE * 2 ** (attempt - 1))
    return delay / 2 + random.uniform(0, delay / 2)


RECORD_SQL = """
WITH v AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(attempts)s::int[], %(states)s::text[],
                         %(due)s::timestamptz[], %(finished)s::timestamptz[],
                         %(codes)s::int[], %(errors)s::text[])
        AS v(id, attempt, state, due_at, finished_at, status_code, error)
)
UPDATE helpdesk_webhookdelivery d
SET state = v.state, due_at = v.due_at, finished_at = v.finished_at,
    last_status_code = v.status_code, last_error = v.error
FROM v
WHERE d.id = v.id AND d.state = 'sending' AND d.attempts = v.attempt
"""

LOG_SQL = """
INSERT INTO helpdesk_webhookattempt
    (delivery_id, number, started_at, duration_ms, status_code, error, response_excerpt)
SELECT a.delivery_id, a.number, a.started_at, a.duration_ms, a.status_code, a.error, a.excerpt
FROM unnest(%(ids)s::bigint[], %(attempts)s::int[], %(started)s::timestamptz[],
            %(durations)s::int[], %(codes)s::int[], %(errors)s::text[], %(excerpts)s::text[])
    AS a(delivery_id, number, started_at, duration_ms, status_code, error, excerpt)
JOIN helpdesk_webhookdelivery d ON d.id = a.delivery_id
ORDER BY a.delivery_id
"""

COUNT_SQL = """
UPDATE helpdesk_webhooksubscription s
SET consecutive_failures = CASE WHEN v.reset THEN v.failures
                                ELSE s.consecutive_failures + v.failures END
FROM unnest(%(ids)s::uuid[], %(resets)s::bool[], %(failures)s::int[]) AS v(id, reset, failures)
WHERE s.id = v.id
"""


def _record(outcomes: list[Outcome]) -> None:
    """Write a batch's results in one transaction: each delivery's new state (only by the
    claim that still holds it: a lapsed claim taken again by another worker, or a
    deleted subscription, records nothing over it), every attempt's row, and each
    subscription's run of failures — disabling, once, the ones that reach
    WEBHOOK_DISABLE_AFTER, with a notice to the supervisors."""
    if not outcomes:
        return
    states, due = [], []
    for outcome in outcomes:
        job = outcome.job
        if outcome.delivered:
            states.append(WebhookDelivery.State.DELIVERED)
            due.append(outcome.finished_at)
        elif outcome.retryable and not job.is_test and job.attempt < settings.WEBHOOK_MAX_ATTEMPTS:
            states.append(WebhookDelivery.State.PENDING)
            due.append(outcome.finished_at + timedelta(seconds=retry_delay(job.attempt)))
        else:
            states.append(WebhookDelivery.State.FAILED)
            due.append(outcome.finished_at)
    ids = [outcome.job.delivery_id for outcome in outcomes]
    attempts = [outcome.job.attempt for outcome in outcomes]
    codes = [outcome.status_code for outcome in outcomes]
    errors = [outcome.error for outcome in outcomes]
    runs = _failure_runs(outcomes)
    with transaction.atomic(), connection.cursor() as cursor:
        # Subscriptions first, in one order: the same lock order as delete_subscription,
        # so a delete and a record wait for each other, never deadlock.
        locked = list(
            WebhookSubscription.objects.select_for_update()
            .filter(pk__in=list(runs))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        cursor.execute(
            RECORD_SQL,
            {
                "ids": ids,
                "attempts": attempts,
                "states": [str(state) for state in states],
                "due": due,
                "finished": [
                    None if state == WebhookDelivery.State.PENDING else outcome.finished_at
                    for state, outcome in zip(states, outcomes, strict=True)
                ],
                "codes": codes,
                "errors": errors,
            },
        )
        cursor.execute(
            LOG_SQL,
            {
                "ids": ids,
                "attempts": attempts,
                "started": [outcome.started_at for outcome in outcomes],
                "durations": [outcome.duration_ms for outcome in outcomes],
                "codes": codes,
                "errors": errors,
                "excerpts": [outcome.excerpt for outcome in outcomes],
            },
        )
        if locked:
            cursor.execute(
                COUNT_SQL,
                {
                    "ids": locked,
                    "resets": [runs[pk][0] for pk in locked],
                    "failures": [runs[pk][1] for pk in locked],
                },
            )
            _disable_failing(locked, last={pk: runs[pk][2] for pk in locked})


def _failure_runs(outcomes: list[Outcome]) -> dict[UUID, tuple[bool, int, str]]:
    """Per subscription: whether an attempt succeeded (the count starts again), the
    failures after the last success, and the last failure's summary."""
    runs: dict[UUID, tuple[bool, int, str]] = {}
    by_subscription: dict[UUID, list[Outcome]] = defaultdict(list)
    for outcome in sorted(outcomes, key=lambda outcome: outcome.finished_at):
        by_subscription[outcome.job.subscription_id].append(outcome)
    for subscription_id, ordered in by_subscription.items():
        reset, failures, last = False, 0, ""
        for outcome in ordered:
            if outcome.delivered:
                reset, failures = True, 0
            else:
                failures += 1
                last = outcome.summary()
        runs[subscription_id] = (reset, failures, last)
    return runs


def _disable_failing(subscription_ids: list[UUID], *, last: dict[UUID, str]) -> None:
    limit = settings.WEBHOOK_DISABLE_AFTER
    now = timezone.now()
    disabled = []
    for subscription in WebhookSubscription.objects.filter(
        pk__in=subscription_ids, active=True, consecutive_failures__gte=limit
    ):
        reason = f"{subscription.consecutive_failures} failed attempts in a row; the last: {last[subscription.pk]}"
        # The WHERE is the "once": a subscription already disabled is not disabled again.
        if WebhookSubscription.objects.filter(
            pk=subscription.pk, active=True, disabled_at__isnull=True
        ).update(active=False, disabled_at=now, disabled_reason=reason[:300], updated_at=now):
            disabled.append(subscription)
    if disabled:
        _tell_supervisors(disabled, now)


def _tell_supervisors(subscriptions: list[WebhookSubscription], when: datetime) -> None:
    from conversations.models import Agent
    from conversations.roles import SUPERVISORS
    from conversations.services.notices import Draft, notify_many

    supervisors = list(
        Agent.objects.filter(user__is_active=True)
        .filter(Q(user__is_superuser=True) | Q(user__groups__name=SUPERVISORS))
        .distinct()
        .values_list("pk", flat=True)
    )
    notify_many(
        [
            Draft(
                agents=supervisors,
                kind="webhook_disabled",
                key=f"webhook:{subscription.pk}:disabled:{when.isoformat()}",
                text=lambda subscription=subscription: _disabled_text(subscription),
                url=reverse("admin:helpdesk_webhooksubscription_change", args=[subscription.pk]),
            )
            for subscription in subscriptions
        ]
    )


def _disabled_text(subscription: WebhookSubscription) -> str:
    return _(
        "Webhook to %(url)s disabled after %(count)s failed attempts in a row. "
        "Fix the receiver, then enable it again in admin."
    ) % {"url": subscription.url[:200], "count": subscription.consecutive_failures}


def deliver_due(
    *,
    only: int | None = None,
    batch: int | None = None,
    budget: float = RUN_BUDGET_SECONDS,
) -> DeliveryRun:
    """Send every delivery that is due (or the one with id `only`), a batch at a time:
    claimed (SKIP LOCKED, so workers share them), POSTed WEBHOOK_SEND_THREADS at once
    through connections to checked addresses only, and recorded. A delivered one is
    done; a network error, a timeout or a 5xx is tried again later (retry_delay) until
    WEBHOOK_MAX_ATTEMPTS; a 3xx, a 4xx or a refused address is given up at once.
    Stops after `budget` seconds with `more` set when deliveries are still due."""
    run = DeliveryRun()
    size = batch or settings.WEBHOOK_BATCH
    started = time.monotonic()
    with httpcore.ConnectionPool(
        network_backend=GuardedBackend(),
        max_connections=max(settings.WEBHOOK_SEND_THREADS, 1) * 2,
        keepalive_expiry=30,
        retries=0,
    ) as pool:
        while True:
            if time.monotonic() - started >= budget:
                run.more = True
                break
            jobs = _claim(limit=1 if only is not None else size, only=only)
            if not jobs:
                break
            outcomes = _send_all(pool, jobs)
            _record(outcomes)
            run.last = outcomes[-1]
            run.delivered += sum(outcome.delivered for outcome in outcomes)
            run.failed += sum(not outcome.delivered for outcome in outcomes)
            if only is not None:
                break
    return run
