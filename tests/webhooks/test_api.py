"""The partner API for webhook subscriptions: /api/v1/webhooks/ (contracts/partner-api.md)."""

import json

import pytest

from helpdesk.models import (
    ApiKey,
    IdempotencyKey,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from helpdesk.webhooks import deliveries, emit, subscriptions

pytestmark = pytest.mark.django_db

WEBHOOKS = "/api/v1/webhooks/"
PUBLIC = "93.184.216.34"
BODY = {
    "url": "https://crm.partner.test/hooks/lumen",
    "events": ["ticket.updated", "ticket.created"],
}


@pytest.fixture(autouse=True)
def partner_dns(dns):
    for n in ("crm", "erp", "app", "wechat", "sms", "other"):
        dns[f"{n}.partner.test"] = [PUBLIC]
    return dns


@pytest.fixture
def raw_key():
    _, raw = ApiKey.issue(name="CRM", scopes=["webhooks"])
    return raw


@pytest.fixture
def api(client, raw_key):
    return Api(client, raw_key)


class Api:
    """The test client speaking JSON with a key, in English."""

    def __init__(self, client, raw_key):
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}", "HTTP_ACCEPT_LANGUAGE": "en"}
        self.key = ApiKey.objects.get(prefix=raw_key[:10])

    def get(self, path, params=None):
        return self.client.get(path, params or {}, **self.headers)

    def post(self, path, body, **extra):
        return self.client.post(
            path, json.dumps(body), content_type="application/json", **self.headers, **extra
        )

    def post_raw(self, path, content, content_type="application/json"):
        return self.client.post(path, content, content_type=content_type, **self.headers)

    def delete(self, path):
        return self.client.delete(path, **self.headers)


def other_api(client) -> Api:
    _, raw = ApiKey.issue(name="ERP", scopes=["webhooks"])
    return Api(client, raw)


# --- POST /webhooks/ -------------------------------------------------------------------------


def test_a_partner_subscribes_and_sees_the_secret_once(api):
    response = api.post(WEBHOOKS, BODY)

    assert response.status_code == 201
    body = response.json()
    subscription = WebhookSubscription.objects.get()
    assert body["id"] == str(subscription.pk)
    assert body["secret"] == subscription.secret
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["url"] == BODY["url"]
    assert body["events"] == ["ticket.created", "ticket.updated"]  # the contract's order
    assert (body["active"], body["consecutive_failures"], body["disabled_at"]) == (True, 0, None)
    assert body["created_at"].endswith("Z")
    assert subscription.api_key == api.key
    listed = api.get(WEBHOOKS).json()["results"]
    assert [item["id"] for item in listed] == [body["id"]]
    assert "secret" not in listed[0]


def test_each_subscription_gets_its_own_secret(api):
    first = api.post(WEBHOOKS, BODY).json()
    second = api.post(WEBHOOKS, {**BODY, "url": "https://erp.partner.test/hook"}).json()

    assert first["secret"] != second["secret"]


def test_the_same_idempotency_key_twice_subscribes_once_and_replays_the_answer(api):
    first = api.post(WEBHOOKS, BODY, HTTP_IDEMPOTENCY_KEY="sub-1")
    again = api.post(WEBHOOKS, BODY, HTTP_IDEMPOTENCY_KEY="sub-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert WebhookSubscription.objects.count() == 1


def test_the_same_idempotency_key_with_another_body_is_409(api):
    api.post(WEBHOOKS, BODY, HTTP_IDEMPOTENCY_KEY="sub-1")

    response = api.post(
        WEBHOOKS, {**BODY, "url": "https://erp.partner.test/hook"}, HTTP_IDEMPOTENCY_KEY="sub-1"
    )

    assert response.status_code == 409
    assert response.json()["detail"] == (
        "This Idempotency-Key was already used with a different request."
    )
    assert WebhookSubscription.objects.count() == 1


def test_a_second_subscription_to_the_same_url_is_409(api):
    api.post(WEBHOOKS, BODY)

    response = api.post(WEBHOOKS, {**BODY, "events": ["survey.answered"]})

    assert response.status_code == 409
    assert response.json()["detail"] == "This key already has a subscription to this URL."
    assert WebhookSubscription.objects.count() == 1


def test_another_key_may_subscribe_the_same_url(api, client):
    api.post(WEBHOOKS, BODY)

    assert other_api(client).post(WEBHOOKS, BODY).status_code == 201


def test_a_key_has_at_most_the_configured_number_of_subscriptions(api, settings):
    settings.WEBHOOK_MAX_SUBSCRIPTIONS = 2
    for host in ("crm", "erp"):
        api.post(WEBHOOKS, {**BODY, "url": f"https://{host}.partner.test/hook"})

    response = api.post(WEBHOOKS, {**BODY, "url": "https://app.partner.test/hook"})

    assert response.status_code == 400
    assert response.json() == {
        "detail": "This key already has 2 subscriptions, the most it may have."
    }
    assert WebhookSubscription.objects.count() == 2


@pytest.mark.parametrize(
    "change",
    [
        {"url": 5},
        {"url": ""},
        {"url": ["https://crm.partner.test/"]},
        {"url": "https://crm.partner.test/" + "x" * 2000},
        {"url": "https://crm.partner.test/\u0000"},
        {"events": []},
        {"events": "ticket.created"},
        {"events": ["ticket.deleted"]},
        {"events": ["webhook.test"]},
        {"events": [1]},
        {"events": [None]},
        {"events": ["ticket.created"] * 10},
        {"active": "yes"},
        {"active": 1},
        {"secret": "whsec_mine"},
        {"api_key": 1},
        {"id": "0193a1f2-6b7c-7d2e-9f10-4a5b6c7d8e9f"},
        {"consecutive_failures": 0},
        {"disabled_at": None},
    ],
)
def test_bad_values_are_field_errors_and_subscribe_nothing(api, change):
    response = api.post(WEBHOOKS, BODY | change)

    assert response.status_code == 400
    assert list(response.json()) == list(change)
    assert not WebhookSubscription.objects.exists()


def test_missing_fields_are_named(api):
    response = api.post(WEBHOOKS, {})

    assert response.status_code == 400
    assert response.json() == {
        "url": ["This field is required."],
        "events": ["This field is required."],
    }


def test_hostile_html_in_the_url_is_stored_as_text_and_returned_as_json(api):
    url = 'https://crm.partner.test/hook?name=<script>alert("x")</script>'

    response = api.post(WEBHOOKS, {**BODY, "url": url})

    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    assert response.json()["url"] == url


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '"url"', "[" * 100_000 + "]" * 100_000])
def test_a_body_that_is_not_a_json_object_is_400(api, body):
    response = api.post_raw(WEBHOOKS, body)

    assert response.status_code == 400
    assert response.json()
    assert not WebhookSubscription.objects.exists()


