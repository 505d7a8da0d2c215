"""A supervisor sends a test event from the subscription's admin page, on a phone too."""

import json

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from conversations.roles import SUPERVISORS, ensure_roles
from helpdesk.models import ApiKey
from helpdesk.webhooks import subscriptions
from tests.e2e.desk_pages import PHONE
from tests.webhooks.receiver import Answer, Receiver

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def subscription(live, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    key, _ = ApiKey.issue(name="CRM", scopes=["webhooks"])
    return subscriptions.create_subscription(
        api_key=key, url=receiver.url(), events=["ticket.created"]
    )


def admin_page(new_context, live, *, viewport):
    ensure_roles()
    user = User.objects.create_user("boss", password="lumen-demo", is_staff=True)
    user.groups.add(Group.objects.get(name=SUPERVISORS))
    page = new_context(locale="zh-CN", viewport=viewport).new_page()
    page.goto(f"{live.url}/admin/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "lumen-demo")
    page.locator("input[type=submit]").click()
    return page


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE])
def test_send_test_event_delivers_and_says_so(new_context, live, receiver, subscription, viewport):
    page = admin_page(new_context, live, viewport=viewport)
    page.goto(f"{live.url}/admin/helpdesk/webhooksubscription/{subscription.pk}/change/")

    page.get_by_role("button", name="发送测试事件").click()

    expect(page.locator(".messagelist .success")).to_contain_text("测试事件已送达：HTTP 200")
    [request] = receiver.posts()
    assert json.loads(request.body)["event"] == "webhook.test"
    expect(page.get_by_text("webhook.test")).to_be_visible()  # the latest attempts


def test_a_failing_receiver_is_reported_in_red(new_context, live, receiver, subscription):
    receiver.answer(Answer(500, b"down for maintenance"))
    page = admin_page(new_context, live, viewport={"width": 1280, "height": 900})
    page.goto(f"{live.url}/admin/helpdesk/webhooksubscription/{subscription.pk}/change/")

    page.get_by_role("button", name="发送测试事件").click()

    expect(page.locator(".messagelist .error")).to_contain_text("测试事件未送达：HTTP 500")
    expect(page.get_by_text("down for maintenance")).to_be_visible()
