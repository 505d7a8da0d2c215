"""Sending what care claimed (conversations/services/care.py): each outreach once, into the
chat or by email, respecting opt-out, quiet hours and the daily cap; and the survey after a
chat, answered over the real chat socket."""

import asyncio
import uuid
from datetime import date, datetime, time, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from conversations.models import Conversation, Message, Survey
from conversations.services import care, close_conversation, post_customer_message
from conversations.services.sessions import issue_chat_token
from customers.models import CareCampaign, Coupon, Outreach, PointsEntry
from customers.services import care as claims
from helpdesk.models import OutboundEvent
from tests.factories import ConversationFactory, CustomerFactory, OrderFactory, care_campaign
from tests.threads import at_once
from tests.wsclient import Socket


def chat_with_a_question(**customer):
    conversation = ConversationFactory(
        customer=CustomerFactory(**customer), status=Conversation.Status.QUEUED
    )
    post_customer_message(conversation_id=conversation.pk, client_id="c1", body="耳机坏了")
    return conversation


def closed_chat(**customer):
    conversation = chat_with_a_question(**customer)
    close_conversation(conversation_id=conversation.pk, resolution="resolved")
    return conversation


def later(minutes: int = 6):
    return timezone.now() + timedelta(minutes=minutes)


def claim(kind, customer, occasion="x", **fields):
    return claims.claim_outreach(
        campaign=care_campaign(kind, **fields),
        customer_id=customer.pk,
        occasion=occasion,
        occurred_at=timezone.now(),
    )


@pytest.mark.django_db
def test_closing_a_chat_claims_one_survey_five_minutes_later():
    care_campaign(CareCampaign.Kind.SURVEY, delay_minutes=5)

    conversation = closed_chat()
    close_conversation(conversation_id=conversation.pk)  # closing twice changes nothing

    outreach = Outreach.objects.get()
    conversation.refresh_from_db()
    assert outreach.occasion == f"conversation:{conversation.pk}"
    assert outreach.due_at == conversation.closed_at + timedelta(minutes=5)
    assert outreach.expires_at == conversation.closed_at + timedelta(hours=24)


@pytest.mark.django_db
@pytest.mark.parametrize("resolution", ["spam", "resolved"])
def test_no_survey_for_spam_or_a_chat_where_the_customer_said_nothing(resolution):
    care_campaign(CareCampaign.Kind.SURVEY)
    silent = ConversationFactory(status=Conversation.Status.BOT)
    spam = chat_with_a_question()

    close_conversation(conversation_id=silent.pk, resolution=resolution)
    close_conversation(conversation_id=spam.pk, resolution="spam")

    assert not Outreach.objects.exists()


@pytest.mark.django_db
def test_the_survey_goes_out_when_due_once_into_the_chat_it_is_about():
    care_campaign(CareCampaign.Kind.SURVEY, delay_minutes=5, reward_points=10)
    conversation = closed_chat(name="王芳")

    early = care.send_due_outreach()
    sent = care.send_due_outreach(now=later())
    again = care.send_due_outreach(now=later(10))

    assert (early, sent, again) == (0, 1, 0)
    survey = Survey.objects.get()
    assert survey.conversation_id == survey.delivered_in_id == conversation.pk
    assert survey.question == "王芳，请为刚才的服务打分（1–5）。"
    message = Message.objects.filter(conversation=conversation).order_by("-seq").first()
    assert message.meta == {
        "event": "survey",
        "campaign": "survey",
        "survey": str(survey.pk),
        "scale": 5,
    }
    outreach = Outreach.objects.get()
    assert (outreach.status, outreach.channel) == ("sent", "chat")


@pytest.mark.django_db
def test_a_customer_back_in_a_new_chat_gets_the_survey_there():
    care_campaign(CareCampaign.Kind.SURVEY)
    conversation = closed_chat()
    new_chat = ConversationFactory(customer=conversation.customer)

    care.send_due_outreach(now=later())

    survey = Survey.objects.get()
    assert (survey.conversation_id, survey.delivered_in_id) == (conversation.pk, new_chat.pk)
    assert [s["survey"] for s in care.open_surveys(new_chat)] == [str(survey.pk)]


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_it_once():
    care_campaign(CareCampaign.Kind.SURVEY)
    closed_chat()
    due = later()

    results = at_once(lambda: care.send_due_outreach(now=due), times=4)

    assert sorted(results) == [0, 0, 0, 1]
    assert Survey.objects.count() == 1
    assert Message.objects.filter(meta__event="survey").count() == 1


@pytest.mark.django_db
def test_a_retried_task_for_a_sent_outreach_sends_nothing():
    care_campaign(CareCampaign.Kind.SURVEY)
    closed_chat()
    outreach = Outreach.objects.get()
    care.send_due_outreach(now=later())

    assert care.send_due_outreach(now=later(), only=outreach.pk) == 0
    assert Survey.objects.count() == 1


