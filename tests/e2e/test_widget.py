"""The embeddable widget on a real shop page of another origin, in a real browser: the
launcher, the invitation after N seconds, the chat in its frame, the page shown to the
agent; and nothing at all on an origin the site does not allow."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from conversations.models import Conversation, WidgetSite
from conversations.services import take_conversation
from customers.models import Invitation, InvitationRule, Recommendation, RecommendationRule
from customers.services import identity_hash
from tests.e2e.desk_pages import PHONE, open_conversation, open_desk
from tests.factories import AgentFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TITLE = "Lumen Buds 2 无线耳机 — Lumen Shop"
SHOP_PAGE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>{stub}</head>
<body><h1>Lumen Buds 2</h1><p>¥399</p>
<script src="{helpdesk}/widget.js" data-channel="lumen-shop" async></script>
</body></html>"""
# A signed-in shop customer: the shop's backend computed the hash; the page queues the call
# before widget.js has loaded (docs/care.md).
SIGNED_IN = {"external_id": "shop-42", "name": "陈静", "hash": identity_hash("shop-42")}
SIGNED_IN_STUB = """<script>window.LumenChat = window.LumenChat || {q: [],
  identify(i) { this.q.push(["identify", i]); }, open() { this.q.push(["open"]); }};
LumenChat.identify(IDENTITY); LumenChat.open();</script>"""
FRAMING_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>framing</title></head>
<body><iframe id="framed" src="{helpdesk}/chat/?embed=lumen-shop&origin={origin}"></iframe></body></html>"""


class Shop:
    """A tiny web shop on a port of its own: another origin than the helpdesk's."""

    def __init__(self, helpdesk: str):
        helpdesk_url = helpdesk

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                template = FRAMING_PAGE if self.path.startswith("/framing") else SHOP_PAGE
                stub = SIGNED_IN_STUB if self.path.startswith("/account") else ""
                body = template.format(
                    title=TITLE,
                    helpdesk=helpdesk_url,
                    origin=self.server.claimed_origin,
                    stub=stub.replace("IDENTITY", json.dumps(SIGNED_IN)),
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        # The origin its framing page names to the chat (another shop may claim to be this).
        self.server.claimed_origin = self.origin
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def shops(live):
    allowed, other = Shop(live.url), Shop(live.url)
    other.server.claimed_origin = allowed.origin
    WidgetSite.objects.create(name="Lumen Shop", key="lumen-shop", allowed_origins=allowed.origin)
    yield allowed, other
    allowed.close()
    other.close()


@pytest.mark.parametrize(
    ("locale", "viewport", "launcher", "accept", "message"),
    [
        ("zh-CN", {"width": 1280, "height": 860}, "联系客服", "立即咨询", "需要帮您挑选耳机吗？"),
        ("en-US", PHONE, "Chat with us", "Chat now", "Need help choosing headphones?"),
    ],
)
def test_launcher_invitation_chat_and_the_agent_sees_the_page(
    live, shops, new_context, call_service, locale, viewport, launcher, accept, message
):
    shop, _other = shops
    InvitationRule.objects.create(
        name="product pages",
        url_pattern="/products/*",
        min_seconds=2,
        message_zh="需要帮您挑选耳机吗？",
        message_en="Need help choosing headphones?",
    )
    agent = AgentFactory(display_name="李娜")
    visitor = new_context(locale=locale, viewport=viewport).new_page()

    visitor.goto(f"{shop.origin}/products/42?color=white")

    expect(visitor.locator("#lumen-chat-widget .launcher")).to_contain_text(launcher)
    bubble = visitor.locator("#lumen-chat-widget .bubble")
    expect(bubble).to_contain_text(message, timeout=10_000)
    bubble.locator(".accept").click()
    expect(bubble).to_be_hidden()

    chat = visitor.frame_locator("#lumen-chat-widget iframe")
    expect(chat.locator("#chat")).to_have_class("chat online", timeout=10_000)
    expect(chat.locator("#chat-messages li.from-bot").first).to_contain_text(message)
    chat.locator("#chat-input").fill("这款耳机能连两台手机吗？")
    chat.locator("#chat-input").press("Enter")
    expect(chat.locator("#chat-messages li.from-customer")).to_contain_text("连两台手机")

    conversation = Conversation.objects.get()
    assert Invitation.objects.get().answer == "accepted"
    assert conversation.page["url"] == f"{shop.origin}/products/42?color=white"
    assert conversation.page["title"] == TITLE

    call_service(take_conversation, conversation_id=conversation.pk, agent=agent)
    desk = open_desk(new_context, live, agent)
    open_conversation(desk, live, conversation.pk)
    shown = desk.locator("#pane-page")
    expect(shown).to_contain_text(TITLE)
    expect(shown.locator("a")).to_have_attribute("href", f"{shop.origin}/products/42?color=white")
    expect(desk.locator("#desk-messages")).to_contain_text("连两台手机")

    desk.fill("#desk-input", "可以的，支持双设备连接。")
    desk.press("#desk-input", "Enter")
    expect(chat.locator("#chat-messages li.from-agent")).to_contain_text("双设备连接")
    visitor.locator("#lumen-chat-widget .panel .close").click()
    expect(visitor.locator("#lumen-chat-widget .panel")).to_be_hidden()

    # On the shop's next page the widget knows the visitor is with an agent: no invitation.
    visitor.goto(f"{shop.origin}/products/43")
    expect(visitor.locator("#lumen-chat-widget .launcher")).to_be_visible()
    remembered = visitor.evaluate("sessionStorage.getItem('lumen.widget.status:lumen-shop')")
    assert remembered == "assigned"


def test_the_widget_does_not_run_on_an_origin_the_site_does_not_allow(live, shops, new_context):
    _shop, other = shops
    InvitationRule.objects.create(name="any", min_seconds=0, message_zh="嗨", message_en="Hi")
    page = new_context(locale="zh-CN").new_page()

    with page.expect_console_message(lambda m: "the widget does not run" in m.text) as refused:
        page.goto(f"{other.origin}/products/42")

    assert other.origin in refused.value.text
    expect(page.locator("h1")).to_have_text("Lumen Buds 2")
    expect(page.locator("#lumen-chat-widget")).to_have_count(0)
    assert not Invitation.objects.exists()


def test_the_chat_refuses_to_be_framed_by_another_origin(live, shops, new_context):
    """The other shop names the allowed origin to the chat page: the browser still refuses
    to show it in the other shop's frame (CSP frame-ancestors)."""
    shop, other = shops
    allowed = new_context().new_page()
    refused = new_context().new_page()

    allowed.goto(f"{shop.origin}/framing")
    refused.goto(f"{other.origin}/framing")

    expect(allowed.frame_locator("#framed").locator("#chat")).to_have_count(1)
    expect(refused.frame_locator("#framed").locator("#chat")).to_have_count(0)
    assert refused.frames[1].url != allowed.frames[1].url


def test_an_invitation_on_the_chat_page_itself_declined_then_accepted(live, new_context):
    """On /chat/ the page asks by itself: declined in one visit, accepted in the next, whose
    conversation opens with the invitation's words."""
    InvitationRule.objects.create(
        name="chat page",
        min_seconds=1,
        message_zh="有什么可以帮您？",
        message_en="How can we help?",
    )
    first = new_context(locale="en-US", viewport=PHONE).new_page()
    first.goto(f"{live.url}/chat/?lang=en")
    offer = first.locator("#chat-messages li.invitation")
    expect(offer).to_contain_text("How can we help?", timeout=10_000)
    offer.locator("button.secondary").click()
    expect(offer).to_have_count(0)

    second = new_context(locale="en-US", viewport=PHONE).new_page()
    second.goto(f"{live.url}/chat/?lang=en")
    offer = second.locator("#chat-messages li.invitation")
    expect(offer).to_contain_text("How can we help?", timeout=10_000)
    offer.locator("button:not(.secondary)").click()
    expect(second.locator("#chat-messages li.from-bot").last).to_contain_text("How can we help?")

    answers = sorted(Invitation.objects.values_list("answer", flat=True))
    assert answers == ["accepted", "declined"]
    accepted = Invitation.objects.get(answer="accepted")
    assert accepted.source == "chat"
    assert Conversation.objects.filter(pk=accepted.conversation_id).exists()


def test_a_signed_in_shop_customer_is_identified_through_the_queued_api(live, shops, new_context):
    shop, _other = shops
    visitor = new_context(locale="zh-CN").new_page()

    visitor.goto(f"{shop.origin}/account/orders")

    chat = visitor.frame_locator("#lumen-chat-widget iframe")  # LumenChat.open() opened it
    expect(chat.locator("#chat")).to_have_class("chat online", timeout=10_000)
    expect(chat.locator("#chat-messages li.from-bot").first).to_contain_text("陈静")
    chat.locator("#chat-input").fill("我的订单到哪了？")
    chat.locator("#chat-input").press("Enter")
    expect(chat.locator("#chat-messages li.from-customer")).to_contain_text("订单到哪了")

    conversation = Conversation.objects.select_related("customer").get()
    assert (conversation.customer.external_id, conversation.customer.name) == ("shop-42", "陈静")
    assert conversation.page["url"] == f"{shop.origin}/account/orders"


def test_a_recommendation_after_the_bots_answer_is_a_link_counted_on_its_way(
    live, shops, new_context, demo_kb
):
    shop, _other = shops
    rule = RecommendationRule.objects.create(
        name="returns",
        topic="returns-refunds",
        message_zh="您可能还需要：",
        message_en="You might also like:",
    )
    rule.products.create(
        sku="BAG-1", name_zh="环保购物袋", name_en="Tote bag", url=f"{shop.origin}/products/bag"
    )
    chat = new_context(locale="en-US", viewport=PHONE).new_page()
    chat.goto(f"{live.url}/chat/?lang=en")
    expect(chat.locator("#chat")).to_have_class("chat online", timeout=10_000)

    chat.fill("#chat-input", "What is your return policy?")
    chat.press("#chat-input", "Enter")

    offer = chat.locator("#chat-messages li.from-system .recommendation a")
    expect(offer).to_have_text("Tote bag", timeout=10_000)
    with chat.expect_popup() as opened:
        offer.click()
    opened.value.wait_for_load_state()
    assert opened.value.url == f"{shop.origin}/products/bag"
    assert Recommendation.objects.get().clicks == 1
