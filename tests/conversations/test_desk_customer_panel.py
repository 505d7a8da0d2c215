"""The customer 360° panel in the desk: shown with the conversation, its fragment, and the
notes and tags agents keep, for those who may see the conversation only."""

import pytest
from django.urls import reverse

from conversations.models import Conversation
from customers.models import CustomerNote, CustomerTag
from tests.factories import (
    AgentFactory,
    ConversationFactory,
    CustomerFactory,
    CustomerNoteFactory,
    CustomerTagFactory,
    OrderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

XSS = '<img src=x onerror="alert(1)">'


@pytest.fixture
def agent():
    return AgentFactory()


@pytest.fixture
def conversation(agent):
    customer = CustomerFactory(name="王芳", level="vip", external_id="demo-1")
    return ConversationFactory(
        customer=customer, status=Conversation.Status.ASSIGNED, assignee=agent
    )


@pytest.fixture
def logged_in(client, agent):
    client.force_login(agent.user)
    return client


def _url(name, conversation, *args):
    return reverse(f"desk:{name}", args=[conversation.id, *args])


def test_the_conversation_page_shows_the_customers_panel(logged_in, conversation):
    OrderFactory(customer=conversation.customer, number="LM1", tracking_number="SF777")
    wechat = ConversationFactory(customer=conversation.customer, channel="wechat")
    CustomerNoteFactory(customer=conversation.customer, body="avoid price talk")

    body = logged_in.get(_url("conversation", conversation)).content.decode()

    assert '<aside class="customer-panel" id="customer-panel"' in body
    assert "LM1" in body and "SF777" in body
    assert "avoid price talk" in body
    assert reverse("desk:conversation", args=[wechat.id]) in body


def test_the_fragment_is_the_panel_alone(logged_in, conversation):
    response = logged_in.get(_url("customer-panel", conversation))

    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="customer-level"' in body
    assert "<html" not in body


def test_an_agent_adds_a_note_and_comes_back_to_the_conversation(logged_in, conversation, agent):
    response = logged_in.post(_url("customer-note-add", conversation), {"body": "avoid price talk"})

    note = CustomerNote.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _url("conversation", conversation) + "#customer-panel"
    assert (note.customer, note.author, note.body) == (
        conversation.customer,
        agent.user,
        "avoid price talk",
    )


def test_a_fetch_gets_the_refreshed_panel(logged_in, conversation):
    response = logged_in.post(
        _url("customer-note-add", conversation),
        {"body": "call after 6pm"},
        headers={"X-Requested-With": "fetch"},
    )

    assert response.status_code == 200
    assert "call after 6pm" in response.content.decode()


def test_a_note_is_edited_by_a_colleague(client, conversation):
    note = CustomerNoteFactory(customer=conversation.customer, body="old")
    colleague = AgentFactory(user=UserFactory(is_superuser=True))
    client.force_login(colleague.user)

    client.post(_url("customer-note-edit", conversation, note.pk), {"body": "new"})

    note.refresh_from_db()
    assert (note.body, note.last_edited_by) == ("new", colleague.user)


def test_the_author_deletes_their_note(logged_in, conversation, agent):
    note = CustomerNoteFactory(customer=conversation.customer, author=agent.user)

    response = logged_in.post(_url("customer-note-delete", conversation, note.pk))

    assert response.status_code == 302
    assert not CustomerNote.objects.exists()


def test_another_agents_note_is_not_theirs_to_delete(logged_in, conversation):
    note = CustomerNoteFactory(customer=conversation.customer)

    response = logged_in.post(_url("customer-note-delete", conversation, note.pk))

    assert response.status_code == 403
    assert CustomerNote.objects.filter(pk=note.pk).exists()


def test_a_supervisor_deletes_any_note(client, conversation):
    note = CustomerNoteFactory(customer=conversation.customer)
    client.force_login(AgentFactory(user=UserFactory(is_superuser=True)).user)

    client.post(_url("customer-note-delete", conversation, note.pk))

    assert not CustomerNote.objects.exists()


def test_tags_are_added_and_removed(logged_in, conversation):
    logged_in.post(_url("customer-tag-add", conversation), {"name": "price sensitive"})
    tag = CustomerTag.objects.get()

    page = logged_in.get(_url("conversation", conversation)).content.decode()
    logged_in.post(_url("customer-tag-remove", conversation, tag.pk))

    assert "price sensitive" in page
    assert not CustomerTag.objects.exists()


def test_a_hostile_note_and_tag_are_shown_escaped(logged_in, conversation):
    logged_in.post(_url("customer-note-add", conversation), {"body": XSS})
    logged_in.post(_url("customer-tag-add", conversation), {"name": "<b>x</b>"})

    body = logged_in.get(_url("conversation", conversation)).content.decode()

    assert XSS not in body and "<b>x</b>" not in body
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in body
    assert "&lt;b&gt;x&lt;/b&gt;" in body


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("customer-note-add", {"body": "  "}),
        ("customer-note-add", {"body": "x" * 2001}),
        ("customer-note-add", {}),
        ("customer-tag-add", {"name": ""}),
        ("customer-tag-add", {"name": "x" * 41}),
    ],
)
def test_bad_input_is_a_400_with_the_reason(logged_in, conversation, name, data):
    page = logged_in.post(_url(name, conversation), data)
    fragment = logged_in.post(_url(name, conversation), data, headers={"X-Requested-With": "fetch"})

    assert (page.status_code, fragment.status_code) == (400, 400)
    assert 'class="panel-error"' in page.content.decode()
    assert 'class="panel-error"' in fragment.content.decode()
    assert not CustomerNote.objects.exists() and not CustomerTag.objects.exists()


