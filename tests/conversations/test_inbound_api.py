"""POST /api/v1/inbound/messages/: messages a partner relays from WeChat, the app, SMS…
(contracts/partner-api.md; docs/api.md, "Inbound messages")."""

import json

import pytest

from conversations.models import Conversation, Message
from conversations.selectors import customer_conversations
from conversations.services import close_conversation, open_chat_session
from customers.models import Customer, CustomerIdentity
from customers.services import Identity, identity_hash
from helpdesk.models import ApiKey, IdempotencyKey
from tests.factories import AgentFactory, CustomerFactory

pytestmark = pytest.mark.django_db

INBOUND = "/api/v1/inbound/messages/"


@pytest.fixture
def raw_key():
    _, raw = ApiKey.issue(name="WeChat relay", scopes=["conversations"])
    return raw


@pytest.fixture
def api(client, raw_key):
    class Api:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}", "HTTP_ACCEPT_LANGUAGE": "en"}

        def post(self, body, **extra):
            return client.post(
                INBOUND, json.dumps(body), content_type="application/json", **self.headers, **extra
            )

        def post_raw(self, content, content_type="application/json"):
            return client.post(INBOUND, content, content_type=content_type, **self.headers)

    return Api()


def wechat(text="退货政策是怎样的？", client_id="wx-1", customer="u-1001", **more):
    return {"channel": "wechat", "customer": customer, "client_id": client_id, "body": text, **more}


def history(conversation_id) -> list[tuple[str, str]]:
    return list(
        Message.objects.filter(conversation_id=conversation_id)
        .order_by("seq")
        .values_list("sender", "body")
    )


# --- the pipeline ----------------------------------------------------------------------------


def test_a_wechat_message_starts_a_conversation_and_the_bot_answers_it(api, demo_kb):
    response = api.post(wechat())

    assert response.status_code == 201
    body = response.json()
    conversation = Conversation.objects.get()
    assert body["conversation"] == {"id": str(conversation.id), "channel": "wechat"}
    assert body["message"]["seq"] == 1
    assert body["message"]["sender"] == "customer"
    assert body["message"]["client_id"] == "wx-1"
    assert conversation.channel == "wechat"
    assert conversation.customer.external_id == "u-1001"
    senders = [sender for sender, _ in history(conversation.id)]
    assert senders == ["customer", "bot"]
    reply = Message.objects.get(conversation=conversation, sender="bot")
    assert reply.meta["article"] == "returns-policy"


def test_the_next_message_joins_the_open_conversation(api, demo_kb):
    first = api.post(wechat(client_id="wx-1")).json()

    second = api.post(wechat("谢谢", client_id="wx-2")).json()

    assert second["conversation"]["id"] == first["conversation"]["id"]
    assert second["message"]["seq"] == 3  # after the bot's answer to the first
    assert Conversation.objects.count() == 1


def test_a_closed_conversation_is_not_joined_a_new_one_starts(api, demo_kb):
    first = api.post(wechat(client_id="wx-1")).json()
    close_conversation(conversation_id=first["conversation"]["id"])

    second = api.post(wechat("还有一个问题", client_id="wx-2")).json()

    assert second["conversation"]["id"] != first["conversation"]["id"]
    assert second["message"]["seq"] == 1


def test_another_channel_of_the_same_customer_has_its_own_conversation(api, demo_kb):
    on_wechat = api.post(wechat(client_id="m-1")).json()

    by_sms = api.post({**wechat(client_id="m-1"), "channel": "sms"}).json()

    assert by_sms["conversation"]["id"] != on_wechat["conversation"]["id"]
    assert by_sms["conversation"]["channel"] == "sms"
    assert Customer.objects.count() == 1


def test_the_customer_is_found_by_their_shop_account(api, demo_kb):
    known = CustomerFactory(external_id="u-1001", name="王芳")

    api.post(wechat())

    assert Conversation.objects.get().customer == known
    assert Customer.objects.count() == 1


def test_a_new_customer_is_created_with_the_account_verified_by_the_partner(api, demo_kb):
    api.post(wechat(name="王芳", language="en"))

    customer = Customer.objects.get()
    assert (customer.external_id, customer.name) == ("u-1001", "王芳")
    identity = customer.identities.get()
    assert (identity.kind, identity.verified, identity.verified_by) == (
        CustomerIdentity.Kind.ACCOUNT,
        True,
        CustomerIdentity.Method.PARTNER_API,
    )
    assert Conversation.objects.get().language == "en"


def test_wechat_then_web_chat_with_a_verified_identity_is_one_customer_and_one_history(
    api, demo_kb
):
    on_wechat = api.post(wechat()).json()

    session = open_chat_session(
        channel="web",
        language="zh",
        identity=Identity(external_id="u-1001", hash=identity_hash("u-1001")),
    )

    assert Customer.objects.count() == 1
    web = session.conversation
    assert web.customer.external_id == "u-1001"
    wechat_conversation = Conversation.objects.get(pk=on_wechat["conversation"]["id"])
    assert web.customer_id == wechat_conversation.customer_id
    # The desk's 360° panel beside the web chat lists the WeChat conversation.
    supervisor = AgentFactory(user__is_superuser=True)
    panel = customer_conversations(web.customer_id, exclude=web.pk, agent=supervisor)
    assert [c.pk for c in panel["latest"]] == [wechat_conversation.pk]
    assert set(panel["channels"]) == {"WeChat", "Web"}