@pytest.mark.django_db
def test_an_opted_out_customer_gets_nothing_and_the_outreach_says_why():
    care_campaign(CareCampaign.Kind.SURVEY)
    conversation = closed_chat(care_opt_out=True)

    care.send_due_outreach(now=later())

    outreach = Outreach.objects.get()
    assert (outreach.status, outreach.detail) == ("skipped", "customer opted out")
    assert not Survey.objects.exists()
    assert not Message.objects.filter(conversation=conversation, meta__event="survey").exists()


@pytest.mark.django_db
def test_quiet_hours_hold_it_until_they_end_in_the_customers_timezone():
    care_campaign(CareCampaign.Kind.SURVEY, expire_hours=48)
    closed_chat(timezone="Asia/Shanghai", quiet_start=time(22), quiet_end=time(8))
    night = datetime(2026, 12, 4, 23, 30, tzinfo=timezone.get_current_timezone())  # Shanghai
    Outreach.objects.update(due_at=night - timedelta(minutes=1))

    held = care.send_due_outreach(now=night)

    outreach = Outreach.objects.get()
    assert held == 0
    assert outreach.status == "pending"
    assert outreach.due_at == datetime(2026, 12, 5, 8, 0, tzinfo=night.tzinfo)
    assert care.send_due_outreach(now=outreach.due_at) == 1


@pytest.mark.django_db
def test_the_daily_cap_holds_the_next_one_until_a_day_after_the_oldest(settings):
    settings.CARE_DAILY_CAP = 2
    customer = chat_with_a_question().customer
    for occasion in ("a", "b", "c"):
        claim(CareCampaign.Kind.ORDER_DELIVERED, customer, occasion)

    sent = care.send_due_outreach(now=later(1))

    waiting = Outreach.objects.get(status="pending")
    first_sent = Outreach.objects.filter(status="sent").order_by("sent_at").first()
    assert sent == 2
    assert waiting.due_at == first_sent.sent_at + timedelta(days=1)


@pytest.mark.django_db
def test_what_waited_past_its_expiry_is_not_sent():
    care_campaign(CareCampaign.Kind.SURVEY)
    closed_chat()

    sent = care.send_due_outreach(now=timezone.now() + timedelta(hours=25))

    assert sent == 0
    assert Outreach.objects.get().status == "expired"
    assert not Survey.objects.exists()


@pytest.mark.django_db
def test_without_an_open_chat_a_birthday_goes_by_email_once_with_its_coupon():
    customer = CustomerFactory(name="Fang", language="en", email="fang@example.com")
    claim(CareCampaign.Kind.BIRTHDAY, customer, "birthday:2026", coupon_amount="20.00")

    sent = care.send_due_outreach(now=later(1))
    again = care.send_due_outreach(now=later(2))

    coupon = Coupon.objects.get(customer=customer)
    assert (sent, again) == (1, 0)
    assert [m.to for m in mail.outbox] == [["fang@example.com"]]
    assert mail.outbox[0].body == f"Happy birthday, Fang! Coupon {coupon.code} (20 off)."
    outreach = Outreach.objects.get()
    assert (outreach.status, outreach.channel) == ("sent", "email")


@pytest.mark.django_db
def test_an_order_reminder_in_an_open_chat_names_the_carrier_and_tracking_number():
    conversation = ConversationFactory(customer=CustomerFactory(language="zh"))
    OrderFactory(
        number="LM20261103",
        customer=conversation.customer,
        status="shipped",
        carrier="顺丰速运",
        tracking_number="SF1234567890",
        shipped_at=timezone.now() - timedelta(minutes=1),
    )
    care_campaign(CareCampaign.Kind.ORDER_SHIPPED)
    claims.plan_order_reminders()

    care.send_due_outreach(now=later(1))

    message = Message.objects.get(conversation=conversation, meta__event="care")
    assert message.body == "订单 LM20261103 已由 顺丰速运 发出，运单号 SF1234567890。"


@pytest.mark.django_db
def test_no_chat_and_no_email_is_recorded_as_not_sent():
    claim(CareCampaign.Kind.BIRTHDAY, CustomerFactory(email=""), "birthday:2026")

    care.send_due_outreach(now=later(1))

    outreach = Outreach.objects.get()
    assert (outreach.status, outreach.detail) == (
        "skipped",
        "no open chat, no relayed channel and no email",
    )


def relayed_events(conversation) -> list[dict]:
    """The `message.created` events of this conversation, as the partner receives them."""
    return [
        event.data
        for event in OutboundEvent.objects.filter(event="message.created").order_by("created_at")
        if event.data["conversation"]["id"] == str(conversation.pk)
    ]


