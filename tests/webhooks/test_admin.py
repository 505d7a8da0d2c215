"""The webhook back-office: supervisors make subscriptions, send a test event, read the log."""

import hashlib
import hmac
import json

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from conversations.roles import SUPERVISORS, ensure_roles
from helpdesk.models import ApiKey, WebhookDelivery, WebhookSubscription
from helpdesk.webhooks import deliveries, emit
from tests.webhooks.receiver import Answer

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def supervisor(client):
    ensure_roles()
    user = User.objects.create_user("boss", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=SUPERVISORS))
    client.force_login(user)
    return user


def change_url(subscription) -> str:
    return reverse("admin:helpdesk_webhooksubscription_change", args=[subscription.pk])


def test_a_supervisor_adds_a_subscription_and_sees_the_secret_once(
    client, supervisor, partner_key, private_allowed, receiver
):
    response = client.post(
        reverse("admin:helpdesk_webhooksubscription_add"),
        {
            "api_key": partner_key.pk,
            "url": receiver.url(),
            "events": ["ticket.created", "survey.answered"],
            "active": "on",
        },
        follow=True,
        **EN,
    )

    subscription = WebhookSubscription.objects.get()
    page = response.content.decode()
    assert f"The signing secret, shown only this once: {subscription.secret}" in page
    assert subscription.events == ["ticket.created", "survey.answered"]
    assert subscription.api_key == partner_key
    assert subscription.secret not in client.get(change_url(subscription), **EN).content.decode()


def test_the_admin_refuses_a_private_target(client, supervisor, partner_key):
    response = client.post(
        reverse("admin:helpdesk_webhooksubscription_add"),
        {"api_key": partner_key.pk, "url": "http://169.254.169.254/", "events": ["ticket.created"]},
        **EN,
    )

    assert response.status_code == 200
    assert "it is a link-local address" in response.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_only_keys_with_the_webhooks_scope_are_offered(client, supervisor, partner_key):
    ApiKey.issue(name="help widget", scopes=["knowledge"])

    page = client.get(reverse("admin:helpdesk_webhooksubscription_add"), **EN).content.decode()

    assert "CRM (" in page
    assert "help widget" not in page


def test_send_test_event_posts_a_signed_test_event_and_says_how_it_went(
    client, supervisor, subscribe, private_allowed, receiver
):
    subscription = subscribe(receiver.url())
    send = reverse("admin:helpdesk_webhooksubscription_send_test", args=[subscription.pk])
    assert f'action="{send}"' in client.get(change_url(subscription), **EN).content.decode()

    response = client.post(send, follow=True, **EN)

    [request] = receiver.posts()
    body = json.loads(request.body)
    assert (body["event"], request.headers["x-helpdesk-event"]) == ("webhook.test", "webhook.test")
    assert body["data"]["subscription"] == str(subscription.pk)
    t, v1 = (part.split("=", 1)[1] for part in request.headers["x-helpdesk-signature"].split(","))
    expected = hmac.new(
        subscription.secret.encode(), t.encode() + b"." + request.body, hashlib.sha256
    )
    assert v1 == expected.hexdigest()
    page = response.content.decode()
    assert "Test event delivered: HTTP 200 in" in page
    assert "webhook.test" in page  # the latest attempts, on the same page


def test_a_failed_test_event_says_why_and_is_not_retried(
    client, supervisor, subscribe, private_allowed, receiver
):
    subscription = subscribe(receiver.url())
    receiver.answer(Answer(503, b"maintenance"))

    response = client.post(
        reverse("admin:helpdesk_webhooksubscription_send_test", args=[subscription.pk]),
        follow=True,
        **EN,
    )

    assert "Test event not delivered: HTTP 503" in response.content.decode()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("failed", 1)
    deliveries.deliver_due()
    assert len(receiver.posts()) == 1


