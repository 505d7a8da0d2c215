"""Attachments in team rooms: uploaded by members only, checked like a conversation's
(one piece of code), sent with a message, served to the room's members only with nosniff
and a strict CSP, and no longer once their message is deleted."""

from datetime import timedelta

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conversations.rooms.models import Room, RoomAttachment, RoomMessage
from conversations.rooms.protocol import room_message_payload
from conversations.rooms.selectors import resume_payloads
from conversations.rooms.services import (
    AttachmentNotFound,
    RoomInputError,
    delete_message,
    post_message,
    purge_old_messages,
    store_room_attachment,
)
from tests.conversations.rooms_helpers import outsider, team
from tests.conversations.upload_helpers import PDF, REFUSED_FILES, png
from tests.csp import UPLOAD_POLICY, directives

pytestmark = pytest.mark.django_db

FETCH = {"X-Requested-With": "fetch"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def people():
    room, (wang, zhang) = team("王芳", "张伟")
    return room, wang, zhang


def _file(name="photo.png", content=None, content_type="image/png"):
    return SimpleUploadedFile(name, png() if content is None else content, content_type)


def _upload(client, room, name="photo.png", content=None, **extra):
    return client.post(
        reverse("desk:room-upload", args=[room.pk]),
        {"file": _file(name, content)},
        headers=FETCH,
        **extra,
    )


def _sent(room, agent, name="photo.png", content=None, body=""):
    attachment = store_room_attachment(room=room, by=agent, upload=_file(name, content))
    message, _ = post_message(
        room=room, author=agent, body=body, client_id=name, attachment_ids=[str(attachment.pk)]
    )
    attachment.refresh_from_db()
    return message, attachment


# --- services ---------------------------------------------------------------------------


def test_an_upload_is_stored_under_a_generated_name_in_the_rooms_folder(people):
    room, wang, _ = people

    attachment = store_room_attachment(room=room, by=wang, upload=_file("../../etc/passwd.png"))

    assert (attachment.name, attachment.content_type, attachment.size) == (
        "passwd.png",
        "image/png",
        len(png()),
    )
    assert attachment.file.name == f"room-files/{room.pk}/{attachment.pk.hex}.png"
    assert attachment.message is None
    assert default_storage.open(attachment.file.name).read() == png()


def test_a_message_carries_its_attachments_and_may_have_no_text(people):
    room, wang, _ = people

    message, attachment = _sent(room, wang)

    payload = room_message_payload(RoomMessage.objects.get())
    assert attachment.message == message
    assert payload["body"] == ""
    assert payload["attachments"] == [
        {
            "id": str(attachment.pk),
            "name": "photo.png",
            "content_type": "image/png",
            "size": len(png()),
            "url": f"/desk/rooms/{room.pk}/attachments/{attachment.pk}/",
        }
    ]


def test_a_message_without_text_or_attachments_is_refused(people):
    room, wang, _ = people

    with pytest.raises(RoomInputError):
        post_message(room=room, author=wang, body="  ", attachment_ids=[])

    assert not RoomMessage.objects.exists()


@pytest.mark.parametrize(
    "ids", ["not a list", ["not-a-uuid"], [42], [f"{i:032x}" for i in range(11)]]
)
def test_malformed_attachment_ids_are_refused(people, ids):
    room, wang, _ = people

    with pytest.raises(RoomInputError):
        post_message(room=room, author=wang, body="x", attachment_ids=ids)

    assert not RoomMessage.objects.exists()


def test_someone_elses_another_rooms_or_an_already_sent_upload_cannot_be_sent(people):
    room, wang, zhang = people
    other_room, (li,) = team("李娜", code="presales", name_zh="售前", name_en="Pre-sales")
    zhangs = store_room_attachment(room=room, by=zhang, upload=_file())
    elsewhere = store_room_attachment(room=other_room, by=wang, upload=_file())
    _, sent = _sent(room, wang)

    for foreign in (zhangs, elsewhere, sent):
        with pytest.raises(AttachmentNotFound):
            post_message(room=room, author=wang, body="x", attachment_ids=[str(foreign.pk)])

    assert RoomMessage.objects.count() == 1
    assert RoomAttachment.objects.filter(message=None).count() == 2


def test_a_deleted_message_shows_no_attachments(people):
    room, wang, _ = people
    message, _ = _sent(room, wang, body="看图")

    delete_message(room=room, by=wang, message_id=message.pk)

    assert room_message_payload(RoomMessage.objects.get())["attachments"] == []


def test_retention_takes_old_messages_attachments_and_files_with_them(
    people, settings, django_capture_on_commit_callbacks
):
    settings.ROOM_RETENTION_DAYS = 30
    room, wang, zhang = people
    old, old_file = _sent(room, wang, body="@张伟 旧图")
    post_message(room=room, author=zhang, body="回复", parent_id=old.pk)
    unsent = store_room_attachment(room=room, by=wang, upload=_file("never.png"))
    new, new_file = _sent(room, wang, "new.png")
    month_ago = timezone.now() - timedelta(days=31)
    RoomMessage.objects.filter(pk=old.pk).update(created_at=month_ago)
    RoomAttachment.objects.filter(pk__in=[old_file.pk, unsent.pk]).update(created_at=month_ago)

    with django_capture_on_commit_callbacks(execute=True):
        purged = purge_old_messages(batch=1)

    assert purged == 2  # the old message and its reply

    assert list(RoomMessage.objects.values_list("pk", flat=True)) == [new.pk]
    assert list(RoomAttachment.objects.values_list("pk", flat=True)) == [new_file.pk]
    assert not default_storage.exists(old_file.file.name)
    assert not default_storage.exists(unsent.file.name)
    assert default_storage.exists(new_file.file.name)


# --- HTTP -------------------------------------------------------------------------------


def test_a_member_uploads_then_sends_and_the_room_shows_the_image_inline(client, people):
    room, wang, zhang = people
    client.force_login(wang.user)

    uploaded = _upload(client, room)
    sent = client.post(
        reverse("desk:room-post", args=[room.pk]),
        {"body": "请看截图", "attachments": [uploaded.json()["id"]], "client_id": "c1"},
        headers=FETCH,
    )
    client.force_login(zhang.user)
    page = client.get(reverse("desk:room", args=[room.pk])).content.decode()
    served = client.get(uploaded.json()["url"])

    assert uploaded.status_code == 201
    assert uploaded.json()["name"] == "photo.png"
    assert sent.status_code == 200
    assert f'<img src="{uploaded.json()["url"]}" alt="photo.png"' in page
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == png()
    assert served["Content-Type"] == "image/png"
    assert served["Content-Disposition"].startswith("inline")
    assert served["X-Content-Type-Options"] == "nosniff"
    assert directives(served["Content-Security-Policy"]) == UPLOAD_POLICY


def test_a_pdf_shows_as_a_link_with_its_name_and_size_and_downloads(client, people):
    room, wang, _ = people
    _, attachment = _sent(room, wang, "发票.pdf", PDF, body="发票")
    client.force_login(wang.user)

    page = client.get(reverse("desk:room", args=[room.pk])).content.decode()
    served = client.get(reverse("desk:room-attachment", args=[room.pk, attachment.pk]))

    link = f'<a href="/desk/rooms/{room.pk}/attachments/{attachment.pk}/" class="room-file"'
    assert link in page
    assert '<span class="file-name">发票.pdf</span>' in page
    assert "<img" not in page.split(link)[1].split("</li>")[0]
    assert served["Content-Disposition"].startswith("attachment")
    assert "filename*=utf-8''%E5%8F%91%E7%A5%A8.pdf" in served["Content-Disposition"]
    assert served["Content-Type"] == "application/pdf"


def test_without_script_the_file_goes_with_the_form(client, people):
    room, wang, _ = people
    client.force_login(wang.user)

    response = client.post(
        reverse("desk:room-post", args=[room.pk]),
        {"body": "", "file": _file("scan.pdf", PDF, "application/pdf")},
    )

    message = RoomMessage.objects.get()
    assert response.status_code == 302
    assert [a.name for a in message.attachments.all()] == ["scan.pdf"]


def test_a_hostile_file_name_is_shown_as_text(client, people):
    room, wang, _ = people
    hostile = '<img src=x onerror="alert(1)">.pdf'
    _sent(room, wang, hostile, PDF)
    client.force_login(wang.user)

    page = client.get(reverse("desk:room", args=[room.pk])).content.decode()

    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;.pdf" in page
    assert 'onerror="alert(1)"' not in page


def test_someone_not_in_the_room_can_neither_upload_nor_download(client, people):
    room, wang, _ = people
    _, attachment = _sent(room, wang)
    client.force_login(outsider().user)

    uploaded = _upload(client, room)
    served = client.get(reverse("desk:room-attachment", args=[room.pk, attachment.pk]))

    assert (uploaded.status_code, served.status_code) == (404, 404)
    assert RoomAttachment.objects.count() == 1


def test_an_attachment_is_404_through_another_rooms_address(client, people):
    room, wang, _ = people
    other_room, _ = team("李娜", code="presales", name_zh="售前", name_en="Pre-sales")
    wang.skill_groups.add(other_room.skill_group)
    _, attachment = _sent(room, wang)
    client.force_login(wang.user)

    served = client.get(reverse("desk:room-attachment", args=[other_room.pk, attachment.pk]))

    assert served.status_code == 404


def test_an_unsent_upload_opens_for_its_uploader_only(client, people):
    room, wang, zhang = people
    unsent = store_room_attachment(room=room, by=wang, upload=_file())
    url = reverse("desk:room-attachment", args=[room.pk, unsent.pk])

    client.force_login(wang.user)
    own = client.get(url).status_code
    client.force_login(zhang.user)
    other = client.get(url).status_code

    assert (own, other) == (200, 404)


def test_a_deleted_messages_attachment_is_no_longer_served(client, people):
    room, wang, _ = people
    message, attachment = _sent(room, wang)
    delete_message(room=room, by=wang, message_id=message.pk)
    client.force_login(wang.user)

    served = client.get(reverse("desk:room-attachment", args=[room.pk, attachment.pk]))
    page = client.get(reverse("desk:room", args=[room.pk])).content.decode()

    assert served.status_code == 404
    assert str(attachment.pk) not in page


@pytest.mark.parametrize("name, content", REFUSED_FILES)
def test_dangerous_or_unknown_files_are_refused_with_415_and_nothing_is_stored(
    client, people, name, content
):
    room, wang, _ = people
    client.force_login(wang.user)

    response = _upload(client, room, name, content)

    assert response.status_code == 415
    assert response.json()["detail"]
    assert not RoomAttachment.objects.exists()


def test_an_oversized_file_is_413_and_nothing_is_stored(client, people, settings):
    settings.ATTACHMENT_MAX_SIZE = 1024
    room, wang, _ = people
    client.force_login(wang.user)

    response = _upload(client, room, "big.png", png() + b"\x00" * 2048)

    assert response.status_code == 413
    assert response.json()["detail"]
    assert not RoomAttachment.objects.exists()


def test_a_refused_file_sent_with_the_form_stores_no_message(client, people):
    room, wang, _ = people
    client.force_login(wang.user)

    response = client.post(
        reverse("desk:room-post", args=[room.pk]),
        {"body": "看", "file": _file("x.jpg.html", b"<html><script>alert(1)</script>")},
        headers=FETCH,
    )

    assert response.status_code == 415
    assert not RoomMessage.objects.exists()
    assert not RoomAttachment.objects.exists()


def test_an_upload_with_no_file_is_400(client, people):
    room, wang, _ = people
    client.force_login(wang.user)

    response = client.post(reverse("desk:room-upload", args=[room.pk]), {}, headers=FETCH)

    assert response.status_code == 400
    assert response.json()["detail"]


def test_sending_another_members_upload_is_404_and_stores_nothing(client, people):
    room, wang, zhang = people
    theirs = store_room_attachment(room=room, by=zhang, upload=_file())
    client.force_login(wang.user)

    response = client.post(
        reverse("desk:room-post", args=[room.pk]),
        {"body": "x", "attachments": [str(theirs.pk)]},
        headers=FETCH,
    )

    assert response.status_code == 404
    assert not RoomMessage.objects.exists()


def test_an_upload_needs_the_csrf_token(people):
    from django.test import Client

    room, wang, _ = people
    client = Client(enforce_csrf_checks=True)
    client.force_login(wang.user)

    response = _upload(client, room)

    assert response.status_code == 403
    assert not RoomAttachment.objects.exists()


def test_the_rooms_changes_read_attachments_in_one_query_however_many_messages(
    client, people, django_assert_num_queries
):
    room, wang, _ = people
    client.force_login(wang.user)
    url = reverse("desk:room-changes", args=[room.pk])
    _sent(room, wang, "a.png")
    client.get(url)  # the session and the agent cached alike for both counts
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for name in ("b.png", "c.pdf", "d.png"):
        _sent(room, wang, name, PDF if name.endswith(".pdf") else None)

    with django_assert_num_queries(len(one)):
        page = client.get(url).content.decode()

    assert page.count('class="room-attachment"') == 4


def test_past_the_rate_an_agents_uploads_are_429_until_the_next_minute(client, people, settings):
    settings.ROOM_ATTACHMENT_RATE = 2
    room, wang, _ = people
    client.force_login(wang.user)

    with time_machine.travel(timezone.now().replace(second=5), tick=False) as traveller:
        answers = [_upload(client, room).status_code for _ in range(3)]
        traveller.shift(60)
        later = _upload(client, room).status_code

    assert answers == [201, 201, 429]
    assert later == 201
    assert RoomAttachment.objects.count() == 3


def _resume_queries(django_assert_max_num_queries, room, after_rev, expected):
    with django_assert_max_num_queries(4):
        payloads = resume_payloads(room, after_rev, limit=10_000)
    assert len(payloads) == expected
    return payloads


def test_a_catch_up_is_four_reads_however_many_messages_with_what_each_would_say_alone(
    people, django_assert_max_num_queries
):
    room, wang, zhang = people
    before = Room.objects.get(pk=room.pk).last_rev
    _sent(room, wang, "first.png", body="@张伟 看图")
    post_message(room=room, author=wang, body="@张伟 马上看", priority=2)  # urgent
    for n in range(12):
        post_message(room=room, author=zhang, body=f"好的 {n}")
    _sent(room, zhang, "last.png")

    payloads = _resume_queries(django_assert_max_num_queries, room, before, 15)

    alone = [
        room_message_payload(m)
        for m in RoomMessage.objects.filter(room=room, rev__gt=before).order_by("rev")
    ]
    assert payloads == alone
    assert payloads[0]["mentions"] == [zhang.pk] and payloads[0]["attachments"]
    assert [a["agent"] for a in payloads[1]["urgent"]["addressees"]] == [zhang.pk]
    assert payloads[-1]["attachments"][0]["name"] == "last.png"
    # From the middle: only what came after, the same reads.
    assert _resume_queries(django_assert_max_num_queries, room, payloads[-3]["rev"], 2)
