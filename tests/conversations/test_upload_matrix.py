"""Hostile uploads (issue 10, "Attack"), the full matrix: one shared list of hostile files
(tests/conversations/upload_helpers.py) through every way a file gets in — the customer's
chat upload (partner/widget API), the agent's upload in the desk, a team room's upload, a
team room's message form with its file, and an inbound message's attachment URL fetched
from the partner's server. Every hostile file is refused with nothing stored; an oversized
one too; a name with a folder path is refused (400); an accepted file is stored under a
generated name and served with Content-Disposition, nosniff and a CSP that runs
nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conversations.models import Attachment, Conversation
from conversations.protocol import attachment_payload
from conversations.rooms.models import RoomAttachment
from conversations.services.sessions import issue_chat_token
from helpdesk.models import ApiKey
from tests.conversations.rooms_helpers import team
from tests.conversations.test_inbound_attachments import FILES_HOST, files  # noqa: F401
from tests.conversations.upload_helpers import (
    PATH_NAMES,
    PDF,
    REFUSED_BY_CONTENT,
    REFUSED_BY_NAME,
    multipart,
    png,
)
from tests.csp import UPLOAD_POLICY, directives
from tests.factories import ConversationFactory
from tests.webhooks.conftest import dns  # noqa: F401
from tests.webhooks.receiver import Answer

pytestmark = pytest.mark.django_db

FETCH = {"X-Requested-With": "fetch"}
ENTRY_POINTS = ["chat-api", "desk-upload", "room-upload", "room-form", "inbound-url"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@dataclass
class Outcome:
    accepted: bool
    status: int
    records: list  # the stored rows (Attachment or RoomAttachment)
    detail: str = ""  # the reason given, when refused with JSON


def _detail(response) -> str:
    try:
        return str(response.json().get("detail", ""))
    except ValueError:
        return ""


class EntryPoint:
    """One way a file gets in: `send(name, content)` -> Outcome; `served(record)` -> the
    response of the record's address, to someone allowed to see it."""

    refused_status = 415
    too_large_status = 413

    def __init__(self, client):
        self.client = client

    def stored(self) -> list:
        return list(Attachment.objects.all())

    def post_file(self, url, fields: dict, name: str, content: bytes, raw: bool, **extra):
        """Post `fields` and the file as `name`: through Django's test client (which keeps
        only the last part of a name), or with `raw` as a hand-made multipart body naming
        the file exactly so (a path in it too)."""
        if not raw:
            return self.client.post(
                url, {**fields, "file": SimpleUploadedFile(name, content)}, **extra
            )
        body, content_type = multipart(fields, name, content)
        return self.client.post(url, body, content_type=content_type, **extra)

    def outcome(self, response, accepted_status: int = 201) -> Outcome:
        status = response.status_code
        return Outcome(status == accepted_status, status, self.stored(), _detail(response))


class ChatApi(EntryPoint):
    def __init__(self, client):
        super().__init__(client)
        room, (self.agent,) = team("王芳")
        self.conversation = ConversationFactory(
            status=Conversation.Status.ASSIGNED, assignee=self.agent, skill_group=room.skill_group
        )
        self.token = issue_chat_token(self.conversation)

    def send(self, name, content, raw=False):
        response = self.post_file(
            reverse("chat-attachments"),
            {},
            name,
            content,
            raw,
            HTTP_AUTHORIZATION=f"Bearer {self.token}",
        )
        return self.outcome(response)

    def served(self, record):
        self.client.logout()
        return self.client.get(attachment_payload(record)["url"])


class DeskUpload(ChatApi):
    def send(self, name, content, raw=False):
        self.client.force_login(self.agent.user)
        response = self.post_file(
            reverse("desk:upload", args=[self.conversation.id]),
            {},
            name,
            content,
            raw,
            headers=FETCH,
        )
        return self.outcome(response)

    def served(self, record):
        return self.client.get(attachment_payload(record)["url"])


class RoomUpload(EntryPoint):
    def __init__(self, client):
        super().__init__(client)
        self.room, (self.agent,) = team("王芳")
        client.force_login(self.agent.user)

    def stored(self):
        return list(RoomAttachment.objects.all())

    def send(self, name, content, raw=False):
        response = self.post_file(
            reverse("desk:room-upload", args=[self.room.pk]), {}, name, content, raw, headers=FETCH
        )
        return self.outcome(response)

    def served(self, record):
        return self.client.get(reverse("desk:room-attachment", args=[self.room.pk, record.pk]))


class RoomForm(RoomUpload):
    def send(self, name, content, raw=False):
        response = self.post_file(
            reverse("desk:room-post", args=[self.room.pk]),
            {"body": "看"},
            name,
            content,
            raw,
            headers=FETCH,
        )
        return self.outcome(response, accepted_status=200)


