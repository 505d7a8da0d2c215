"""Partner API: coupons (docs/api.md, "Coupons"; an addition to contracts/partner-api.md).

The helpdesk issues coupons (a birthday greeting's, a recommendation's, one the bot
hands out); the shop's checkout redeems them. `GET /api/v1/coupons/` lists them, `GET
/api/v1/coupons/{code}/` shows one, and `POST /api/v1/coupons/{code}/redeem/` marks one
used — once: a second redemption, or one after the coupon expired, is 409. Scope
`orders`. Thin: the write is customers.services.orders.redeem_coupon.
"""

from __future__ import annotations

import re
from datetime import UTC

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from customers.api import BAD_INPUT, NewestFirst
from customers.models import Coupon
from customers.services import orders
from helpdesk.api_auth import PartnerAPIMixin
from helpdesk.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from helpdesk.pagination import PartnerListView
from helpdesk.serializers import StrictSerializer, utc_time

# A coupon code as a path segment (the helpdesk's are ten capitals and digits).
COUPON_CODE = re.compile(r"[A-Za-z0-9_-]{1,40}")
STATES = (
    ("active", pgettext_lazy("coupon state", "active")),
    ("redeemed", pgettext_lazy("coupon state", "redeemed")),
    ("expired", pgettext_lazy("coupon state", "expired")),
)


class CouponSerializer(serializers.Serializer):
    code = serializers.CharField()
    customer = serializers.CharField(
        source="customer.external_id", allow_null=True, help_text="the customer's external_id"
    )
    campaign = serializers.CharField(help_text="what issued it (birthday-…, a rule's slug)")
    title = serializers.CharField()
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    minimum_spend = serializers.DecimalField(max_digits=10, decimal_places=2)
    state = serializers.SerializerMethodField(help_text="active, redeemed or expired")
    issued_at = utc_time()
    expires_at = utc_time()
    redeemed_at = utc_time(allow_null=True)

    def get_state(self, coupon: Coupon) -> str:
        return orders.coupon_state(coupon)


class RedeemSerializer(StrictSerializer):
    redeemed_at = serializers.DateTimeField(
        required=False, help_text="when the checkout used it (now when left out)"
    )

    def validate_redeemed_at(self, value):
        if value > timezone.now():
            raise serializers.ValidationError(_("A redemption cannot be in the future."))
        return value


class CouponFilter(filters.FilterSet):
    customer = filters.CharFilter(
        field_name="customer__external_id", help_text="the customer's external_id"
    )
    campaign = filters.CharFilter(help_text="what issued them")
    state = filters.ChoiceFilter(choices=STATES, method="filter_state", help_text="judged now")

    class Meta:
        model = Coupon
        fields: list[str] = []

    def filter_state(self, queryset, name, value: str):
        return orders.coupons_in_state(queryset, value)


COUPON_EXAMPLE = {
    "code": "K7QX2MPA9D",
    "customer": "u-1001",
    "campaign": "birthday-birthday-2026",
    "title": "Birthday coupon",
    "amount": "20.00",
    "minimum_spend": "0.00",
    "state": "active",
    "issued_at": "2026-12-07T01:00:00Z",
    "expires_at": "2027-01-06T01:00:00Z",
    "redeemed_at": None,
}
CODE_PARAMETER = OpenApiParameter(
    "code",
    str,
    OpenApiParameter.PATH,
    description="the coupon's code (letters, digits, _ and -)",
    examples=[OpenApiExample("A coupon", value="K7QX2MPA9D")],
)
NOT_FOUND = OpenApiResponse(description="No such coupon")


def _coupon(code: str) -> Coupon:
    coupon = (
        Coupon.objects.select_related("customer").filter(code=code).first()
        if COUPON_CODE.fullmatch(code)
        else None
    )
    if coupon is None:
        raise NotFound(_("No such coupon."))
    return coupon


@extend_schema_view(
    get=extend_schema(
        summary="List coupons",
        description="Newest first, cursor-paginated (`page_size` up to 200); `state` is "
        "judged now.",
        responses={200: CouponSerializer(many=True), 400: BAD_INPUT},
        examples=[OpenApiExample("A page", value=COUPON_EXAMPLE, response_only=True)],
        tags=["coupons"],
    )
)
class CouponListView(PartnerListView):
    required_scope = "orders"
    serializer_class = CouponSerializer
    filterset_class = CouponFilter
    pagination_class = NewestFirst

    def get_queryset(self):
        return Coupon.objects.select_related("customer")


class CouponDetailView(PartnerAPIMixin, generics.GenericAPIView):
    required_scope = "orders"
    serializer_class = CouponSerializer

    @extend_schema(
        summary="One coupon",
        parameters=[CODE_PARAMETER],
        responses={200: CouponSerializer, 404: NOT_FOUND},
        examples=[OpenApiExample("A coupon", value=COUPON_EXAMPLE, response_only=True)],
        tags=["coupons"],
    )
    def get(self, request, code: str):
        return Response(CouponSerializer(_coupon(code)).data)


class CouponRedeemView(PartnerAPIMixin, generics.GenericAPIView):
    required_scope = "orders"
    serializer_class = RedeemSerializer

    @extend_schema(
        summary="Redeem a coupon",
        description="Marks the coupon used, once; the recommendation that offered it counts "
        "a conversion. 409 with `code` `coupon_redeemed` when it was redeemed before (the "
        "first redemption stands; the body's `coupon` shows it) or `coupon_expired` when it "
        "had expired by `redeemed_at`. With an `Idempotency-Key`, a retry gets the first 200 again.",
        parameters=[CODE_PARAMETER, IDEMPOTENCY_KEY_PARAMETER],
        request=RedeemSerializer,
        responses={
            200: CouponSerializer,
            400: BAD_INPUT,
            404: NOT_FOUND,
            409: OpenApiResponse(description="Redeemed before, or expired"),
        },
        examples=[
            OpenApiExample(
                "At checkout", value={"redeemed_at": "2026-12-08T10:30:00Z"}, request_only=True
            ),
            OpenApiExample(
                "Redeemed",
                value={
                    **COUPON_EXAMPLE,
                    "state": "redeemed",
                    "redeemed_at": "2026-12-08T10:30:00Z",
                },
                response_only=True,
            ),
        ],
        tags=["coupons"],
    )
    @idempotent
    def post(self, request, code: str):
        coupon = _coupon(code)
        body = RedeemSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        at = body.validated_data.get("redeemed_at")
        try:
            coupon = orders.redeem_coupon(code=coupon.code, at=at.astimezone(UTC) if at else None)
        except orders.CouponNotFound:  # deleted in between
            raise NotFound(_("No such coupon.")) from None
        except orders.CouponNotRedeemable as refused:
            redeemed = refused.coupon.redeemed_at is not None
            return Response(
                {
                    "detail": _("This coupon was redeemed before.")
                    if redeemed
                    else _("This coupon had expired."),
                    "code": "coupon_redeemed" if redeemed else "coupon_expired",
                    "coupon": CouponSerializer(refused.coupon).data,
                },
                status=status.HTTP_409_CONFLICT,
            )
        return Response(CouponSerializer(coupon).data)
