"""Retention (docs/privacy.md): files and texts of conversations closed long ago go, in
batches, once; the metrics read the same before and after, and after an erasure."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.utils import timezone

from analytics.models import COUNTERS, DailyRollup, HourlyRollup, TopicHourly
from analytics.periods import day_bounds, today
from analytics.selectors import Scope, figures
from analytics.services.rollup import hourly_rows, roll_up, roll_up_recent
from conversations.models import Attachment, Conversation, Message, Survey
from conversations.services.privacy import (
    anonymize_expired_conversations,
    purge_expired_attachments,
)
from conversations.tasks import apply_retention_task
from customers.services.privacy import erase_customer, erased_placeholder
from tests.analytics.scenario import build
from tests.factories import AttachmentFactory, ConversationFactory, MessageFactory, SurveyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.ANALYTICS_LIVE_SECONDS = 0


def closed(days_ago: float, **fields) -> Conversation:
    conversation = ConversationFactory(
        status=Conversation.Status.CLOSED,
        closed_at=timezone.now() - timedelta(days=days_ago),
        **fields,
    )
    MessageFactory(conversation=conversation, seq=1, body="我的地址是南京路 1 号")
    MessageFactory(conversation=conversation, seq=2, sender="agent", body="好的，南京路 1 号")
    return conversation


def bodies(conversation) -> set[str]:
    return set(conversation.messages.values_list("body", flat=True))


def test_retention_is_off_by_default(django_capture_on_commit_callbacks):
    old = AttachmentFactory(conversation=closed(3650))

    with django_capture_on_commit_callbacks(execute=True):
        done = apply_retention_task()

    assert done == {"attachments": 0, "conversations": 0}
    assert default_storage.exists(old.file.name)
    assert bodies(old.conversation) == {"我的地址是南京路 1 号", "好的，南京路 1 号"}


def test_files_of_conversations_closed_long_ago_are_deleted_the_rows_kept(
    settings, django_capture_on_commit_callbacks
):
    settings.ATTACHMENT_RETENTION_DAYS = 30
    old = AttachmentFactory(conversation=closed(40), transcript="南京路")
    recent = AttachmentFactory(conversation=closed(5))
    still_open = AttachmentFactory(conversation=ConversationFactory(status="bot"))

    with django_capture_on_commit_callbacks(execute=True):
        done = purge_expired_attachments()

    assert done == 1
    assert not default_storage.exists(old.file.name)
    kept = Attachment.objects.get(pk=old.pk)
    assert (kept.file.name, kept.transcript, kept.name, kept.size) == ("", "", "receipt.png", 4)
    assert default_storage.exists(recent.file.name)
    assert default_storage.exists(still_open.file.name)
    # Only the files: the conversation's texts have their own retention.
    assert bodies(old.conversation) == {"我的地址是南京路 1 号", "好的，南京路 1 号"}


def test_files_go_in_batches_and_a_second_run_finds_nothing(
    settings, django_capture_on_commit_callbacks
):
    settings.ATTACHMENT_RETENTION_DAYS = 30
    files = [AttachmentFactory(conversation=closed(40)) for _ in range(5)]

    with django_capture_on_commit_callbacks(execute=True) as batches:
        first = purge_expired_attachments(batch=2)
    with django_capture_on_commit_callbacks(execute=True):
        second = purge_expired_attachments(batch=2)

    assert (first, second) == (5, 0)
    assert len(batches) == 3  # 2 + 2 + 1, each batch's files deleted after its commit
    assert not any(default_storage.exists(f.file.name) for f in files)


def test_closed_conversations_past_their_retention_are_erased(
    settings, django_capture_on_commit_callbacks
):
    settings.CLOSED_CONVERSATION_RETENTION_DAYS = 90
    old = closed(100)
    english = closed(100, language="en")
    SurveyFactory(conversation=old, score=4, comment="南京路的快递员很好")
    file = AttachmentFactory(conversation=old)
    recent = closed(10)

    with django_capture_on_commit_callbacks(execute=True):
        done = anonymize_expired_conversations()

    assert done == 2
    assert bodies(old) == {"[已删除]"} and bodies(english) == {"[erased]"}
    assert Survey.objects.get(conversation=old).comment == ""
    assert Survey.objects.get(conversation=old).score == 4
    assert not default_storage.exists(file.file.name)
    assert Conversation.objects.get(pk=old.pk).erased_at is not None
    assert bodies(recent) == {"我的地址是南京路 1 号", "好的，南京路 1 号"}
    assert Conversation.objects.get(pk=recent.pk).erased_at is None


def test_conversations_go_in_batches_and_once(settings):
    settings.CLOSED_CONVERSATION_RETENTION_DAYS = 90
    conversations = [closed(100) for _ in range(5)]

    first = anonymize_expired_conversations(batch=2)
    stamps_before = sorted(
        Conversation.objects.filter(pk__in=[c.pk for c in conversations]).values_list(
            "erased_at", flat=True
        )
    )
    second = anonymize_expired_conversations(batch=2)

    assert (first, second) == (5, 0)
    assert stamps_before == sorted(
        Conversation.objects.filter(pk__in=[c.pk for c in conversations]).values_list(
            "erased_at", flat=True
        )
    )


def test_the_retention_never_reaches_into_the_hours_the_rollup_still_recomputes(settings):
    settings.CLOSED_CONVERSATION_RETENTION_DAYS = 1
    settings.ANALYTICS_SETTLE_HOURS = 48
    within = closed(30 / 24)  # closed 30 hours ago: its hours may still be rolled up

    done = anonymize_expired_conversations()

    assert done == 0
    assert bodies(within) == {"我的地址是南京路 1 号", "好的，南京路 1 号"}


def test_the_job_is_on_the_beat_schedule_and_acknowledged_late():
    entry = django_settings.CELERY_BEAT_SCHEDULE["privacy-retention"]

    assert entry["task"] == "conversations.tasks.apply_retention_task"
    assert apply_retention_task.acks_late and apply_retention_task.reject_on_worker_lost


# --- the metrics --------------------------------------------------------------------


def shown_figures(scope) -> dict:
    """The dashboard's figures of the scope (every counter and histogram)."""
    return {key: (totals.values, totals.histograms) for key, totals in figures(scope).items()}


