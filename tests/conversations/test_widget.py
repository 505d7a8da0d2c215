"""The embeddable widget over HTTP: widget.js and its caching, the site's settings and the
invitations with CORS for allowed origins only, the chat page framed by those origins only,
and the page the customer is on shown to the agent."""

import json

import pytest
from django.urls import reverse

from conversations.models import Conversation, Message, WidgetSite
from conversations.services.sessions import issue_chat_token
from customers.models import Customer, Invitation, InvitationRule
from customers.services import identity_hash
from tests.csp import SITE_POLICY, directives
from tests.factories import AgentFactory, ConversationFactory, CustomerFactory

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example"
EVIL = "https://evil.example"


@pytest.fixture
def site():
    return WidgetSite.objects.create(
        name="Lumen Shop", key="lumen-shop", allowed_origins=f"{SHOP}\nhttps://m.shop.example"
    )


@pytest.fixture
def invitation_rule():
    return InvitationRule.objects.create(
        name="products",
        url_pattern="/products/*",
        min_seconds=10,
        message_zh="需要帮忙挑选吗？",
        message_en="Need help choosing?",
    )


def post(client, path, body, *, origin=SHOP, channel="lumen-shop", **extra):
    query = f"?channel={channel}" if channel else ""
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(path + query, data, content_type="application/json", **headers, **extra)


def ask(client, *, origin=SHOP, channel="lumen-shop", **fields):
    body = {"page": {"url": f"{SHOP}/products/42", "title": "Buds"}, "seconds": 12, **fields}
    return post(client, reverse("chat-invitations"), body, origin=origin, channel=channel)


# --- widget.js -------------------------------------------------------------------------


