"""Partner API: customers and orders (contracts/partner-api.md, docs/api.md).

Thin: the writes are customers.services.profiles.upsert_customer and
customers.services.orders.upsert_order; these views turn JSON into their arguments and
their results and errors into JSON. A customer's key is the shop's `external_id`, an
order's its `number`.
"""

from __future__ import annotations

import re
from datetime import UTC
from decimal import Decimal

from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.response import Response

from customers import hooks
from customers.models import Customer, CustomerIdentity, CustomerTag, Order
from customers.services import identities, orders, profiles
from helpdesk.api_auth import PartnerAPIMixin
from helpdesk.pagination import PartnerCursor, PartnerListView, updated_after_filter
from helpdesk.serializers import StrictCharField, StrictSerializer, utc_time

POSITION = re.compile(r"[0-9]{1,18}")
# An external id as a path segment: what `identities.normalize` keeps as it is.
EXTERNAL_ID = re.compile(r"[^\s\x00-\x1f\x7f/](?:[^\x00-\x1f\x7f/]{0,126}[^\s\x00-\x1f\x7f/])?")
ORDER_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
RECENT_ACTIVITY = 10
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_KEY = 64
MAX_ATTRIBUTE_TEXT = 500
MAX_ITEMS = 200
MAX_TRACKING_EVENTS = 100


class OrderOfAnotherCustomer(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This order belongs to another customer; an order never changes hands.")
    default_code = "order_of_another_customer"


def _put_input(request, serializer_class, pattern: re.Pattern[str], key: str, **message) -> dict:
    """A PUT's natural key (a malformed one is a 400 naming it, `message`) and its body,
    validated."""
    if not pattern.fullmatch(key):
        raise ValidationError({name: [text] for name, text in message.items()})
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _path_external_id(external_id: str) -> str:
    if not EXTERNAL_ID.fullmatch(external_id):
        raise NotFound(_("No such customer."))
    return external_id


def _path_order_number(number: str) -> str:
    if not ORDER_NUMBER.fullmatch(number):
        raise NotFound(_("No such order."))
    return number


def partner_customers():
    """Customers as the API shows them: those with a shop account, their tags at hand."""
    return Customer.objects.filter(external_id__isnull=False).prefetch_related(
        Prefetch("tags", queryset=CustomerTag.objects.only("customer_id", "name"))
    )


def _holder(external_id: str) -> Customer | None:
    """The customer holding this shop account (one merged away finds the one it went to)."""
    return identities.verified_holder(CustomerIdentity.Kind.ACCOUNT, external_id)


# --- what a customer and an order look like ------------------------------------------------


class CustomerSerializer(serializers.Serializer):
    external_id = serializers.CharField(help_text="the shop's own id: the natural key")
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    birthday = serializers.DateField(allow_null=True)
    level = serializers.ChoiceField(choices=Customer.Level.choices)
    language = serializers.ChoiceField(choices=Customer.Language.values)
    segment = serializers.ChoiceField(
        choices=Customer.Segment.choices, help_text="computed from activity; never set"
    )
    points = serializers.IntegerField()
    tags = serializers.SerializerMethodField()
    attributes = serializers.DictField(help_text="what the shop's systems keep about them")
    created_at = utc_time()
    updated_at = utc_time()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, customer) -> list[str]:
        return sorted(tag.name for tag in customer.tags.all())


class ActivitySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["conversation", "ticket", "order"])
    id = serializers.CharField(help_text="the conversation's id, ticket's or order's number")
    status = serializers.CharField()
    at = utc_time(help_text="when it last changed")


class CustomerDetailSerializer(CustomerSerializer):
    recent_activity = serializers.SerializerMethodField(
        help_text="the latest conversations, tickets and orders, newest first"
    )

    @extend_schema_field(ActivitySerializer(many=True))
    def get_recent_activity(self, customer) -> list[dict]:
        activity = hooks.customer_activity(customer_id=customer.pk, limit=RECENT_ACTIVITY)
        return ActivitySerializer(activity, many=True).data


