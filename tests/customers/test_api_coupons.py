"""The partner API for coupons: /api/v1/coupons/ (docs/api.md, "Coupons")."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Coupon
from customers.services import orders
from tests.factories import CustomerFactory
from tests.threads import at_once

COUPONS = "/api/v1/coupons/"


@pytest.fixture
def api(partner_client):
    return partner_client("orders")


def coupon(code: str, customer=None, *, expires_in=timedelta(days=30), **fields) -> Coupon:
    return Coupon.objects.create(
        code=code,
        customer=customer or CustomerFactory(external_id=f"u-{code}"),
        campaign=fields.pop("campaign", f"birthday-{code.lower()}"),
        title="Birthday coupon",
        amount=Decimal("20.00"),
        expires_at=timezone.now() + expires_in,
        **fields,
    )


@pytest.mark.django_db
def test_coupons_are_listed_newest_first_and_filtered_by_customer_and_state(api):
    fang = CustomerFactory(external_id="u-1001")
    coupon("OLD1", fang, expires_in=timedelta(days=-1))
    coupon("USED1", fang, redeemed_at=timezone.now())
    coupon("NEW1", fang)
    coupon("OTHER1")

    everyone = api.get(COUPONS).json()["results"]
    hers = api.get(COUPONS, {"customer": "u-1001"}).json()["results"]
    states = {
        state: [row["code"] for row in api.get(COUPONS, {"state": state}).json()["results"]]
        for state in ("active", "redeemed", "expired")
    }

    assert [row["code"] for row in everyone] == ["OTHER1", "NEW1", "USED1", "OLD1"]
    assert [(row["code"], row["state"]) for row in hers] == [
        ("NEW1", "active"),
        ("USED1", "redeemed"),
        ("OLD1", "expired"),
    ]
    assert states == {"active": ["OTHER1", "NEW1"], "redeemed": ["USED1"], "expired": ["OLD1"]}
    assert hers[0] | {"issued_at": None, "expires_at": None} == {
        "code": "NEW1",
        "customer": "u-1001",
        "campaign": "birthday-new1",
        "title": "Birthday coupon",
        "amount": "20.00",
        "minimum_spend": "0.00",
        "state": "active",
        "issued_at": None,
        "expires_at": None,
        "redeemed_at": None,
    }


@pytest.mark.django_db
def test_a_bad_filter_is_a_400(api):
    response = api.get(COUPONS, {"state": "<script>"})

    assert response.status_code == 400
    assert "state" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["NOPE", "..%2F..%2Fetc", "x" * 41, "%3Cb%3E"])
def test_an_unknown_or_malformed_code_is_a_404(api, code):
    coupon("REAL1")

    assert api.get(f"{COUPONS}{code}/").status_code == 404
    assert api.post(f"{COUPONS}{code}/redeem/", {}).status_code == 404
    assert Coupon.objects.get().redeemed_at is None


@pytest.mark.django_db
def test_a_coupon_is_redeemed_once_and_the_first_redemption_stands(api):
    coupon("K7QX2MPA9D")

    first = api.post(f"{COUPONS}K7QX2MPA9D/redeem/", {"redeemed_at": "2026-12-07T10:30:00Z"})
    second = api.post(f"{COUPONS}K7QX2MPA9D/redeem/", {})

    assert first.status_code == 200
    assert (first.json()["state"], first.json()["redeemed_at"]) == (
        "redeemed",
        "2026-12-07T10:30:00Z",
    )
    assert second.status_code == 409
    assert second.json()["code"] == "coupon_redeemed"
    assert second.json()["coupon"]["redeemed_at"] == "2026-12-07T10:30:00Z"
    assert api.get(f"{COUPONS}K7QX2MPA9D/").json()["state"] == "redeemed"


@pytest.mark.django_db
def test_an_expired_coupon_is_not_redeemed(api):
    coupon("GONE1", expires_in=timedelta(hours=-1))

    response = api.post(f"{COUPONS}GONE1/redeem/", {})

    assert response.status_code == 409
    assert (response.json()["code"], response.json()["coupon"]["state"]) == (
        "coupon_expired",
        "expired",
    )
    assert Coupon.objects.get().redeemed_at is None


@pytest.mark.django_db
def test_a_redemption_before_the_expiry_is_accepted_after_it(api):
    # The checkout reports late: what counts is when the coupon was used.
    coupon("LATE1", expires_in=timedelta(hours=-1))
    used = (timezone.now() - timedelta(hours=2)).isoformat()

    response = api.post(f"{COUPONS}LATE1/redeem/", {"redeemed_at": used})

    assert response.status_code == 200
    assert Coupon.objects.get().redeemed_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"redeemed_at": "2999-01-01T00:00:00Z"}, "redeemed_at"),  # in the future
        ({"redeemed_at": "yesterday"}, "redeemed_at"),
        ({"redeemed_at": 12}, "redeemed_at"),
        ({"customer": "u-2"}, "customer"),  # not a field a partner sets here
    ],
)
def test_a_bad_body_is_a_400_and_redeems_nothing(api, body, field):
    coupon("BAD1")

    response = api.post(f"{COUPONS}BAD1/redeem/", body)

    assert response.status_code == 400
    assert field in response.json()
    assert Coupon.objects.get().redeemed_at is None


@pytest.mark.django_db
def test_a_retry_with_the_idempotency_key_gets_the_first_answer(api):
    coupon("RETRY1")

    first = api.post(f"{COUPONS}RETRY1/redeem/", {}, HTTP_IDEMPOTENCY_KEY="checkout-77")
    retry = api.post(f"{COUPONS}RETRY1/redeem/", {}, HTTP_IDEMPOTENCY_KEY="checkout-77")

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_a_key_without_the_orders_scope_is_refused(partner_client):
    coupon("SCOPE1")

    response = partner_client("customers").post(f"{COUPONS}SCOPE1/redeem/", {})

    assert response.status_code == 403
    assert Coupon.objects.get().redeemed_at is None


@pytest.mark.django_db(transaction=True)
def test_two_redemptions_at_once_let_one_through():
    coupon("RACE1")

    def redeem():
        try:
            return orders.redeem_coupon(code="RACE1").redeemed_at
        except orders.CouponNotRedeemable:
            return "refused"

    results = at_once(redeem, times=4)

    assert sorted(map(str, results)).count("refused") == 3
    assert Coupon.objects.get().redeemed_at in results


@pytest.mark.django_db
def test_the_refusal_is_in_the_partners_language(api):
    coupon("ZH1", redeemed_at=timezone.now())

    chinese = api.post(f"{COUPONS}ZH1/redeem/", {}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    english = api.post(f"{COUPONS}ZH1/redeem/", {})

    assert chinese.json()["detail"] == "这张优惠券已经使用过了。"
    assert english.json()["detail"] == "This coupon was redeemed before."
