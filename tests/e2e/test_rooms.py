"""Team rooms in real browsers over the real stack: one agent @-mentions another, who gets
the toast, the browser notification and the unread badge on both of their devices, opens
the room (the badge clears on both), and acknowledges an urgent message the sender then
sees acknowledged; an agent on a phone attaches an image and a file, the other sees the
image inline and the file as a link."""

import pytest
from playwright.sync_api import expect

from tests.conversations.rooms_helpers import team
from tests.conversations.upload_helpers import PDF, png
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


def test_an_image_attached_on_a_phone_shows_inline_to_the_other_agent(
    live, new_context, call_service
):
    room, (wang, zhang) = call_service(lambda: team("王芳", "张伟"))
    sender = open_desk(new_context, live, wang, path=f"/desk/rooms/{room.pk}/", viewport=PHONE)
    reader = open_desk(new_context, live, zhang, path=f"/desk/rooms/{room.pk}/", locale="en-US")

    attach = sender.locator(".room-attach")
    expect(attach).to_have_attribute("title", "添加图片或文件")
    expect(reader.locator(".room-attach")).to_have_attribute("title", "Attach a picture or a file")
    box = attach.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    sender.set_input_files(
        "#room-file", {"name": "截图.png", "mimeType": "image/png", "buffer": png()}
    )
    expect(sender.locator("#room-pending .room-pending-file")).to_contain_text("截图.png")
    sender.fill("#room-body", "看这张截图")
    sender.locator("#room-send").click()
    expect(sender.locator("#room-pending .room-pending-file")).to_have_count(0)

    image = reader.locator("#room-messages .room-message .room-image")
    expect(image).to_have_attribute("alt", "截图.png")
    expect(reader.locator("#room-messages .room-message")).to_contain_text("看这张截图")
    reader.wait_for_function(
        "() => { const i = document.querySelector('#room-messages .room-image');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )

    sender.set_input_files(
        "#room-file",
        {"name": "<b onmouseover=alert(1)>报价.pdf", "mimeType": "application/pdf", "buffer": PDF},
    )
    expect(sender.locator("#room-pending .room-pending-file")).to_contain_text(
        "<b onmouseover=alert(1)>报价.pdf"
    )
    sender.locator("#room-send").click()
    link = reader.locator("#room-messages .room-message .room-file")
    expect(link).to_contain_text("<b onmouseover=alert(1)>报价.pdf")
    expect(link).to_contain_text("bytes")
    assert reader.locator("#room-messages b").count() == 0

    sender.set_input_files(
        "#room-file", {"name": "x.jpg.html", "mimeType": "text/html", "buffer": b"<html><script>"}
    )
    expect(sender.locator("#desk-toasts .room-toast.urgent")).to_be_visible()
    expect(sender.locator("#room-pending .room-pending-file")).to_have_count(0)
