"""The desk's actions over HTTP: who may do what, bad input, and what is left behind."""

from uuid import UUID

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conversations.models import Agent, Attachment, Conversation, InternalNote
from conversations.services import take_conversation
from tests.conversations.test_attachments import png
from tests.factories import AgentFactory, ConversationFactory, SkillGroupFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def agent():
    return AgentFactory()


@pytest.fixture
def mine(agent):
    conversation = ConversationFactory(status="queued")
    take_conversation(conversation_id=conversation.id, agent=agent)
    return conversation


@pytest.fixture
def desk(client, agent):
    client.force_login(agent.user)
    return client


def test_closing_needs_a_resolution_and_records_it(desk, mine):
    url = reverse("desk:close", args=[mine.id])

    refused = desk.post(url, {"resolution": "maybe"}, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    mine.refresh_from_db()
    assert mine.status == "assigned"
    assert "Choose how the conversation ended." in refused.content.decode()

    desk.post(url, {"resolution": "not_resolved"})
    mine.refresh_from_db()
    assert (mine.status, mine.resolution) == ("closed", "not_resolved")


@pytest.mark.parametrize("target", ["", "agent:", "agent:abc", "group:", "group:nope", "x:1"])
def test_a_bad_transfer_target_is_refused_and_changes_nothing(desk, agent, mine, target):
    response = desk.post(reverse("desk:transfer", args=[mine.id]), {"target": target})

    assert response.status_code == 302
    mine.refresh_from_db()
    assert (mine.assignee, mine.transfer_count) == (agent, 0)
    assert not InternalNote.objects.exists()


def test_transfer_to_an_unknown_agent_id_is_refused(desk, agent, mine):
    response = desk.post(reverse("desk:transfer", args=[mine.id]), {"target": "agent:999999"})

    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.assignee == agent


def test_transfer_through_the_desk_moves_the_conversation(desk, mine):
    colleague = AgentFactory()

    desk.post(
        reverse("desk:transfer", args=[mine.id]),
        {"target": f"agent:{colleague.pk}", "note": "<b>VIP</b>"},
    )

    mine.refresh_from_db()
    assert mine.assignee == colleague
    assert "<b>VIP</b>" in InternalNote.objects.get().body


def test_another_agents_conversation_is_404_for_every_action(client, mine):
    stranger = AgentFactory()
    client.force_login(stranger.user)
    Conversation.objects.filter(pk=mine.id).update(status="assigned")

    for name, data in [
        ("desk:conversation", None),
        ("desk:close", {"resolution": "resolved"}),
        ("desk:transfer", {"target": "group:x"}),
        ("desk:invite", {"colleague": "1"}),
        ("desk:note", {"body": "x"}),
        ("desk:tags", {"tags": "x"}),
        ("desk:upload", {}),
    ]:
        url = reverse(name, args=[mine.id])
        response = client.get(url) if data is None else client.post(url, data)
        assert response.status_code == 404, name

    mine.refresh_from_db()
    assert (mine.status, mine.tags) == ("assigned", [])
    assert not InternalNote.objects.exists()


def test_a_note_is_kept_escaped_and_an_empty_one_refused(desk, mine):
    url = reverse("desk:note", args=[mine.id])

    empty = desk.post(url, {"body": "   "}, HTTP_X_REQUESTED_WITH="fetch")
    ok = desk.post(url, {"body": "<script>alert(1)</script>"}, HTTP_X_REQUESTED_WITH="fetch")
    page = desk.get(reverse("desk:conversation", args=[mine.id])).content.decode()

    assert empty.status_code == 400 and "detail" in empty.json()
    assert ok.status_code == 201
    assert InternalNote.objects.count() == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)</script>" not in page


def test_tags_are_saved_from_a_comma_list_in_either_script(desk, mine):
    desk.post(reverse("desk:tags", args=[mine.id]), {"tags": "退款，破损, refund ,,"})

    mine.refresh_from_db()
    assert mine.tags == ["退款", "破损", "refund"]


def test_the_agent_sets_their_status_and_a_bad_one_is_refused(desk, agent):
    desk.post(reverse("desk:status"), {"status": "away", "next": "https://evil.example/"})
    agent.refresh_from_db()
    assert agent.status == "away"

    response = desk.post(reverse("desk:status"), {"status": "busy"})
    agent.refresh_from_db()
    assert agent.status == "away"
    assert response["Location"] == reverse("desk:home")