class OrderItemSerializer(StrictSerializer):
    sku = StrictCharField(max_length=64)
    name = StrictCharField(max_length=200, required=False, allow_blank=True)
    qty = serializers.IntegerField(min_value=1, max_value=100_000, default=1)
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), required=False, coerce_to_string=True
    )
    category = StrictCharField(max_length=60, required=False, allow_blank=True)

    def to_internal_value(self, data):
        item = super().to_internal_value(data)
        if "price" in item:
            item["price"] = str(item["price"])
        return item


class TrackingEventSerializer(StrictSerializer):
    time = serializers.DateTimeField()
    place = StrictCharField(max_length=120, required=False, allow_blank=True)
    status = StrictCharField(max_length=200)

    def to_internal_value(self, data):
        event = super().to_internal_value(data)
        event["time"] = serializers.DateTimeField(default_timezone=UTC).to_representation(
            event["time"]
        )
        return event


class OrderSerializer(serializers.Serializer):
    number = serializers.CharField()
    customer = serializers.CharField(
        source="customer.external_id", allow_null=True, help_text="the customer's external_id"
    )
    status = serializers.ChoiceField(choices=Order.Status.choices)
    items = OrderItemSerializer(many=True)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    tracking_events = TrackingEventSerializer(many=True)
    placed_at = utc_time(allow_null=True)
    shipped_at = utc_time(allow_null=True)
    delivered_at = utc_time(allow_null=True)
    updated_at = utc_time()


# --- what a partner sends ---------------------------------------------------------------------


