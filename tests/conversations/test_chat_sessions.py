"""POST /api/v1/chat/sessions/ — contracts/chat-protocol.md §1, over real HTTP."""

import httpx
import pytest

from conversations.models import Conversation
from customers.models import Customer
from customers.services import identity_hash
from tests.wsclient import open_session

pytestmark = pytest.mark.django_db(transaction=True)


def test_new_visitor_gets_a_token_and_a_bot_conversation(live):
    session = open_session(live, channel="web", language="en")

    assert session["status"] == "bot"
    assert session["websocket"] == "/ws/chat/"
    assert session["last_seq"] == 0
    conversation = Conversation.objects.get(pk=session["conversation"])
    assert conversation.language == "en"
    assert conversation.customer.external_id is None


def test_a_token_of_an_open_conversation_resumes_it(live):
    first = open_session(live)

    again = open_session(live, token=first["token"])

    assert again["conversation"] == first["conversation"]
    assert Conversation.objects.count() == 1
    assert Customer.objects.count() == 1


def test_a_token_of_a_closed_conversation_starts_a_new_one_for_the_same_customer(live):
    first = open_session(live)
    Conversation.objects.filter(pk=first["conversation"]).update(status="closed")

    again = open_session(live, token=first["token"])

    assert again["conversation"] != first["conversation"]
    assert Customer.objects.count() == 1


def test_a_vouched_identity_is_one_customer_across_sessions(live):
    identity = {"external_id": "u-1001", "name": "王芳", "hash": identity_hash("u-1001")}

    first = open_session(live, channel="web", identity=identity)
    second = open_session(live, channel="web", identity=identity)

    assert second["conversation"] == first["conversation"]
    customer = Customer.objects.get(external_id="u-1001")
    assert customer.name == "王芳"


@pytest.mark.parametrize("bad_hash", ["", "0" * 64, identity_hash("someone-else")])
def test_a_wrong_or_missing_identity_hash_is_refused_and_nothing_is_created(live, bad_hash):
    identity = {"external_id": "u-2002", "name": "冒名者", "hash": bad_hash}

    response = httpx.post(f"{live.url}/api/v1/chat/sessions/", json={"identity": identity})

    assert response.status_code == 403
    assert "identity" in response.json()["detail"]
    assert not Customer.objects.exists()
    assert not Conversation.objects.exists()


def test_a_tampered_token_starts_afresh_rather_than_resuming(live):
    first = open_session(live)

    again = open_session(live, token=first["token"][:-2] + "xx")

    assert again["conversation"] != first["conversation"]


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("not json", "application/json"),
        ("[1, 2, 3]", "application/json"),
        ('{"channel": "telegram"}', "application/json"),
        ('{"language": 7}', "application/json"),
        ('{"identity": "u-1"}', "application/json"),
        ('{"identity": {"external_id": ["x"]}}', "application/json"),
        ('{"token": ' + '"' + "a" * 600 + '"}', "application/json"),
        ("channel=web", "application/x-www-form-urlencoded"),
    ],
)
def test_bad_input_gets_a_clear_400_and_leaves_nothing(live, body, content_type):
    response = httpx.post(
        f"{live.url}/api/v1/chat/sessions/", content=body, headers={"Content-Type": content_type}
    )

    assert response.status_code in (400, 415)
    assert response.json()  # DRF's shape: {"detail": …} or {"field": […]}
    assert not Customer.objects.exists()


def test_a_huge_body_is_refused_without_a_server_error(live):
    body = '{"page": {"title": "' + "x" * (2 * 1024 * 1024) + '"}}'

    response = httpx.post(
        f"{live.url}/api/v1/chat/sessions/",
        content=body,
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code in (400, 413)
    assert not Customer.objects.exists()


def test_sessions_are_rate_limited_per_ip(client, settings, transactional_db):
    settings.CHAT_SESSION_RATE = "3/min"

    codes = [
        client.post("/api/v1/chat/sessions/", {}, content_type="application/json").status_code
        for _ in range(5)
    ]

    assert codes == [201, 201, 201, 429, 429]
    assert Customer.objects.count() == 3
