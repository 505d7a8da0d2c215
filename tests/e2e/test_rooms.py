"""Team rooms in real browsers over the real stack: one agent @-mentions another, who gets
the toast, the browser notification and the unread badge on both of their devices, opens
the room (the badge clears on both), and acknowledges an urgent message the sender then
sees acknowledged."""

import pytest
from playwright.sync_api import expect

from tests.conversations.rooms_helpers import team
from tests.e2e.desk_pages import PHONE, open_desk

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Records what the page shows through the Notification API (headless Chromium shows none).
RECORD_NOTIFICATIONS = """
window.__notifications = [];
const Real = window.Notification;
window.Notification = class extends Real {
  constructor(title, options) { super(title, options); window.__notifications.push(title + " | " + (options || {}).body); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};
"""


def _device(new_context, live, agent, **options):
    page = open_desk(new_context, live, agent, path="/desk/rooms/", **options)
    page.context.grant_permissions(["notifications"], origin=live.url)
    page.context.add_init_script(RECORD_NOTIFICATIONS)
    page.reload()
    expect(page.locator("#desk-connection")).to_have_class("desk-connection online")
    return page


def test_a_mention_alerts_both_devices_and_an_urgent_message_is_acknowledged(
    live, new_context, call_service
):
    room, (wang, zhang) = call_service(lambda: team("王芳", "张伟"))
    laptop = _device(new_context, live, zhang)
    phone = _device(new_context, live, zhang, viewport=PHONE)
    sender = open_desk(new_context, live, wang, path=f"/desk/rooms/{room.pk}/")

    sender.fill("#room-body", "@张伟 请看一下这个<script>alert(1)</script>")
    sender.locator("#room-send").click()
    expect(sender.locator("#room-messages .room-message")).to_have_count(1)

    for page in (laptop, phone):
        toast = page.locator("#desk-toasts .room-toast")
        expect(toast).to_contain_text("王芳")
        expect(page.locator("#room-unread-count")).to_have_text("1")
        expect(page.locator("#room-mention-count")).to_have_text("@1")
    assert any("王芳" in note for note in laptop.evaluate("window.__notifications"))

    laptop.locator("#desk-toasts .room-toast").first.click()
    message = laptop.locator("#room-messages .room-message.mentions-me")
    expect(message).to_contain_text("<script>alert(1)</script>")  # shown as text
    for page in (laptop, phone):
        expect(page.locator("#room-unread-count")).to_be_hidden()
        expect(page.locator("#room-mention-count")).to_be_hidden()

    sender.fill("#room-body", "@张伟 系统故障，马上暂停退款")
    sender.select_option("#room-priority", "2")
    sender.locator("#room-send").click()
    urgent = laptop.locator("#room-messages .room-message.urgent")
    expect(urgent).to_contain_text("系统故障")
    expect(phone.locator("#desk-toasts .room-toast.urgent")).to_contain_text("王芳")
    urgent.locator(".ack-button").click()
    expect(urgent.locator(".ack-button")).to_have_count(0)
    expect(sender.locator("#room-messages .room-message.urgent .ack.done")).to_contain_text("张伟")
