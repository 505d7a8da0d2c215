"""Rotating the secrets (docs/operations.md, "Rotating secrets"): while the old key is
listed as a fallback, what it signed is still accepted — staff sessions, chat tokens
and identity hashes — and once it is taken off the list, it is not."""

import uuid

import pytest
from django.test import Client

from conversations.services.sessions import issue_chat_token, read_chat_token
from customers.services import Identity, IdentityRefused, identity_hash, verify_identity
from tests.factories import AgentFactory, ConversationFactory

pytestmark = pytest.mark.django_db

OLD, NEW = "old-" + "k" * 50, "new-" + "k" * 50


def _logged_in(agent) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(agent.user)
    return client


def test_a_staff_session_survives_the_rotation_while_the_old_key_is_a_fallback(settings):
    """A session used during the rotation is moved over to the new key; one that was not
    used before the old key is dropped must log in again."""
    settings.SECRET_KEY = OLD
    agent = AgentFactory()
    used, idle = _logged_in(agent), _logged_in(agent)
    assert used.get("/desk/").status_code == 200

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, [OLD]
    assert used.get("/desk/").status_code == 200

    settings.SECRET_KEY_FALLBACKS = []
    assert used.get("/desk/").status_code == 200
    response = idle.get("/desk/")
    assert response.status_code == 302
    assert response["Location"].startswith("/desk/login/")


def test_a_chat_token_signed_with_the_old_key_is_read_only_while_it_is_a_fallback(settings):
    conversation = ConversationFactory()
    settings.SECRET_KEY = OLD
    token = issue_chat_token(conversation)

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = NEW, [OLD]
    assert read_chat_token(token) == (conversation.customer_id, conversation.id)

    settings.SECRET_KEY_FALLBACKS = []
    assert read_chat_token(token) is None


def test_an_identity_hash_made_with_the_old_secret_is_accepted_only_while_it_is_a_fallback(
    settings,
):
    external_id = f"u-{uuid.uuid4().hex[:8]}"
    made_with_old = Identity(external_id=external_id, hash=identity_hash(external_id, OLD))
    settings.CHAT_IDENTITY_SECRET, settings.CHAT_IDENTITY_SECRET_FALLBACKS = NEW, [OLD]

    verify_identity(made_with_old)
    verify_identity(Identity(external_id=external_id, hash=identity_hash(external_id, NEW)))

    settings.CHAT_IDENTITY_SECRET_FALLBACKS = []
    with pytest.raises(IdentityRefused):
        verify_identity(made_with_old)
    with pytest.raises(IdentityRefused):
        verify_identity(Identity(external_id=external_id, hash=""))
