"""Customer segments: new / returning / VIP / occasional, from activity, with a frozen clock."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from conversations.models import WidgetSite
from conversations.selectors import customer_panel
from customers.models import Customer, InvitationRule, RecommendationRule, RecommendedProduct
from customers.services import segments
from customers.services.levels import change_level
from customers.services.merge import merge_customers, unmerge_customers
from customers.services.orders import upsert_order
from tests.factories import AgentFactory, ConversationFactory, CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def _customer(*, days_ago: float, **fields) -> Customer:
    with time_machine.travel(NOW - timedelta(days=days_ago), tick=False):
        return CustomerFactory(**fields)


def _segment(customer: Customer) -> str:
    return Customer.objects.values_list("segment", flat=True).get(pk=customer.pk)


@pytest.mark.parametrize(
    ("days_ago", "conversations", "order_status", "level", "expected"),
    [
        (1, 0, None, "normal", "new"),
        (29.9, 1, None, "normal", "new"),
        (30.1, 1, None, "normal", "occasional"),
        (400, 0, None, "gold", "occasional"),
        (1, 2, None, "normal", "returning"),
        (1, 0, "paid", "normal", "returning"),
        (400, 1, "returned", "silver", "returning"),
        (1, 0, "pending", "normal", "new"),
        (1, 0, "cancelled", "normal", "new"),
        (1, 0, None, "vip", "vip"),
        (400, 5, "delivered", "vip", "vip"),
    ],
)
def test_the_segment_follows_the_rule(days_ago, conversations, order_status, level, expected):
    customer = _customer(days_ago=days_ago, level=level, conversation_count=conversations)
    if order_status:
        OrderFactory(customer=customer, status=order_status)

    with time_machine.travel(NOW, tick=False):
        assert segments.refresh_segment(customer_id=customer.pk) == expected
    assert _segment(customer) == expected


def test_the_sweep_moves_a_new_customer_to_occasional_after_30_days_and_writes_only_changes():
    stays_new = _customer(days_ago=10)
    ages = _customer(days_ago=29)
    vip = _customer(days_ago=400, level="vip")
    with time_machine.travel(NOW, tick=False):
        assert segments.refresh_segments(batch=2) == 1  # vip was "new" when made
    assert [_segment(c) for c in (stays_new, ages, vip)] == ["new", "new", "vip"]

    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        changed = segments.refresh_segments(batch=2)

    assert changed == 1
    assert [_segment(c) for c in (stays_new, ages, vip)] == ["new", "occasional", "vip"]


def test_a_second_conversation_makes_a_customer_returning():
    customer = _customer(days_ago=3)

    first = segments.conversation_started(customer_id=customer.pk)
    second = segments.conversation_started(customer_id=customer.pk)

    customer.refresh_from_db()
    assert (first, second) == ("new", "returning")
    assert (customer.conversation_count, customer.segment) == (2, "returning")


def test_a_chat_session_counts_the_conversation_once(client):
    response = client.post(reverse("chat-sessions"), {}, content_type="application/json")
    token = response.json()["token"]
    client.post(reverse("chat-sessions"), {"token": token}, content_type="application/json")

    customer = Customer.objects.get()
    assert customer.conversation_count == 1
    assert customer.segment == "new"


def test_a_paid_order_through_the_upsert_makes_the_customer_returning_and_a_rollback_does_not():
    customer = _customer(days_ago=100, conversation_count=1)
    segments.refresh_segment(customer_id=customer.pk)
    assert _segment(customer) == "occasional"

    with pytest.raises(RuntimeError), transaction.atomic():
        upsert_order(customer_id=customer.pk, number="LM20261201", status="paid", total="10")
        raise RuntimeError
    assert _segment(customer) == "occasional"

    upsert_order(customer_id=customer.pk, number="LM20261201", status="pending", total="10")
    assert _segment(customer) == "occasional"
    upsert_order(customer_id=customer.pk, number="LM20261201", status="paid")
    assert _segment(customer) == "returning"


def test_the_upsert_refuses_another_customers_order_number_and_unknown_fields():
    owner, other = CustomerFactory(), CustomerFactory()
    upsert_order(customer_id=owner.pk, number="LM20261202", status="paid")

    with pytest.raises(ValueError):
        upsert_order(customer_id=other.pk, number="LM20261202", status="delivered")
    with pytest.raises(ValueError):
        upsert_order(customer_id=owner.pk, number="LM20261202", customer_id_x=1)

    assert _segment(other) == "new"


def test_a_level_change_to_vip_and_back_changes_the_segment():
    customer = _customer(days_ago=100, conversation_count=3)

    change_level(customer_id=customer.pk, level="vip", source="admin")
    assert _segment(customer) == "vip"
    change_level(customer_id=customer.pk, level="gold", source="admin")
    assert _segment(customer) == "returning"


def test_the_segment_is_in_the_360_panel_and_filters_customers_in_admin(admin_client):
    vip = CustomerFactory(name="王芳", level="vip")
    segments.refresh_segment(customer_id=vip.pk)
    vip.refresh_from_db()
    newcomer = CustomerFactory(name="Newcomer")
    conversation = ConversationFactory(customer=vip)

    panel = customer_panel(conversation, AgentFactory())
    listed = admin_client.get(reverse("admin:customers_customer_changelist"), {"segment": "vip"})

    assert (panel.profile.segment, str(panel.profile.segment_label)) == ("vip", "VIP")
    assert vip.name in listed.content.decode()
    assert newcomer.name not in listed.content.decode()


def test_the_demo_customers_get_their_segments_and_the_demo_its_widget_and_rules_once():
    call_command("load_demo")
    call_command("load_demo")

    segment_of = dict(Customer.objects.values_list("external_id", "segment"))
    assert segment_of == {"demo-1001": "vip", "demo-2002": "returning"}
    assert list(WidgetSite.objects.values_list("key", flat=True)) == ["demo-shop"]
    assert InvitationRule.objects.count() == 2
    assert RecommendationRule.objects.count() == 2
    assert RecommendedProduct.objects.count() == 2


def test_a_merge_adds_the_conversations_and_its_undoing_puts_the_segment_back():
    visitor = _customer(days_ago=1, conversation_count=1)
    known = _customer(days_ago=100, conversation_count=1)
    for customer in (visitor, known):
        segments.refresh_segment(customer_id=customer.pk)

    merge = merge_customers(source_id=visitor.pk, target_id=known.pk, how="admin")
    known.refresh_from_db()
    assert (known.conversation_count, known.segment) == (2, "returning")

    unmerge_customers(merge_id=merge.pk, by=None)
    restored = dict(Customer.objects.values_list("pk", "segment"))
    counts = dict(Customer.objects.values_list("pk", "conversation_count"))
    assert restored == {visitor.pk: "new", known.pk: "occasional"}
    assert counts == {visitor.pk: 1, known.pk: 1}
