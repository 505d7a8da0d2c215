"""Attachments (chat protocol §3): checked by content, stored under generated names,
served only through signed links with nosniff and a strict CSP — over real HTTP."""

import asyncio

import httpx
import pytest

from conversations.models import Attachment, Message
from tests.conversations.upload_helpers import REFUSED_FILES, png
from tests.csp import UPLOAD_POLICY, directives
from tests.wsclient import Socket, open_session

pytestmark = pytest.mark.django_db(transaction=True)


def upload(live, token, name, content, content_type="application/octet-stream"):
    return httpx.post(
        f"{live.url}/api/v1/chat/attachments/",
        headers={"Authorization": f"Bearer {token}"} if token else {},
        files={"file": (name, content, content_type)},
        timeout=30,
    )


def test_an_image_is_accepted_sent_and_served_inline(live):
    session = open_session(live)
    response = upload(live, session["token"], "photo.png", png(), "image/png")
    assert response.status_code == 201, response.text
    attachment = response.json()

    async def scenario():
        socket = await Socket.chat(live, session["token"])
        await socket.send(
            {
                "type": "message.send",
                "client_id": "p1",
                "body": "",
                "attachments": [attachment["id"]],
            }
        )
        return await socket.message()

    message = asyncio.run(scenario())
    served = httpx.get(live.url + message["attachments"][0]["url"])

    assert message["attachments"][0]["content_type"] == "image/png"
    assert served.status_code == 200
    assert served.content == png()
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert directives(served.headers["content-security-policy"]) == UPLOAD_POLICY
    assert served.headers["content-disposition"].startswith("inline")
    assert Attachment.objects.get().message == Message.objects.get()


def test_a_pdf_is_served_as_a_download(live):
    session = open_session(live)
    attachment = upload(live, session["token"], "发票.pdf", b"%PDF-1.7\n%%EOF\n").json()

    served = httpx.get(live.url + attachment["url"])

    assert served.headers["content-disposition"].startswith("attachment")
    assert "filename*=utf-8''%E5%8F%91%E7%A5%A8.pdf" in served.headers["content-disposition"]


@pytest.mark.parametrize("name, content", REFUSED_FILES)
def test_dangerous_or_unknown_files_are_refused_and_nothing_is_stored(live, name, content):
    session = open_session(live)

    response = upload(live, session["token"], name, content)

    assert response.status_code in (400, 415)
    assert response.json()["detail"]
    assert not Attachment.objects.exists()


def test_an_oversized_file_is_refused_with_413(live, settings):
    session = open_session(live)
    big = png() + b"\x00" * (20 * 1024 * 1024)

    response = upload(live, session["token"], "big.png", big)

    assert response.status_code == 413
    assert not Attachment.objects.exists()


@pytest.mark.parametrize(
    "name", ["../../../etc/passwd.png", "..\\..\\windows\\passwd.png", "/var/passwd.png"]
)
def test_a_file_name_with_a_folder_path_is_refused_over_http(live, name):
    session = open_session(live)

    response = upload(live, session["token"], name, png())
    english = httpx.post(
        f"{live.url}/api/v1/chat/attachments/",
        headers={"Authorization": f"Bearer {session['token']}", "Accept-Language": "en"},
        files={"file": (name, png(), "image/png")},
        timeout=30,
    )

    assert response.status_code == english.status_code == 400
    assert "文件夹路径" in response.json()["detail"]
    assert "folder path" in english.json()["detail"]
    assert not Attachment.objects.exists()


def test_an_uploaded_name_is_shown_cleaned_and_never_used_as_a_path(live):
    session = open_session(live)

    attachment = upload(live, session["token"], "发票\u202e.png", png()).json()

    stored = Attachment.objects.get()
    assert attachment["name"] == stored.name == "发票.png"
    assert stored.file.name == f"attachments/{stored.conversation_id.hex}/{stored.pk.hex}.png"


def test_no_token_is_401_and_a_tampered_link_is_404(live):
    session = open_session(live)
    attachment = upload(live, session["token"], "a.png", png()).json()

    assert upload(live, None, "a.png", png()).status_code == 401
    assert upload(live, "garbage", "a.png", png()).status_code == 401
    assert httpx.get(live.url + attachment["url"][:-3] + "xx/").status_code == 404


def test_another_conversations_attachment_cannot_be_sent(live):
    mine, theirs = open_session(live), open_session(live)
    response = upload(live, theirs["token"], "a.png", png())
    assert response.status_code == 201, response.text
    foreign = response.json()

    async def scenario():
        socket = await Socket.chat(live, mine["token"])
        await socket.send(
            {
                "type": "message.send",
                "client_id": "x",
                "body": "look",
                "attachments": [foreign["id"]],
            }
        )
        return await socket.expect("error")

    assert asyncio.run(scenario())["code"] == "not_found"
    assert not Message.objects.exists()
    assert Attachment.objects.get().message is None


def test_clean_name_drops_control_characters_and_paths():
    from conversations.files import clean_name

    assert clean_name("a/b/\x00ev\u202eil\x07.png") == "evil.png"
    assert clean_name("..") == "file"
