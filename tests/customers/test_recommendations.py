"""Recommendations: the rule that matches the topic and the order history, once per
conversation; clicks; a conversion counted once (order upsert, sweep, coupon)."""

import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from customers.models import Coupon, Recommendation, RecommendationRule
from customers.services import recommendations
from customers.services.orders import CouponNotRedeemable, redeem_coupon, upsert_order
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

BUDS = {"sku": "BUDS-2", "name": "Lumen Buds 2", "qty": 1, "category": "audio"}


def product_rule(**fields) -> RecommendationRule:
    defaults = {
        "name": "audio accessories",
        "topic": "product-help",
        "message_zh": "您可能还需要：",
        "message_en": "You might also like:",
    }
    made = RecommendationRule.objects.create(**(defaults | fields))
    made.products.create(
        sku="CASE-B2", name_zh="耳机保护套", name_en="Buds case", url="https://shop.example/p/case"
    )
    made.products.create(
        sku="TIPS-B2", name_zh="替换耳塞", name_en="Ear tips", url="https://shop.example/p/tips"
    )
    return made


def coupon_rule(**fields) -> RecommendationRule:
    defaults = {
        "name": "sorry coupon",
        "kind": "coupon",
        "topic": "logistics_tracking",
        "message_zh": "送您一张优惠券：",
        "message_en": "A coupon for you:",
        "coupon_title_zh": "物流补偿券",
        "coupon_title_en": "Delivery apology coupon",
        "coupon_amount": Decimal("15"),
        "coupon_url": "https://shop.example/coupons",
    }
    return RecommendationRule.objects.create(**(defaults | fields))


def recommend(customer, *, topics=("product-help",), moment="answer", conversation=None):
    return recommendations.recommend(
        customer_id=customer.pk,
        conversation_id=conversation or uuid.uuid4(),
        topics=set(topics),
        moment=moment,
        language="en",
    )


def test_the_first_rule_for_the_topic_offers_its_products_in_the_customers_language():
    product_rule(position=2, name="second")
    first = product_rule(position=1, name="first")
    product_rule(position=0, name="other topic", topic="invoice-request")

    shown = recommend(CustomerFactory())

    assert shown.rule == first
    assert shown.offers == [
        {"sku": "CASE-B2", "name": "Buds case", "url": "https://shop.example/p/case"},
        {"sku": "TIPS-B2", "name": "Ear tips", "url": "https://shop.example/p/tips"},
    ]
    assert shown.skus == ["CASE-B2", "TIPS-B2"]


def test_at_most_once_per_conversation():
    product_rule()
    customer = CustomerFactory()
    conversation = uuid.uuid4()

    first = recommend(customer, conversation=conversation)
    again = recommend(customer, conversation=conversation, moment="answer")

    assert first is not None and again is None
    assert Recommendation.objects.count() == 1


def test_the_moment_the_bought_category_and_what_was_bought_decide():
    product_rule(moment="close", order_category="audio")
    customer, buyer = CustomerFactory(), CustomerFactory()
    OrderFactory(customer=buyer, status="delivered", items=[BUDS, "junk", {"sku": 5}])

    assert recommend(buyer, moment="answer") is None
    assert recommend(customer, moment="close") is None  # never bought audio
    shown = recommend(buyer, moment="close")
    assert shown.skus == ["CASE-B2", "TIPS-B2"]

    OrderFactory(customer=buyer, status="delivered", items=[{**BUDS, "sku": "CASE-B2"}])
    assert recommend(buyer, moment="close").skus == ["TIPS-B2"]  # the case is bought


def test_a_click_is_counted_and_leads_to_the_offer():
    product_rule()
    shown = recommend(CustomerFactory())

    first = recommendations.record_click(recommendation_id=shown.pk, index=1)
    recommendations.record_click(recommendation_id=shown.pk, index=0)
    missing = recommendations.record_click(recommendation_id=shown.pk, index=2)

    shown.refresh_from_db()
    assert first == "https://shop.example/p/tips"
    assert missing is None
    assert shown.clicks == 2 and shown.first_clicked_at is not None


def test_an_order_with_a_recommended_sku_converts_once_through_the_upsert():
    product_rule()
    customer = CustomerFactory()
    shown = recommend(customer)
    items = [{"sku": "TIPS-B2", "name": "Ear tips", "qty": 2, "category": "audio"}]

    upsert_order(
        customer_id=customer.pk,
        number="LM20261210",
        status="pending",
        items=items,
        placed_at=timezone.now(),
    )
    shown.refresh_from_db()
    assert shown.converted_at is None  # not paid yet

    upsert_order(customer_id=customer.pk, number="LM20261210", status="paid")
    upsert_order(customer_id=customer.pk, number="LM20261210", status="shipped")
    recommendations.sweep_conversions()

    shown.refresh_from_db()
    assert shown.converted_by == "order:LM20261210"
    assert Recommendation.objects.filter(converted_at__isnull=False).count() == 1


