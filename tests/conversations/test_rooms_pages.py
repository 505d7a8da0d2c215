"""The team rooms' pages: membership on every route, bad input, escaping, the navigation."""

import re
import uuid

import pytest
from django.urls import reverse

from conversations.rooms.models import RoomMessage
from conversations.rooms.services import post_message
from tests.conversations.rooms_helpers import outsider, team
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def room_and_people():
    room, (wang, zhang) = team("王芳", "张伟")
    message, _ = post_message(room=room, author=wang, body="@张伟 第一条")
    return room, wang, zhang, message


def _routes(room, message):
    r, m = room.pk, message.pk
    return [
        ("get", reverse("desk:room", args=[r]), {}),
        ("get", reverse("desk:room-changes", args=[r]), {}),
        ("get", reverse("desk:room-thread", args=[r, m]), {}),
        ("post", reverse("desk:room-read", args=[r]), {"up_to_seq": 1}),
        ("post", reverse("desk:room-members", args=[r]), {"members": []}),
        ("post", reverse("desk:room-leave", args=[r]), {}),
        ("post", reverse("desk:room-post", args=[r]), {"body": "hi"}),
        ("post", reverse("desk:room-edit", args=[r, m]), {"body": "x"}),
        ("post", reverse("desk:room-delete", args=[r, m]), {}),
        ("post", reverse("desk:room-labels", args=[r, m]), {"tags": ["order"], "priority": 0}),
        ("post", reverse("desk:room-pin", args=[r, m]), {"pinned": "1"}),
        ("post", reverse("desk:room-ack", args=[r, m]), {}),
        ("post", reverse("desk:room-withdraw", args=[r, m]), {}),
        ("post", reverse("desk:room-upload", args=[r]), {}),
        ("get", reverse("desk:room-attachment", args=[r, uuid.uuid4()]), {}),
    ]


def test_every_route_of_a_room_is_404_to_someone_not_in_it(client, room_and_people):
    room, _, _, message = room_and_people
    client.force_login(outsider().user)

    answers = {
        url: getattr(client, method)(url, data).status_code
        for method, url, data in _routes(room, message)
    }

    assert set(answers.values()) == {404}, answers
    assert RoomMessage.objects.count() == 1
    message.refresh_from_db()
    assert (message.body, message.pinned_at, message.deleted_at) == ("@张伟 第一条", None, None)


def test_every_route_asks_anonymous_visitors_to_log_in_and_non_agents_are_refused(
    client, room_and_people
):
    room, _, _, message = room_and_people
    anonymous = {
        getattr(client, method)(url, data).status_code
        for method, url, data in _routes(room, message)
    }
    client.force_login(UserFactory())
    not_agent = {
        getattr(client, method)(url, data).status_code
        for method, url, data in _routes(room, message)
    }

    assert (anonymous, not_agent) == ({302}, {403})


def test_another_members_message_may_not_be_edited_deleted_or_withdrawn(client, room_and_people):
    room, _, zhang, message = room_and_people
    client.force_login(zhang.user)

    for name in ("desk:room-edit", "desk:room-delete", "desk:room-withdraw"):
        assert client.post(
            reverse(name, args=[room.pk, message.pk]), {"body": "x"}
        ).status_code in (403, 404)
    assert (
        client.post(
            reverse("desk:room-edit", args=[room.pk, message.pk]), {"body": "x"}
        ).status_code
        == 403
    )
    message.refresh_from_db()
    assert message.body == "@张伟 第一条"


