"""A customer's data on request: the export holds everything, in a bounded number of
queries; the erasure empties every personal field and text, deletes the files, touches no
other customer and nothing twice, and nothing links back to the erased customer."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations.models import Attachment, Conversation, InternalNote, Message, Survey
from conversations.services.inbound import receive_inbound_message
from conversations.services.sessions import open_chat_session
from customers.models import (
    CareCampaign,
    Coupon,
    Customer,
    CustomerIdentity,
    CustomerMerge,
    CustomerNote,
    CustomerTag,
    LevelChange,
)
from customers.services import Identity, identity_hash
from customers.services.care import claim_outreach, grant_points
from customers.services.identities import customer_for_verified_identity
from customers.services.levels import change_level
from customers.services.merge import MergeRefused, merge_customers, unmerge_customers
from customers.services.privacy import (
    ErasureRefused,
    erase_customer,
    export_customer,
)
from helpdesk.models import AuditEntry, OutboundEvent
from tests.factories import (
    AgentFactory,
    AttachmentFactory,
    ConversationFactory,
    CustomerFactory,
    CustomerIdentityFactory,
    CustomerNoteFactory,
    CustomerTagFactory,
    MessageFactory,
    OrderFactory,
    SurveyFactory,
    UserFactory,
    care_campaign,
)
from tickets.defaults import ensure_defaults
from tickets.models import SLAPolicy, SLATarget, Ticket, TicketComment, TicketEvent, TicketType
from tickets.services.tickets import add_comment, open_ticket

pytestmark = pytest.mark.django_db

ACCOUNT = CustomerIdentity.Kind.ACCOUNT


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ensure_defaults(TicketType, SLAPolicy, SLATarget)


def closed_conversation(customer, *, words: str, agent=None) -> Conversation:
    conversation = ConversationFactory(
        customer=customer,
        status=Conversation.Status.CLOSED,
        closed_at=timezone.now(),
        page={"url": f"https://shop.example.com/orders?who={words}"},
        bot_context={"slots": {"order": words}},
    )
    MessageFactory(conversation=conversation, seq=1, body=f"我是{words}", sender_name=words)
    MessageFactory(
        conversation=conversation,
        seq=2,
        sender=Message.Sender.BOT,
        body=f"{words}您好",
        meta={"action": "answer", "intent": "order_status"},
    )
    MessageFactory(
        conversation=conversation,
        seq=3,
        sender=Message.Sender.AGENT,
        agent=agent,
        body=f"寄到 {words} 的地址",
    )
    Conversation.objects.filter(pk=conversation.pk).update(last_seq=3)
    AttachmentFactory(conversation=conversation, transcript=f"voice of {words}")
    InternalNote.objects.create(conversation=conversation, agent=agent, body=f"{words} is angry")
    SurveyFactory(conversation=conversation, score=2, comment=f"{words} unhappy")
    return conversation


def person(words: str, *, conversations: int = 1) -> Customer:
    """A customer with some of everything, each text naming `words`."""
    customer = CustomerFactory(
        name=words,
        external_id=f"acct-{words}",
        email=f"{words}@example.com",
        phone="13800000000",
        birthday=date(1990, 5, 4),
        attributes={"address": f"{words} road 1"},
    )
    CustomerIdentity.objects.create(
        customer=customer,
        kind=ACCOUNT,
        value=customer.external_id,
        verified=True,
        verified_at=timezone.now(),
        verified_by=CustomerIdentity.Method.PARTNER_API,
    )
    CustomerIdentityFactory(customer=customer, value=f"{words}@example.com")
    CustomerNoteFactory(customer=customer, body=f"{words} prefers email")
    CustomerTagFactory(customer=customer, name=f"{words}-tag")
    CustomerTagFactory(customer=customer, name=f"{words}-auto", source=CustomerTag.Source.AUTO)
    change_level(customer_id=customer.pk, level=Customer.Level.GOLD, source="admin")
    grant_points(customer_id=customer.pk, points=30, reason="survey", key=f"k-{words}")
    OrderFactory(customer=customer, number=f"LM-{words}")
    Coupon.objects.create(
        code=f"C-{words}",
        customer=customer,
        campaign="birthday-2026",
        title="生日券",
        amount=Decimal("20"),
        expires_at=timezone.now() + timedelta(days=30),
    )
    claim_outreach(
        campaign=CareCampaign.objects.filter(kind=CareCampaign.Kind.BIRTHDAY).first()
        or care_campaign(CareCampaign.Kind.BIRTHDAY),
        customer_id=customer.pk,
        occasion="birthday:2026",
        occurred_at=timezone.now(),
    )
    agent = AgentFactory()
    for _ in range(conversations):
        conversation = closed_conversation(customer, words=words, agent=agent)
    ticket = open_ticket(
        customer=customer,
        subject=f"{words} 的退款",
        description=f"{words} wants a refund",
        type_code="question",
        source=Ticket.Source.AGENT,
    )
    ticket.conversations.add(conversation)
    add_comment(ticket_id=ticket.pk, body=f"{words}: 还没到账", from_customer=True)
    add_comment(ticket_id=ticket.pk, body=f"{words}，已退款", author=agent.user)
    add_comment(ticket_id=ticket.pk, body=f"{words} is a VIP", public=False, author=agent.user)
    visitor = CustomerFactory(name=f"{words} visitor")
    merge_customers(source_id=visitor.pk, target_id=customer.pk, how=CustomerMerge.How.ADMIN)
    return Customer.objects.get(pk=customer.pk)


def texts_of(customer: Customer) -> str:
    """Every text the database keeps that touches the customer, as one string."""
    pk = customer.pk
    conversations = Conversation.objects.filter(customer_id=pk)
    tickets = Ticket.objects.filter(customer_id=pk)
    parts = [
        Customer.objects.filter(pk=pk).values().get(),
        list(CustomerIdentity.objects.filter(customer_id=pk).values()),
        list(CustomerNote.objects.filter(customer_id=pk).values()),
        list(CustomerTag.objects.filter(customer_id=pk).values()),
        list(CustomerMerge.objects.filter(survivor_id=pk).values()),
        list(conversations.values("page", "bot_context")),
        list(Message.objects.filter(conversation__in=conversations).values("body", "sender_name")),
        list(Attachment.objects.filter(conversation__in=conversations).values()),
        list(InternalNote.objects.filter(conversation__in=conversations).values("body")),
        list(Survey.objects.filter(customer_id=pk).values("comment")),
        list(tickets.values("subject", "description")),
        list(TicketComment.objects.filter(ticket__in=tickets).values("body")),
        list(TicketEvent.objects.filter(ticket__in=tickets).values("old", "new")),
    ]
    return json.dumps(parts, default=str, ensure_ascii=False)


def stored_files(customer: Customer) -> list[str]:
    return [
        attachment.file.name
        for attachment in Attachment.objects.filter(conversation__customer=customer)
        if attachment.file and default_storage.exists(attachment.file.name)
    ]


# --- export ---------------------------------------------------------------------------


def test_the_export_holds_everything_about_the_customer():
    customer = person("王芳")

    document = json.loads(json.dumps(export_customer(customer), default=str))

    assert document["customer"]["email"] == "王芳@example.com"
    assert document["customer"]["attributes"] == {"address": "王芳 road 1"}
    assert {i["kind"] for i in document["identities"]} == {"account", "email"}
    assert [c["new"] for c in document["level_history"]] == ["gold"]
    assert [p["points"] for p in document["points_entries"]] == [30]
    assert [o["number"] for o in document["orders"]] == ["LM-王芳"]
    assert [c["code"] for c in document["coupons"]] == ["C-王芳"]
    assert {(t["name"], t["source"]) for t in document["tags"]} == {
        ("王芳-tag", "manual"),
        ("王芳-auto", "auto"),
    }
    assert [n["body"] for n in document["notes"]] == ["王芳 prefers email"]
    assert "birthday:2026" in [o["occasion"] for o in document["outreach"]]
    assert [m["merged_name"] for m in document["merges"]] == ["王芳 visitor"]
    (conversation,) = document["conversations"]
    assert [m["body"] for m in conversation["messages"]][:3] == [
        "我是王芳",
        "王芳您好",
        "寄到 王芳 的地址",
    ]
    (attachment,) = conversation["attachments"]
    assert attachment["name"] == "receipt.png" and attachment["stored"] is True
    assert "file" not in attachment
    assert [n["body"] for n in conversation["internal_notes"]] == ["王芳 is angry"]
    assert [s["comment"] for s in document["surveys"]] == ["王芳 unhappy"]
    (ticket,) = document["tickets"]
    assert ticket["description"] == "王芳 wants a refund"
    assert [(c["from_customer"], c["body"]) for c in ticket["comments"]] == [
        (True, "王芳: 还没到账"),
        (False, "王芳，已退款"),
    ]
    assert "王芳 is a VIP" not in json.dumps(ticket, ensure_ascii=False)
    assert {event["kind"] for event in ticket["timeline"]} >= {"created", "commented"}


def test_the_export_of_a_long_history_takes_as_many_queries_as_a_short_one():
    short, long = person("a", conversations=1), person("b", conversations=6)
    MessageFactory.create_batch(20, conversation=Conversation.objects.filter(customer=long).first())

    with CaptureQueriesContext(connection) as few:
        export_customer(short)
    with CaptureQueriesContext(connection) as many:
        export_customer(long)

    assert len(few) == len(many) <= 25


def test_the_export_holds_nothing_of_another_customer():
    person("other")
    customer = person("mine")

    text = json.dumps(export_customer(customer), default=str, ensure_ascii=False)

    assert "other" not in text


# --- erasure --------------------------------------------------------------------------


def test_the_erasure_clears_every_personal_field_and_text():
    customer = person("王芳")

    erasure = erase_customer(customer_id=customer.pk)

    erased = Customer.objects.get(pk=customer.pk)
    assert erasure.erased and erased.erased_at is not None
    assert (erased.name, erased.email, erased.phone, erased.external_id) == ("", "", "", None)
    assert (erased.birthday, erased.attributes, erased.care_opt_out) == (None, {}, True)
    assert str(erased) == f"已删除的顾客 {customer.pk}"
    assert not CustomerIdentity.objects.filter(customer=customer).exists()
    assert not CustomerNote.objects.filter(customer=customer).exists()
    assert not CustomerTag.objects.filter(customer=customer).exists()
    assert "王芳" not in texts_of(customer)
    assert set(
        Message.objects.filter(conversation__customer=customer).values_list("body", flat=True)
    ) == {"[已删除]"}


def test_the_erasure_keeps_the_rows_metrics_count():
    customer = person("王芳", conversations=2)
    before = {
        "level": customer.level,
        "language": customer.language,
        "conversations": Conversation.objects.filter(customer=customer).count(),
        "messages": list(
            Message.objects.filter(conversation__customer=customer)
            .order_by("conversation", "seq")
            .values_list("sender", "seq", "created_at", "meta")
        ),
        "tickets": list(Ticket.objects.filter(customer=customer).values_list("status", "pk")),
        "surveys": list(Survey.objects.filter(customer=customer).values_list("score", flat=True)),
        "orders": customer.orders.count(),
        "points": customer.points,
    }

    erase_customer(customer_id=customer.pk)

    erased = Customer.objects.get(pk=customer.pk)
    assert before == {
        "level": erased.level,
        "language": erased.language,
        "conversations": Conversation.objects.filter(customer=customer).count(),
        "messages": list(
            Message.objects.filter(conversation__customer=customer)
            .order_by("conversation", "seq")
            .values_list("sender", "seq", "created_at", "meta")
        ),
        "tickets": list(Ticket.objects.filter(customer=customer).values_list("status", "pk")),
        "surveys": list(Survey.objects.filter(customer=customer).values_list("score", flat=True)),
        "orders": erased.orders.count(),
        "points": erased.points,
    }


def test_the_placeholder_is_in_the_conversations_language():
    customer = person("Fang")
    Conversation.objects.filter(customer=customer).update(language="en")

    erase_customer(customer_id=customer.pk)

    assert set(
        Message.objects.filter(conversation__customer=customer).values_list("body", flat=True)
    ) == {"[erased]"}


def test_the_files_are_deleted_from_storage_on_commit_and_the_rows_kept_as_tombstones(
    django_capture_on_commit_callbacks,
):
    customer = person("王芳", conversations=2)
    files = stored_files(customer)
    assert len(files) == 2

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        erasure = erase_customer(customer_id=customer.pk)
    assert all(default_storage.exists(name) for name in files)  # not before the commit
    for callback in callbacks:
        callback()

    assert erasure.files == 2
    assert not any(default_storage.exists(name) for name in files)
    tombstones = Attachment.objects.filter(conversation__customer=customer)
    assert [(a.file.name, a.transcript, a.size) for a in tombstones] == [("", "", 4)] * 2


def test_nothing_of_another_customer_is_touched(django_capture_on_commit_callbacks):
    other = person("李雷")
    before, files = texts_of(other), stored_files(other)
    customer = person("王芳")

    with django_capture_on_commit_callbacks(execute=True):
        erase_customer(customer_id=customer.pk)

    assert texts_of(other) == before
    assert stored_files(other) == files
    assert Customer.objects.get(pk=other.pk).erased_at is None


def test_erasing_twice_changes_nothing_the_second_time():
    customer = person("王芳")
    erase_customer(customer_id=customer.pk)
    erased = Customer.objects.get(pk=customer.pk)
    texts = texts_of(customer)

    again = erase_customer(customer_id=customer.pk)

    assert not again.erased
    assert Customer.objects.get(pk=customer.pk).erased_at == erased.erased_at
    assert texts_of(customer) == texts


def test_a_customer_with_an_open_conversation_is_not_erased():
    customer = person("王芳")
    ConversationFactory(customer=customer, status=Conversation.Status.BOT)

    with pytest.raises(ErasureRefused, match="请先结束"):
        erase_customer(customer_id=customer.pk)

    assert Customer.objects.get(pk=customer.pk).erased_at is None
    assert Customer.objects.get(pk=customer.pk).email == "王芳@example.com"


def test_the_partner_is_told_with_customer_updated_naming_its_shop_id(
    django_capture_on_commit_callbacks,
):
    customer = person("王芳")
    OutboundEvent.objects.all().delete()

    erase_customer(customer_id=customer.pk)

    (event,) = OutboundEvent.objects.filter(event="customer.updated")
    assert event.data["changed"] == [
        "attributes",
        "birthday",
        "email",
        "erased",
        "name",
        "phone",
        "tags",
    ]
    assert event.data["customer"]["external_id"] == "acct-王芳"
    assert event.data["customer"]["email"] == ""
    assert event.data["customer"]["name"] == ""


def test_an_anonymous_visitor_is_erased_without_an_event():
    visitor = CustomerFactory(name="")
    closed_conversation(visitor, words="guest")
    OutboundEvent.objects.all().delete()

    erase_customer(customer_id=visitor.pk)

    assert not OutboundEvent.objects.filter(event="customer.updated").exists()
    assert "guest" not in texts_of(visitor)


# --- nothing links back ---------------------------------------------------------------


def test_a_message_relayed_with_the_old_account_starts_a_new_customer():
    customer = person("王芳")
    erase_customer(customer_id=customer.pk)

    found = customer_for_verified_identity(
        kind=ACCOUNT, value="acct-王芳", method=CustomerIdentity.Method.PARTNER_API
    )

    assert found.pk != customer.pk
    assert found.external_id == "acct-王芳"


def test_an_inbound_message_with_the_old_account_goes_to_a_new_customer():
    customer = person("王芳")
    erase_customer(customer_id=customer.pk)

    received = receive_inbound_message(
        channel="wechat", external_id="acct-王芳", client_id="x-1", body="我又来了"
    )

    assert received.message.conversation.customer_id != customer.pk
    assert not Conversation.objects.filter(customer=customer, status="bot").exists()


def test_an_old_chat_token_of_an_erased_customer_opens_a_strangers_chat():
    session = open_chat_session(channel="web", language="zh")
    Conversation.objects.filter(pk=session.conversation.pk).update(
        status="closed", closed_at=timezone.now()
    )
    visitor = session.conversation.customer
    erase_customer(customer_id=visitor.pk)

    again = open_chat_session(channel="web", language="zh", token=session.token)

    assert again.conversation.customer_id != visitor.pk
    assert Customer.objects.get(pk=visitor.pk).erased_at is not None


def test_a_chat_with_the_old_accounts_identity_hash_and_token_starts_a_new_customer():
    session = open_chat_session(channel="web", language="zh")
    visitor = session.conversation.customer
    Conversation.objects.filter(pk=session.conversation.pk).update(
        status="closed", closed_at=timezone.now()
    )
    customer = person("王芳")
    erase_customer(customer_id=customer.pk)
    erase_customer(customer_id=visitor.pk)
    merges = CustomerMerge.objects.count()

    again = open_chat_session(
        channel="web",
        language="zh",
        token=session.token,
        identity=Identity(external_id="acct-王芳", hash=identity_hash("acct-王芳")),
    )

    assert again.conversation.customer_id not in (customer.pk, visitor.pk)
    assert again.conversation.customer.external_id == "acct-王芳"
    assert CustomerMerge.objects.count() == merges
    assert Conversation.objects.filter(customer=visitor).count() == 1


def test_an_erased_customer_cannot_be_merged():
    customer = person("王芳")
    erase_customer(customer_id=customer.pk)
    other = CustomerFactory()

    with pytest.raises(MergeRefused):
        merge_customers(source_id=other.pk, target_id=customer.pk, how="admin")

    assert Customer.objects.filter(pk=other.pk).exists()


def test_a_merge_into_an_erased_customer_cannot_be_undone():
    customer = person("王芳")
    merge = CustomerMerge.objects.get(survivor_id=customer.pk)
    erase_customer(customer_id=customer.pk)

    with pytest.raises(MergeRefused):
        unmerge_customers(merge_id=merge.pk, by=None)

    assert CustomerMerge.objects.get(pk=merge.pk).undone_at is None


# --- commands -------------------------------------------------------------------------


def test_export_customer_by_external_id_prints_the_document(capsys):
    customer = person("王芳")

    call_command("export_customer", "acct-王芳")

    document = json.loads(capsys.readouterr().out)
    assert document["customer"]["id"] == customer.pk
    assert document["format"] == "lumen-customer-export/1"


def test_export_customer_of_nobody_is_a_clear_error():
    with pytest.raises(CommandError, match="acct-nobody"):
        call_command("export_customer", "acct-nobody")


def test_erase_customer_by_id_without_input(capsys):
    customer = person("王芳")

    call_command("erase_customer", str(customer.pk), "--no-input")

    assert "erased" in capsys.readouterr().out
    assert Customer.objects.get(pk=customer.pk).erased_at is not None
    # In the audit log as the command's, there being no user.
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CUSTOMER_ERASED)
    assert (entry.actor_id, entry.actor_name, entry.target_id) == (
        None,
        "manage.py erase_customer",
        str(customer.pk),
    )


def test_erase_customer_asks_first_and_a_no_changes_nothing(monkeypatch):
    customer = person("王芳")
    monkeypatch.setattr("builtins.input", lambda prompt: "n")

    with pytest.raises(CommandError, match="Not erased"):
        call_command("erase_customer", str(customer.pk))

    assert Customer.objects.get(pk=customer.pk).erased_at is None


def test_level_history_stays_after_the_erasure():
    customer = person("王芳")
    user = UserFactory()
    LevelChange.objects.filter(customer=customer).update(changed_by=user)

    erase_customer(customer_id=customer.pk)

    assert LevelChange.objects.filter(customer=customer).count() == 1