def test_a_form_body_is_415(api):
    response = api.post_raw(
        WEBHOOKS,
        "url=https://crm.partner.test/&events=ticket.created",
        "application/x-www-form-urlencoded",
    )

    assert response.status_code == 415
    assert response.json()["detail"]


def test_a_huge_body_is_413_and_subscribes_nothing(api, settings):
    body = {**BODY, "url": "https://crm.partner.test/" + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE}

    response = api.post(WEBHOOKS, body)

    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
    assert not WebhookSubscription.objects.exists()


# --- GET /webhooks/ --------------------------------------------------------------------------------


def test_the_list_is_newest_first_and_only_the_keys_own(api, client):
    first = api.post(WEBHOOKS, BODY).json()
    second = api.post(WEBHOOKS, {**BODY, "url": "https://erp.partner.test/hook"}).json()
    other_api(client).post(WEBHOOKS, BODY)

    response = api.get(WEBHOOKS)

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [second["id"], first["id"]]


def test_the_list_pages_with_a_cursor_without_repeats_or_gaps(api):
    made = [
        api.post(WEBHOOKS, {**BODY, "url": f"https://{host}.partner.test/hook"}).json()["id"]
        for host in ("crm", "erp", "app", "wechat", "sms")
    ]
    seen, url, params = [], WEBHOOKS, {"page_size": 2}
    while url:
        page = api.get(url, params).json()
        seen += [item["id"] for item in page["results"]]
        url, params = page["next"], None

    assert seen == list(reversed(made))


def test_filters_narrow_the_list(api):
    tickets = api.post(WEBHOOKS, BODY).json()
    surveys = api.post(
        WEBHOOKS,
        {"url": "https://erp.partner.test/hook", "events": ["survey.answered"], "active": False},
    ).json()

    def ids(params):
        return [item["id"] for item in api.get(WEBHOOKS, params).json()["results"]]

    assert ids({"event": "survey.answered"}) == [surveys["id"]]
    assert ids({"event": "ticket.created"}) == [tickets["id"]]
    assert ids({"active": "false"}) == [surveys["id"]]
    assert ids({"active": "true"}) == [tickets["id"]]


@pytest.mark.parametrize("params", [{"event": "ticket.deleted"}, {"active": "maybe"}])
def test_a_bad_filter_value_is_a_400_naming_it(api, params):
    response = api.get(WEBHOOKS, params)

    assert response.status_code == 400
    assert list(response.json()) == list(params)


@pytest.mark.parametrize("cursor", ["nonsense", "cD1hYmM=", "cD0xJyBPUiAxPTE="])
def test_a_bad_or_forged_cursor_is_404(api, cursor):
    # "p=abc" and "p=1' OR 1=1", encoded as DRF encodes a cursor
    assert api.get(WEBHOOKS, {"cursor": cursor}).status_code == 404


# --- DELETE /webhooks/{id}/ -----------------------------------------------------------------------