def test_an_unknown_message_is_404(client, room_and_people):
    room, wang, _, _ = room_and_people
    client.force_login(wang.user)

    assert client.get(reverse("desk:room-thread", args=[room.pk, uuid.uuid4()])).status_code == 404
    assert (
        client.post(
            reverse("desk:room-pin", args=[room.pk, uuid.uuid4()]), {"pinned": "1"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("desk:room-post", args=[room.pk]), {"body": "x", "parent": "nope"}
        ).status_code
        == 404
    )


@pytest.mark.parametrize(
    "data",
    [
        {"body": ""},
        {"body": "x" * 4001},
        {"body": "hi", "priority": "9"},
        {"body": "hi", "priority": "x"},
    ],
    ids=["empty", "too-long", "bad-priority", "priority-not-a-number"],
)
def test_bad_input_is_a_400_with_the_reason_and_stores_nothing(client, room_and_people, data):
    room, wang, _, _ = room_and_people
    client.force_login(wang.user)

    response = client.post(
        reverse("desk:room-post", args=[room.pk]), data, headers={"X-Requested-With": "fetch"}
    )

    assert response.status_code == 400
    assert response.json()["detail"]
    assert RoomMessage.objects.count() == 1


def test_bad_labels_are_a_400(client, room_and_people):
    room, wang, _, message = room_and_people
    client.force_login(wang.user)

    response = client.post(
        reverse("desk:room-labels", args=[room.pk, message.pk]),
        {"tags": ["<script>"], "priority": "0"},
        headers={"X-Requested-With": "fetch"},
    )

    assert response.status_code == 400


def test_a_bad_new_room_is_a_400_and_makes_no_room(client, room_and_people):
    _, wang, _, _ = room_and_people
    client.force_login(wang.user)

    assert client.post(reverse("desk:room-create"), {"name": "", "members": []}).status_code == 400
    assert (
        client.post(reverse("desk:room-create"), {"name": "x", "members": ["abc"]}).status_code
        == 400
    )
    assert client.post(reverse("desk:room-direct"), {"agent": "abc"}).status_code == 400


def test_script_in_a_message_is_shown_as_text_and_only_http_links_are_links(
    client, room_and_people
):
    room, wang, zhang, _ = room_and_people
    post_message(
        room=room,
        author=wang,
        body="<script>alert(1)</script><img src=x onerror=alert(2)> javascript:alert(3) "
        'https://shop.example/a?b=1&c="2" data:text/html,hi',
    )
    client.force_login(zhang.user)

    html = client.get(reverse("desk:room", args=[room.pk])).content.decode()

    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    links = re.findall(
        r'<a href="([^"]+)" target="_blank" rel="noopener noreferrer nofollow">', html
    )
    assert links == ["https://shop.example/a?b=1&amp;c="]  # a quote ends the address
    assert 'href="javascript' not in html and 'href="data:' not in html


def test_the_navigation_shows_unread_and_mentions_and_the_room_lists_them(client, room_and_people):
    room, wang, zhang, _ = room_and_people
    post_message(room=room, author=wang, body="第二条")
    client.force_login(zhang.user)

    html = client.get(reverse("desk:rooms")).content.decode()

    assert re.search(r'id="room-unread-count"[^>]*>2<', html)
    assert re.search(r'id="room-mention-count"[^>]*>@1<', html)
    assert "售后" in html


def test_the_room_filters_by_tag_and_search_finds_only_the_agents_rooms(client, room_and_people):
    room, wang, zhang, _ = room_and_people
    other, (li,) = team("李娜", code="vip", name_zh="贵宾", name_en="VIP")
    post_message(room=room, author=wang, body="客户投诉物流")
    post_message(room=other, author=li, body="物流 secret of another team")
    client.force_login(zhang.user)

    filtered = client.get(
        reverse("desk:room", args=[room.pk]), {"tag": "complaint"}
    ).content.decode()
    found = client.get(reverse("desk:room-search"), {"q": "物流"}).content.decode()

    assert "客户投诉物流" in filtered and "第一条" not in filtered
    assert "客户投诉物流" in found and "secret of another team" not in found


def test_the_page_in_english(client, room_and_people):
    room, _, zhang, _ = room_and_people
    client.force_login(zhang.user)

    html = client.get(
        reverse("desk:room", args=[room.pk]), headers={"Accept-Language": "en"}
    ).content.decode()
    assert "After-sales" in html and "Send" in html


def test_posting_without_script_comes_back_to_the_room(client, room_and_people):
    room, _, zhang, _ = room_and_people
    client.force_login(zhang.user)

    response = client.post(
        reverse("desk:room-post", args=[room.pk]), {"body": "hello", "priority": "0"}
    )

    message = RoomMessage.objects.get(body="hello")
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:room", args=[room.pk]) + f"#m-{message.pk}"