class AttributesField(serializers.DictField):
    """A flat object of scalars: what the shop's CRM keeps (`{"vip_since": "2024-03",
    "store": "Shanghai"}`); nested objects are refused."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.JSONField(allow_null=True), **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if len(value) > MAX_ATTRIBUTES:
            raise ValidationError(_("At most %(n)s attributes.") % {"n": MAX_ATTRIBUTES})
        for key, item in value.items():
            if not key or len(key) > MAX_ATTRIBUTE_KEY:
                raise ValidationError(
                    _("An attribute's name is 1 to %(n)s characters.") % {"n": MAX_ATTRIBUTE_KEY}
                )
            if isinstance(item, dict | list):
                raise ValidationError(
                    _("An attribute is a text, a number, true, false or null: %(key)s")
                    % {"key": key}
                )
            if "\x00" in key or (isinstance(item, str) and "\x00" in item):
                raise ValidationError(_("Null characters are not allowed."))
            if isinstance(item, str) and len(item) > MAX_ATTRIBUTE_TEXT:
                raise ValidationError(
                    _("An attribute's text is at most %(n)s characters: %(key)s")
                    % {"n": MAX_ATTRIBUTE_TEXT, "key": key}
                )
        return value


class CustomerUpsertSerializer(StrictSerializer):
    name = StrictCharField(max_length=120, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    phone = StrictCharField(max_length=32, required=False, allow_blank=True)
    birthday = serializers.DateField(required=False, allow_null=True)
    level = serializers.ChoiceField(choices=Customer.Level.choices, required=False)
    language = serializers.ChoiceField(choices=Customer.Language.values, required=False)
    tags = serializers.ListField(
        child=StrictCharField(max_length=CustomerTag.MAX_LENGTH),
        max_length=profiles.MAX_PARTNER_TAGS,
        required=False,
        help_text="the tags the shop sets: replaces those it set before",
    )
    attributes = AttributesField(
        required=False, help_text="a flat object of texts, numbers, booleans and nulls"
    )

    def validate_phone(self, phone: str) -> str:
        if phone:
            try:
                identities.normalize(CustomerIdentity.Kind.PHONE, phone)
            except identities.InvalidIdentity as error:
                raise ValidationError(str(error)) from None
        return phone

    def validate_tags(self, tags: list[str]) -> list[str]:
        if any(not name.strip() for name in tags):
            raise ValidationError(_("A tag cannot be empty."))
        return tags


class OrderUpsertSerializer(StrictSerializer):
    customer = StrictCharField(
        max_length=128, required=False, help_text="the customer's external_id (to create)"
    )
    status = serializers.ChoiceField(choices=Order.Status.choices, required=False)
    items = OrderItemSerializer(many=True, required=False, max_length=MAX_ITEMS)
    total = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), required=False
    )
    carrier = StrictCharField(max_length=60, required=False, allow_blank=True)
    tracking_number = StrictCharField(max_length=40, required=False, allow_blank=True)
    tracking_events = TrackingEventSerializer(
        many=True, required=False, max_length=MAX_TRACKING_EVENTS
    )
    placed_at = serializers.DateTimeField(required=False, allow_null=True)
    shipped_at = serializers.DateTimeField(required=False, allow_null=True)
    delivered_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_customer(self, external_id: str) -> Customer:
        customer = _holder(external_id) if EXTERNAL_ID.fullmatch(external_id) else None
        if customer is None:
            raise ValidationError(_("No customer with this external id."))
        return customer


# --- the lists --------------------------------------------------------------------------------


class CustomerFilter(filters.FilterSet):
    level = filters.ChoiceFilter(choices=Customer.Level.choices)
    tag = filters.CharFilter(method="filter_tag", help_text="customers carrying this tag")
    updated_after = updated_after_filter()

    class Meta:
        model = Customer
        fields: list[str] = []

    def filter_tag(self, queryset, name, value: str):
        return queryset.filter(tags__name=value)


class OrderFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(
        distinct=False,  # no join to repeat a row: DISTINCT would only cost a sort
        choices=Order.Status.choices,
        help_text="repeat for several: ?status=paid&status=shipped",
    )
    customer = filters.CharFilter(
        field_name="customer__external_id", help_text="the customer's external_id"
    )
    updated_after = updated_after_filter()

    class Meta:
        model = Order
        fields: list[str] = []


class NewestFirst(PartnerCursor):
    ordering = "-pk"  # newest first, a unique key
    position = POSITION


# --- examples for the schema --------------------------------------------------------------------

CUSTOMER_EXAMPLE = {
    "external_id": "u-1001",
    "name": "王芳",
    "email": "wang.fang@example.com",
    "phone": "+8613800138000",
    "birthday": "1990-05-17",
    "level": "gold",
    "language": "zh",
    "segment": "returning",
    "points": 320,
    "tags": ["newsletter", "wholesale"],
    "attributes": {"store": "Shanghai", "member_since": "2021-03"},
    "created_at": "2026-12-01T08:00:00Z",
    "updated_at": "2026-12-07T02:00:00Z",
}
CUSTOMER_DETAIL_EXAMPLE = {
    **CUSTOMER_EXAMPLE,
    "recent_activity": [
        {
            "type": "order",
            "id": "LM20261207001",
            "status": "shipped",
            "at": "2026-12-07T01:30:00Z",
        },
        {
            "type": "conversation",
            "id": "6f1c2a4e-8b1d-4a57-9e43-2f0f8f1f6a10",
            "status": "closed",
            "at": "2026-12-06T10:00:00Z",
        },
        {"type": "ticket", "id": "T-000123", "status": "open", "at": "2026-12-05T09:00:00Z"},
    ],
}
ORDER_EXAMPLE = {
    "number": "LM20261207001",
    "customer": "u-1001",
    "status": "shipped",
    "items": [
        {"sku": "EB-200", "name": "无线耳机", "qty": 1, "price": "399.00", "category": "audio"}
    ],
    "total": "399.00",
    "carrier": "顺丰",
    "tracking_number": "SF1234567890",
    "tracking_events": [
        {"time": "2026-12-07T01:30:00Z", "place": "上海", "status": "已揽收"},
    ],
    "placed_at": "2026-12-06T12:00:00Z",
    "shipped_at": "2026-12-07T01:30:00Z",
    "delivered_at": None,
    "updated_at": "2026-12-07T01:30:00Z",
}


def upserted_example(value: dict) -> OpenApiExample:
    return OpenApiExample(
        "Created or updated", value=value, response_only=True, status_codes=[200, 201]
    )


BAD_INPUT = OpenApiResponse(description='Bad input: `{"field": ["…"]}` or `{"detail": "…"}`')
EXTERNAL_ID_PARAMETER = OpenApiParameter(
    "external_id",
    str,
    OpenApiParameter.PATH,
    description="the shop's own id of the customer",
    examples=[OpenApiExample("A shop account", value="u-1001")],
)
NUMBER_PARAMETER = OpenApiParameter(
    "number",
    str,
    OpenApiParameter.PATH,
    description="the order's number (letters, digits, . _ -)",
    examples=[OpenApiExample("An order", value="LM20261207001")],
)


# --- views --------------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        summary="List customers",
        description="The customers with a shop account, newest first, cursor-paginated "
        "(`next` / `previous` links, `page_size` up to 200).",
        responses={200: CustomerSerializer(many=True), 400: BAD_INPUT},
        examples=[OpenApiExample("A page", value=CUSTOMER_EXAMPLE, response_only=True)],
        tags=["customers"],
    )
)
class CustomerListView(PartnerListView):
    required_scope = "customers"
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    pagination_class = NewestFirst

    def get_queryset(self):
        return partner_customers()


class CustomerDetailView(PartnerAPIMixin, generics.GenericAPIView):
    required_scope = "customers"
    serializer_class = CustomerDetailSerializer

    def _customer(self, external_id: str) -> Customer:
        holder = _holder(_path_external_id(external_id))
        customer = holder and partner_customers().filter(pk=holder.pk).first()
        if customer is None:
            raise NotFound(_("No such customer."))
        return customer

    @extend_schema(
        summary="One customer",
        description="With its tags and its recent activity (conversations, tickets, orders).",
        parameters=[EXTERNAL_ID_PARAMETER],
        responses={
            200: CustomerDetailSerializer,
            404: OpenApiResponse(description="No such customer"),
        },
        examples=[OpenApiExample("A customer", value=CUSTOMER_DETAIL_EXAMPLE, response_only=True)],
        tags=["customers"],
    )
    def get(self, request, external_id: str):
        return Response(CustomerDetailSerializer(self._customer(external_id)).data)

    @extend_schema(
        summary="Create or update a customer",
        description="Idempotent: the fields sent are set, the others stay as they are "
        '(`null` clears the birthday, `""` a text). `tags` replaces the tags the shop set '
        "before (an agent's stay). A level change is recorded in the customer's level "
        "history and an upgrade congratulated once. Anything that changed is told to "
        "`customer.updated` subscribers; the same body twice changes nothing the second time. "
        "201 when the customer is new, else 200.",
        parameters=[EXTERNAL_ID_PARAMETER],
        request=CustomerUpsertSerializer,
        responses={
            200: CustomerDetailSerializer,
            201: CustomerDetailSerializer,
            400: BAD_INPUT,
        },
        examples=[
            OpenApiExample(
                "A gold member",
                value={
                    "name": "王芳",
                    "email": "wang.fang@example.com",
                    "phone": "+8613800138000",
                    "birthday": "1990-05-17",
                    "level": "gold",
                    "language": "zh",
                    "tags": ["newsletter", "wholesale"],
                    "attributes": {"store": "Shanghai", "member_since": "2021-03"},
                },
                request_only=True,
            ),
            upserted_example(CUSTOMER_DETAIL_EXAMPLE),
        ],
        tags=["customers"],
    )
    def put(self, request, external_id: str):
        data = _put_input(
            request,
            CustomerUpsertSerializer,
            EXTERNAL_ID,
            external_id,
            external_id=_("An external id is 1 to 128 characters, no spaces around."),
        )
        if "birthday" not in data:
            data["birthday"] = ...
        try:
            upserted = profiles.upsert_customer(external_id=external_id, **data)
        except (identities.InvalidIdentity, ValueError) as error:
            raise ValidationError({"detail": str(error)}) from None
        return Response(
            CustomerDetailSerializer(self._customer(external_id)).data,
            status=status.HTTP_201_CREATED if upserted.created else status.HTTP_200_OK,
        )


@extend_schema_view(
    get=extend_schema(
        summary="List orders",
        description="Newest first, cursor-paginated (`page_size` up to 200).",
        responses={200: OrderSerializer(many=True), 400: BAD_INPUT},
        examples=[OpenApiExample("A page", value=ORDER_EXAMPLE, response_only=True)],
        tags=["orders"],
    )
)
class OrderListView(PartnerListView):
    required_scope = "orders"
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    pagination_class = NewestFirst

    def get_queryset(self):
        return Order.objects.select_related("customer")


class OrderDetailView(PartnerAPIMixin, generics.GenericAPIView):
    required_scope = "orders"
    serializer_class = OrderSerializer

    def _order(self, number: str) -> Order:
        order = (
            Order.objects.select_related("customer")
            .filter(number=_path_order_number(number))
            .first()
        )
        if order is None:
            raise NotFound(_("No such order."))
        return order

    @extend_schema(
        summary="One order",
        parameters=[NUMBER_PARAMETER],
        responses={200: OrderSerializer, 404: OpenApiResponse(description="No such order")},
        examples=[OpenApiExample("An order", value=ORDER_EXAMPLE, response_only=True)],
        tags=["orders"],
    )
    def get(self, request, number: str):
        return Response(OrderSerializer(self._order(number)).data)

    @extend_schema(
        summary="Create or update an order",
        description="Idempotent: the fields sent are set, the others stay. Creating needs "
        "`customer` (an external_id) and `status`; a later PUT may leave `customer` out, and "
        "naming another customer is 409 (an order never changes hands). An order reaching "
        "`shipped` or `delivered` (stamped now when `shipped_at` / `delivered_at` is not "
        "sent) schedules the customer's reminder once: the same PUT again schedules "
        "nothing more. 201 when the order is new, else 200.",
        parameters=[NUMBER_PARAMETER],
        request=OrderUpsertSerializer,
        responses={
            200: OrderSerializer,
            201: OrderSerializer,
            400: BAD_INPUT,
            409: OpenApiResponse(description="The order belongs to another customer"),
        },
        examples=[
            OpenApiExample(
                "Shipped",
                value={
                    "customer": "u-1001",
                    "status": "shipped",
                    "items": [
                        {
                            "sku": "EB-200",
                            "name": "无线耳机",
                            "qty": 1,
                            "price": "399.00",
                            "category": "audio",
                        }
                    ],
                    "total": "399.00",
                    "carrier": "顺丰",
                    "tracking_number": "SF1234567890",
                    "placed_at": "2026-12-06T12:00:00Z",
                    "shipped_at": "2026-12-07T01:30:00Z",
                },
                request_only=True,
            ),
            upserted_example(ORDER_EXAMPLE),
        ],
        tags=["orders"],
    )
    def put(self, request, number: str):
        fields = _put_input(
            request,
            OrderUpsertSerializer,
            ORDER_NUMBER,
            number,
            number=_("An order number is 1 to 32 letters, digits, '.', '_' or '-'."),
        )
        customer = fields.pop("customer", None)
        existing = Order.objects.filter(number=number).values_list("customer_id", flat=True)
        owner_id = existing.first()
        if owner_id is None:
            missing = {
                name: [_("This field is required to create an order.")]
                for name, value in (("customer", customer), ("status", fields.get("status")))
                if value is None
            }
            if missing:
                raise ValidationError(missing)
        try:
            _order, created = orders.upsert_order(
                customer_id=customer.pk if customer is not None else owner_id,
                number=number,
                **fields,
            )
        except orders.OrderOfAnotherCustomer:
            raise OrderOfAnotherCustomer from None
        return Response(
            OrderSerializer(self._order(number)).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
