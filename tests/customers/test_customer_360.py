"""The customer 360° panel's reads and the notes and tags agents keep on a customer."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations.models import Conversation
from conversations.selectors import customer_panel
from customers import services
from customers.models import Customer, CustomerNote, CustomerTag, Order
from customers.selectors import customer_360
from tests.factories import (
    AfterSalesRequestFactory,
    AgentFactory,
    ConversationFactory,
    CustomerFactory,
    CustomerNoteFactory,
    CustomerTagFactory,
    MessageFactory,
    OrderFactory,
    UserFactory,
)
from tickets.services import open_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    return CustomerFactory(
        name="王芳", external_id="demo-1", email="w@example.com", phone="138", level="vip"
    )


@pytest.fixture
def supervisor():
    return AgentFactory(user=UserFactory(is_superuser=True))


def _conversations(customer, n, *, channel=Conversation.Channel.WEB, messages=3):
    start = timezone.now() - timedelta(days=n + 1)
    made = []
    for i in range(n):
        conversation = ConversationFactory(
            customer=customer, channel=channel, status=Conversation.Status.CLOSED, last_seq=messages
        )
        Conversation.objects.filter(pk=conversation.pk).update(created_at=start + timedelta(days=i))
        made.append(conversation)
    return made


def _customer_with(n: int):
    """A customer with n of everything: orders, after-sales requests, notes, tags, closed
    conversations (each with a bot message) and tickets, and the open conversation the panel
    sits beside."""
    customer = CustomerFactory()
    orders = [OrderFactory(customer=customer) for _ in range(n)]
    for order in orders:
        AfterSalesRequestFactory(order=order)
    author = AgentFactory().user
    for _ in range(n):
        CustomerNoteFactory(customer=customer, author=author)
        CustomerTagFactory(customer=customer)
    for conversation in _conversations(customer, n):
        MessageFactory(conversation=conversation, seq=1, sender="bot", meta={"intent": "refund"})
    for index in range(n):
        open_ticket(customer=customer, subject=f"#{index}", type_code="question", source="agent")
    current = ConversationFactory(
        customer=customer, status=Conversation.Status.ASSIGNED, assignee=AgentFactory()
    )
    return Conversation.objects.select_related("customer").get(pk=current.pk)


def test_the_profile_says_who_the_customer_is(customer):
    panel = customer_360(customer)

    assert panel.profile.name == "王芳"
    assert panel.profile.level_label == "VIP"
    assert panel.profile.is_identified
    assert (panel.profile.email, panel.profile.phone) == ("w@example.com", "138")
    assert panel.profile.since == customer.created_at


def test_a_visitor_without_an_external_id_is_anonymous():
    assert not customer_360(CustomerFactory(external_id=None)).profile.is_identified


def test_the_latest_five_orders_the_count_and_the_spend_over_paid_shipped_delivered(customer):
    for status in ("pending", "paid", "shipped", "delivered", "cancelled", "returned", "delivered"):
        OrderFactory(customer=customer, status=status, total="10.50")
    newest = OrderFactory(customer=customer, status="paid", total="1.00")

    panel = customer_360(customer)

    assert [o.number for o in panel.orders][0] == newest.number
    assert len(panel.orders) == 5
    assert panel.order_count == 8
    assert panel.lifetime_spend == Decimal("43.00")  # 4 × 10.50 + 1.00


def test_a_customer_without_orders_has_spent_nothing(customer):
    panel = customer_360(customer)

    assert (panel.orders, panel.order_count, panel.lifetime_spend) == ([], 0, Decimal("0"))


def test_notes_come_newest_first_and_tags_manual_before_automatic(customer):
    old = CustomerNoteFactory(customer=customer, body="old")
    new = CustomerNoteFactory(customer=customer, body="new")
    CustomerNote.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    CustomerTagFactory(customer=customer, name="b-auto", source=CustomerTag.Source.AUTO)
    CustomerTagFactory(customer=customer, name="z-manual")

    panel = customer_360(customer)

    assert [n.pk for n in panel.notes] == [new.pk, old.pk]
    assert [t.name for t in panel.tags] == ["z-manual", "b-auto"]


def test_other_customers_data_is_never_included(customer, supervisor):
    other = CustomerFactory()
    OrderFactory(customer=other, total="999.00")
    AfterSalesRequestFactory(order__customer=other)
    CustomerNoteFactory(customer=other)
    CustomerTagFactory(customer=other)
    _conversations(other, 2)
    current = ConversationFactory(customer=customer)

    panel = customer_panel(current, supervisor)

    assert (panel.order_count, panel.case_count, panel.lifetime_spend) == (0, 0, Decimal("0"))
    assert (panel.orders, panel.cases, panel.notes, panel.tags) == ([], [], [], [])
    assert panel.sections["conversations"]["latest"] == []
    assert panel.sections["conversations"]["count"] == 1


def test_past_conversations_cross_channels_newest_first_without_the_current_one(
    customer, supervisor
):
    (web,) = _conversations(customer, 1, channel=Conversation.Channel.WEB, messages=12)
    wechat = ConversationFactory(customer=customer, channel=Conversation.Channel.WECHAT, last_seq=4)
    MessageFactory(conversation=wechat, seq=1, sender="bot", meta={"intent": "order_status"})
    MessageFactory(conversation=wechat, seq=2, sender="bot", meta={"intent": "refund"})
    current = ConversationFactory(customer=customer, channel=Conversation.Channel.APP)

    past = customer_panel(current, supervisor).sections["conversations"]

    assert [c.pk for c in past["latest"]] == [wechat.pk, web.pk]
    assert [c.bot_topic for c in past["latest"]] == ["refund", None]
    assert past["other_count"] == 2
    assert past["messages"] == 16
    channels = Conversation.Channel
    assert past["channels"] == [channels.APP.label, channels.WEB.label, channels.WECHAT.label]


def test_past_conversations_are_linked_only_when_the_agent_may_open_them(customer):
    agent = AgentFactory()
    (theirs,) = _conversations(customer, 1)
    (mine,) = _conversations(customer, 1)
    Conversation.objects.filter(pk=mine.pk).update(assignee=agent)
    current = ConversationFactory(customer=customer, status=Conversation.Status.BOT)

    latest = customer_panel(current, agent).sections["conversations"]["latest"]

    assert {c.pk: c.visible for c in latest} == {mine.pk: True, theirs.pk: False}


def test_the_latest_ten_past_conversations_are_shown(customer, supervisor):
    made = _conversations(customer, 12)
    current = ConversationFactory(customer=customer)

    past = customer_panel(current, supervisor).sections["conversations"]

    assert [c.pk for c in past["latest"]] == [c.pk for c in reversed(made)][:10]
    assert past["other_count"] == 12


def test_notes_carry_the_agents_names(customer, supervisor):
    author = AgentFactory(display_name="客服小李")
    note = CustomerNoteFactory(customer=customer, author=author.user)
    services.edit_customer_note(note=note, editor=supervisor.user, body="edited")

    (shown,) = customer_panel(ConversationFactory(customer=customer), supervisor).notes

    assert (shown.author_name, shown.editor_name) == ("客服小李", supervisor.display_name)


def test_the_panel_takes_as_many_queries_for_60_of_everything_as_for_1(supervisor):
    small, large = _customer_with(1), _customer_with(60)

    with CaptureQueriesContext(connection) as one:
        customer_panel(small, supervisor)
    with CaptureQueriesContext(connection) as sixty:
        panel = customer_panel(large, supervisor)

    assert panel.order_count == 60 and len(panel.notes) == 60
    assert panel.sections["tickets"]["count"] == 60
    assert len(sixty) == len(one) <= 12  # ten of its own, two for the tickets' section


def test_a_note_is_added_trimmed_with_its_author(customer):
    user = UserFactory()

    note = services.add_customer_note(
        customer_id=customer.pk, author=user, body="  avoid price talk "
    )

    assert (note.body, note.author, note.customer) == ("avoid price talk", user, customer)


@pytest.mark.parametrize("body", ["", "   ", "x" * 2001])
def test_an_empty_or_too_long_note_is_refused(customer, body):
    with pytest.raises(services.InvalidInput):
        services.add_customer_note(customer_id=customer.pk, author=UserFactory(), body=body)

    assert not CustomerNote.objects.exists()


def test_editing_a_note_keeps_the_author_and_records_the_editor(customer):
    note = CustomerNoteFactory(customer=customer)
    editor = UserFactory()

    services.edit_customer_note(note=note, editor=editor, body="VIP, call back before 18:00")

    note.refresh_from_db()
    assert (note.body, note.last_edited_by) == ("VIP, call back before 18:00", editor)
    assert note.author != editor


def test_an_edit_to_nothing_is_refused_and_keeps_the_note(customer):
    note = CustomerNoteFactory(customer=customer, body="keep me")

    with pytest.raises(services.InvalidInput):
        services.edit_customer_note(note=note, editor=UserFactory(), body=" ")

    note.refresh_from_db()
    assert note.body == "keep me"


def test_only_the_author_or_a_supervisor_deletes_a_note(customer):
    note = CustomerNoteFactory(customer=customer)

    with pytest.raises(services.NotAllowed):
        services.delete_customer_note(note=note, user=UserFactory(), is_supervisor=False)
    services.delete_customer_note(note=note, user=UserFactory(), is_supervisor=True)

    assert not CustomerNote.objects.exists()


def test_a_tag_is_added_once_per_customer(customer):
    user = UserFactory()

    first = services.add_customer_tag(
        customer_id=customer.pk, name=" price  sensitive ", created_by=user
    )
    again = services.add_customer_tag(
        customer_id=customer.pk, name="price sensitive", created_by=user
    )

    assert first.pk == again.pk
    assert (first.name, first.source, first.created_by) == ("price sensitive", "manual", user)


@pytest.mark.parametrize("name", ["", "  ", "x" * 41])
def test_an_empty_or_too_long_tag_is_refused(customer, name):
    with pytest.raises(services.InvalidInput):
        services.add_customer_tag(customer_id=customer.pk, name=name, created_by=None)


def test_a_customer_has_at_most_twenty_tags(customer):
    for i in range(services.MAX_TAGS):
        services.add_customer_tag(customer_id=customer.pk, name=f"t{i}", created_by=None)

    with pytest.raises(services.InvalidInput, match="20"):
        services.add_customer_tag(customer_id=customer.pk, name="one more", created_by=None)

    assert CustomerTag.objects.filter(customer=customer).count() == 20


def test_manual_tags_are_removed_automatic_ones_stay(customer):
    manual = CustomerTagFactory(customer=customer)
    auto = CustomerTagFactory(customer=customer, source=CustomerTag.Source.AUTO)

    services.remove_customer_tag(tag=manual)
    with pytest.raises(services.InvalidInput):
        services.remove_customer_tag(tag=auto)

    assert list(CustomerTag.objects.all()) == [auto]


def test_orders_of_the_panel_keep_their_tracking(customer):
    OrderFactory(
        customer=customer, status=Order.Status.SHIPPED, tracking_number="SF1", carrier="顺丰"
    )

    (order,) = customer_360(customer).orders

    assert (order.carrier, order.tracking_number, order.status) == ("顺丰", "SF1", "shipped")


def test_the_demo_customers_have_notes_and_tags_once():
    call_command("load_demo")
    call_command("load_demo")

    vip = customer_360(Customer.objects.get(external_id="demo-1001"))

    assert len(vip.notes) == 2 and all(note.author for note in vip.notes)
    assert {tag.name for tag in vip.tags if tag.source == "manual"} == {"价格敏感", "回头客"}
    assert CustomerNote.objects.count() == 3
    assert CustomerTag.objects.filter(source="manual").count() == 3
