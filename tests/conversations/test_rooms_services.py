"""Rooms and their messages: which rooms exist, who is in them, what is stored."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations import services as desk_services
from conversations.rooms import selectors
from conversations.rooms.models import Room, RoomMessage, RoomMessageRevision
from conversations.rooms.services import (
    MessageNotFound,
    RoomInputError,
    RoomNotAllowed,
    create_room,
    delete_message,
    direct_room,
    edit_message,
    mark_read,
    post_message,
    purge_old_messages,
    set_labels,
    set_pinned,
)
from tests.conversations.rooms_helpers import outsider, team
from tests.factories import AgentFactory, ConversationFactory, SkillGroupFactory

pytestmark = pytest.mark.django_db


def test_a_new_skill_group_gets_its_team_room_at_once():
    group = SkillGroupFactory(code="presales")

    assert Room.objects.filter(kind="group", skill_group=group).count() == 1


def test_a_team_room_is_its_groups_and_the_supervisors_only():
    room, (member,) = team("王芳")
    boss = AgentFactory()
    boss.user.is_superuser = True
    boss.user.save()

    assert selectors.room_for(member, room.pk) == room
    assert selectors.room_for(boss, room.pk) == room
    assert selectors.room_for(outsider(), room.pk) is None


def test_joining_a_group_joins_its_room_and_leaving_leaves_it():
    room, _ = team("王芳")
    agent = outsider()

    agent.skill_groups.add(room.skill_group)
    assert selectors.room_for(agent, room.pk) == room
    agent.skill_groups.remove(room.skill_group)
    assert selectors.room_for(agent, room.pk) is None


def test_seqs_are_consecutive_per_room():
    room, (author,) = team("王芳")
    other_room, _ = team("张伟", code="vip")

    seqs = [post_message(room=room, author=author, body=f"m{i}")[0].seq for i in range(3)]
    post_message(room=other_room, author=author, body="elsewhere")

    assert seqs == [1, 2, 3]


def test_a_retried_client_id_is_stored_once():
    room, (author,) = team("王芳")

    first, created = post_message(room=room, author=author, body="hi", client_id="c1")
    again, created_again = post_message(room=room, author=author, body="hi", client_id="c1")

    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert RoomMessage.objects.filter(room=room).count() == 1
    # The retry took the room's next seq and rev before it found the duplicate: both are
    # rolled back, so the next message follows on without a gap.
    room.refresh_from_db()
    assert (room.last_seq, room.last_rev) == (1, first.rev)
    assert post_message(room=room, author=author, body="next", client_id="c2")[0].seq == 2


def test_a_retried_reply_is_stored_once_and_counted_once():
    room, (author,) = team("王芳")
    root, _ = post_message(room=room, author=author, body="root")

    reply, _ = post_message(room=room, author=author, body="re", client_id="r1", parent_id=root.pk)
    again, created = post_message(
        room=room, author=author, body="re", client_id="r1", parent_id=root.pk
    )

    root.refresh_from_db()
    assert (again.pk, created, root.reply_count) == (reply.pk, False, 1)


@pytest.mark.parametrize(
    "body", ["", "   ", None, 12, "x" * 4001], ids=["empty", "blank", "none", "number", "long"]
)
def test_a_bad_body_is_refused_and_stores_nothing(body):
    room, (author,) = team("王芳")

    with pytest.raises(RoomInputError):
        post_message(room=room, author=author, body=body)
    assert not RoomMessage.objects.exists()
    room.refresh_from_db()
    assert room.last_seq == 0


def test_unread_counts_others_messages_and_mentions_and_one_read_clears_every_device():
    room, (wang, zhang) = team("王芳", "张伟")
    post_message(room=room, author=wang, body="第一条")
    post_message(room=room, author=wang, body="@张伟 第二条")
    post_message(room=room, author=zhang, body="my own")

    counted = selectors.unread_of(zhang, room)
    assert (counted.unread, counted.mentions) == (2, 1)
    assert selectors.unread_totals(zhang) == {"unread": 2, "mentions": 1}

    # Two devices of 张伟 report their reads: an older position never moves it back.
    mark_read(room=room, agent=zhang, up_to_seq=3)
    mark_read(room=room, agent=zhang, up_to_seq=1)
    assert selectors.unread_totals(zhang) == {"unread": 0, "mentions": 0}
    assert selectors.unread_totals(wang) == {"unread": 1, "mentions": 0}  # 张伟's message


def test_reading_past_the_end_stops_at_the_last_message():
    room, (wang, zhang) = team("王芳", "张伟")
    post_message(room=room, author=wang, body="hi")

    position = mark_read(room=room, agent=zhang, up_to_seq=999)
    post_message(room=room, author=wang, body="again")

    assert position.read_seq == 1
    assert selectors.unread_of(zhang, room).unread == 1


def test_a_deleted_message_is_no_longer_unread_and_its_text_is_kept_as_a_revision():
    room, (wang, zhang) = team("王芳", "张伟")
    message, _ = post_message(room=room, author=wang, body="@张伟 oops")

    delete_message(room=room, by=wang, message_id=message.pk)

    assert (selectors.unread_of(zhang, room).unread, selectors.unread_of(zhang, room).mentions) == (
        0,
        0,
    )
    revision = RoomMessageRevision.objects.get(message=message)
    assert (revision.action, revision.body, revision.by) == ("delete", "@张伟 oops", wang)


def test_an_edit_keeps_the_old_text_and_takes_a_new_rev():
    room, (wang,) = team("王芳")
    message, _ = post_message(room=room, author=wang, body="first")

    edited = edit_message(room=room, by=wang, message_id=message.pk, body="second")

    assert (edited.body, edited.seq, edited.rev) == ("second", 1, 2)
    assert list(message.revisions.values_list("action", "body")) == [("edit", "first")]


def test_only_the_author_edits_and_deletes():
    room, (wang, zhang) = team("王芳", "张伟")
    message, _ = post_message(room=room, author=wang, body="mine")

    with pytest.raises(RoomNotAllowed):
        edit_message(room=room, by=zhang, message_id=message.pk, body="theirs")
    with pytest.raises(RoomNotAllowed):
        delete_message(room=room, by=zhang, message_id=message.pk)


def test_a_message_of_another_room_is_not_found():
    room, (wang,) = team("王芳")
    other, (zhang,) = team("张伟", code="vip")
    message, _ = post_message(room=other, author=zhang, body="theirs")

    with pytest.raises(MessageNotFound):
        set_pinned(room=room, by=wang, message_id=message.pk, pinned=True)
    with pytest.raises(MessageNotFound):
        post_message(room=room, author=wang, body="reply", parent_id=message.pk)


def test_a_reply_goes_into_its_thread_and_counts_on_the_root():
    room, (wang, zhang) = team("王芳", "张伟")
    root, _ = post_message(room=room, author=wang, body="question")

    reply, _ = post_message(room=room, author=zhang, body="answer", parent_id=root.pk)

    root.refresh_from_db()
    assert (root.reply_count, reply.parent_id) == (1, root.pk)
    assert root.rev == reply.rev - 1
    assert [m.pk for m in selectors.timeline(room)] == [root.pk]
    assert [m.pk for m in selectors.thread(room, root.pk)[1]] == [reply.pk]


def test_tags_come_from_keywords_and_a_person_can_change_them():
    room, (wang, zhang) = team("王芳", "张伟")
    message, _ = post_message(room=room, author=wang, body="客户投诉物流太慢")
    assert message.tags == ["order", "complaint"]

    set_labels(room=room, by=zhang, message_id=message.pk, tags=["technical"], priority=1)
    edit_message(room=room, by=wang, message_id=message.pk, body="客户投诉物流太慢了")

    message.refresh_from_db()
    assert (message.tags, message.priority) == (["technical"], 1)
    assert [m.pk for m in selectors.timeline(room, tag="technical")] == [message.pk]
    assert selectors.timeline(room, tag="order") == []


def test_bad_tags_or_priority_are_refused():
    room, (wang,) = team("王芳")
    message, _ = post_message(room=room, author=wang, body="hi")

    with pytest.raises(RoomInputError):
        set_labels(room=room, by=wang, message_id=message.pk, tags=["<b>"], priority=0)
    with pytest.raises(RoomInputError):
        set_labels(room=room, by=wang, message_id=message.pk, tags=[], priority=7)


def test_pinning_and_unpinning():
    room, (wang, zhang) = team("王芳", "张伟")
    message, _ = post_message(room=room, author=wang, body="rules")

    set_pinned(room=room, by=zhang, message_id=message.pk, pinned=True)
    assert [m.pk for m in selectors.pinned(room)] == [message.pk]
    set_pinned(room=room, by=zhang, message_id=message.pk, pinned=False)
    assert selectors.pinned(room) == []


def test_changes_after_a_rev_are_each_message_once_in_its_latest_state():
    room, (wang,) = team("王芳")
    first, _ = post_message(room=room, author=wang, body="one")
    second, _ = post_message(room=room, author=wang, body="two")
    edit_message(room=room, by=wang, message_id=first.pk, body="one!")
    edit_message(room=room, by=wang, message_id=first.pk, body="one!!")

    changes = selectors.changes_after(room, 1)

    assert [(m.pk, m.body) for m in changes] == [(second.pk, "two"), (first.pk, "one!!")]


def test_an_ad_hoc_room_has_its_members_only():
    wang, zhang = AgentFactory(), AgentFactory()
    stranger = outsider()

    room = create_room(by=wang, name="双十一", member_ids=[zhang.pk])

    assert selectors.room_for(zhang, room.pk) == room
    assert selectors.room_for(stranger, room.pk) is None
    with pytest.raises(RoomInputError):
        create_room(by=wang, name="", member_ids=[])
    with pytest.raises(RoomInputError):
        create_room(by=wang, name="x", member_ids=[987654])


def test_direct_messages_are_one_room_per_pair():
    wang, zhang = AgentFactory(), AgentFactory()

    room = direct_room(agent=wang, other_id=zhang.pk)

    assert direct_room(agent=zhang, other_id=wang.pk) == room
    assert selectors.room_for(outsider(), room.pk) is None
    with pytest.raises(RoomInputError):
        direct_room(agent=wang, other_id=wang.pk)


def test_inviting_a_colleague_opens_the_conversations_consult_room():
    wang, zhang = AgentFactory(), AgentFactory()
    conversation = ConversationFactory(status="assigned", assignee=wang)

    desk_services.invite_colleague(conversation_id=conversation.pk, by=wang, colleague_id=zhang.pk)

    room = Room.objects.get(conversation=conversation)
    assert room.kind == "consult"
    assert sorted(selectors.member_ids(room)) == sorted([wang.pk, zhang.pk])


def test_messages_past_the_retention_go_and_newer_stay(settings):
    settings.ROOM_RETENTION_DAYS = 30
    room, (wang,) = team("王芳")
    old, _ = post_message(room=room, author=wang, body="old")
    new, _ = post_message(room=room, author=wang, body="new")
    RoomMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))

    assert purge_old_messages(batch=1) == 1
    assert list(RoomMessage.objects.values_list("pk", flat=True)) == [new.pk]
