"""Routing and the agent desk in real browsers: the bot hands off, the right agent gets the
conversation live, works it with colleagues, and closes it; the supervisors' board follows."""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from conversations.models import (
    CannedReply,
    Conversation,
    InternalNote,
    Message,
    OfflineMessage,
)
from conversations.services import (
    request_handoff,
    set_agent_status,
    take_conversation,
    transfer_to_agent,
)
from tests.e2e.desk_pages import PHONE, open_conversation, open_desk
from tests.factories import (
    AgentFactory,
    ConversationFactory,
    CustomerFactory,
    MessageFactory,
    SkillGroupFactory,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def open_chat(new_context, live, *, locale="zh-CN", lang=""):
    """A customer's chat page on a phone, its socket live."""
    page = new_context(locale=locale, viewport=PHONE).new_page()
    page.goto(f"{live.url}/chat/" + (f"?lang={lang}" if lang else ""))
    expect(page.locator("#chat")).to_have_class("chat online", timeout=10_000)
    return page


def say(chat, text):
    chat.fill("#chat-input", text)
    chat.press("#chat-input", "Enter")


def test_bot_hands_off_to_the_groups_agent_who_replies_transfers_and_the_colleague_closes(
    live, new_context, demo_kb
):
    aftersales = SkillGroupFactory(code="aftersales", name_zh="售后服务", name_en="After-sales")
    presales = SkillGroupFactory(code="presales", name_zh="售前咨询", name_en="Pre-sales")
    agent_a = AgentFactory(display_name="李娜")
    agent_a.skill_groups.add(aftersales)
    agent_b = AgentFactory(display_name="王伟")
    agent_b.skill_groups.add(presales)
    elsewhere = AgentFactory(display_name="张三")  # online, but in the other group only
    elsewhere.skill_groups.add(presales)
    chat = open_chat(new_context, live)
    page_a = open_desk(new_context, live, agent_a)
    page_b = open_desk(new_context, live, agent_b)
    # The bot answers a knowledge question.
    say(chat, "拆开包装了还能七天无理由退货吗")
    answer = chat.locator("#chat-messages li.from-bot").last
    expect(answer).to_contain_text("退货政策", timeout=10_000)

    # The customer asks for a person and picks the after-sales team.
    chat.click("#chat-handoff")
    chat.locator("#chat-menu").get_by_role("button", name="售后服务").click()
    expect(chat.locator("#chat-status")).to_contain_text("李娜 正在为您服务")
    expect(chat.locator("#chat-messages li.from-system").last).to_contain_text("李娜 已加入会话")

    # A's desk is told at once, without a reload.
    conversation = Conversation.objects.get()
    toast = page_a.locator("#desk-toasts .toast")
    expect(toast).to_contain_text("新会话分配给您")
    expect(page_a.locator("#list-mine")).to_contain_text(conversation.customer.display_name)
    assert conversation.assignee == agent_a
    assert conversation.skill_group == aftersales

    # A opens it: the whole story, the bot's part and what it understood.
    toast.click()
    expect(page_a).to_have_url(f"{live.url}/desk/c/{conversation.id}/")
    history = page_a.locator("#desk-messages")
    expect(history.locator("li.from-customer").first).to_contain_text("七天无理由退货")
    expect(history.locator("li.from-bot").first).to_contain_text("退货政策")
    understood = history.locator("li.from-bot .bot-meta").first
    expect(understood).to_contain_text("answer")
    expect(understood).to_contain_text("returns-policy")
    expect(understood).to_contain_text("置信度")
    expect(page_a.locator("#desk-connection")).to_have_class("desk-connection online")

    # A replies; the customer sees it.
    page_a.fill("#desk-input", "您好，请问是哪一件商品？")
    page_a.press("#desk-input", "Enter")
    expect(chat.locator("#chat-messages li.from-agent").last).to_contain_text("哪一件商品")

    # A transfers to B with a note.
    page_a.click("#transfer-menu summary")
    page_a.select_option("#transfer-target", f"agent:{agent_b.pk}")
    page_a.fill("#transfer-note", "客户想退拆封的耳机，请核对订单")
    page_a.click("#transfer-submit")
    expect(page_a.locator(".flash")).to_contain_text("已转给 王伟")

    # The customer is told who has it now; the note never reaches them.
    expect(chat.locator("#chat-messages li.from-system").last).to_contain_text("转给 王伟")
    expect(chat.locator("#chat-status")).to_contain_text("王伟 正在为您服务")

    # B's desk gets it live, with A's note.
    expect(page_b.locator("#desk-toasts .toast")).to_contain_text("新会话分配给您")
    page_b.locator("#list-mine a", has_text=conversation.customer.display_name).click()
    note = page_b.locator("#desk-messages li.internal-note")
    expect(note).to_contain_text("客户想退拆封的耳机，请核对订单")
    expect(page_b.locator("#desk-messages li.from-agent")).to_contain_text("哪一件商品")

    # B closes it as resolved; the customer sees the end.
    page_b.click("#close-menu summary")
    page_b.get_by_label("已解决").check()
    page_b.click("#close-submit")
    expect(page_b.locator(".flash")).to_contain_text("会话已结束")
    expect(chat.locator("#chat-status")).to_have_text("本次会话已结束。")
    expect(chat.locator("#chat-messages li.from-system").last).to_contain_text("会话已结束")
    expect(chat.locator("#chat-restart")).to_be_visible()
    expect(chat.locator("#chat-composer")).to_be_hidden()
    expect(chat.locator("#chat-messages")).not_to_contain_text("核对订单")

    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.CLOSED
    assert conversation.assignee == agent_b
    assert conversation.transfer_count == 1
    assert conversation.resolution == Conversation.Resolution.RESOLVED
    transfer = InternalNote.objects.get(conversation=conversation)
    assert transfer.kind == InternalNote.Kind.TRANSFER
    assert "客户想退拆封的耳机，请核对订单" in transfer.body
    assert not Message.objects.filter(body__contains="核对订单").exists()


def test_a_canned_reply_is_picked_with_a_slash_and_sent_with_the_customers_name(live, new_context):
    """In English: the customer chats in English, the desk follows the browser's language."""
    CannedReply.objects.create(
        shortcut="hello",
        language="en",
        title="Greeting",
        body="Hello {name}, this is {agent}. How can I help you today?",
    )
    CannedReply.objects.create(
        shortcut="hello", language="zh", title="问候", body="您好 {name}，请问有什么可以帮您？"
    )
    agent = AgentFactory(display_name="Emma Zhang")
    chat = open_chat(new_context, live, locale="en-US", lang="en")
    say(chat, "Hi, my kettle leaks")
    expect(chat.locator("#chat-messages li.from-customer[data-seq='1']")).to_contain_text("kettle")
    conversation = Conversation.objects.get()
    assert conversation.language == "en"
    conversation.customer.name = "Alice Wong"
    conversation.customer.save(update_fields=["name"])

    page = open_desk(new_context, live, agent, locale="en-US")
    expect(page.locator("#desk-lists h2").first).to_contain_text("Mine")
    page.locator("#list-bot a", has_text="Alice Wong").click()
    page.get_by_role("button", name="Take").click()
    expect(chat.locator("#chat-status")).to_contain_text("Emma Zhang is helping you")
    expect(page.locator("#transfer-menu summary")).to_have_text("Transfer")
    expect(page.locator("#desk-connection")).to_have_class("desk-connection online")

    page.locator("#desk-input").press_sequentially("/")
    options = page.locator("#canned-list li[role=option]")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("/hello")
    options.first.click()
    expect(page.locator("#desk-input")).to_have_value(
        "Hello Alice Wong, this is Emma Zhang. How can I help you today?"
    )
    expect(page.locator("#canned-list")).to_be_hidden()
    page.press("#desk-input", "Enter")

    sent = page.locator("#desk-messages li.from-agent[data-seq]")
    expect(sent).to_contain_text("Hello Alice Wong, this is Emma Zhang.")
    expect(chat.locator("#chat-messages li.from-agent")).to_contain_text(
        "Hello Alice Wong, this is Emma Zhang. How can I help you today?"
    )
    assert Message.objects.filter(
        sender="agent", body="Hello Alice Wong, this is Emma Zhang. How can I help you today?"
    ).exists()


def test_internal_notes_reach_a_consulting_colleague_live_and_never_the_customer(
    live, new_context, call_service
):
    agent = AgentFactory(display_name="李娜")
    colleague = AgentFactory(display_name="王伟")
    chat = open_chat(new_context, live)
    page = open_desk(new_context, live, agent)
    helper_page = open_desk(new_context, live, colleague)
    say(chat, "我的耳机左边没有声音")
    expect(chat.locator("#chat-messages li.from-customer[data-seq='1']")).to_be_visible()
    conversation = Conversation.objects.get()
    call_service(take_conversation, conversation_id=conversation.id, agent=agent)
    expect(chat.locator("#chat-status")).to_contain_text("李娜 正在为您服务")
    open_conversation(page, live, conversation.id)

    page.click("#invite-menu summary")
    page.select_option("#invite-colleague", str(colleague.pk))
    page.fill("#invite-note", "帮忙看一下保修")
    page.locator("#invite-menu button[type=submit]").click()
    expect(page.locator(".participants")).to_contain_text("王伟")
    expect(chat.locator("#chat-messages li.from-system").last).to_contain_text("邀请了同事 王伟")

    invited = helper_page.locator("#desk-toasts .toast")
    expect(invited).to_contain_text("李娜 邀请您协助处理")
    invited.click()
    expect(helper_page).to_have_url(f"{live.url}/desk/c/{conversation.id}/")
    expect(helper_page.locator("#desk-connection")).to_have_class("desk-connection online")
    expect(helper_page.locator("#desk-messages")).to_contain_text("我的耳机左边没有声音")
    expect(helper_page.locator("#desk-composer")).to_have_count(0)  # only the assignee replies

    page.fill("#note-input", "客户的订单在保修期内，可以直接换新")
    page.press("#note-input", "Enter")
    expect(page.locator("#note-input")).to_have_value("")
    expect(helper_page.locator("#desk-messages li.internal-note").last).to_contain_text(
        "可以直接换新"
    )
    expect(page.locator("#desk-messages li.internal-note").last).to_contain_text("可以直接换新")

    # The colleague answers with a note of their own, seen live by the assignee.
    helper_page.fill("#note-input", "同意，换新")
    helper_page.press("#note-input", "Enter")
    expect(page.locator("#desk-messages li.internal-note").last).to_contain_text("同意，换新")

    page.fill("#desk-input", "马上为您办理换新")
    page.press("#desk-input", "Enter")
    expect(chat.locator("#chat-messages li.from-agent")).to_contain_text("马上为您办理换新")
    expect(helper_page.locator("#desk-messages li.from-agent")).to_contain_text("马上为您办理换新")
    expect(chat.locator("#chat-messages")).not_to_contain_text("可以直接换新")
    expect(chat.locator("#chat-messages")).not_to_contain_text("同意，换新")
    expect(chat.locator("#chat-messages")).not_to_contain_text("帮忙看一下保修")
    assert InternalNote.objects.filter(conversation=conversation).count() == 3


def test_with_nobody_online_the_customer_leaves_a_message(live, new_context):
    AgentFactory(status="offline")
    chat = open_chat(new_context, live)
    say(chat, "转人工")  # asking in words the bot understands
    expect(chat.locator("#chat-messages li.from-bot")).to_contain_text("人工", timeout=10_000)
    expect(chat.locator("#chat-status")).to_have_text("目前没有客服在线，您可以留言。")
    leave = chat.locator("#chat-leave")
    expect(leave).to_be_visible()

    chat.fill("#leave-body", "耳机坏了，请明天联系我")
    chat.fill("#leave-contact", "13800138000")
    leave.get_by_role("button", name="提交留言").click()

    expect(chat.locator("#chat-messages li.from-customer").last).to_contain_text("请明天联系我")
    expect(chat.locator("#chat-status")).to_have_text("本次会话已结束。")
    expect(chat.locator("#chat-restart")).to_be_visible()
    expect(leave).to_be_hidden()
    left = OfflineMessage.objects.get()
    assert left.body == "耳机坏了，请明天联系我"
    assert left.contact == "13800138000"
    assert left.conversation.status == Conversation.Status.CLOSED
    assert left.conversation.resolution == Conversation.Resolution.LEFT_MESSAGE


def test_the_supervisors_board_shows_queues_and_loads_live_and_is_closed_to_agents(
    live, new_context, call_service
):
    membership = SkillGroupFactory(code="membership", name_zh="会员服务", name_en="Membership")
    supervisor = AgentFactory(display_name="陈主管")
    supervisor.user.groups.add(Group.objects.get_or_create(name="Supervisors")[0])
    busy = AgentFactory(display_name="李娜", status="away")
    busy.skill_groups.add(membership)
    ConversationFactory(status="assigned", assignee=busy, skill_group=membership)
    waiting = ConversationFactory(
        customer=CustomerFactory(name="赵六"), skill_group=membership, last_seq=1
    )
    MessageFactory(conversation=waiting, seq=1, body="我的积分不见了")
    page = open_desk(new_context, live, supervisor, path="/desk/board/")
    ordinary_page = open_desk(new_context, live, AgentFactory())
    expect(page.locator("#board h1")).to_have_text("实时看板")
    queue = page.locator("#board-queues tr", has_text="会员服务")
    expect(queue.locator("td").first).to_have_text("0")
    expect(page.locator("#board-agents tr", has_text="李娜")).to_contain_text("1/5")

    # Nobody of the group is online: the handed-off conversation waits.
    call_service(request_handoff, conversation_id=waiting.id)
    expect(queue.locator("td").first).to_have_text("1")
    expect(page.locator("#board-queues tr.busy")).to_contain_text("会员服务")

    # The group's agent comes back: they get it at once, and the board follows.
    call_service(set_agent_status, agent_id=busy.pk, status="online")
    expect(queue.locator("td").first).to_have_text("0")
    agent_row = page.locator("#board-agents tr", has_text="李娜")
    expect(agent_row).to_contain_text("2/5")
    expect(agent_row.locator(".presence")).to_have_text("在线")
    expect(page.locator("#board-conversations")).to_contain_text("赵六")

    response = ordinary_page.goto(f"{live.url}/desk/board/")
    assert response is not None and response.status == 403


def test_an_agent_whose_open_conversation_is_transferred_away_is_back_at_the_lists(
    live, new_context, call_service
):
    agent = AgentFactory(display_name="李娜")
    other = AgentFactory(display_name="王伟")
    supervisor = AgentFactory(display_name="陈主管")
    supervisor.user.groups.add(Group.objects.get_or_create(name="Supervisors")[0])
    conversation = ConversationFactory(customer=CustomerFactory(name="赵六"), last_seq=1)
    MessageFactory(conversation=conversation, seq=1, body="发票开错了")
    call_service(take_conversation, conversation_id=conversation.id, agent=agent)
    page = open_desk(new_context, live, agent, path=f"/desk/c/{conversation.id}/")
    expect(page.locator("#desk-messages")).to_contain_text("发票开错了")

    call_service(
        transfer_to_agent, conversation_id=conversation.id, by=supervisor, to_agent_id=other.pk
    )

    expect(page).to_have_url(f"{live.url}/desk/")
    expect(page.locator("#list-mine")).not_to_contain_text("赵六")
    expect(page.locator("#desk-connection")).to_have_class("desk-connection online")


def test_the_desk_conversation_fits_a_phone(live, new_context, call_service):
    agent = AgentFactory(display_name="李娜")
    conversation = ConversationFactory(customer=CustomerFactory(name="一位名字很长很长的顾客"))
    for seq in range(1, 16):
        MessageFactory(conversation=conversation, seq=seq, body="我的订单什么时候发货？" * 3)
    conversation.last_seq = 15
    conversation.save(update_fields=["last_seq"])
    call_service(take_conversation, conversation_id=conversation.id, agent=agent)
    page = open_desk(new_context, live, agent, viewport=PHONE, path=f"/desk/c/{conversation.id}/")
    expect(page.locator("#desk-messages li.from-customer")).to_have_count(15)
    composer = page.locator("#desk-composer")
    expect(composer).to_be_visible()
    expect(composer).to_be_in_viewport()
    expect(page.locator("#desk-input")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = composer.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