def test_the_agent_uploads_a_picture_for_their_conversation(desk, mine):
    response = desk.post(
        reverse("desk:upload", args=[mine.id]),
        {"file": SimpleUploadedFile("照片.png", png(), content_type="image/png")},
    )

    assert response.status_code == 201
    attachment = Attachment.objects.get()
    assert (attachment.uploaded_by, attachment.content_type) == ("agent", "image/png")
    assert response.json()["name"] == "照片.png"


@pytest.mark.parametrize(
    "name, content, status",
    [
        ("page.png", b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>", 415),
        ("x.jpg.html", b"<html></html>", 415),
        ("../../etc/passwd", b"root:x:0:0", 415),
    ],
)
def test_a_dangerous_agent_upload_is_refused_and_nothing_stored(desk, mine, name, content, status):
    response = desk.post(
        reverse("desk:upload", args=[mine.id]), {"file": SimpleUploadedFile(name, content)}
    )

    assert response.status_code == status
    assert "detail" in response.json()
    assert not Attachment.objects.exists()


def test_an_oversized_agent_upload_is_413(desk, mine, settings):
    settings.ATTACHMENT_MAX_SIZE = 100

    response = desk.post(
        reverse("desk:upload", args=[mine.id]),
        {"file": SimpleUploadedFile("big.png", png() + b"\x00" * 200)},
    )

    assert response.status_code == 413
    assert not Attachment.objects.exists()


def test_only_the_assignee_uploads(client, mine):
    colleague = AgentFactory(status=Agent.Status.ONLINE)
    group = SkillGroupFactory()
    colleague.skill_groups.add(group)
    waiting = ConversationFactory(status="queued", skill_group=group)
    client.force_login(colleague.user)

    response = client.post(
        reverse("desk:upload", args=[waiting.id]),
        {"file": SimpleUploadedFile("a.png", png())},
    )

    assert response.status_code == 403
    assert not Attachment.objects.exists()


def test_the_board_is_for_supervisors(client, agent):
    from django.contrib.auth.models import Group

    from conversations.roles import ensure_roles

    client.force_login(agent.user)
    assert client.get(reverse("desk:board")).status_code == 403
    assert client.get(reverse("desk:board-live")).status_code == 403

    ensure_roles()
    boss = UserFactory()
    boss.groups.add(Group.objects.get(name="Supervisors"))
    AgentFactory(user=boss, display_name="陈主管")
    SkillGroupFactory(name_en="After-sales")
    client.force_login(boss)
    page = client.get(reverse("desk:board"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    body = page.content.decode()
    assert "After-sales" in body and agent.display_name in body


def test_the_agent_sends_a_voice_note_but_never_another_conversations_file(live):
    import asyncio

    from conversations.services.attachments import store_attachment
    from tests.wsclient import Socket, login_cookie, open_session

    def ogg(name):
        return SimpleUploadedFile(name, b"OggS" + b"\x00" * 200, content_type="audio/ogg")

    agent = AgentFactory()
    session = open_session(live)
    take_conversation(conversation_id=session["conversation"], agent=agent)
    voice = store_attachment(
        conversation_id=UUID(session["conversation"]), uploaded_by="agent", upload=ogg("语音.ogg")
    )
    elsewhere = ConversationFactory(status="assigned", assignee=agent)
    foreign = store_attachment(
        conversation_id=elsewhere.id, uploaded_by="agent", upload=ogg("x.ogg")
    )
    cookie = login_cookie(agent.user)

    async def scenario():
        customer = await Socket.chat(live, session["token"])
        desk = await Socket.desk(live, cookie)
        frame = {"type": "message.send", "conversation": session["conversation"], "body": ""}
        await desk.send({**frame, "client_id": "f1", "attachments": [str(foreign.id)]})
        refused = await desk.expect("error")
        await desk.send({**frame, "client_id": "v1", "attachments": [str(voice.id)]})
        received = await customer.message()
        await customer.close()
        await desk.close()
        return refused, received

    refused, received = asyncio.run(scenario())

    assert (refused["code"], refused["client_id"]) == ("not_found", "f1")
    assert received["sender"] == "agent"
    assert [(a["name"], a["content_type"]) for a in received["attachments"]] == [
        ("语音.ogg", "audio/ogg")
    ]
    foreign.refresh_from_db()
    assert foreign.message is None
