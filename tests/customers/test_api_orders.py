"""The partner API for orders: /api/v1/orders/ (contracts/partner-api.md, docs/api.md)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import CareCampaign, Order, Outreach
from tests.factories import CustomerFactory, OrderFactory, care_campaign

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"
ITEM = {"sku": "EB-200", "name": "无线耳机", "qty": 1, "price": "399.00", "category": "audio"}
BODY = {
    "customer": "u-1001",
    "status": "paid",
    "items": [ITEM],
    "total": "399.00",
    "placed_at": "2026-12-06T12:00:00Z",
}


@pytest.fixture
def api(partner_client):
    return partner_client("orders")


@pytest.fixture
def customer():
    return CustomerFactory(external_id="u-1001")


@pytest.fixture
def reminders():
    care_campaign(CareCampaign.Kind.ORDER_SHIPPED)
    care_campaign(CareCampaign.Kind.ORDER_DELIVERED)

    def claimed() -> list[str]:
        return sorted(Outreach.objects.values_list("occasion", flat=True))

    return claimed


def test_a_put_creates_the_order(api, customer):
    response = api.put(f"{ORDERS}LM20261207001/", BODY)

    assert response.status_code == 201
    body = response.json()
    assert (body["number"], body["customer"], body["status"], body["total"]) == (
        "LM20261207001",
        "u-1001",
        "paid",
        "399.00",
    )
    assert body["items"] == [ITEM]
    assert body["placed_at"] == "2026-12-06T12:00:00Z"
    order = Order.objects.get()
    assert (order.customer_id, order.total) == (customer.pk, Decimal("399.00"))


def test_shipped_schedules_the_reminder_exactly_once(api, customer, reminders):
    api.put(f"{ORDERS}LM1/", BODY)
    assert reminders() == []
    shipped = {"status": "shipped", "carrier": "顺丰", "tracking_number": "SF1234567890"}

    first = api.put(f"{ORDERS}LM1/", shipped)
    second = api.put(f"{ORDERS}LM1/", shipped)

    assert (first.status_code, second.status_code) == (200, 200)
    assert reminders() == ["order:LM1:shipped"]
    assert first.json()["shipped_at"] is not None
    assert first.json() == second.json()


def test_delivered_schedules_its_own_reminder_once(api, customer, reminders):
    api.put(f"{ORDERS}LM1/", {**BODY, "status": "shipped"})

    for _ in range(2):
        api.put(f"{ORDERS}LM1/", {"status": "delivered"})

    assert reminders() == ["order:LM1:delivered", "order:LM1:shipped"]


def test_a_shipped_time_sent_is_the_one_kept(api, customer, reminders):
    at = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)

    api.put(f"{ORDERS}LM1/", {**BODY, "status": "shipped", "shipped_at": at.isoformat()})

    assert Order.objects.get().shipped_at == at
    assert Outreach.objects.get().due_at == at


def test_the_same_put_twice_writes_once(api, customer):
    api.put(f"{ORDERS}LM1/", BODY)
    before = Order.objects.get().updated_at

    response = api.put(f"{ORDERS}LM1/", BODY)

    assert response.status_code == 200
    assert Order.objects.get().updated_at == before
    assert Order.objects.count() == 1


def test_an_order_cannot_be_moved_to_another_customer(api, customer):
    CustomerFactory(external_id="u-2")
    api.put(f"{ORDERS}LM1/", BODY)

    response = api.put(f"{ORDERS}LM1/", {**BODY, "customer": "u-2", "status": "cancelled"})

    assert response.status_code == 409
    order = Order.objects.get()
    assert (order.customer_id, order.status) == (customer.pk, "paid")


def test_a_later_put_may_leave_the_customer_out(api, customer):
    api.put(f"{ORDERS}LM1/", BODY)

    response = api.put(f"{ORDERS}LM1/", {"status": "cancelled"})

    assert response.status_code == 200
    assert response.json()["customer"] == "u-1001"


@pytest.mark.parametrize("missing", ["customer", "status"])
def test_creating_needs_the_customer_and_status(api, customer, missing):
    body = {key: value for key, value in BODY.items() if key != missing}

    response = api.put(f"{ORDERS}LM1/", body)

    assert response.status_code == 400
    assert list(response.json()) == [missing]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"customer": "u-nobody"}, "customer"),
        ({"status": "lost"}, "status"),
        ({"total": "-1"}, "total"),
        ({"total": "1.005"}, "total"),
        ({"total": "1e400"}, "total"),
        ({"items": [{"sku": "A", "qty": 0}]}, "items"),
        ({"items": [{"sku": "A", "colour": "red"}]}, "items"),
        ({"items": "EB-200"}, "items"),
        ({"placed_at": "yesterday"}, "placed_at"),
        ({"tracking_events": [{"place": "上海"}]}, "tracking_events"),
        ({"carrier": "x" * 61}, "carrier"),
        ({"id": 5}, "id"),
        ({"updated_at": "2026-12-06T12:00:00Z"}, "updated_at"),
    ],
)
def test_bad_values_are_400_naming_the_field_and_leave_nothing(api, customer, change, field):
    response = api.put(f"{ORDERS}LM1/", {**BODY, **change})

    assert response.status_code == 400
    assert field in response.json()
    assert not Order.objects.exists()


def test_a_malformed_number_is_400_on_put_and_404_on_get(api, customer):
    assert api.put(f"{ORDERS}LM%201/", BODY).status_code == 400
    assert api.get(f"{ORDERS}LM%201/").status_code == 404
    assert api.put(f"{ORDERS}{'L' * 33}/", BODY).status_code == 400


def test_one_order_and_an_unknown_one(api, customer):
    order = OrderFactory(customer=customer, status="shipped", tracking_number="SF1")

    assert api.get(f"{ORDERS}{order.number}/").json()["tracking_number"] == "SF1"
    assert api.get(f"{ORDERS}LM-nothing/").status_code == 404


def test_the_list_filters_by_status_customer_and_updated_after(api, customer):
    paid = OrderFactory(customer=customer, status="paid")
    shipped = OrderFactory(customer=customer, status="shipped")
    other = OrderFactory(customer=CustomerFactory(external_id="u-2"), status="paid")
    Order.objects.filter(pk=other.pk).update(updated_at=timezone.now() - timedelta(days=9))

    def numbers(**params):
        return [row["number"] for row in api.get(ORDERS, params).json()["results"]]

    assert numbers() == [other.number, shipped.number, paid.number]
    assert numbers(status="paid") == [other.number, paid.number]
    assert numbers(customer="u-1001") == [shipped.number, paid.number]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert numbers(updated_after=since) == [shipped.number, paid.number]
    assert api.get(ORDERS, {"status": "lost"}).status_code == 400


def test_a_key_without_the_orders_scope_is_403(partner_client, customer):
    other = partner_client("customers")

    assert other.get(ORDERS).status_code == 403
    assert other.put(f"{ORDERS}LM1/", BODY).status_code == 403
    assert not Order.objects.exists()


def test_a_form_body_is_415_and_a_body_too_large_413(api, customer):
    assert api.put(f"{ORDERS}LM1/", BODY, format="multipart").status_code == 415
    big = {**BODY, "items": [{**ITEM, "name": "x" * 200}] * 2000}
    assert api.put(f"{ORDERS}LM1/", big).status_code == 413
    assert not Order.objects.exists()


def test_malformed_json_is_400(api, customer):
    response = api.generic("PUT", f"{ORDERS}LM1/", b'{"status": ', content_type="application/json")

    assert response.status_code == 400
    assert not Order.objects.exists()


def test_an_order_pushed_has_its_customers_tags_looked_at_again(api, customer, monkeypatch):
    from customers.services import tag_rules

    changed = []
    monkeypatch.setattr(tag_rules, "order_changed", lambda *, order: changed.append(order.number))

    api.put(f"{ORDERS}LM1/", BODY)

    assert changed == ["LM1"]
