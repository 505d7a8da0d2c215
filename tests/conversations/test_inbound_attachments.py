"""Attachment URLs of inbound messages: fetched through the SSRF guard from a real HTTP
server, checked like uploads, stored under generated names; a failure is a system line,
never a 500."""

import ipaddress
import json

import pytest

from conversations.models import Attachment, Message
from helpdesk.models import ApiKey
from helpdesk.webhooks import targets
from tests.conversations.test_attachments import png
from tests.webhooks.conftest import dns  # noqa: F401 (a fixture)
from tests.webhooks.receiver import Answer, Receiver

pytestmark = pytest.mark.django_db

INBOUND = "/api/v1/inbound/messages/"
FILES_HOST = "files.partner.example"
PUBLIC = "127.0.0.2"  # the files server's address, which these tests count as public


@pytest.fixture
def post(client):
    _, raw = ApiKey.issue(name="WeChat relay", scopes=["conversations"])

    def send(attachments, body="", client_id="wx-1"):
        return client.post(
            INBOUND,
            json.dumps(
                {
                    "channel": "wechat",
                    "customer": "u-1001",
                    "client_id": client_id,
                    "body": body,
                    "attachments": attachments,
                    "language": "en",
                }
            ),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
            HTTP_ACCEPT_LANGUAGE="en",
        )

    return send


@pytest.fixture
def files(dns, monkeypatch):  # noqa: F811 (a fixture)
    """The partner's file server: a real HTTP server on 127.0.0.2, named files.partner.example,
    an address the guard lets through in these tests (as it would a public one). Every
    other private or loopback address stays refused."""
    server = Receiver(host=PUBLIC)
    dns[FILES_HOST] = [PUBLIC]
    refusal = targets.refusal
    monkeypatch.setattr(
        targets,
        "refusal",
        lambda address: None if address == ipaddress.ip_address(PUBLIC) else refusal(address),
    )
    yield server
    server.close()


@pytest.fixture
def loopback():
    """A server on 127.0.0.1 that must never be asked anything."""
    server = Receiver()
    server.answer(Answer(200, png(), (("Content-Type", "image/png"),)))
    yield server
    server.close()


def file_url(files, path="/media/a.png") -> str:
    return f"http://{FILES_HOST}:{files.port}{path}"


def notes(conversation_id) -> list[dict]:
    return [
        m.meta
        for m in Message.objects.filter(conversation_id=conversation_id, sender="system").order_by(
            "seq"
        )
        if m.meta.get("event") == "attachment_failed"
    ]


def test_an_image_is_fetched_checked_and_sent_with_the_message(post, files, demo_kb):
    files.answer(Answer(200, png(), (("Content-Type", "image/png"),)))

    response = post([file_url(files)], body="这是破损的照片")

    assert response.status_code == 201, response.content
    message = response.json()["message"]
    [attachment] = message["attachments"]
    assert (attachment["name"], attachment["content_type"]) == ("wechat-1.png", "image/png")
    assert attachment["size"] == len(png())
    stored = Attachment.objects.get()
    assert stored.message_id is not None
    assert stored.file.read() == png()
    assert stored.file.name.endswith(f"{stored.id.hex}.png")  # a generated name on disk
    [request] = files.gets()
    assert request.path == "/media/a.png"
    assert request.headers["user-agent"].startswith("Lumen-Helpdesk-Files")
    senders = list(
        Message.objects.filter(conversation_id=message["conversation"])
        .order_by("seq")
        .values_list("sender", flat=True)
    )
    assert senders == ["customer", "bot"]


def test_a_file_alone_is_a_message_the_bot_acknowledges(post, files, demo_kb):
    files.answer(Answer(200, png(), (("Content-Type", "image/png"),)))

    message = post([file_url(files)]).json()["message"]

    assert message["body"] == ""
    reply = Message.objects.get(conversation_id=message["conversation"], sender="bot")
    assert "received your file" in reply.body


def test_a_redirect_to_the_file_is_followed(post, files, demo_kb):
    files.answer(
        Answer(302, b"", (("Location", "/cdn/b.png"),)),
        Answer(200, png(), (("Content-Type", "image/png"),)),
    )

    response = post([file_url(files)], body="看图")

    assert len(response.json()["message"]["attachments"]) == 1
    assert [r.path for r in files.gets()] == ["/media/a.png", "/cdn/b.png"]


def test_a_retry_fetches_nothing_again(post, files, demo_kb):
    files.answer(Answer(200, png(), (("Content-Type", "image/png"),)))
    first = post([file_url(files)], body="看图")

    again = post([file_url(files)], body="看图")

    assert again.json() == first.json()
    assert len(files.gets()) == 1
    assert Attachment.objects.count() == 1


# --- failures: a system line, the message stored, no 500 -----------------------------------