def test_no_conversion_for_another_sku_another_customer_or_after_the_window():
    product_rule(conversion_days=7)
    customer, other = CustomerFactory(), CustomerFactory()
    shown = recommend(customer)
    tips = [{"sku": "TIPS-B2"}]

    upsert_order(customer_id=customer.pk, number="LM1", status="paid", items=[BUDS])
    upsert_order(customer_id=other.pk, number="LM2", status="paid", items=tips)
    upsert_order(
        customer_id=customer.pk,
        number="LM3",
        status="paid",
        items=tips,
        placed_at=timezone.now() + timedelta(days=8),
    )
    recommendations.sweep_conversions()

    shown.refresh_from_db()
    assert shown.converted_at is None


def test_the_sweep_counts_an_order_written_without_the_upsert_and_one_order_converts_once():
    product_rule()
    customer = CustomerFactory()
    older = recommend(customer)
    Recommendation.objects.filter(pk=older.pk).update(shown_at=timezone.now() - timedelta(hours=2))
    newer = recommend(customer)
    OrderFactory(
        customer=customer, status="paid", items=[{"sku": "CASE-B2"}], placed_at=timezone.now()
    )

    assert recommendations.sweep_conversions() == 1
    assert recommendations.sweep_conversions() == 0

    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.converted_at is None  # the latest recommendation before the order gets it
    assert newer.converted_by.startswith("order:")


def test_a_coupon_offer_issues_its_coupon_once_and_converts_when_redeemed():
    coupon_rule()
    customer = CustomerFactory()

    shown = recommend(customer, topics={"logistics_tracking"})
    again = recommend(customer, topics={"logistics_tracking"})  # another conversation

    coupon = Coupon.objects.get()
    assert shown.coupon == again.coupon == coupon
    assert (coupon.title, coupon.amount) == ("Delivery apology coupon", Decimal("15.00"))

    assert redeem_coupon(code=coupon.code).redeemed_at is not None
    with pytest.raises(CouponNotRedeemable):
        redeem_coupon(code=coupon.code)  # the first redemption stands
    recommendations.sweep_conversions()

    converted = Recommendation.objects.filter(converted_at__isnull=False)
    assert list(converted.values_list("pk", "converted_by")) == [
        (again.pk, f"coupon:{coupon.code}")
    ]
    assert recommend(customer, topics={"logistics_tracking"}) is None  # redeemed: no more


def test_admin_lists_each_rule_with_its_click_and_conversion_rates(admin_client):
    product_rule(name="耳机配件")
    customers = [CustomerFactory() for _ in range(4)]
    shown = [recommend(customer) for customer in customers]
    recommendations.record_click(recommendation_id=shown[0].pk, index=0)
    recommendations.record_click(recommendation_id=shown[0].pk, index=1)
    recommendations.record_click(recommendation_id=shown[1].pk, index=0)
    upsert_order(
        customer_id=customers[0].pk, number="LM9", status="paid", items=[{"sku": "CASE-B2"}]
    )

    page = admin_client.get(
        reverse("admin:customers_recommendationrule_changelist"), HTTP_ACCEPT_LANGUAGE="en"
    )

    row = re.search(r"<tr>.*?耳机配件.*?</tr>", page.content.decode(), re.S).group(0)
    cells = dict(re.findall(r'<td class="field-(\w+)">([^<]*)</td>', row))
    assert (cells["shown"], cells["clicked"], cells["converted"]) == ("4", "2", "1")
    assert (cells["click_rate"], cells["conversion_rate"]) == ("50%", "25%")


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_count_a_conversion_once():
    product_rule()
    customer = CustomerFactory()
    shown = recommend(customer)
    OrderFactory(
        customer=customer, status="paid", items=[{"sku": "TIPS-B2"}], placed_at=timezone.now()
    )
    barrier = threading.Barrier(4)

    def sweep(_):
        try:
            barrier.wait()
            return recommendations.sweep_conversions()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        counted = list(pool.map(sweep, range(4)))

    shown.refresh_from_db()
    assert sum(counted) == 1
    assert shown.converted_by.startswith("order:")
