"""The strict Content Security Policy in a real browser: the desk (inbox, a conversation,
tickets, rooms, the dashboards and the live board), the customer's chat, the help centre,
the chat in a shop's frame and admin all work under it — nothing is refused by the policy
(no `securitypolicyviolation` event in any frame) and no script error reaches the console —
while their interactive parts do what they did (docs/security.md)."""

import re
import uuid

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from conversations.models import Conversation, WidgetSite
from conversations.services import take_conversation
from customers.models import InvitationRule
from knowledge import jobs
from tests.conversations.rooms_helpers import team
from tests.e2e.desk_pages import log_in, open_conversation
from tests.e2e.test_widget import Shop
from tests.factories import AgentFactory, CustomerFactory, SkillGroupFactory, UserFactory
from tickets.models import Ticket

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("ticket_defaults"),
]

# Runs in every frame before the page's own scripts: what the policy refused, kept in the
# frame's window for the test to read.
COLLECT_VIOLATIONS = """
window.__csp_violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__csp_violations.push(
    event.violatedDirective + " refused " + (event.blockedURI || "inline") +
    " at " + event.sourceFile + ":" + event.lineNumber + " " + (event.sample || ""));
});
"""


class Watched:
    """A browser context whose pages report what the policy refused and what went wrong."""

    def __init__(self, context):
        self.context = context
        self.errors: list[str] = []
        context.add_init_script(COLLECT_VIOLATIONS)
        context.on("page", self._watch)

    def _watch(self, page):
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _console(self, message):
        # The browser asks for /favicon.ico on its own, and the site has none (not a page's
        # doing, and nothing the policy refuses).
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            self.errors.append(f"{message.text} ({message.location.get('url')})")

    def new_page(self):
        return self.context.new_page()

    def problems(self, page) -> list[str]:
        """What the policy refused in any frame of the page, and every console error."""
        refused = [v for frame in page.frames for v in frame.evaluate("window.__csp_violations")]
        return refused + self.errors


@pytest.fixture
def watched(new_context):
    def open_watched(**options):
        return Watched(new_context(**options))

    return open_watched


@pytest.fixture
def supervisor():
    """A supervisor who is also admin's superuser."""
    user = UserFactory(username="chief", is_staff=True, is_superuser=True)
    user.set_password("lumen-demo")
    user.save(update_fields=["password"])
    agent = AgentFactory(user=user, display_name="主管 Boss")
    agent.user.groups.add(Group.objects.get_or_create(name="Supervisors")[0])
    return agent


def test_the_chat_the_inbox_a_conversation_and_its_ticket_work_under_the_policy(
    live, watched, call_service
):
    group = SkillGroupFactory(code="aftersales", name_zh="售后服务", name_en="After-sales")
    agent = AgentFactory(display_name="李娜")
    agent.skill_groups.add(group)
    customer = watched(locale="zh-CN", viewport={"width": 390, "height": 844})
    chat = customer.new_page()
    chat.goto(f"{live.url}/chat/")
    expect(chat.locator("#chat")).to_have_class("chat online", timeout=10_000)
    chat.fill("#chat-input", "耳机用了一周就没声音了")
    chat.press("#chat-input", "Enter")
    expect(chat.locator("#chat-messages li.from-customer")).to_contain_text("没声音")
    conversation = Conversation.objects.get()
    Conversation.objects.filter(pk=conversation.pk).update(skill_group=group)
    call_service(take_conversation, conversation_id=conversation.id, agent=agent)

    desk_context = watched(locale="zh-CN")
    desk = log_in(desk_context.new_page(), live, agent)
    expect(desk.locator(f'#desk-lists a[href="/desk/c/{conversation.id}/"]')).to_be_visible()
    open_conversation(desk, live, conversation.id)
    desk.fill("#desk-input", "请问是哪一只耳机？")
    desk.press("#desk-input", "Enter")
    expect(chat.locator("#chat-messages li.from-agent")).to_contain_text("哪一只耳机")
    desk.click("#close-menu summary")
    desk.get_by_label("未解决").check()
    desk.click("#close-submit")
    ticket = Ticket.objects.get()
    expect(chat.locator("#chat-messages")).to_contain_text(ticket.number, timeout=10_000)

    desk.click(".desk-user a[href='/desk/tickets/']")
    desk.locator(f'#ticket-list li[data-ticket="{ticket.number}"] a').click()
    expect(desk.locator("#ticket-number")).to_have_text(ticket.number)
    desk.fill("#ticket-reply", "已为您安排换新")
    desk.click("#ticket-send")
    expect(desk.locator("#ticket-timeline")).to_contain_text("已为您安排换新")
    expect(chat.locator("#chat-messages li.from-system").last).to_contain_text("已为您安排换新")

    assert customer.problems(chat) == []
    assert desk_context.problems(desk) == []


