"""Every partner API route refuses a missing, bad, revoked or expired key (401) and a key
without its scope (403): parametrized over helpdesk.urls' resolver, so a route added later
is covered without touching this file."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from helpdesk.api_auth import PartnerAPIMixin
from helpdesk.models import SCOPES, ApiKey, WebhookSubscription
from helpdesk.webhooks.subscriptions import create_subscription
from tests.routes import site_routes

pytestmark = pytest.mark.django_db

PREFIX = "/api/v1/"
# The routes under /api/v1/ a browser calls with a chat token or a widget key, not a
# partner's API key (contracts/chat-protocol.md): every other route must be a partner's.
CHAT_ROUTES = {
    "chat-sessions",
    "chat-attachments",
    "chat-widget",
    "chat-invitations",
    "chat-invitation-answer",
}


def api_routes() -> list[tuple[str, str, type]]:
    """(url, name, view class) of every route under /api/v1/."""
    return [
        (route.url(), route.name, route.callback.view_class)
        for route in site_routes()
        if route.route.startswith(PREFIX)
    ]


def partner_calls() -> list[pytest.param]:
    calls = []
    for url, name, view in api_routes():
        if name in CHAT_ROUTES:
            continue
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view, method):
                calls.append(pytest.param(method, url, view, id=f"{method.upper()} {url}"))
    return calls


CALLS = partner_calls()


def test_the_walk_finds_the_partner_routes():
    urls = {url for _method, url, _view in (call.values for call in CALLS)}

    assert {"/api/v1/customers/", "/api/v1/orders/x-1/", "/api/v1/webhooks/"} <= urls
    assert len(CALLS) >= 20


@pytest.mark.parametrize(("url", "name", "view"), api_routes(), ids=lambda v: str(v))
def test_every_api_route_is_a_partners_or_a_chat_route(url, name, view):
    assert issubclass(view, PartnerAPIMixin) or name in CHAT_ROUTES
    assert not issubclass(view, PartnerAPIMixin) or view.required_scope in dict(SCOPES)


def _call(client: APIClient, method: str, url: str):
    return getattr(client, method)(url, {}, format="json")


def _client(raw: str | None) -> APIClient:
    client = APIClient()
    if raw is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.mark.parametrize(("method", "url", "view"), CALLS)
def test_no_key_is_401(method, url, view):
    response = _call(_client(None), method, url)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "url", "view"), CALLS)
@pytest.mark.parametrize("raw", ["lhk_not-a-key", "", "lhk_é"])
def test_a_bad_key_is_401(method, url, view, raw):
    response = _call(_client(raw), method, url)

    assert response.status_code == 401


@pytest.mark.parametrize(("method", "url", "view"), CALLS)
@pytest.mark.parametrize("change", ["revoked_at", "expires_at"])
def test_a_revoked_or_expired_key_is_401(method, url, view, change):
    key, raw = ApiKey.issue(name="old", scopes=list(dict(SCOPES)))
    ApiKey.objects.filter(pk=key.pk).update(**{change: timezone.now() - timedelta(seconds=1)})

    response = _call(_client(raw), method, url)

    assert response.status_code == 401


@pytest.mark.parametrize(("method", "url", "view"), CALLS)
def test_a_key_without_the_routes_scope_is_403(method, url, view):
    others = [scope for scope in dict(SCOPES) if scope != view.required_scope]
    _key, raw = ApiKey.issue(name="everything else", scopes=others)

    response = _call(_client(raw), method, url)

    assert response.status_code == 403
    assert response.json()["detail"] == "This API key does not have the scope for this resource."


# --- objects that belong to a key ----------------------------------------------------------------


def test_another_keys_subscriptions_are_never_visible(partner_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    owner, stranger = partner_client("webhooks"), partner_client("webhooks")
    theirs = create_subscription(
        api_key=owner.key, url="http://127.0.0.1:9/hook", events=["customer.updated"]
    )

    listed = stranger.get("/api/v1/webhooks/").json()["results"]
    deleted = stranger.delete(f"/api/v1/webhooks/{theirs.pk}/")

    assert listed == []
    assert deleted.status_code == 404
    assert WebhookSubscription.objects.filter(pk=theirs.pk).exists()
    assert [row["id"] for row in owner.get("/api/v1/webhooks/").json()["results"]] == [
        str(theirs.pk)
    ]


@pytest.mark.parametrize(("method", "url", "view"), CALLS)
def test_every_route_is_throttled_per_key_with_retry_after(method, url, view, settings):
    settings.API_KEY_RATE = "1/min"
    _key, raw = ApiKey.issue(name="busy", scopes=list(dict(SCOPES)))
    client = _client(raw)

    _call(client, method, url)
    response = _call(client, method, url)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
