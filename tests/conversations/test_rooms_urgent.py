"""Urgent messages: every addressee acknowledges, the sender sees who has, Beat reminds the
others exactly once per interval until they do or it is withdrawn."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.rooms.models import UrgentAcknowledgement
from conversations.rooms.protocol import room_message_payload
from conversations.rooms.services import (
    RoomNotAllowed,
    acknowledge,
    post_message,
    remind_unacknowledged,
    withdraw,
)
from conversations.rooms.tasks import remind_urgent_task
from tests.conversations.rooms_helpers import team
from tests.threads import at_once

URGENT = 2


@pytest.fixture(autouse=True)
def _interval(settings):
    settings.ROOM_URGENT_REMIND_SECONDS = 300


def _reminded():
    return dict(UrgentAcknowledgement.objects.values_list("agent__display_name", "reminders"))


@pytest.mark.django_db
def test_the_mentioned_are_the_addressees_and_the_sender_sees_who_acknowledged():
    room, (wang, zhang, li, zhao) = team("王芳", "张伟", "李娜", "赵六")
    message, _ = post_message(room=room, author=wang, body="@张伟 @李娜 马上看", priority=URGENT)

    acknowledge(room=room, agent=zhang, message_id=message.pk)
    acknowledge(room=room, agent=zhang, message_id=message.pk)  # twice is once

    urgent = room_message_payload(message)["urgent"]
    assert [(a["name"], a["acknowledged_at"] is not None) for a in urgent["addressees"]] == [
        ("张伟", True),
        ("李娜", False),
    ]
    with pytest.raises(RoomNotAllowed):
        acknowledge(room=room, agent=zhao, message_id=message.pk)


@pytest.mark.django_db
def test_without_mentions_everyone_else_in_the_room_must_acknowledge():
    room, (wang, zhang, li) = team("王芳", "张伟", "李娜")

    message, _ = post_message(room=room, author=wang, body="系统故障，暂停退款", priority=URGENT)

    assert sorted(message.acks.values_list("agent_id", flat=True)) == sorted([zhang.pk, li.pk])


@pytest.mark.django_db
def test_reminders_come_exactly_once_per_interval_until_acknowledged():
    room, (wang, zhang, li) = team("王芳", "张伟", "李娜")
    sent = timezone.now()
    message, _ = post_message(room=room, author=wang, body="@张伟 @李娜 urgent", priority=URGENT)

    assert remind_unacknowledged(now=sent + timedelta(seconds=299)) == 0
    assert remind_unacknowledged(now=sent + timedelta(seconds=301)) == 2
    assert remind_unacknowledged(now=sent + timedelta(seconds=302)) == 0  # same interval
    acknowledge(room=room, agent=zhang, message_id=message.pk)
    assert remind_unacknowledged(now=sent + timedelta(seconds=599)) == 0
    assert remind_unacknowledged(now=sent + timedelta(seconds=602)) == 1

    assert _reminded() == {"张伟": 1, "李娜": 2}


@pytest.mark.django_db
def test_a_withdrawn_message_reminds_no_one():
    room, (wang, zhang) = team("王芳", "张伟")
    sent = timezone.now()
    message, _ = post_message(room=room, author=wang, body="@张伟 urgent", priority=URGENT)

    with pytest.raises(RoomNotAllowed):
        withdraw(room=room, by=zhang, message_id=message.pk)
    withdrawn = withdraw(room=room, by=wang, message_id=message.pk)

    assert remind_unacknowledged(now=sent + timedelta(hours=1)) == 0
    assert room_message_payload(withdrawn)["urgent"]["withdrawn"] is True


@pytest.mark.django_db(transaction=True)
def test_two_beats_at_once_remind_each_addressee_once():
    room, (wang, zhang, li) = team("王芳", "张伟", "李娜")
    post_message(room=room, author=wang, body="@张伟 @李娜 urgent", priority=URGENT)
    UrgentAcknowledgement.objects.update(created_at=timezone.now() - timedelta(seconds=301))

    results = at_once(remind_urgent_task, times=4)

    assert sorted(results) == [0, 0, 0, 2]
    assert _reminded() == {"张伟": 1, "李娜": 1}