def test_rooms_the_dashboards_and_the_live_board_work_under_the_policy(
    live, watched, supervisor, call_service
):
    room, _ = call_service(lambda: team("王芳"))
    context = watched(locale="en-US")
    page = log_in(context.new_page(), live, supervisor, path=f"/desk/rooms/{room.pk}/")
    page.fill("#room-body", "Stock count at 5 pm")
    page.locator("#room-send").click()
    expect(page.locator("#room-messages .room-message")).to_contain_text("Stock count")
    assert context.problems(page) == []

    page.goto(f"{live.url}/desk/analytics/")
    expect(page.locator("#chart-trend_conversations rect.chart-bar")).to_have_count(7)
    assert context.problems(page) == []

    page.goto(f"{live.url}/desk/board/")
    expect(page.locator("#desk-connection")).to_have_class("desk-connection online")
    today_count = page.locator('#board-today li[data-metric="conversations"] strong')
    expect(today_count).to_have_text("0")
    customer = watched(locale="en-US").new_page()
    customer.goto(f"{live.url}/chat/?lang=en")
    expect(customer.locator("#chat")).to_have_class("chat online", timeout=10_000)
    customer.fill("#chat-input", "I need a person please")
    customer.press("#chat-input", "Enter")
    expect(customer.locator("#chat-messages li.from-customer")).to_contain_text("a person")
    expect(today_count).to_have_text("1")
    assert context.problems(page) == []


def test_the_help_centre_works_under_the_policy(live, watched, demo_kb):
    context = watched(locale="en-US")
    page = context.new_page()
    page.goto(f"{live.url}/help/?lang=en")
    page.fill("#help-q", "refund")
    page.press("#help-q", "Enter")
    expect(page.locator(".help-results li").first).to_be_visible()
    category = page.locator("#help-category option").nth(1).get_attribute("value")

    page.select_option("#help-category", category)  # no button: the page's script submits

    expect(page).to_have_url(re.compile(rf"[?&]category={category}\b"))
    assert context.problems(page) == []


def test_the_chat_in_a_shops_frame_works_under_the_policy(live, watched):
    shop = Shop(live.url)
    try:
        WidgetSite.objects.create(name="Lumen Shop", key="lumen-shop", allowed_origins=shop.origin)
        InvitationRule.objects.create(
            name="none", min_seconds=3600, message_zh="嗨", message_en="Hi"
        )
        context = watched(locale="en-US")
        page = context.new_page()
        page.goto(f"{shop.origin}/products/42")
        page.locator("#lumen-chat-widget .launcher").click()
        chat = page.frame_locator("#lumen-chat-widget iframe")
        expect(chat.locator("#chat")).to_have_class("chat online", timeout=10_000)
        chat.locator("#chat-input").fill("Do these fit small ears?")
        chat.locator("#chat-input").press("Enter")
        expect(chat.locator("#chat-messages li.from-customer")).to_contain_text("small ears")

        assert len(page.frames) == 2
        assert context.problems(page) == []
    finally:
        shop.close()


def test_admin_works_under_the_policy(live, watched, supervisor):
    first = CustomerFactory(name="王芳", phone="13800001001")
    second = CustomerFactory(name="Wang Fang", email="fang@example.com")
    job_id = uuid.uuid4()
    jobs.set_state(job_id, status="running", kind="kb", done=1, total=3, errors=[], result="")
    context = watched(locale="en-US")
    page = context.new_page()
    page.goto(f"{live.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "chief")
    page.fill("#id_password", "lumen-demo")
    page.locator("input[type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()
    assert context.problems(page) == []

    page.goto(f"{live.url}/admin/customers/customer/{first.pk}/change/")
    page.fill("#id_name", "王芳 (VIP)")
    page.locator("input[name=_continue]").click()
    expect(page.locator("#id_name")).to_have_value("王芳 (VIP)")
    assert context.problems(page) == []

    page.goto(f"{live.url}/admin/customers/customer/")
    for customer in (first, second):
        page.locator(f'input[name=_selected_action][value="{customer.pk}"]').check()
    page.select_option("select[name=action]", "merge_two")
    page.locator("button[name=index]").click()
    expect(page.locator("#merge-form fieldset.merge-side")).to_have_count(2)
    assert context.problems(page) == []

    page.goto(f"{live.url}/admin/knowledge/article/import/{job_id}/")
    expect(page.locator("#import-status")).to_contain_text("running 1/3")
    jobs.set_state(job_id, status="done", done=3, result="3 articles")
    expect(page.locator("#import-status")).to_contain_text("done 3/3 3 articles")
    assert context.problems(page) == []


def test_the_api_docs_work_under_their_policy(live, watched):
    """/api/docs/: Swagger UI from the site's own files, its start-up script from a URL of
    its own; the page allows inline styles and data: images, and nothing else is refused."""
    context = watched(locale="en-US")
    page = context.new_page()
    page.goto(f"{live.url}/api/docs/")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Lumen Helpdesk API")
    tickets = page.locator(".opblock-summary-path", has_text=re.compile(r"^/api/v1/tickets/$"))
    expect(tickets.first).to_be_visible()
    tickets.first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    assert context.problems(page) == []
