"""Server-side request forgery: private, loopback and link-local targets are refused when
a subscription is made and again at delivery (after DNS, without following redirects)."""

import json

import pytest
from django.utils import translation

from helpdesk.models import ApiKey, WebhookDelivery, WebhookSubscription
from helpdesk.webhooks import deliveries, emit, targets
from helpdesk.webhooks.targets import TargetRefused, check_url
from tests.webhooks.receiver import Answer, Receiver

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.216.34"

# (url, what the refusal says)
REFUSED = [
    ("http://127.0.0.1/hook", "loopback"),
    ("http://127.0.0.1:8000/hook", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::1]/hook", "loopback"),
    ("http://0x7f000001/hook", "loopback"),
    ("http://2130706433/hook", "loopback"),
    ("http://0177.0.0.1/hook", "loopback"),
    ("http://127.1/hook", "loopback"),
    ("http://0x08080808/hook", "dotted form"),  # public, but not written as people write it
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://[::ffff:7f00:1]/hook", "loopback"),
    ("http://[::ffff:169.254.169.254]/hook", "link-local"),
    ("http://[64:ff9b::7f00:1]/hook", "loopback"),  # NAT64 of 127.0.0.1
    ("http://[2002:7f00:1::]/hook", "loopback"),  # 6to4 of 127.0.0.1
    ("http://[fe80::1]/hook", "link-local"),
    ("http://[fc00::1]/hook", "private"),
    ("http://[fec0::1]/hook", "private"),
    ("http://[ff02::1]/hook", "multicast"),
    ("http://[::]/hook", "unspecified"),
    ("http://10.0.0.1/hook", "private"),
    ("http://172.16.5.4/hook", "private"),
    ("http://192.168.1.1/hook", "private"),
    ("http://100.64.0.1/hook", "not a public address"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://240.0.0.1/hook", "reserved"),
    ("http://255.255.255.255/hook", "reserved"),
    ("http://localhost/hook", "loopback"),
    ("http://loopback.partner.test/hook", "loopback"),  # a name resolving to 127.0.0.1
    ("http://metadata.partner.test/hook", "link-local"),
    ("http://mixed.partner.test/hook", "private"),  # one public, one private address
    ("http://nowhere.partner.test/hook", "does not resolve"),
    ("ftp://hooks.partner.test/hook", "Only http and https"),
    ("file:///etc/passwd", "Only http and https"),
    ("gopher://hooks.partner.test/", "Only http and https"),
    ("javascript:alert(1)", "Only http and https"),
    ("http://user:pass@hooks.partner.test/hook", "user name or password"),
    ("http://hooks.partner.test@127.0.0.1/hook", "user name or password"),
    ("http:///hook", "no host"),
    ("http://hooks.partner.test:99999/hook", "not a valid URL"),
    ("http://hooks.partner.test:0/hook", "not a valid URL"),
    ("http://[fe80::1%25eth0]/hook", "not a valid URL"),
    ("http://hooks.partner .test/hook", "spaces or control characters"),
    ("http://hooks.partner.test/\nX-Injected: 1", "spaces or control characters"),
    ("//hooks.partner.test/hook", "Only http and https"),
]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def partner_dns(dns):
    dns["hooks.partner.test"] = [PUBLIC]
    dns["loopback.partner.test"] = ["127.0.0.1"]
    dns["metadata.partner.test"] = ["169.254.169.254"]
    dns["mixed.partner.test"] = [PUBLIC, "10.1.2.3"]
    dns["nowhere.partner.test"] = []
    return dns


@pytest.mark.parametrize("url, why", REFUSED)
def test_a_forbidden_target_is_refused_with_the_reason(url, why):
    with pytest.raises(TargetRefused, match=why):
        check_url(url)


@pytest.mark.parametrize("url, why", REFUSED)
def test_the_api_refuses_a_forbidden_target_and_stores_nothing(client, url, why):
    _, raw = ApiKey.issue(name="CRM", scopes=["webhooks"])

    response = client.post(
        "/api/v1/webhooks/",
        json.dumps({"url": url, "events": ["ticket.created"]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["url"]
    assert why in response.json()["url"][0]
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        f"https://{PUBLIC}/hook",
        "https://hooks.partner.test/hook",
        "HTTPS://HOOKS.PARTNER.TEST./hook?x=1",
        "http://hooks.partner.test:8080/hook",
        "http://[2606:2800:220:1:248:1893:25c8:1946]/hook",
    ],
)
def test_a_public_target_is_accepted(url):
    assert check_url(url).host in {
        PUBLIC,
        "hooks.partner.test",
        "2606:2800:220:1:248:1893:25c8:1946",
    }


def test_the_setting_allows_private_targets_for_development(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True

    assert check_url("http://127.0.0.1:8000/hook").port == 8000
    assert check_url("http://localhost/hook").host == "localhost"
    with pytest.raises(TargetRefused, match="Only http and https"):
        check_url("file:///etc/passwd")
    with pytest.raises(TargetRefused, match="dotted form"):
        check_url("http://0x7f000001/hook")


# --- at delivery ----------------------------------------------------------------------------------


def test_a_name_that_resolves_to_loopback_by_delivery_time_is_refused_and_nothing_sent(
    receiver, partner_dns, subscribe
):
    """DNS rebinding: public when the subscription was made, the machine itself when the
    delivery connects. The receiver listens on that very address and port."""
    partner_dns["rebind.partner.test"] = [PUBLIC]
    subscription = subscribe(receiver.url(host="rebind.partner.test"))
    event = emit("ticket.created", {"ticket": {"id": "T-000001"}})
    partner_dns["rebind.partner.test"] = ["127.0.0.1"]

    deliveries.fan_out()
    deliveries.deliver_due()

    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get(event=event, subscription=subscription)
    assert delivery.state == "failed"  # refused is final: no retry
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None
    assert attempt.error == "Webhooks cannot be sent to 127.0.0.1: it is a loopback address."


def test_a_name_resolving_to_public_and_private_addresses_at_delivery_is_refused(
    receiver, partner_dns, subscribe
):
    partner_dns["rebind.partner.test"] = [PUBLIC]
    subscribe(receiver.url(host="rebind.partner.test"))
    emit("ticket.created", {"ticket": {"id": "T-000001"}})
    partner_dns["rebind.partner.test"] = ["127.0.0.1", PUBLIC]

    deliveries.fan_out()
    deliveries.deliver_due()

    assert receiver.requests == []
    assert WebhookDelivery.objects.get().last_error.endswith("it is a loopback address.")


def test_the_connection_goes_to_the_address_checked_with_one_lookup(
    receiver, partner_dns, subscribe, settings
):
    """The name is resolved once, by the check, and the socket opened to that address:
    no second lookup the HTTP library could make (and DNS could answer differently)."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    partner_dns["pinned.partner.test"] = ["127.0.0.1"]  # nowhere in real DNS
    subscribe(receiver.url(host="pinned.partner.test"))
    emit("ticket.created", {"ticket": {"id": "T-000001"}})
    partner_dns.lookups.clear()

    deliveries.fan_out()
    deliveries.deliver_due()

    [request] = receiver.posts()
    assert request.headers["host"] == f"pinned.partner.test:{receiver.port}"
    assert partner_dns.lookups == ["pinned.partner.test"]


def test_a_redirect_to_loopback_is_not_followed(receiver, subscribe, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # the first hop is the test's receiver
    internal = Receiver()  # stands for a service on the machine, reached only by a redirect
    try:
        subscribe(receiver.url())
        emit("ticket.created", {"ticket": {"id": "T-000001"}})
        receiver.answer(Answer(307, headers=(("Location", internal.url("/admin")),)))

        deliveries.fan_out()
        deliveries.deliver_due()

        assert internal.requests == []
        assert len(receiver.posts()) == 1
        delivery = WebhookDelivery.objects.get()
        assert (delivery.state, delivery.last_status_code) == ("failed", 307)
    finally:
        internal.close()


def test_a_target_refused_at_delivery_is_refused_without_the_setting(receiver, subscribe, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    subscribe(receiver.url())
    emit("ticket.created", {"ticket": {"id": "T-000001"}})
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False  # e.g. made in development, run in production

    deliveries.fan_out()
    deliveries.deliver_due()

    assert receiver.requests == []
    assert "loopback" in WebhookDelivery.objects.get().last_error


def test_resolve_asks_the_system_resolver(monkeypatch):
    """The real resolver behind the checks (the other tests replace it)."""
    monkeypatch.undo()

    assert "127.0.0.1" in {str(a) for a in targets.resolve("localhost", 80)}


def test_the_refusal_speaks_chinese_by_default(client):
    _, raw = ApiKey.issue(name="CRM", scopes=["webhooks"])

    response = client.post(
        "/api/v1/webhooks/",
        json.dumps({"url": "http://127.0.0.1/hook", "events": ["ticket.created"]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )

    assert response.json() == {"url": ["不能向 127.0.0.1 发送 Webhook：它是回环地址。"]}