def test_an_automatic_tag_is_not_removed_by_hand(logged_in, conversation):
    tag = CustomerTagFactory(customer=conversation.customer, source=CustomerTag.Source.AUTO)

    response = logged_in.post(_url("customer-tag-remove", conversation, tag.pk))

    assert response.status_code == 400
    assert CustomerTag.objects.filter(pk=tag.pk).exists()


def test_another_agents_conversation_is_a_404_for_panel_and_writes(client, conversation):
    stranger = AgentFactory()
    client.force_login(stranger.user)

    assert client.get(_url("customer-panel", conversation)).status_code == 404
    assert client.get(_url("conversation", conversation)).status_code == 404
    assert client.post(_url("customer-note-add", conversation), {"body": "x"}).status_code == 404
    assert client.post(_url("customer-tag-add", conversation), {"name": "x"}).status_code == 404
    assert not CustomerNote.objects.exists() and not CustomerTag.objects.exists()


def test_another_customers_note_or_tag_is_a_404(logged_in, conversation):
    note = CustomerNoteFactory(body="theirs")
    tag = CustomerTagFactory()

    edit = logged_in.post(_url("customer-note-edit", conversation, note.pk), {"body": "mine"})
    delete = logged_in.post(_url("customer-note-delete", conversation, note.pk))
    remove = logged_in.post(_url("customer-tag-remove", conversation, tag.pk))

    assert (edit.status_code, delete.status_code, remove.status_code) == (404, 404, 404)
    note.refresh_from_db()
    assert note.body == "theirs" and CustomerTag.objects.filter(pk=tag.pk).exists()


def test_the_past_conversations_of_a_customer_being_served_are_linked(logged_in, conversation):
    closed = ConversationFactory(customer=conversation.customer, status="closed")

    body = logged_in.get(_url("customer-panel", conversation)).content.decode()

    assert reverse("desk:conversation", args=[closed.id]) in body


def test_a_past_conversation_is_listed_without_a_link_when_not_visible(client):
    agent = AgentFactory()
    customer = CustomerFactory()
    current = ConversationFactory(customer=customer, status=Conversation.Status.BOT)
    other = ConversationFactory(customer=customer, status=Conversation.Status.CLOSED)
    client.force_login(agent.user)

    body = client.get(_url("customer-panel", current)).content.decode()

    assert f'data-conversation="{other.id}"' in body
    assert reverse("desk:conversation", args=[other.id]) not in body


def test_anonymous_visitors_are_sent_to_log_in(client, conversation):
    response = client.get(_url("customer-panel", conversation))
    post = client.post(_url("customer-note-add", conversation), {"body": "x"})

    assert response.status_code == 302 and response["Location"].startswith(reverse("desk:login"))
    assert post.status_code == 302 and post["Location"].startswith(reverse("desk:login"))
    assert not CustomerNote.objects.exists()


def test_the_fragment_is_read_only(logged_in, conversation):
    assert logged_in.post(_url("customer-panel", conversation)).status_code == 405


def test_the_panel_lists_the_customers_tickets_with_hostile_subjects_inert(logged_in, conversation):
    from tickets.services import open_ticket

    opened = open_ticket(
        customer=conversation.customer, subject=XSS, type_code="repair", source="agent"
    )

    body = logged_in.get(_url("customer-panel", conversation)).content.decode()

    assert f'data-ticket="{opened.number}"' in body
    assert XSS not in body and "&lt;img src=x" in body
