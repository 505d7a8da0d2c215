"""Mention parsing: @person and @group, Chinese names without spaces, Latin names whole."""

import pytest

from conversations.rooms import selectors
from conversations.rooms.models import RoomMention
from conversations.rooms.services import edit_message, post_message
from conversations.rooms.text import Mentionable, auto_tags, find_mentions, find_refs
from tests.conversations.rooms_helpers import team
from tests.factories import AgentFactory, SkillGroupFactory

ZHANG = Mentionable("张伟", frozenset({1}))
ZHANG_WEI_MING = Mentionable("张伟明", frozenset({2}))
ANN = Mentionable("Ann", frozenset({3}))
LI_LEI = Mentionable("Li Lei", frozenset({4}))
LI = Mentionable("Li", frozenset({5}))


def test_a_chinese_name_is_found_with_no_space_after_it():
    assert find_mentions("@张伟请看一下这个订单", [ZHANG]) == [ZHANG]


def test_the_longest_chinese_name_wins():
    assert find_mentions("@张伟明 在吗", [ZHANG, ZHANG_WEI_MING]) == [ZHANG_WEI_MING]


def test_a_latin_name_must_end_at_a_word_boundary():
    assert find_mentions("@Anna hello", [ANN]) == []
    assert find_mentions("@ann, hello", [ANN]) == [ANN]


def test_a_name_with_a_space_beats_its_first_word():
    assert find_mentions("ask @Li Lei please", [LI, LI_LEI]) == [LI_LEI]


def test_an_email_address_is_not_a_mention():
    assert find_mentions("write to ann@Ann.example", [ANN]) == []


def test_full_width_at_and_repeats_count_once():
    assert find_mentions("＠张伟 @张伟", [ZHANG]) == [ZHANG]


def test_keywords_give_the_tags():
    assert auto_tags("客户投诉订单一直没发货") == ["order", "complaint"]
    assert auto_tags("Login page shows an error") == ["technical"]
    assert auto_tags("reordering the shelf") == []


def test_tickets_and_conversation_links_are_references():
    refs = find_refs(
        "see T-000123 and http://x/desk/c/0b5c6a8e-8f1e-4f7e-9d7e-1a2b3c4d5e6f/ and XT-000124"
    )
    assert refs == [
        {"kind": "ticket", "id": 123},
        {"kind": "conversation", "id": "0b5c6a8e-8f1e-4f7e-9d7e-1a2b3c4d5e6f"},
    ]


@pytest.mark.django_db
def test_a_person_and_a_group_are_mentioned_by_their_names():
    room, (author, zhang, li) = team("王芳", "张伟", "李娜")
    other = SkillGroupFactory(code="vip", name_zh="贵宾组", name_en="VIP")
    li.skill_groups.add(other)

    message, _ = post_message(room=room, author=author, body="@张伟请看一下，@贵宾组 也看看")

    assert set(message.mentions.values_list("agent_id", "via")) == {
        (zhang.pk, ""),
        (li.pk, "贵宾组"),
    }


@pytest.mark.django_db
def test_everyone_in_the_room_but_the_author_for_at_all():
    room, (author, *others) = team("王芳", "张伟", "李娜")

    message, _ = post_message(room=room, author=author, body="@所有人 开会")

    assert sorted(message.mentions.values_list("agent_id", flat=True)) == sorted(
        a.pk for a in others
    )


@pytest.mark.django_db
def test_no_one_outside_the_room_is_mentioned():
    room, (author,) = team("王芳")
    AgentFactory(display_name="张伟")

    message, _ = post_message(room=room, author=author, body="@张伟 你好")

    assert not message.mentions.exists()


@pytest.mark.django_db
def test_an_edit_mentions_the_newly_named_only_once():
    room, (author, zhang, li) = team("王芳", "张伟", "李娜")
    message, _ = post_message(room=room, author=author, body="@张伟 看看")

    edit_message(room=room, by=author, message_id=message.pk, body="@张伟 @李娜 看看")
    edit_message(room=room, by=author, message_id=message.pk, body="@张伟 @李娜 看看吧")

    assert sorted(
        RoomMention.objects.filter(message=message).values_list("agent_id", flat=True)
    ) == sorted([zhang.pk, li.pk])


@pytest.mark.django_db
def test_the_user_name_is_a_name_too():
    room, (author, zhang) = team("王芳", "张伟")

    message, _ = post_message(room=room, author=author, body=f"@{zhang.user.username} hi")

    assert list(message.mentions.values_list("agent_id", flat=True)) == [zhang.pk]
    assert zhang.display_name in [m.name for m in selectors.mentionables(room)]