@pytest.mark.parametrize(
    "answer, reason",
    [
        (
            Answer(
                200, b"<html><script>alert(1)</script></html>", (("Content-Type", "image/png"),)
            ),
            "unsupported",
        ),
        (Answer(200, b"MZ\x90\x00" + b"\x00" * 200), "unsupported"),
        (Answer(404, b"not found"), "http_error"),
        (Answer(500, b"oops"), "http_error"),
        (Answer(302, b""), "http_error"),  # a redirect to nowhere
    ],
)
def test_a_file_that_is_not_accepted_leaves_a_system_line(post, files, demo_kb, answer, reason):
    files.answer(answer)

    response = post([file_url(files)], body="看图")

    assert response.status_code == 201
    message = response.json()["message"]
    assert message["attachments"] == []
    [note] = notes(message["conversation"])
    assert note["reason"] == reason
    assert note["url"] == file_url(files)
    assert not Attachment.objects.exists()
    line = Message.objects.get(conversation_id=message["conversation"], seq=2)
    assert line.body.startswith("The attachment a.png could not be received")


def test_a_file_over_the_size_limit_is_refused(post, files, settings, demo_kb):
    settings.ATTACHMENT_MAX_SIZE = 50
    files.answer(Answer(200, png() + b"\x00" * 100, (("Content-Type", "image/png"),)))

    message = post([file_url(files)], body="看图").json()["message"]

    [note] = notes(message["conversation"])
    assert note["reason"] == "too_large"
    assert not Attachment.objects.exists()


def test_a_slow_server_times_out(post, files, settings, demo_kb):
    settings.INBOUND_FETCH_TIMEOUT = 0.3
    files.answer(Answer(200, png(), delay=2))

    response = post([file_url(files)], body="看图")

    assert response.status_code == 201
    [note] = notes(response.json()["message"]["conversation"])
    assert note["reason"] == "timeout"


def test_too_many_redirects_are_refused(post, files, demo_kb):
    files.answer(*[Answer(302, b"", (("Location", "/again"),)) for _ in range(5)])

    message = post([file_url(files)], body="看图").json()["message"]

    [note] = notes(message["conversation"])
    assert note["reason"] == "too_many_redirects"
    assert len(files.gets()) == 4


def test_one_file_failing_keeps_the_others(post, files, demo_kb):
    files.answer(Answer(200, png(), (("Content-Type", "image/png"),)), Answer(404))

    message = post([file_url(files), file_url(files, "/gone.png")], body="两张").json()["message"]

    assert [a["name"] for a in message["attachments"]] == ["wechat-1.png"]
    assert [note["reason"] for note in notes(message["conversation"])] == ["http_error"]


# --- SSRF -------------------------------------------------------------------------------------

SSRF_TARGETS = [
    "http://127.0.0.1:{port}/a.png",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[::1]:{port}/a.png",
    "http://[::ffff:127.0.0.1]:{port}/a.png",
    "http://0x7f000001:{port}/a.png",
    "http://2130706433:{port}/a.png",
    "http://127.1:{port}/a.png",
    "http://localhost:{port}/a.png",
    "http://10.0.0.5/a.png",
    "http://0.0.0.0:{port}/a.png",
]


@pytest.mark.parametrize("target", SSRF_TARGETS)
def test_a_private_or_loopback_target_is_refused_without_a_request(post, loopback, target):
    url = target.format(port=loopback.port)

    response = post([url], body="看图")

    assert response.status_code == 201
    message = response.json()["message"]
    assert message["attachments"] == []
    [note] = notes(message["conversation"])
    assert note["reason"] == "refused"
    assert loopback.requests == []


def test_a_name_resolving_to_a_private_address_is_refused(post, dns, loopback):  # noqa: F811
    dns["cdn.partner.example"] = ["93.184.216.34", "127.0.0.1"]

    response = post([f"http://cdn.partner.example:{loopback.port}/a.png"], body="看图")

    [note] = notes(response.json()["message"]["conversation"])
    assert note["reason"] == "refused"
    assert loopback.requests == []


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{port}/a.png",
        "http://[::1]:{port}/a.png",
        "http://metadata.partner.example/latest/meta-data/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:{port}/",
    ],
)
def test_a_redirect_to_loopback_or_metadata_is_refused(post, files, dns, loopback, location):  # noqa: F811
    dns["metadata.partner.example"] = ["169.254.169.254"]
    files.answer(Answer(302, b"", (("Location", location.format(port=loopback.port)),)))

    response = post([file_url(files)], body="看图")

    assert response.status_code == 201
    [note] = notes(response.json()["message"]["conversation"])
    assert note["reason"] == "refused"
    assert loopback.requests == []
    assert not Attachment.objects.exists()
