"""The team rooms on /ws/desk/ over a real websocket: live frames to members only, one read
position for every device, catch-up from the last rev with nothing missing or twice."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile

from conversations.rooms.services import (
    delete_message,
    edit_message,
    post_message,
    store_room_attachment,
)
from tests.conversations.rooms_helpers import outsider, team
from tests.conversations.upload_helpers import png
from tests.wsclient import Socket, login_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture
def people():
    room, (wang, zhang) = team("王芳", "张伟")
    return room, wang, zhang


def test_a_message_sent_on_one_socket_reaches_every_member_and_no_one_else(live, people):
    room, wang, zhang = people
    stranger = outsider()
    cookies = [login_cookie(a.user) for a in (wang, zhang, stranger)]

    async def scenario():
        sender, member, other = [await Socket.desk(live, c) for c in cookies]
        await sender.send(
            {
                "type": "room.send",
                "room": room.pk,
                "client_id": "c1",
                "body": "@张伟 看一下 T-000042",
            }
        )
        got = (await member.expect("room.message"))["message"]
        echoed = (await sender.expect("room.message"))["message"]
        stranger_silent = await other.silent(0.7, kind="room.message")
        await other.send({"type": "room.send", "room": room.pk, "client_id": "x", "body": "hi"})
        refused = await other.expect("error")
        await other.send({"type": "room.resume", "room": room.pk, "after_rev": 0})
        refused_resume = await other.expect("error")
        return got, echoed, stranger_silent, refused, refused_resume

    got, echoed, stranger_silent, refused, refused_resume = run(scenario())

    assert got == echoed
    assert (got["body"], got["seq"], got["mentions"], got["event"]) == (
        "@张伟 看一下 T-000042",
        1,
        [zhang.pk],
        "new",
    )
    assert got["refs"] == [{"kind": "ticket", "id": 42}]
    assert stranger_silent
    assert (refused["code"], refused_resume["code"]) == ("not_found", "not_found")


def test_a_retried_client_id_comes_back_to_its_socket_only_and_is_stored_once(live, people):
    room, wang, _ = people
    cookie = login_cookie(wang.user)

    async def scenario():
        socket = await Socket.desk(live, cookie)
        frame = {"type": "room.send", "room": room.pk, "client_id": "same", "body": "once"}
        await socket.send(frame)
        first = (await socket.expect("room.message"))["message"]
        await socket.send(frame)
        second = (await socket.expect("room.message"))["message"]
        return first, second

    first, second = run(scenario())

    assert first["id"] == second["id"]
    assert room.messages.count() == 1


def test_bad_frames_are_errors_and_store_nothing(live, people):
    room, wang, _ = people
    cookie = login_cookie(wang.user)

    async def scenario():
        socket = await Socket.desk(live, cookie)
        codes = []
        for frame in (
            {"type": "room.send", "room": room.pk, "client_id": "a", "body": ""},
            {"type": "room.send", "room": room.pk, "client_id": "b", "body": "x" * 4001},
            {"type": "room.send", "room": room.pk, "client_id": "c", "body": "x", "priority": 5},
            {"type": "room.send", "room": "1", "client_id": "d", "body": "x"},
            {"type": "room.send", "room": room.pk, "body": "no client id"},
            {"type": "room.read", "room": room.pk, "up_to_seq": -1},
            {"type": "room.resume", "room": room.pk, "after_rev": "0"},
        ):
            await socket.send(frame)
            codes.append((await socket.expect("error"))["code"])
        return codes

    codes = run(scenario())

    assert codes == [
        "bad_frame",
        "bad_frame",
        "bad_frame",
        "not_found",
        "bad_frame",
        "bad_frame",
        "bad_frame",
    ]
    assert room.messages.count() == 0


def test_reading_on_one_device_clears_the_count_on_every_device_of_that_agent(live, people):
    room, wang, zhang = people
    post_message(room=room, author=wang, body="@张伟 one")
    post_message(room=room, author=wang, body="two")
    cookie = login_cookie(zhang.user)

    async def scenario():
        phone, laptop = await Socket.desk(live, cookie), await Socket.desk(live, cookie)
        await laptop.send({"type": "rooms.unread"})
        before = await laptop.expect("rooms.unread")
        await phone.send({"type": "room.read", "room": room.pk, "up_to_seq": 2})
        return before, await phone.expect("rooms.read"), await laptop.expect("rooms.read")

    before, on_phone, on_laptop = run(scenario())

    assert (before["unread"], before["mentions"]) == (2, 1)
    assert (
        on_phone
        == on_laptop
        == {
            "type": "rooms.read",
            "room": room.pk,
            "read_seq": 2,
            "unread": 0,
            "mentions": 0,
        }
    )


def test_a_device_that_was_away_catches_up_from_its_last_rev_with_nothing_missing_or_twice(
    live, people
):
    room, wang, zhang = people
    cookie = login_cookie(zhang.user)
    first, _ = post_message(room=room, author=wang, body="before")

    async def online_then_gone():
        socket = await Socket.desk(live, cookie)
        await sync_to_async(post_message)(room=room, author=wang, body="seen live")
        seen = (await socket.expect("room.message"))["message"]
        await socket.connection.close()
        return seen

    seen = run(online_then_gone())
    # While the device is away: new messages, an edit of an old one, a delete, and an edit
    # of a message the device never saw.
    missed = [post_message(room=room, author=wang, body=f"missed {i}")[0] for i in range(5)]
    edit_message(room=room, by=wang, message_id=first.pk, body="before (edited)")
    delete_message(room=room, by=wang, message_id=missed[1].pk)
    edit_message(room=room, by=wang, message_id=missed[2].pk, body="missed 2 (edited)")

    async def back():
        socket = await Socket.desk(live, cookie)
        await socket.send({"type": "room.resume", "room": room.pk, "after_rev": seen["rev"]})
        frames = []
        while True:
            frame = await socket.recv()
            if frame["type"] == "room.resumed":
                return frames, frame
            if frame["type"] == "room.message":
                frames.append(frame["message"])

    frames, resumed = run(back())

    ids = [m["id"] for m in frames]
    assert len(ids) == len(set(ids)) == 6  # five new, the first edited; each once
    assert set(ids) == {str(m.pk) for m in missed} | {str(first.pk)}
    latest = {m["id"]: m for m in frames}
    assert latest[str(first.pk)]["body"] == "before (edited)"
    assert latest[str(missed[1].pk)]["deleted"] is True and latest[str(missed[1].pk)]["body"] == ""
    assert latest[str(missed[2].pk)]["body"] == "missed 2 (edited)"
    assert [m["rev"] for m in frames] == sorted(m["rev"] for m in frames)
    room.refresh_from_db()
    assert resumed["rev"] == room.last_rev


def test_an_agent_added_to_a_room_hears_it_at_once(live):
    from conversations.rooms.services import create_room

    room, (wang,) = team("王芳")
    newcomer = outsider("新人")
    cookie = login_cookie(newcomer.user)

    async def scenario():
        socket = await Socket.desk(live, cookie)
        made = await sync_to_async(create_room)(by=wang, name="双十一", member_ids=[newcomer.pk])
        await socket.expect("rooms.changed")
        await sync_to_async(post_message)(room=made, author=wang, body="欢迎")
        return (await socket.expect("room.message"))["message"]

    message = run(scenario())

    assert message["body"] == "欢迎"


def test_a_message_with_an_attachment_reaches_members_and_comes_back_in_a_resume(live, people):
    room, wang, zhang = people
    photo = store_room_attachment(
        room=room, by=wang, upload=SimpleUploadedFile("photo.png", png(), "image/png")
    )
    theirs = store_room_attachment(
        room=room, by=zhang, upload=SimpleUploadedFile("theirs.png", png(), "image/png")
    )
    cookies = [login_cookie(a.user) for a in (wang, zhang)]

    async def scenario():
        sender, member = [await Socket.desk(live, c) for c in cookies]
        await sender.send(
            {
                "type": "room.send",
                "room": room.pk,
                "client_id": "foreign",
                "body": "not mine",
                "attachments": [str(theirs.pk)],
            }
        )
        refused = await sender.expect("error")
        await sender.send(
            {
                "type": "room.send",
                "room": room.pk,
                "client_id": "p1",
                "body": "",
                "attachments": [str(photo.pk)],
            }
        )
        live_frame = (await member.expect("room.message"))["message"]
        await member.send({"type": "room.resume", "room": room.pk, "after_rev": 0})
        resumed = (await member.expect("room.message"))["message"]
        return refused, live_frame, resumed

    refused, live_frame, resumed = run(scenario())

    expected = [
        {
            "id": str(photo.pk),
            "name": "photo.png",
            "content_type": "image/png",
            "size": len(png()),
            "url": f"/desk/rooms/{room.pk}/attachments/{photo.pk}/",
        }
    ]
    assert (refused["code"], refused["client_id"]) == ("not_found", "foreign")
    assert (live_frame["body"], live_frame["attachments"]) == ("", expected)
    assert resumed["attachments"] == expected
    assert room.messages.count() == 1
