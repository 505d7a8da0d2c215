"""Stored XSS in a real browser (issue 10): every payload of tests/helpdesk/test_xss.py sets
`window.__xss` if it ever runs. The desk's conversation page and a team room are loaded
with payloads in every field they show, then more arrive live over the websocket (the
customer's messages and files, an agent's reply, a colleague's note, room messages and a
room file, rendered by desk.js and rooms.js); `window.__xss` is never set and no element
carries a handler."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from conversations.models import Conversation
from conversations.rooms.services import post_message, store_room_attachment
from conversations.services import add_internal_note, post_agent_message, post_customer_message
from conversations.services.attachments import store_attachment
from customers.models import CustomerNote, CustomerTag
from tests.conversations.rooms_helpers import team
from tests.conversations.upload_helpers import PDF, png
from tests.e2e.desk_pages import open_conversation, open_desk
from tests.factories import ConversationFactory, CustomerFactory
from tests.helpdesk.test_xss import PAYLOADS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HANDLERS = "[onerror], [onload], [onclick], [onmouseover], [onfocus], iframe[srcdoc]"
SCRIPT_LINKS = "a[href^='javascript:' i], a[href^='data:' i], iframe, object, embed"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _hostile_files(store, payloads):
    """A PDF and a PNG under each hostile name (the PNG is shown inline)."""
    return [
        store(SimpleUploadedFile(payload[:190] + suffix, content))
        for payload in payloads
        for suffix, content in ((".pdf", PDF), (".png", png()))
    ]


def _assert_nothing_ran(page):
    page.wait_for_load_state("networkidle")  # every image that could fail has failed
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator(HANDLERS).count() == 0
    assert page.locator(SCRIPT_LINKS).count() == 0


def test_payloads_in_the_desk_conversation_stay_text_loaded_and_live(
    live, new_context, call_service
):
    def served():
        room, (agent, colleague) = team(PAYLOADS["svg-onload"][:80], PAYLOADS["script"][:80])
        customer = CustomerFactory(name=PAYLOADS["img-onerror"], level="vip")
        CustomerNote.objects.create(
            customer=customer, author=colleague.user, body=PAYLOADS["script"]
        )
        CustomerTag.objects.create(customer=customer, name=PAYLOADS["attr-break-double"][:40])
        conversation = ConversationFactory(
            customer=customer,
            status=Conversation.Status.ASSIGNED,
            assignee=agent,
            skill_group=room.skill_group,
            tags=[PAYLOADS["textarea-break"][:40]],
        )
        for n, payload in enumerate(PAYLOADS.values()):
            post_customer_message(conversation_id=conversation.id, client_id=f"c{n}", body=payload)
        return agent, colleague, conversation

    agent, colleague, conversation = call_service(served)
    page = open_desk(new_context, live, agent)
    open_conversation(page, live, conversation.id)
    expect(page.locator("#desk-messages")).to_contain_text(PAYLOADS["script"])

    files = call_service(
        lambda: _hostile_files(
            lambda upload: store_attachment(
                conversation_id=conversation.id, uploaded_by="customer", upload=upload
            ),
            [PAYLOADS["img-onerror"], PAYLOADS["attr-break-single"]],
        )
    )
    call_service(
        post_customer_message,
        conversation_id=conversation.id,
        client_id="files",
        body=PAYLOADS["iframe-srcdoc"],
        attachment_ids=[f.id for f in files],
    )
    for n, payload in enumerate(PAYLOADS.values()):
        call_service(
            post_agent_message,
            conversation=conversation,
            agent=agent,
            client_id=f"a{n}",
            body=payload,
        )
    call_service(
        add_internal_note,
        conversation_id=conversation.id,
        agent=agent,
        body=PAYLOADS["svg-onload"],
    )

    messages = page.locator("#desk-messages")
    expect(messages.locator("li.from-agent")).to_have_count(len(PAYLOADS))
    expect(messages.locator("li.internal-note")).to_contain_text(PAYLOADS["svg-onload"])
    expect(messages).to_contain_text(PAYLOADS["iframe-srcdoc"])
    expect(messages).to_contain_text(PAYLOADS["attr-break-single"][:190] + ".pdf")
    expect(page.locator("#customer-panel")).to_contain_text(PAYLOADS["script"])
    _assert_nothing_ran(page)

    page.reload()
    expect(page.locator("#desk-messages li.from-agent")).to_have_count(len(PAYLOADS))
    _assert_nothing_ran(page)


def test_payloads_in_a_team_room_stay_text_loaded_and_live(live, new_context, call_service):
    def room_with_payloads():
        room, (wang, zhang) = team(PAYLOADS["img-onerror"][:80], PAYLOADS["title-break"][:80])
        for n, payload in enumerate(PAYLOADS.values()):
            post_message(room=room, author=zhang, body=payload, client_id=f"z{n}")
        return room, wang, zhang

    room, wang, zhang = call_service(room_with_payloads)
    page = open_desk(new_context, live, wang, path=f"/desk/rooms/{room.pk}/")
    listed = page.locator("#room-messages .room-message")
    expect(listed).to_have_count(len(PAYLOADS))

    def live_messages():
        files = _hostile_files(
            lambda upload: store_room_attachment(room=room, by=zhang, upload=upload),
            [PAYLOADS["attr-break-double"], PAYLOADS["svg-onload"]],
        )
        post_message(
            room=room,
            author=zhang,
            body=PAYLOADS["md-javascript-link"],
            client_id="files",
            attachment_ids=[str(f.pk) for f in files],
        )
        for n, payload in enumerate(PAYLOADS.values()):
            post_message(room=room, author=zhang, body=payload, client_id=f"live{n}")

    call_service(live_messages)

    expect(listed).to_have_count(2 * len(PAYLOADS) + 1)
    expect(page.locator("#room-messages")).to_contain_text(PAYLOADS["svg-onload"][:190] + ".pdf")
    _assert_nothing_ran(page)

    page.reload()
    expect(listed).to_have_count(2 * len(PAYLOADS) + 1)
    _assert_nothing_ran(page)