def test_widget_js_is_served_cacheable_with_its_texts_in_both_languages(client):
    response = client.get("/widget.js")

    body = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=3600"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert '"launcher": "联系客服"' in body and '"launcher": "Chat with us"' in body
    assert "/*STRINGS*/" not in body

    again = client.get("/widget.js", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert client.post("/widget.js").status_code == 405


# --- the site's settings ----------------------------------------------------------------


def test_the_settings_answer_an_allowed_origin_with_cors(client, site, invitation_rule):
    response = client.get("/api/v1/chat/widget/?channel=lumen-shop", HTTP_ORIGIN=SHOP)

    assert response.status_code == 200
    assert response.json() == {
        "channel": "lumen-shop",
        "language": "",
        "invite_after": [10],
        "chat": "/chat/?embed=lumen-shop",
    }
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert "Origin" in response["Vary"]


@pytest.mark.parametrize(
    ("origin", "channel", "enabled", "status"),
    [
        (EVIL, "lumen-shop", True, 403),
        (None, "lumen-shop", True, 403),
        ("https://shop.example.evil.example", "lumen-shop", True, 403),
        (SHOP, "lumen-shop", False, 403),
        (SHOP, "no-such-site", True, 404),
        (SHOP, "", True, 404),
    ],
)
def test_the_settings_refuse_other_origins_and_sites_without_cors(
    client, site, origin, channel, enabled, status
):
    WidgetSite.objects.filter(pk=site.pk).update(enabled=enabled)
    headers = {"HTTP_ORIGIN": origin} if origin else {}

    response = client.get(f"/api/v1/chat/widget/?channel={channel}", **headers)

    assert response.status_code == status
    assert "Access-Control-Allow-Origin" not in response
    assert response.json()["detail"]


def test_a_preflight_is_answered_for_an_allowed_origin_only(client, site):
    allowed = client.options(
        "/api/v1/chat/invitations/?channel=lumen-shop",
        HTTP_ORIGIN=SHOP,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    refused = client.options(
        "/api/v1/chat/invitations/?channel=lumen-shop",
        HTTP_ORIGIN=EVIL,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )

    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == SHOP
    assert "POST" in allowed["Access-Control-Allow-Methods"]
    assert allowed["Access-Control-Allow-Headers"] == "Content-Type"
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused


# --- the chat page, framed ------------------------------------------------------------------


def test_the_embedded_chat_may_be_framed_by_the_sites_origins_only(client, site):
    response = client.get(f"/chat/?embed=lumen-shop&origin={SHOP}")

    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == {
        **SITE_POLICY,
        "frame-ancestors": [SHOP, "https://m.shop.example"],
    }
    assert "X-Frame-Options" not in response
    config = response.context["chat_config"]
    assert (config["embed"], config["parent"]) == ("lumen-shop", SHOP)


@pytest.mark.parametrize(
    "query",
    [
        "",
        f"?embed=lumen-shop&origin={EVIL}",
        "?embed=lumen-shop",
        f"?embed=no-such-site&origin={SHOP}",
        f"?embed=lumen-shop&origin={SHOP}/",
        "?embed=<script>&origin=javascript:alert(1)",
    ],
)
def test_any_other_chat_page_may_not_be_framed(client, site, query):
    response = client.get("/chat/" + query)

    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert directives(response["Content-Security-Policy"]) == SITE_POLICY
    assert "embed" not in response.context["chat_config"]


def test_a_switched_off_site_may_not_frame_the_chat(client, site):
    WidgetSite.objects.filter(pk=site.pk).update(enabled=False)

    response = client.get(f"/chat/?embed=lumen-shop&origin={SHOP}")

    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    "origin",
    [
        f"{SHOP}/products",
        f"{SHOP}/",
        "https://shop.example; script-src *",
        "https://shop.example;frame-ancestors",
        "javascript:alert(1)",
        "https://user@shop.example",
        "*",
    ],
)
def test_anything_but_an_origin_is_refused_in_admin(admin_client, origin):
    response = admin_client.post(
        reverse("admin:conversations_widgetsite_add"),
        {
            "name": "Shop",
            "key": "shop",
            "allowed_origins": f"https://m.shop.example\n{origin}",
            "language": "",
            "enabled": "on",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    assert "Not an origin:" in response.content.decode()
    assert not WidgetSite.objects.exists()


def test_origins_with_a_port_or_an_ip_address_are_kept(admin_client):
    origins = "http://127.0.0.1:8080\nhttps://[::1]:8443\nhttps://Shop.example"

    admin_client.post(
        reverse("admin:conversations_widgetsite_add"),
        {"name": "Shop", "key": "shop", "allowed_origins": origins, "enabled": "on"},
    )

    assert WidgetSite.objects.get().origins == [
        "http://127.0.0.1:8080",
        "https://[::1]:8443",
        "https://shop.example",
    ]


# --- invitations ------------------------------------------------------------------------------


def test_an_invitation_for_an_allowed_origin_with_cors(client, site, invitation_rule):
    response = ask(client, visitor="v-1", language="en")

    invitation = Invitation.objects.get()
    assert response.status_code == 200
    assert response.json() == {
        "invitation": {"id": str(invitation.pk), "message": "Need help choosing?"}
    }
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert (invitation.source, invitation.page_url) == ("lumen-shop", f"{SHOP}/products/42")


def test_no_invitation_before_the_seconds_or_on_other_pages(client, site, invitation_rule):
    early = ask(client, visitor="v-1", seconds=9)
    elsewhere = ask(client, visitor="v-1", page={"url": f"{SHOP}/cart"})

    assert early.json() == elsewhere.json() == {"invitation": None}
    assert not Invitation.objects.exists()


def test_no_invitation_from_an_origin_the_site_does_not_allow(client, site, invitation_rule):
    response = ask(client, origin=EVIL, visitor="v-1")

    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert not Invitation.objects.exists()


def test_never_to_a_customer_waiting_for_or_talking_with_an_agent(client, site, invitation_rule):
    customer = CustomerFactory(external_id="u-7")
    ConversationFactory(customer=customer, status=Conversation.Status.QUEUED)
    identity = {"external_id": "u-7", "hash": identity_hash("u-7")}

    response = ask(client, visitor="v-1", identity=identity)

    assert response.json() == {"invitation": None}
    assert not Invitation.objects.exists()


def test_an_identified_shop_customer_is_invited_as_themselves(client, site, invitation_rule):
    customer = CustomerFactory(external_id="u-8")
    identity = {"external_id": "u-8", "name": "王芳", "hash": identity_hash("u-8")}

    ask(client, visitor="v-1", identity=identity)
    refused = ask(client, visitor="v-2", identity={**identity, "hash": "0" * 64})

    assert Invitation.objects.get().customer == customer
    assert refused.status_code == 403
    assert Customer.objects.count() == 1  # asking never creates a customer


def test_the_chat_page_asks_with_its_token_without_cors(client, invitation_rule):
    conversation = ConversationFactory()
    token = issue_chat_token(conversation)
    response = ask(client, channel="", origin="http://testserver", visitor="v-1", token=token)
    foreign = ask(client, channel="", origin=EVIL, visitor="v-2")

    assert Invitation.objects.get().customer == conversation.customer
    assert Invitation.objects.get().source == "chat"
    assert "Access-Control-Allow-Origin" not in response
    assert foreign.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        "{}",
        '{"page": {"url": "x"}, "seconds": "12"}',
        '{"page": {"url": "x"}, "seconds": 12.5}',
        '{"page": {"url": "x"}, "seconds": true}',
        '{"page": {"url": "x"}, "seconds": -1}',
        '{"page": {"url": "x"}, "seconds": 99999999}',
        '{"page": "x", "seconds": 12}',
        '{"page": {"url": 5}, "seconds": 12}',
        '{"page": {"url": "x"}, "seconds": 12, "visitor": "' + "v" * 65 + '"}',
        '{"page": {"url": "x"}, "seconds": 12, "language": "fr"}',
        '{"page": {"url": "' + "u" * 2001 + '"}, "seconds": 12}',
        '{"page": {"url": "x"}, "seconds": 12, "identity": {"external_id": 7}}',
    ],
)
def test_bad_input_is_a_clear_400_and_nothing_is_stored(client, site, invitation_rule, body):
    response = post(client, reverse("chat-invitations"), body)

    assert response.status_code == 400
    assert response.json()
    assert not Invitation.objects.exists()


def test_a_huge_body_is_refused_without_a_server_error(client, site, invitation_rule):
    body = '{"page": {"title": "' + "x" * (2 * 1024 * 1024) + '"}, "seconds": 12}'

    response = post(client, reverse("chat-invitations"), body)

    assert response.status_code in (400, 413)
    assert not Invitation.objects.exists()


def test_hostile_text_is_kept_as_text(client, site):
    InvitationRule.objects.create(
        name="x", min_seconds=0, message_zh="<img src=x onerror=alert(1)>", message_en="-"
    )
    response = ask(client, visitor="v-1", page={"url": "javascript:alert(1)", "title": "<b>"})

    assert response.json()["invitation"]["message"] == "<img src=x onerror=alert(1)>"
    assert response["Content-Type"] == "application/json"


def test_invitation_checks_are_rate_limited_per_ip(client, site, invitation_rule, settings):
    settings.CHAT_INVITATION_RATE = "3/min"

    codes = [ask(client, visitor=f"v-{n}").status_code for n in range(5)]

    assert codes == [200, 200, 200, 429, 429]
    assert Invitation.objects.count() == 3


def test_an_answer_is_counted_once(client, site, invitation_rule):
    invitation_id = ask(client, visitor="v-1").json()["invitation"]["id"]
    path = reverse("chat-invitation-answer", args=[invitation_id])

    accepted = post(client, path, {"answer": "accepted"})
    again = post(client, path, {"answer": "declined"})

    assert (accepted.status_code, accepted.json()) == (200, {"answer": "accepted"})
    assert accepted["Access-Control-Allow-Origin"] == SHOP
    assert again.status_code == 409
    assert Invitation.objects.get().answer == "accepted"


@pytest.mark.parametrize("body", ["{}", '{"answer": "maybe"}', '{"answer": 1}', "nope"])
def test_a_bad_answer_is_400_and_counts_nothing(client, site, invitation_rule, body):
    invitation_id = ask(client, visitor="v-1").json()["invitation"]["id"]

    response = post(client, reverse("chat-invitation-answer", args=[invitation_id]), body)

    assert response.status_code == 400
    assert Invitation.objects.get().answer == ""


def test_another_sites_or_an_unknown_invitation_is_404(client, site, invitation_rule):
    WidgetSite.objects.create(name="Other", key="other", allowed_origins=EVIL)
    invitation_id = ask(client, visitor="v-1").json()["invitation"]["id"]
    unknown = reverse("chat-invitation-answer", args=["5b0c0e7e-0000-4000-8000-000000000009"])

    other = post(
        client,
        reverse("chat-invitation-answer", args=[invitation_id]),
        {"answer": "declined"},
        origin=EVIL,
        channel="other",
    )
    missing = post(client, unknown, {"answer": "declined"})

    assert other.status_code == missing.status_code == 404
    assert Invitation.objects.get().answer == ""


def test_an_accepted_invitation_opens_the_chat_with_its_message_once(client, site, invitation_rule):
    invitation_id = ask(client, visitor="v-1").json()["invitation"]["id"]
    post(client, reverse("chat-invitation-answer", args=[invitation_id]), {"answer": "accepted"})
    sessions = reverse("chat-sessions")
    page = {"url": f"{SHOP}/products/42", "title": "Lumen Buds 2"}

    first = client.post(
        sessions,
        {"invitation": invitation_id, "page": page},
        content_type="application/json",
    ).json()
    again = client.post(
        sessions,
        {"invitation": invitation_id, "token": first["token"]},
        content_type="application/json",
    ).json()

    said = Message.objects.filter(meta__event="invitation")
    assert again["conversation"] == first["conversation"]
    assert list(said.values_list("body", "sender")) == [("需要帮忙挑选吗？", "bot")]
    assert first["last_seq"] == 1
    assert str(Invitation.objects.get().conversation_id) == first["conversation"]


# --- the agent sees the page ----------------------------------------------------------------


def test_the_agent_sees_the_customers_page_with_hostile_text_inert(client):
    agent = AgentFactory()
    conversation = ConversationFactory(
        page={"url": f"{SHOP}/products/42", "title": "<script>alert(1)</script>Buds"}
    )
    hostile = ConversationFactory(page={"url": "javascript:alert(1)", "title": "x"})
    client.force_login(agent.user)

    shown = client.get(reverse("desk:conversation", args=[conversation.pk])).content.decode()
    other = client.get(reverse("desk:conversation", args=[hostile.pk])).content.decode()

    assert f'href="{SHOP}/products/42"' in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;Buds" in shown
    assert 'href="javascript:alert(1)"' not in other
    assert "javascript:alert(1)" in other


def test_a_resumed_session_on_another_page_updates_the_page(client):
    sessions = reverse("chat-sessions")
    first = client.post(
        sessions, {"page": {"url": f"{SHOP}/a", "title": "A"}}, content_type="application/json"
    ).json()
    client.post(
        sessions,
        {"token": first["token"], "page": {"url": f"{SHOP}/b", "title": "B"}},
        content_type="application/json",
    )

    assert Conversation.objects.get().page == {"url": f"{SHOP}/b", "title": "B"}


def test_an_invitation_check_takes_a_fixed_number_of_queries(
    client, site, invitation_rule, django_assert_num_queries
):
    for n in range(20):
        InvitationRule.objects.create(
            name=f"other {n}", url_pattern=f"/other-{n}/*", message_zh="-", message_en="-"
        )
    customer = CustomerFactory(external_id="u-9")
    identity = {"external_id": "u-9", "hash": identity_hash("u-9")}

    # The site; a savepoint, the visitor's (and customer's) lock, the recent invitations,
    # the rules, the insert; the customer and their chats with an agent when identified.
    with django_assert_num_queries(7):
        ask(client, visitor="v-1")
    with django_assert_num_queries(10):
        ask(client, visitor="v-2", identity=identity)

    assert Invitation.objects.filter(customer=customer).count() == 1


@pytest.mark.parametrize(
    "name",
    [
        "conversations_widgetsite_changelist",
        "conversations_widgetsite_add",
        "customers_invitationrule_add",
        "customers_invitation_changelist",
        "customers_recommendationrule_add",
        "customers_recommendation_changelist",
    ],
)
def test_the_back_office_pages_open(admin_client, site, name):
    assert admin_client.get(reverse(f"admin:{name}")).status_code == 200


def test_a_widget_sites_page_shows_its_script_tag(admin_client, site):
    page = admin_client.get(reverse("admin:conversations_widgetsite_change", args=[site.pk]))

    assert 'data-channel="lumen-shop" async' in page.content.decode()