def test_a_test_event_goes_to_that_subscription_only_even_while_disabled(
    client, supervisor, subscribe, private_allowed, receiver
):
    subscription = subscribe(receiver.url("/one"))
    subscribe(receiver.url("/two"))
    WebhookSubscription.objects.filter(pk=subscription.pk).update(active=False)

    client.post(reverse("admin:helpdesk_webhooksubscription_send_test", args=[subscription.pk]))
    deliveries.fan_out()
    deliveries.deliver_due()

    assert [r.path for r in receiver.requests] == ["/one"]


def test_the_test_button_takes_only_post(client, supervisor, subscribe, private_allowed):
    subscription = subscribe("http://127.0.0.1:9/hook")

    response = client.get(
        reverse("admin:helpdesk_webhooksubscription_send_test", args=[subscription.pk])
    )

    assert response.status_code == 405
    assert not WebhookDelivery.objects.exists()


def test_an_agent_cannot_send_test_events(client, subscribe, private_allowed, receiver):
    subscription = subscribe(receiver.url())
    ensure_roles()
    agent = User.objects.create_user("agent", password="x", is_staff=True)
    agent.groups.add(Group.objects.get(name="Agents"))
    client.force_login(agent)

    client.post(reverse("admin:helpdesk_webhooksubscription_send_test", args=[subscription.pk]))

    assert receiver.requests == []
    assert client.get(change_url(subscription)).status_code == 403


def test_the_delivery_page_shows_every_attempt(
    client, supervisor, subscribe, private_allowed, receiver
):
    subscribe(receiver.url())
    event = emit("ticket.created", {"ticket": {"id": "T-000001"}})
    receiver.answer(Answer(500, b"boom"), Answer(200, b"thanks"))
    deliveries.fan_out()
    deliveries.deliver_due()
    delivery = WebhookDelivery.objects.get(event=event)

    listing = client.get(reverse("admin:helpdesk_webhookdelivery_changelist"), **EN)
    page = client.get(
        reverse("admin:helpdesk_webhookdelivery_change", args=[delivery.pk]), **EN
    ).content.decode()

    assert listing.status_code == 200
    assert "ticket.created" in listing.content.decode()
    assert "boom" in page and "thanks" in page
    assert "500" in page and "200" in page


def test_enabling_again_from_the_list(client, supervisor, subscribe, private_allowed):
    subscription = subscribe("http://127.0.0.1:9/hook")
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        active=False, consecutive_failures=50, disabled_reason="50 failed attempts in a row"
    )

    client.post(
        reverse("admin:helpdesk_webhooksubscription_changelist"),
        {"action": "enable", "_selected_action": [subscription.pk]},
    )

    subscription.refresh_from_db()
    assert (
        subscription.active,
        subscription.consecutive_failures,
        subscription.disabled_reason,
    ) == (
        True,
        0,
        "",
    )


def test_hostile_text_in_a_url_or_a_response_is_shown_inert(
    client, supervisor, subscribe, private_allowed, receiver
):
    subscription = subscribe(receiver.url('/hook?<script>alert("url")</script>'))
    receiver.answer(Answer(200, b"<img src=x onerror=alert(1)>"))
    client.post(reverse("admin:helpdesk_webhooksubscription_send_test", args=[subscription.pk]))

    listing = client.get(reverse("admin:helpdesk_webhooksubscription_changelist")).content.decode()
    page = client.get(change_url(subscription)).content.decode()

    assert "<script>alert" not in listing and "&lt;script&gt;alert" in listing
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_deleting_in_admin_removes_the_deliveries(client, supervisor, subscribe, private_allowed):
    subscription = subscribe("http://127.0.0.1:9/hook")
    emit("ticket.created", {"ticket": {"id": "T-000001"}})
    deliveries.fan_out()
    delete = reverse("admin:helpdesk_webhooksubscription_delete", args=[subscription.pk])

    confirm = client.get(delete, **EN).content.decode()
    client.post(delete, {"post": "yes"})

    assert "Webhook deliveries: 1" in confirm
    assert not WebhookSubscription.objects.exists()
    assert not WebhookDelivery.objects.exists()