class InboundUrl(EntryPoint):
    """The partner's server answers with the file at a path named like the file; what
    people see is a generated name (wechat-1.png), so names cannot lie here."""

    refused_status = too_large_status = 201  # the message is kept, with a system line

    def __init__(self, client, server):
        super().__init__(client)
        self.server = server
        _, self.key = ApiKey.issue(name="WeChat relay", scopes=["conversations"])

    def send(self, name, content):
        self.server.answer(Answer(200, content, (("Content-Type", "image/png"),)))
        url = f"http://{FILES_HOST}:{self.server.port}/media/{quote(name, safe='')}"
        response = self.client.post(
            "/api/v1/inbound/messages/",
            json.dumps(
                {
                    "channel": "wechat",
                    "customer": "u-1001",
                    "client_id": f"wx-{name}",
                    "body": "看图",
                    "attachments": [url],
                    "language": "en",
                }
            ),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {self.key}",
        )
        assert response.status_code == 201, response.content
        accepted = bool(response.json()["message"]["attachments"])
        return Outcome(accepted, response.status_code, self.stored())

    def served(self, record):
        return self.client.get(attachment_payload(record)["url"])


NAMED = {
    "chat-api": ChatApi,
    "desk-upload": DeskUpload,
    "room-upload": RoomUpload,
    "room-form": RoomForm,
}


@pytest.fixture(params=ENTRY_POINTS)
def entry(request, client):
    if request.param == "inbound-url":
        return InboundUrl(client, request.getfixturevalue("files"))
    return NAMED[request.param](client)


@pytest.fixture(params=list(NAMED))
def named_entry(request, client):
    """The ways in where the sender names the file."""
    return NAMED[request.param](client)


@pytest.fixture
def inbound(client, files):  # noqa: F811 (a fixture)
    return InboundUrl(client, files)


@pytest.mark.parametrize("name, content", REFUSED_BY_CONTENT)
def test_a_hostile_file_is_refused_everywhere_and_nothing_is_stored(entry, name, content):
    outcome = entry.send(name, content)

    assert not outcome.accepted
    assert outcome.status == entry.refused_status
    assert outcome.records == []
    assert not RoomAttachment.objects.exists() and not Attachment.objects.exists()


@pytest.mark.parametrize("name, content", REFUSED_BY_NAME)
def test_a_name_that_would_open_as_a_page_or_program_is_refused(named_entry, name, content):
    outcome = named_entry.send(name, content)

    assert (outcome.accepted, outcome.status, outcome.records) == (False, 415, [])


@pytest.mark.parametrize("name, content", REFUSED_BY_NAME)
def test_a_fetched_file_named_as_a_page_or_program_is_shown_under_a_generated_name(
    inbound, name, content
):
    outcome = inbound.send(name, content)

    [record] = outcome.records
    assert record.name == f"wechat-1{record.extension}"


def test_an_oversized_file_is_refused_everywhere(entry, settings):
    settings.ATTACHMENT_MAX_SIZE = 1024

    outcome = entry.send("big.png", png() + b"\x00" * 2048)

    assert not outcome.accepted
    assert outcome.status == entry.too_large_status
    assert outcome.records == []


@pytest.mark.parametrize("name", PATH_NAMES)
def test_a_file_named_with_a_folder_path_is_refused_everywhere(named_entry, name):
    outcome = named_entry.send(name, png(), raw=True)

    assert (outcome.accepted, outcome.status, outcome.records) == (False, 400, [])
    assert "文件夹路径" in outcome.detail  # the reason, in the default language
    assert not RoomAttachment.objects.exists() and not Attachment.objects.exists()


@pytest.mark.parametrize("name", ["%2e%2e%2fpasswd.png", "照片 (1).png", "..passwd.png"])
def test_an_accepted_file_is_stored_under_a_generated_name(entry, name):
    outcome = entry.send(name, png())

    [record] = outcome.records
    assert outcome.accepted
    assert "/" not in record.name and "\\" not in record.name
    assert record.file.name.endswith(f"/{record.pk.hex}.png")
    assert ".." not in record.file.name


@pytest.mark.parametrize(
    "name, content, disposition, content_type",
    [
        ("photo.png", png(), "inline", "image/png"),
        ("发票.pdf", PDF, "attachment", "application/pdf"),
    ],
)
def test_an_accepted_file_is_served_with_disposition_nosniff_and_a_strict_csp(
    entry, name, content, disposition, content_type
):
    [record] = entry.send(name, content).records

    served = entry.served(record)

    assert served.status_code == 200
    assert b"".join(served.streaming_content) == content
    assert served["Content-Type"] == content_type
    assert served["Content-Disposition"].startswith(disposition)
    assert "filename" in served["Content-Disposition"]
    assert served["X-Content-Type-Options"] == "nosniff"
    assert directives(served["Content-Security-Policy"]) == UPLOAD_POLICY


def test_every_way_in_is_in_the_matrix():
    """A new upload view must be added here: every view reading request.FILES is listed."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    readers = set()
    for path in root.glob("*/**/*.py"):
        if any(part in {".venv", "tests", "bench", "migrations"} for part in path.parts):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and "request.FILES" in ast.unparse(node):
                readers.add(f"{path.relative_to(root)}:{node.name}")

    assert readers == {
        "conversations/api.py:post",  # chat-api
        "conversations/views/desk.py:desk_upload",  # desk-upload
        "conversations/rooms/views.py:upload_attachment",  # room-upload
        "conversations/rooms/views.py:post_message",  # room-form
        "knowledge/admin.py:import_view",  # the KB import: JSON lines read, never stored
    }