def test_a_conversation_with_an_agent_is_not_answered_by_the_bot(api, demo_kb):
    first = api.post(wechat("转人工", client_id="wx-1")).json()
    conversation = Conversation.objects.get(pk=first["conversation"]["id"])
    assert conversation.status == Conversation.Status.QUEUED
    before = Message.objects.filter(conversation=conversation).count()

    api.post(wechat("在吗？", client_id="wx-2"))

    senders = [sender for sender, _ in history(conversation.id)][before:]
    assert senders == ["customer"]


# --- retries -----------------------------------------------------------------------------------


def test_a_retry_with_the_same_client_id_gets_the_same_response_and_stores_nothing(api, demo_kb):
    first = api.post(wechat())
    count = Message.objects.count()

    again = api.post(wechat())

    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Message.objects.count() == count  # no second message, no second answer


def test_a_retry_after_the_conversation_closed_is_still_the_first_message(api, demo_kb):
    first = api.post(wechat()).json()
    close_conversation(conversation_id=first["conversation"]["id"])

    again = api.post(wechat())

    assert again.json() == first
    assert Conversation.objects.count() == 1


def test_an_idempotency_key_replays_the_first_response(api, demo_kb):
    first = api.post(wechat(), HTTP_IDEMPOTENCY_KEY="k-1")

    again = api.post(wechat(), HTTP_IDEMPOTENCY_KEY="k-1")

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Message.objects.filter(sender="customer").count() == 1
    assert IdempotencyKey.objects.count() == 1


def test_an_idempotency_key_with_another_body_is_409(api, demo_kb):
    api.post(wechat(), HTTP_IDEMPOTENCY_KEY="k-1")

    response = api.post(wechat("别的", client_id="wx-2"), HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 409
    assert Message.objects.filter(sender="customer").count() == 1


# --- errors ------------------------------------------------------------------------------------

BAD_FIELDS = [
    ({"channel": "web"}, "channel"),
    ({"channel": "telegram"}, "channel"),
    ({"channel": None}, "channel"),
    ({"customer": ""}, "customer"),
    ({"customer": 1001}, "customer"),
    ({"customer": "u" * 129}, "customer"),
    ({"customer": " \x00 "}, "customer"),
    ({"client_id": ""}, "client_id"),
    ({"client_id": "x" * 65}, "client_id"),
    ({"client_id": 7}, "client_id"),
    ({"body": ""}, "body"),
    ({"body": "   "}, "body"),
    ({"body": "x" * 4001}, "body"),
    ({"body": ["hi"]}, "body"),
    ({"attachments": "https://cdn.example/a.png"}, "attachments"),
    ({"attachments": ["ftp://cdn.example/a.png"]}, "attachments"),
    ({"attachments": ["file:///etc/passwd"]}, "attachments"),
    ({"attachments": ["https://user:pw@cdn.example/a.png"]}, "attachments"),
    ({"attachments": ["not a url"]}, "attachments"),
    ({"attachments": [f"https://cdn.example/{i}.png" for i in range(11)]}, "attachments"),
    ({"language": "fr"}, "language"),
    ({"status": "closed"}, "status"),
]


@pytest.mark.parametrize("change, field", BAD_FIELDS)
def test_a_bad_field_is_400_naming_it_and_leaves_nothing(api, change, field):
    response = api.post({**wechat(), **change})

    assert response.status_code == 400
    assert field in response.json()
    assert not Message.objects.exists()
    assert not Conversation.objects.exists()
    assert not Customer.objects.exists()


@pytest.mark.parametrize("missing", ["channel", "customer", "client_id"])
def test_a_missing_field_is_400(api, missing):
    body = wechat()
    del body[missing]

    response = api.post(body)

    assert response.status_code == 400
    assert missing in response.json()
    assert not Customer.objects.exists()


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '"hi"', "[" * 100_000 + "]" * 100_000])
def test_a_body_that_is_not_a_json_object_is_400(api, body):
    response = api.post_raw(body)

    assert response.status_code == 400
    assert not Message.objects.exists()


def test_a_body_that_is_not_json_is_415(api):
    response = api.post_raw("channel=wechat&customer=u-1", "application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert not Message.objects.exists()


def test_a_huge_body_is_413_and_stores_nothing(api, settings):
    response = api.post(wechat("x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)))

    assert response.status_code == 413
    assert not Message.objects.exists()
    assert not Customer.objects.exists()


def test_no_key_is_401(client):
    response = client.post(INBOUND, json.dumps(wechat()), content_type="application/json")

    assert response.status_code == 401
    assert not Message.objects.exists()


def test_a_key_without_the_conversations_scope_is_403(client):
    _, raw = ApiKey.issue(name="CRM", scopes=["tickets", "bot"])

    response = client.post(
        INBOUND,
        json.dumps(wechat()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )

    assert response.status_code == 403
    assert not Customer.objects.exists()


def test_each_key_is_throttled_with_retry_after(api, settings, demo_kb):
    settings.API_KEY_RATE = "2/min"

    codes = [api.post(wechat(client_id=f"wx-{i}")) for i in range(3)]

    assert [response.status_code for response in codes] == [201, 201, 429]
    assert int(codes[-1]["Retry-After"]) > 0
    assert Message.objects.filter(sender="customer").count() == 2
