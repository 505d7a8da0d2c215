"""The sender a batch at a time (conversations/services/care.py): the same few queries for
3 or 30 outreach, the daily cap counting emails still being sent, email subjects of
their own in both languages, a batch that fails half-way leaving nothing, the mail
server away or refusing, and the campaign's admin form refusing bad input."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conversations.models import Message
from conversations.services import care
from customers.models import CareCampaign, Coupon, Outreach
from customers.services import care as claims
from tests.factories import ConversationFactory, CustomerFactory, OrderFactory, care_campaign
from tests.threads import at_once


def later(minutes: int = 1):
    return timezone.now() + timedelta(minutes=minutes)


def birthdays(count: int, **customer) -> list[int]:
    campaign = care_campaign(CareCampaign.Kind.BIRTHDAY, coupon_amount="20.00")
    return [
        claims.claim_outreach(
            campaign=campaign,
            customer_id=CustomerFactory(email=f"c{n}@example.com", **customer).pk,
            occasion="birthday:2026",
            occurred_at=timezone.now(),
        )
        for n in range(count)
    ]


def queries_to_send(count: int) -> int:
    Outreach.objects.all().delete()
    birthdays(count)
    with CaptureQueriesContext(connection) as queries:
        assert care.send_due_outreach(now=later()) == count
    return len(queries)


@pytest.mark.django_db
def test_a_batch_costs_the_same_queries_for_3_or_30_emails():
    few = queries_to_send(3)
    many = queries_to_send(30)

    assert few == many
    assert len(mail.outbox) == 33
    assert Coupon.objects.count() == 33


@pytest.mark.django_db
def test_a_batch_mixes_chat_email_and_every_reason_not_to_send(settings):
    settings.CARE_DAILY_CAP = 5
    campaign = care_campaign(CareCampaign.Kind.ORDER_DELIVERED, expire_hours=1)
    in_chat = ConversationFactory(customer=CustomerFactory(email="")).customer
    by_email = CustomerFactory(email="a@example.com")
    opted_out = CustomerFactory(email="b@example.com", care_opt_out=True)
    unreachable = CustomerFactory(email="")
    late = CustomerFactory(email="c@example.com")
    for customer in (in_chat, by_email, opted_out, unreachable):
        order = OrderFactory(customer=customer, status="delivered")
        claims.claim_outreach(
            campaign=campaign,
            customer_id=customer.pk,
            occasion=f"order:{order.number}:delivered",
            occurred_at=timezone.now(),
            subject=order.number,
        )
    claims.claim_outreach(
        campaign=campaign,
        customer_id=late.pk,
        occasion="order:old:delivered",
        occurred_at=timezone.now() - timedelta(hours=2),
    )

    sent = care.send_due_outreach(now=later())

    outcome = {
        row.customer_id: (row.status, row.channel, row.detail) for row in Outreach.objects.all()
    }
    assert sent == 2
    assert outcome == {
        in_chat.pk: ("sent", "chat", ""),
        by_email.pk: ("sent", "email", ""),
        opted_out.pk: ("skipped", "", "customer opted out"),
        unreachable.pk: ("skipped", "", "no open chat, no relayed channel and no email"),
        late.pk: ("expired", "", ""),
    }
    assert [m.to for m in mail.outbox] == [["a@example.com"]]
    assert Message.objects.filter(meta__event="care").count() == 1


@pytest.mark.django_db
def test_the_daily_cap_counts_emails_still_being_sent(settings):
    settings.CARE_DAILY_CAP = 2
    customer = CustomerFactory(email="fang@example.com")
    campaign = care_campaign(CareCampaign.Kind.ORDER_SHIPPED)
    for occasion in ("a", "b", "c"):
        claims.claim_outreach(
            campaign=campaign,
            customer_id=customer.pk,
            occasion=occasion,
            occurred_at=timezone.now(),
        )
    handed_over = timezone.now() - timedelta(hours=1)
    Outreach.objects.filter(occasion__in=["a", "b"]).update(
        status="sending", channel="email", sent_at=handed_over
    )

    sent = care.send_due_outreach(now=later())

    waiting = Outreach.objects.get(occasion="c")
    assert sent == 0
    assert mail.outbox == []
    assert (waiting.status, waiting.due_at) == ("pending", handed_over + timedelta(days=1))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "subject", "body"),
    [
        ("zh", "订单 LM20261103 已发货", "订单 LM20261103 已由 顺丰速运 发出，运单号 SF1。"),
        (
            "en",
            "Order LM20261103 shipped",
            "Order LM20261103 has shipped with 顺丰速运, tracking SF1.",
        ),
    ],
)
def test_an_email_has_the_campaigns_subject_in_the_customers_language(language, subject, body):
    customer = CustomerFactory(language=language, email="fang@example.com")
    OrderFactory(number="LM20261103", customer=customer, carrier="顺丰速运", tracking_number="SF1")
    claims.claim_outreach(
        campaign=care_campaign(CareCampaign.Kind.ORDER_SHIPPED),
        customer_id=customer.pk,
        occasion="order:LM20261103:shipped",
        occurred_at=timezone.now(),
        subject="LM20261103",
    )

    care.send_due_outreach(now=later())

    [email] = mail.outbox
    assert (email.subject, email.body) == (subject, body)
    assert email.extra_headers["X-Lumen-Outreach"] == str(Outreach.objects.get().pk)


@pytest.mark.django_db
def test_the_migrations_subjects_are_no_longer_the_campaigns_name():
    subjects = dict(CareCampaign.objects.values_list("kind", "subject_zh").order_by("kind")) | {
        f"{kind}/en": en for kind, en in CareCampaign.objects.values_list("kind", "subject_en")
    }

    assert subjects["birthday"] == "{name}，生日快乐！"
    assert subjects["birthday/en"] == "Happy birthday, {name}!"
    assert subjects["ticket_follow_up/en"] == "An update on ticket {ticket}"
    assert all(subjects.values())


@pytest.mark.django_db
def test_a_name_that_breaks_lines_or_looks_like_a_placeholder_stays_inert():
    customer = CustomerFactory(
        name="Fang\r\nBcc: x@evil.test {coupon}", language="en", email="fang@example.com"
    )
    claims.claim_outreach(
        campaign=care_campaign(CareCampaign.Kind.BIRTHDAY, coupon_amount="20.00"),
        customer_id=customer.pk,
        occasion="birthday:2026",
        occurred_at=timezone.now(),
    )

    care.send_due_outreach(now=later())

    [email] = mail.outbox
    code = Coupon.objects.get().code
    assert email.subject == "Happy birthday, Fang Bcc: x@evil.test {coupon}"
    assert email.body.startswith("Happy birthday, Fang\r\nBcc: x@evil.test {coupon}! Coupon ")
    assert email.body.endswith(f"Coupon {code} (20 off).")
    assert email.to == ["fang@example.com"]


@pytest.mark.django_db(transaction=True)
def test_four_workers_send_a_hundred_birthdays_each_once(settings):
    settings.CARE_SEND_BATCH = 10
    ids = birthdays(100)

    results = at_once(lambda: care.send_due_outreach(now=later()), times=4)

    handed = sorted(int(m.extra_headers["X-Lumen-Outreach"]) for m in mail.outbox)
    assert sum(results) == 100
    assert handed == sorted(ids)
    assert Outreach.objects.filter(status="sent").count() == 100
    assert Coupon.objects.count() == 100


@pytest.mark.django_db
def test_a_batch_that_fails_half_way_leaves_nothing_and_the_next_run_sends_once(monkeypatch):
    chats = [ConversationFactory(customer=CustomerFactory()) for _ in range(3)]
    campaign = care_campaign(CareCampaign.Kind.BIRTHDAY, coupon_amount="20.00")
    for chat in chats:
        claims.claim_outreach(
            campaign=campaign,
            customer_id=chat.customer_id,
            occasion="birthday:2026",
            occurred_at=timezone.now(),
        )
    real_post = care.post_system_message
    posted = []

    def fail_on_the_third(**kwargs):
        posted.append(kwargs)
        if len(posted) == 3:
            raise ConnectionError("the worker's database went away")
        return real_post(**kwargs)

    monkeypatch.setattr(care, "post_system_message", fail_on_the_third)
    with pytest.raises(ConnectionError):
        care.send_due_outreach(now=later())
    after_failure = (
        Message.objects.filter(meta__event="care").count(),
        Coupon.objects.count(),
        set(Outreach.objects.values_list("status", flat=True)),
    )
    monkeypatch.setattr(care, "post_system_message", real_post)

    sent = care.send_due_outreach(now=later())

    assert after_failure == (0, 0, {"pending"})
    assert sent == 3
    assert Message.objects.filter(meta__event="care").count() == 3
    assert Coupon.objects.count() == 3


@pytest.mark.django_db
def test_a_coupon_code_already_taken_is_drawn_again(monkeypatch):
    taken = Coupon.objects.create(
        code="TAKEN23456",
        customer=CustomerFactory(),
        campaign="other",
        title="x",
        amount=5,
        expires_at=timezone.now() + timedelta(days=1),
    )
    codes = iter([taken.code, "FRESH23456"])
    monkeypatch.setattr(claims, "coupon_codes", lambda count: [next(codes) for _ in range(count)])
    birthdays(1)

    care.send_due_outreach(now=later())

    assert Coupon.objects.exclude(pk=taken.pk).get().code == "FRESH23456"
    assert "FRESH23456" in mail.outbox[0].body


@pytest.mark.django_db
def test_an_unreachable_mail_server_sends_nothing_and_the_batch_waits(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    birthdays(2)
    now = later()

    sent = care.send_due_outreach(now=now)

    rows = list(Outreach.objects.values_list("status", "channel", "sent_at", "due_at", "detail"))
    assert sent == 0
    assert rows == [("pending", "", None, now + care.MAIL_RETRY, "mail server unreachable")] * 2


@pytest.mark.django_db
def test_an_email_the_backend_refuses_stays_being_sent_and_the_others_go(monkeypatch):
    ids = birthdays(3)
    from django.core.mail.backends.locmem import EmailBackend

    real = EmailBackend.send_messages

    def refuse_the_second(self, messages):
        if messages[0].extra_headers["X-Lumen-Outreach"] == str(ids[1]):
            raise OSError("550 mailbox unavailable")
        return real(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", refuse_the_second)

    sent = care.send_due_outreach(now=later())
    again = care.send_due_outreach(now=later(10))

    status = dict(Outreach.objects.values_list("pk", "status"))
    assert (sent, again) == (2, 0)
    assert status == {ids[0]: "sent", ids[1]: "sending", ids[2]: "sent"}
    assert Outreach.objects.get(pk=ids[1]).detail == "email failed"
    assert len(mail.outbox) == 2


# --- the campaign's admin form ---------------------------------------------------------


@pytest.fixture
def boss(client):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-12345678")
    client.force_login(user)
    return client


def campaign_form(client, campaign: CareCampaign) -> tuple[str, dict]:
    url = reverse("admin:customers_carecampaign_change", args=[campaign.pk])
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data["enabled"] = "on" if campaign.enabled else ""
    return url, data


BAD_CAMPAIGN_INPUT = [
    ({"subject_en": "Happy\r\nBcc: x@evil.test"}, "subject_en", "A subject is one line."),
    ({"subject_zh": "生日快乐 {nmae}"}, "subject_zh", "Unknown placeholder: {nmae}."),
    ({"text_en": "Hi {email}"}, "text_en", "Unknown placeholder: {email}."),
    ({"subject_en": "x" * 201}, "subject_en", "at most 200 characters"),
    ({"subject_en": ""}, "subject_en", "This field is required."),
    ({"every_days": "0"}, "every_days", "greater than or equal to 1"),
    ({"every_days": "100000"}, "every_days", "less than or equal to 366"),
    ({"every_days": "abc"}, "every_days", "Enter a whole number."),
    ({"every_days": "-3"}, "every_days", "greater than or equal to"),
    ({"coupon_amount": "1e999"}, "coupon_amount", "Ensure that there are no more than"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("change", "field", "message"), BAD_CAMPAIGN_INPUT)
def test_the_campaign_form_refuses_bad_input_and_stores_nothing(boss, change, field, message):
    campaign = care_campaign(CareCampaign.Kind.BIRTHDAY)
    before = CareCampaign.objects.values().get(pk=campaign.pk)
    url, data = campaign_form(boss, campaign)

    response = boss.post(url, {**data, **change}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field])
    assert CareCampaign.objects.values().get(pk=campaign.pk) == before


@pytest.mark.django_db
def test_the_unknown_placeholder_message_is_in_chinese_too(boss):
    campaign = care_campaign(CareCampaign.Kind.BIRTHDAY)
    url, data = campaign_form(boss, campaign)

    response = boss.post(
        url, {**data, "text_zh": "生日快乐 {nmae}"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["text_zh"] == [
        "未知的占位符：{nmae}。可用的有：{name}, {order}, {carrier}, {tracking}, {coupon}, "
        "{amount}, {level}, {benefits}, {ticket}。"
    ]


@pytest.mark.django_db
def test_braces_that_name_no_word_are_plain_text_and_accepted(boss):
    campaign = care_campaign(CareCampaign.Kind.BIRTHDAY)
    url, data = campaign_form(boss, campaign)

    response = boss.post(url, {**data, "text_en": "Hi {customer.email} {} {name}"})

    assert response.status_code == 302
    assert CareCampaign.objects.get(pk=campaign.pk).text_en == "Hi {customer.email} {} {name}"


@pytest.mark.django_db
def test_the_campaign_page_previews_subject_and_message_in_both_languages(boss):
    campaign = care_campaign(CareCampaign.Kind.ORDER_SHIPPED)

    page = boss.get(reverse("admin:customers_carecampaign_change", args=[campaign.pk]))

    text = page.content.decode()
    assert "订单 LM20261103 已发货" in text
    assert "Order LM20261103 shipped" in text
    assert "Order LM20261103 has shipped with 顺丰速运, tracking SF1234567890." in text