def _stored():
    order = ["hour", "channel", "skill_group_id", "agent_id", "customer_level", "language"]
    daily = ["day", "channel", "skill_group_id", "agent_id", "customer_level", "language"]
    return (
        sorted(map(str, HourlyRollup.objects.values_list(*order, *COUNTERS))),
        sorted(map(str, DailyRollup.objects.values_list(*daily, *COUNTERS))),
        sorted(map(str, TopicHourly.objects.values_list("hour", "kind", "key", "conversations"))),
    )


@pytest.fixture
def past_day(db):
    """analytics' scenario three days ago, rolled up."""
    scene = build(today() - timedelta(days=3))
    start, end = day_bounds(scene.day)
    roll_up(start=start, end=end)
    return scene


def test_the_metrics_read_the_same_after_the_retention_ran(
    past_day, settings, django_capture_on_commit_callbacks
):
    start, end = day_bounds(past_day.day)
    scope = Scope(past_day.day, past_day.day)
    stored, raw, shown = _stored(), hourly_rows(start, end), shown_figures(scope)
    settings.ATTACHMENT_RETENTION_DAYS = 1
    settings.CLOSED_CONVERSATION_RETENTION_DAYS = 1

    with django_capture_on_commit_callbacks(execute=True):
        done = apply_retention_task()
    roll_up_recent()

    assert done["conversations"] > 0 and shown[None][0]["conversations"] == 7
    assert Message.objects.filter(body__in=["[已删除]", "[erased]"]).exists()
    assert _stored() == stored
    assert hourly_rows(start, end) == raw  # recomputed from the raw tables: the same
    assert shown_figures(scope) == shown


def test_the_metrics_read_the_same_after_a_customer_is_erased(past_day):
    start, end = day_bounds(past_day.day)
    scope = Scope(past_day.day, past_day.day)
    raw, shown = hourly_rows(start, end), shown_figures(scope)
    customer = past_day.conversations["handoff"].customer

    erase_customer(customer_id=customer.pk)

    handoff = past_day.conversations["handoff"]
    assert bodies(handoff) == {erased_placeholder(handoff.language)}
    assert hourly_rows(start, end) == raw
    assert shown_figures(scope) == shown