@pytest.mark.django_db
def test_a_wechat_customer_without_an_open_chat_gets_the_greeting_through_the_partners_relay():
    customer = CustomerFactory(external_id="shop-42", email="fang@example.com", name="Fang")
    wechat = ConversationFactory(
        customer=customer,
        channel=Conversation.Channel.WECHAT,
        status=Conversation.Status.CLOSED,
    )
    claim(
        CareCampaign.Kind.BIRTHDAY,
        customer,
        "birthday:2026",
        text_zh="生日快乐，{name}！",
        coupon_amount=0,
    )

    sent = care.send_due_outreach(now=later(1))

    assert sent == 1
    assert mail.outbox == []  # the channel they use comes before the email address
    message = Message.objects.get(conversation=wechat, meta__event="care")
    assert message.body == "生日快乐，Fang！"
    [event] = relayed_events(wechat)
    assert event["conversation"] == {
        "id": str(wechat.pk),
        "channel": "wechat",
        "customer": "shop-42",
    }
    assert (event["message"]["seq"], event["message"]["body"]) == (message.seq, message.body)
    outreach = Outreach.objects.get()
    assert (outreach.status, outreach.channel, outreach.detail, outreach.conversation_id) == (
        "sent",
        "chat",
        "through wechat",
        wechat.pk,
    )


@pytest.mark.django_db
def test_an_open_chat_comes_before_the_relayed_channel_and_a_closed_web_chat_reaches_no_one():
    in_chat = CustomerFactory(external_id="in-chat")
    ConversationFactory(
        customer=in_chat, channel=Conversation.Channel.APP, status=Conversation.Status.CLOSED
    )
    web_now = ConversationFactory(customer=in_chat, status=Conversation.Status.QUEUED)
    gone = CustomerFactory(external_id="gone", email="")
    ConversationFactory(customer=gone, status=Conversation.Status.CLOSED)  # web: no relay
    campaign = care_campaign(CareCampaign.Kind.BIRTHDAY, coupon_amount=0)
    for customer in (in_chat, gone):
        claims.claim_outreach(
            campaign=campaign,
            customer_id=customer.pk,
            occasion="birthday:2026",
            occurred_at=timezone.now(),
        )

    care.send_due_outreach(now=later(1))

    outcomes = dict(Outreach.objects.values_list("customer__external_id", "status"))
    assert outcomes == {"in-chat": "sent", "gone": "skipped"}
    assert Outreach.objects.get(customer=in_chat).conversation_id == web_now.pk
    assert Outreach.objects.get(customer=in_chat).detail == ""
    assert Outreach.objects.get(customer=gone).detail == (
        "no open chat, no relayed channel and no email"
    )


def survey_ready(reward_points=10):
    care_campaign(CareCampaign.Kind.SURVEY, reward_points=reward_points)
    conversation = closed_chat(external_id="u-1001")
    care.send_due_outreach(now=later())
    return conversation, Survey.objects.get()


@pytest.mark.django_db(transaction=True)
def test_the_customer_answers_the_survey_over_the_chat_socket_and_gets_points_once(live):
    conversation, survey = survey_ready()
    token = issue_chat_token(conversation)

    async def scenario():
        socket = await Socket.chat(live, token)
        asked = await socket.expect("survey")
        await socket.send(
            {"type": "survey.answer", "survey": asked["survey"], "score": 5, "comment": " 很好 "}
        )
        answered = await socket.expect("survey.answered")
        thanks = await socket.message()
        await socket.send({"type": "survey.answer", "survey": asked["survey"], "score": 1})
        second = await socket.expect("error")
        await socket.close()
        return asked, answered, thanks, second

    asked, answered, thanks, second = asyncio.run(scenario())

    assert asked == {
        "type": "survey",
        "survey": str(survey.pk),
        "question": survey.question,
        "scale": 5,
    }
    assert answered == {
        "type": "survey.answered",
        "survey": str(survey.pk),
        "score": 5,
        "points": 10,
    }
    assert thanks["body"] == "感谢您的评价！已为您增加 10 积分。"
    assert second["code"] == "already_answered"
    survey.refresh_from_db()
    conversation.customer.refresh_from_db()
    assert (survey.score, survey.comment) == (5, "很好")
    assert conversation.customer.points == 10
    assert PointsEntry.objects.count() == 1
    event = OutboundEvent.objects.get(event="survey.answered")
    assert event.data["customer"] == "u-1001" and event.data["score"] == 5


@pytest.mark.django_db(transaction=True)
def test_a_survey_sent_while_the_page_is_open_arrives_live(live):
    care_campaign(CareCampaign.Kind.SURVEY)
    conversation = closed_chat()
    token = issue_chat_token(conversation)

    async def scenario():
        from asgiref.sync import sync_to_async

        socket = await Socket.chat(live, token)
        await socket.expect("status")
        quiet = await socket.silent(kind="survey")
        await sync_to_async(care.send_due_outreach)(now=later())
        frame = await socket.expect("survey")
        await socket.close()
        return quiet, frame

    quiet, frame = asyncio.run(scenario())

    assert quiet
    assert frame["survey"] == str(Survey.objects.get().pk)


