"""Partner API: webhook subscriptions (contracts/partner-api.md, "Webhooks"; docs/api.md).

Thin: the writes are helpdesk.webhooks.subscriptions. A key sees, lists and deletes only its
own subscriptions; another key's is a 404 like one that does not exist.
"""

from __future__ import annotations

import re
from uuid import UUID

from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.response import Response

from helpdesk.api_auth import PartnerAPIMixin
from helpdesk.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from helpdesk.models import WEBHOOK_EVENTS, WebhookSubscription
from helpdesk.pagination import PartnerCursor
from helpdesk.serializers import StrictBooleanField, StrictCharField, StrictSerializer, utc_time
from helpdesk.webhooks import subscriptions
from helpdesk.webhooks.targets import TargetRefused, check_url

UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}")


class SubscriptionConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This key already has a subscription to this URL.")
    default_code = "subscription_exists"


def _subscription_pk(subscription_id: str) -> UUID:
    """The id as a UUID; a malformed one is a 404 like an unknown one."""
    if not UUID_TEXT.fullmatch(subscription_id):
        raise NotFound(_("No such subscription."))
    return UUID(subscription_id)


# --- what a subscription looks like -----------------------------------------------------------


class SubscriptionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=WEBHOOK_EVENTS))
    active = serializers.BooleanField(
        help_text="false: nothing is sent (turned off, or disabled after repeated failure)"
    )
    consecutive_failures = serializers.IntegerField(
        help_text="failed attempts since the last success"
    )
    disabled_at = utc_time(
        allow_null=True, help_text="when it was disabled automatically after repeated failure"
    )
    disabled_reason = serializers.CharField()
    created_at = utc_time()
    updated_at = utc_time()


class CreatedSubscriptionSerializer(SubscriptionSerializer):
    secret = serializers.CharField(
        help_text="the key of the deliveries' signatures: shown in this response only"
    )


class SubscriptionCreateSerializer(StrictSerializer):
    url = StrictCharField(
        max_length=2000, help_text="http or https; not a private, loopback or link-local address"
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WEBHOOK_EVENTS),
        min_length=1,
        max_length=len(WEBHOOK_EVENTS),
        help_text="the events to receive, from the contract's list",
    )
    active = StrictBooleanField(default=True)

    def validate_url(self, url: str) -> str:
        try:
            check_url(url)
        except TargetRefused as refused:
            raise ValidationError(str(refused)) from None
        return url


# --- the list -----------------------------------------------------------------------------------


class SubscriptionFilter(filters.FilterSet):
    event = filters.ChoiceFilter(
        choices=[(event, event) for event in WEBHOOK_EVENTS],
        method="filter_event",
        help_text="the subscriptions receiving this event",
    )
    active = filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_active"
    )

    class Meta:
        model = WebhookSubscription
        fields: list[str] = []

    def filter_event(self, queryset, name, value: str):
        return queryset.filter(events__contains=[value])

    def filter_active(self, queryset, name, value: str):
        return queryset.filter(active=value == "true")


class SubscriptionCursor(PartnerCursor):
    ordering = "-id"  # newest first: the ids are time-ordered, and unique
    position = UUID_TEXT


# --- examples for the schema ----------------------------------------------------------------------

SUBSCRIPTION_EXAMPLE = {
    "id": "0193a1f2-6b7c-7d2e-9f10-4a5b6c7d8e9f",
    "url": "https://crm.example.com/hooks/lumen",
    "events": ["ticket.created", "ticket.updated", "ticket.sla_breached"],
    "active": True,
    "consecutive_failures": 0,
    "disabled_at": None,
    "disabled_reason": "",
    "created_at": "2026-12-07T02:00:00Z",
    "updated_at": "2026-12-07T02:00:00Z",
}
ID_PARAMETER = OpenApiParameter(
    "id", str, OpenApiParameter.PATH, description="the subscription's id"
)


# --- views ------------------------------------------------------------------------------------------


class WebhookListView(PartnerAPIMixin, generics.GenericAPIView):
    required_scope = "webhooks"
    serializer_class = SubscriptionSerializer
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = SubscriptionFilter
    pagination_class = SubscriptionCursor

    def get_queryset(self):
        return WebhookSubscription.objects.filter(api_key=self.request.auth)

    @extend_schema(
        summary="List webhook subscriptions",
        description="This key's subscriptions, newest first, cursor-paginated. The secret "
        "is never listed.",
        responses={
            200: SubscriptionSerializer(many=True),
            400: OpenApiResponse(description="Bad filter"),
        },
        examples=[OpenApiExample("A page", value=SUBSCRIPTION_EXAMPLE, response_only=True)],
        tags=["webhooks"],
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(SubscriptionSerializer(page, many=True).data)

    @extend_schema(
        summary="Subscribe to events",
        description="Deliveries are POSTed to `url`, signed with the `secret` returned here "
        "(and only here). The URL must be http or https, without credentials, and resolve "
        "to public addresses only. One subscription per URL and key (409).",
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=SubscriptionCreateSerializer,
        responses={
            201: CreatedSubscriptionSerializer,
            400: OpenApiResponse(description='Bad input: `{"field": ["…"]}` or `{"detail": "…"}`'),
            409: OpenApiResponse(
                description="A subscription to this URL exists, or the Idempotency-Key was "
                "used with another request"
            ),
        },
        examples=[
            OpenApiExample(
                "Ticket events",
                value={
                    "url": "https://crm.example.com/hooks/lumen",
                    "events": ["ticket.created", "ticket.updated", "ticket.sla_breached"],
                },
                request_only=True,
            ),
            OpenApiExample(
                "Subscribed",
                value={**SUBSCRIPTION_EXAMPLE, "secret": "whsec_Jx2…"},
                response_only=True,
                status_codes=[201],
            ),
        ],
        tags=["webhooks"],
    )
    @idempotent
    def post(self, request):
        serializer = SubscriptionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            subscription = subscriptions.create_subscription(
                api_key=request.auth, url=data["url"], events=data["events"], active=data["active"]
            )
        except TargetRefused as refused:
            raise ValidationError({"url": [str(refused)]}) from None
        except subscriptions.SubscriptionExists:
            raise SubscriptionConflict from None
        except subscriptions.SubscriptionError as error:
            raise ValidationError({"detail": str(error)}) from None
        return Response(
            CreatedSubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED
        )


class WebhookDetailView(PartnerAPIMixin, generics.GenericAPIView):
    required_scope = "webhooks"
    serializer_class = SubscriptionSerializer

    @extend_schema(
        summary="Unsubscribe",
        description="Deletes the subscription with its deliveries and their log; nothing more "
        "is sent to it.",
        parameters=[ID_PARAMETER],
        responses={
            204: OpenApiResponse(description="Deleted"),
            404: OpenApiResponse(description="No such subscription (or another key's)"),
        },
        tags=["webhooks"],
    )
    def delete(self, request, id: str):
        if not subscriptions.delete_subscription(
            subscription_id=_subscription_pk(id), api_key=request.auth
        ):
            raise NotFound(_("No such subscription."))
        return Response(status=status.HTTP_204_NO_CONTENT)