def test_a_partner_unsubscribes_and_its_deliveries_go_with_it(api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    made = api.post(WEBHOOKS, {**BODY, "url": "http://127.0.0.1:9/hook"}).json()
    emit("ticket.created", {"ticket": {"id": "T-000001"}})
    deliveries.fan_out()
    deliveries.deliver_due()  # nothing listens on port 9: one failed attempt
    assert WebhookAttempt.objects.exists()

    response = api.delete(f"{WEBHOOKS}{made['id']}/")

    assert response.status_code == 204
    assert not WebhookSubscription.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert not WebhookAttempt.objects.exists()


def test_another_keys_subscription_is_404_and_stays(api, client):
    theirs = other_api(client).post(WEBHOOKS, BODY).json()

    response = api.delete(f"{WEBHOOKS}{theirs['id']}/")

    assert response.status_code == 404
    assert response.json() == {"detail": "No such subscription."}
    assert WebhookSubscription.objects.filter(pk=theirs["id"]).exists()
    assert api.get(WEBHOOKS).json()["results"] == []


@pytest.mark.parametrize(
    "subscription_id",
    [
        "0193a1f2-6b7c-7d2e-9f10-4a5b6c7d8e9f",
        "nope",
        "1",
        "0193a1f2-6b7c-7d2e-9f10-4a5b6c7d8e9",
        "%00",
    ],
)
def test_an_unknown_or_malformed_id_is_404(api, subscription_id):
    response = api.delete(f"{WEBHOOKS}{subscription_id}/")

    assert response.status_code == 404


# --- authentication, scope, throttle ---------------------------------------------------------------

ENDPOINTS = [
    ("get", WEBHOOKS),
    ("post", WEBHOOKS),
    ("delete", f"{WEBHOOKS}0193a1f2-6b7c-7d2e-9f10-4a5b6c7d8e9f/"),
]


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_no_key_or_a_bad_key_is_401(client, method, path):
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer lhk_nope"}):
        response = client.generic(
            method.upper(), path, json.dumps(BODY), content_type="application/json", **headers
        )

        assert response.status_code == 401
        assert response.json()["detail"]
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_a_key_without_the_webhooks_scope_is_403_and_changes_nothing(client, method, path):
    owner, _ = ApiKey.issue(name="CRM", scopes=["webhooks"])
    existing = subscriptions.create_subscription(
        api_key=owner, url="https://crm.partner.test/hook", events=["ticket.created"]
    )
    _, raw = ApiKey.issue(name="help widget", scopes=["tickets", "knowledge"])

    response = client.generic(
        method.upper(),
        path.replace("0193a1f2-6b7c-7d2e-9f10-4a5b6c7d8e9f", str(existing.pk)),
        json.dumps({**BODY, "url": "https://erp.partner.test/hook"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )

    assert response.status_code == 403
    assert list(WebhookSubscription.objects.values_list("pk", flat=True)) == [existing.pk]


def test_each_key_is_throttled_with_retry_after(api, settings):
    settings.API_KEY_RATE = "2/min"

    codes = [api.get(WEBHOOKS) for _ in range(3)]

    assert [response.status_code for response in codes] == [200, 200, 429]
    assert int(codes[-1]["Retry-After"]) > 0


def test_a_refused_request_keeps_no_idempotency_key(api):
    response = api.post(WEBHOOKS, {**BODY, "events": []}, HTTP_IDEMPOTENCY_KEY="sub-1")

    assert response.status_code == 400
    assert not IdempotencyKey.objects.exists()


def test_the_schema_describes_the_webhook_routes(client):
    schema = client.get("/api/schema/").content.decode()

    assert "/api/v1/webhooks/" in schema
    assert "/api/v1/webhooks/{id}/" in schema
    assert "whsec_" in schema


# --- over real HTTP ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_running_server_subscribes_lists_refuses_and_unsubscribes(live):
    import httpx

    _, raw = ApiKey.issue(name="CRM", scopes=["webhooks"])
    headers = {"Authorization": f"Bearer {raw}", "Accept-Language": "en"}

    def call(method, path, **kwargs):
        return httpx.request(method, f"{live.url}{path}", headers=headers, timeout=10, **kwargs)

    made = call(
        "POST", WEBHOOKS, json={"url": "http://127.0.0.1:9/hook", "events": ["ticket.created"]}
    )
    odd = call(
        "POST", WEBHOOKS, json={"url": "http://0x7f000001/hook", "events": ["ticket.created"]}
    )
    listed = call("GET", WEBHOOKS)
    anonymous = httpx.get(f"{live.url}{WEBHOOKS}", timeout=10)
    deleted = call("DELETE", f"{WEBHOOKS}{made.json()['id']}/")

    assert made.status_code == 201  # the test server allows private targets, as tests do
    assert odd.status_code == 400
    assert odd.json() == {"url": ["Write the IP address in the usual dotted form (127.0.0.1)."]}
    assert [item["id"] for item in listed.json()["results"]] == [made.json()["id"]]
    assert anonymous.status_code == 401
    assert deleted.status_code == 204
    assert not WebhookSubscription.objects.exists()