BAD_ANSWERS = [
    ({"score": 0}, "bad_frame"),
    ({"score": 6}, "bad_frame"),
    ({"score": "5"}, "bad_frame"),
    ({"score": True}, "bad_frame"),
    ({"score": 4, "comment": 7}, "bad_frame"),
    ({"score": 4, "comment": "好" * 1001}, "too_long"),
    ({"score": 4, "survey": "not-a-uuid"}, "bad_frame"),
    ({"score": 4, "survey": str(uuid.uuid4())}, "not_found"),
]


@pytest.mark.django_db(transaction=True)
def test_bad_answers_are_refused_with_a_clear_code_and_change_nothing(live):
    conversation, survey = survey_ready()
    other_conversation, other_survey = ConversationFactory(), None
    token = issue_chat_token(conversation)
    stranger_token = issue_chat_token(other_conversation)

    async def scenario():
        socket = await Socket.chat(live, token)
        await socket.expect("survey")
        codes = []
        for fields, _code in BAD_ANSWERS:
            await socket.send({"type": "survey.answer", "survey": str(survey.pk), **fields})
            codes.append((await socket.expect("error"))["code"])
        stranger = await Socket.chat(live, stranger_token)
        await stranger.send({"type": "survey.answer", "survey": str(survey.pk), "score": 1})
        foreign = (await stranger.expect("error"))["code"]
        await socket.close()
        await stranger.close()
        return codes, foreign

    codes, foreign = asyncio.run(scenario())

    assert codes == [code for _fields, code in BAD_ANSWERS]
    assert foreign == "not_found"
    survey.refresh_from_db()
    assert survey.answered_at is None and other_survey is None
    assert not PointsEntry.objects.exists()
    assert not OutboundEvent.objects.filter(event="survey.answered").exists()


@pytest.mark.django_db
def test_birthday_text_with_no_name_greets_in_the_customers_language():
    campaign = care_campaign(CareCampaign.Kind.SURVEY)
    nameless = CustomerFactory(name="")

    zh = claims.render(campaign, customer=nameless, language="zh-hans")
    en = claims.render(campaign, customer=nameless, language="en")

    assert zh == "亲爱的顾客，请为刚才的服务打分（1–5）。"
    assert en == "there, please rate our help (1–5)."


@pytest.mark.django_db
def test_a_template_can_only_reach_its_placeholders():
    campaign = care_campaign(
        CareCampaign.Kind.SURVEY, text_en="{name.__class__} {customer.email} {name}"
    )

    text = claims.render(
        campaign, customer=CustomerFactory(name="Fang", birthday=date(1990, 1, 1)), language="en"
    )

    assert text == "{name.__class__} {customer.email} Fang"


@pytest.mark.django_db
def test_an_unresolved_chat_is_followed_up_a_day_later_by_email():
    care_campaign(CareCampaign.Kind.FOLLOW_UP, delay_minutes=24 * 60, expire_hours=72)
    conversation = chat_with_a_question(name="Fang", language="en", email="fang@example.com")
    close_conversation(conversation_id=conversation.pk, resolution="not_resolved")

    follow_up = Outreach.objects.filter(campaign__kind="follow_up")

    care.send_due_outreach(now=later(60))
    early = follow_up.get().status
    care.send_due_outreach(now=later(24 * 60 + 1))

    assert early == "pending"
    assert [m.body for m in mail.outbox] == ["Fang, is it settled now?"]
    outreach = follow_up.get()
    assert (outreach.status, outreach.channel) == ("sent", "email")
    assert outreach.occasion == f"follow_up:conversation:{conversation.pk}"


@pytest.mark.django_db
def test_no_follow_up_when_the_chat_was_resolved_or_settled_in_a_later_chat():
    care_campaign(CareCampaign.Kind.FOLLOW_UP, delay_minutes=24 * 60)
    resolved = chat_with_a_question(email="a@example.com")
    close_conversation(conversation_id=resolved.pk, resolution="resolved")
    unresolved = chat_with_a_question(email="b@example.com")
    close_conversation(conversation_id=unresolved.pk, resolution="not_resolved")
    came_back = ConversationFactory(customer=unresolved.customer, status=Conversation.Status.QUEUED)
    close_conversation(conversation_id=came_back.pk, resolution="resolved")

    care.send_due_outreach(now=later(24 * 60 + 1))

    outreach = Outreach.objects.get(campaign__kind="follow_up")
    assert outreach.customer_id == unresolved.customer_id
    assert (outreach.status, outreach.detail) == ("skipped", "resolved in a later chat")
    assert mail.outbox == []
