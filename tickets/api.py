"""Partner API: tickets and their comments (contracts/partner-api.md, docs/api.md).

Thin: the reads are tickets.selectors, the writes tickets.services; these views turn
JSON into their arguments and their results and errors into JSON. A ticket's `id` is
its number, T-000123.
"""

from __future__ import annotations

import re

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.response import Response

from conversations.api_partner import AssigneeSerializer
from conversations.models import Agent, SkillGroup
from customers.models import Customer, CustomerIdentity
from customers.services.identities import verified_holder
from helpdesk.api_auth import PartnerAPIMixin
from helpdesk.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent
from helpdesk.pagination import PartnerCursor, after_filter, updated_after_filter
from helpdesk.serializers import StrictBooleanField, StrictCharField, StrictSerializer, utc_time
from tickets import selectors, services
from tickets.defaults import TICKET_TYPES
from tickets.models import (
    Priority,
    Ticket,
    TicketComment,
    TicketType,
    breached_tickets,
    number_of,
    pk_of,
)
from tickets.services.tickets import MAX_BODY, MAX_SUBJECT, MAX_TAGS, on_behalf_of_partner

# Partners read and write priorities as words; the database keeps their order as numbers.
PRIORITY_WORDS = {priority.value: priority.name.lower() for priority in Priority}
WORD_PRIORITIES = {word: value for value, word in PRIORITY_WORDS.items()}
BUILTIN_TYPES = {code for code, *_rest in TICKET_TYPES}
POSITION = re.compile(r"[0-9]{1,18}")


class TicketIsClosed(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _(
        "This ticket is closed and cannot be changed. A reply from the customer "
        "(a comment with from_customer: true) reopens it."
    )
    default_code = "ticket_closed"


def _ticket_pk(ticket_id: str) -> int:
    """The primary key of a number (T-000123); a malformed one is a 404 like an unknown one."""
    pk = pk_of(ticket_id)
    if pk is None:
        raise NotFound(_("No such ticket."))
    return pk


def _partner_ticket(pk: int) -> Ticket:
    ticket = selectors.partner_tickets().filter(pk=pk).first()
    if ticket is None:
        raise NotFound(_("No such ticket."))
    return ticket


# --- fields -----------------------------------------------------------------------------


class PriorityField(serializers.ChoiceField):
    """A priority as a word: low, normal, high or urgent."""

    def __init__(self, **kwargs):
        super().__init__(choices=list(WORD_PRIORITIES), **kwargs)

    def to_representation(self, value):
        return PRIORITY_WORDS[value]

    def to_internal_value(self, data):
        return WORD_PRIORITIES[super().to_internal_value(data)]


# --- what a ticket looks like -----------------------------------------------------------


class BreachedSerializer(serializers.Serializer):
    first_response = serializers.SerializerMethodField()
    next_response = serializers.SerializerMethodField()
    resolution = serializers.SerializerMethodField()

    def get_first_response(self, ticket) -> bool:
        return ticket.first_response_breached_at is not None

    def get_next_response(self, ticket) -> bool:
        return ticket.next_response_breached_at is not None

    def get_resolution(self, ticket) -> bool:
        return ticket.resolution_breached_at is not None


class SLASerializer(serializers.Serializer):
    policy = serializers.CharField(source="sla_policy.name", allow_null=True)
    first_response_due = utc_time(allow_null=True)
    next_response_due = utc_time(allow_null=True)
    resolution_due = utc_time(allow_null=True)
    paused = serializers.SerializerMethodField(
        help_text="waiting on the customer: the clocks stand still"
    )
    breached = BreachedSerializer(source="*")

    def get_paused(self, ticket) -> bool:
        return ticket.sla_paused_at is not None


class TicketSerializer(serializers.Serializer):
    id = serializers.CharField(source="number", help_text="the ticket's number, T-000123")
    subject = serializers.CharField()
    description = serializers.CharField()
    type = serializers.CharField(source="type.code", help_text="a ticket type's code")
    priority = PriorityField()
    status = serializers.ChoiceField(choices=Ticket.Status.choices)
    source = serializers.ChoiceField(choices=Ticket.Source.choices)
    customer = serializers.CharField(
        source="customer.external_id",
        allow_null=True,
        help_text="the customer's external_id; null for a visitor the shop never identified",
    )
    conversations = serializers.SerializerMethodField()
    group = serializers.CharField(
        source="skill_group.code", allow_null=True, help_text="a skill group's code"
    )
    assignee = AssigneeSerializer(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    sla = SLASerializer(source="*")
    created_at = utc_time()
    updated_at = utc_time()
    resolved_at = utc_time(allow_null=True)
    closed_at = utc_time(allow_null=True)

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_conversations(self, ticket) -> list[str]:
        return [str(conversation.id) for conversation in ticket.conversations.all()]


class CommentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ticket = serializers.SerializerMethodField()
    body = serializers.CharField()
    public = serializers.BooleanField()
    from_customer = serializers.BooleanField()
    created_at = utc_time()

    def get_ticket(self, comment) -> str:
        return number_of(comment.ticket_id)


# --- what a partner sends -----------------------------------------------------------------


def _tags_field() -> serializers.ListField:
    return serializers.ListField(
        child=StrictCharField(max_length=40), max_length=MAX_TAGS, required=False
    )


class TicketInputSerializer(StrictSerializer):
    """The lookups that creating and changing share: codes and ids become rows."""

    def validate_type(self, code: str) -> str:
        if code not in BUILTIN_TYPES and not TicketType.objects.filter(code=code).exists():
            raise ValidationError(_("Unknown ticket type."))
        return code

    def validate_group(self, code: str | None) -> SkillGroup | None:
        if code is None:
            return None
        group = SkillGroup.objects.filter(code=code).first()
        if group is None:
            raise ValidationError(_("Unknown group."))
        return group


class TicketCreateSerializer(TicketInputSerializer):
    subject = StrictCharField(max_length=MAX_SUBJECT)
    description = StrictCharField(
        max_length=MAX_BODY * 5, required=False, allow_blank=True, default=""
    )
    type = StrictCharField(max_length=40, help_text="a ticket type's code, e.g. repair")
    priority = PriorityField(
        required=False,
        help_text="omitted: the type's usual urgency, one step higher for a VIP customer",
    )
    customer = StrictCharField(max_length=128, help_text="the customer's external_id")
    group = StrictCharField(
        max_length=40,
        required=False,
        allow_null=True,
        help_text="a skill group's code; omitted or null: the type's group",
    )
    tags = _tags_field()

    def validate_customer(self, external_id: str) -> Customer:
        # A shop account merged into another customer finds the customer it went to.
        customer = verified_holder(CustomerIdentity.Kind.ACCOUNT, external_id)
        if customer is None:
            raise ValidationError(_("No customer with this external id."))
        return customer


class TicketChangeSerializer(TicketInputSerializer):
    subject = StrictCharField(max_length=MAX_SUBJECT, required=False)
    status = serializers.ChoiceField(choices=Ticket.Status.choices, required=False)
    priority = PriorityField(required=False)
    type = StrictCharField(max_length=40, required=False)
    group = StrictCharField(max_length=40, required=False, allow_null=True)
    assignee = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**63 - 1,
        help_text="an agent's id; null: nobody",
    )
    tags = _tags_field()

    def validate_assignee(self, agent_id: int | None) -> Agent | None:
        if agent_id is None:
            return None
        agent = Agent.objects.filter(pk=agent_id).first()
        if agent is None:
            raise ValidationError(_("Unknown agent."))
        return agent


class CommentCreateSerializer(StrictSerializer):
    body = StrictCharField(max_length=MAX_BODY)
    public = StrictBooleanField(
        default=True, help_text="false: an internal note the customer never sees"
    )
    from_customer = StrictBooleanField(
        default=False,
        help_text="true: the partner relays the customer's reply (reopens a resolved or "
        "closed ticket, starts the next-response clock)",
    )

    def validate(self, data: dict) -> dict:
        if data["from_customer"] and not data["public"]:
            raise ValidationError({"public": [_("A reply from the customer is always public.")]})
        return data


# --- the list ----------------------------------------------------------------------------


class TicketFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(
        distinct=False,  # no join to repeat a row: DISTINCT would only cost a sort
        choices=Ticket.Status.choices,
        help_text="repeat for several: ?status=new&status=open",
    )
    priority = filters.ChoiceFilter(
        choices=[(word, word) for word in WORD_PRIORITIES], method="filter_priority"
    )
    type = filters.CharFilter(field_name="type__code", help_text="a ticket type's code")
    group = filters.CharFilter(field_name="skill_group__code", help_text="a skill group's code")
    assignee = filters.CharFilter(
        method="filter_assignee",
        validators=[RegexValidator(r"^(none|[1-9][0-9]{0,17})$")],
        help_text="an agent's id, or none for the unassigned",
    )
    customer = filters.CharFilter(
        field_name="customer__external_id", help_text="the customer's external_id"
    )
    tag = filters.CharFilter(method="filter_tag", help_text="tickets carrying this tag")
    breached = filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_breached",
        help_text="true: at least one SLA clock breached; false: none",
    )
    updated_after = updated_after_filter()
    created_after = after_filter("created_at")

    class Meta:
        model = Ticket
        fields: list[str] = []

    def filter_priority(self, queryset, name, value: str):
        return queryset.filter(priority=WORD_PRIORITIES[value])

    def filter_assignee(self, queryset, name, value: str):
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee_id=int(value))

    def filter_tag(self, queryset, name, value: str):
        return queryset.filter(tags__contains=[value])

    def filter_breached(self, queryset, name, value: str):
        breached = breached_tickets()
        return queryset.filter(breached) if value == "true" else queryset.exclude(breached)


class TicketCursor(PartnerCursor):
    ordering = "-pk"  # newest first by number, a unique key
    position = POSITION


# --- examples for the schema ---------------------------------------------------------------

TICKET_EXAMPLE = {
    "id": "T-000123",
    "subject": "耳机左边没有声音",
    "description": "订单 LM00012345，收到第二天就坏了。",
    "type": "repair",
    "priority": "high",
    "status": "open",
    "source": "api",
    "customer": "u-1001",
    "conversations": ["6f1c2a4e-8b1d-4a57-9e43-2f0f8f1f6a10"],
    "group": "after_sales",
    "assignee": {"id": 7, "name": "李娜"},
    "tags": ["headphones", "warranty"],
    "sla": {
        "policy": "Standard",
        "first_response_due": "2026-12-03T03:00:00Z",
        "next_response_due": None,
        "resolution_due": "2026-12-03T10:00:00Z",
        "paused": False,
        "breached": {"first_response": False, "next_response": False, "resolution": False},
    },
    "created_at": "2026-12-03T02:00:00Z",
    "updated_at": "2026-12-03T02:10:00Z",
    "resolved_at": None,
    "closed_at": None,
}
ERRORS = {
    400: OpenApiResponse(description='Bad input: `{"field": ["…"]}` or `{"detail": "…"}`'),
    404: OpenApiResponse(description="No such ticket (an unknown or malformed number)"),
}
ID_PARAMETER = OpenApiParameter(
    "id", str, OpenApiParameter.PATH, description="the ticket's number, T-000123"
)


# --- views ----------------------------------------------------------------------------------


class TicketListView(PartnerAPIMixin, generics.GenericAPIView):
    required_scope = "tickets"
    serializer_class = TicketSerializer
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = TicketFilter
    pagination_class = TicketCursor

    def get_queryset(self):
        return selectors.partner_tickets()

    @extend_schema(
        summary="List tickets",
        description="Newest first, cursor-paginated (`next` / `previous` links, `page_size` "
        "up to 200); the same number of queries for any page size.",
        responses={200: TicketSerializer(many=True), 400: ERRORS[400]},
        examples=[
            OpenApiExample(
                "A page",
                value=TICKET_EXAMPLE,
                response_only=True,
            )
        ],
        tags=["tickets"],
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(TicketSerializer(page, many=True).data)

    @extend_schema(
        summary="Open a ticket",
        description="Source `api`. Fields other than these are refused (400), "
        "status, number and SLA included.",
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=TicketCreateSerializer,
        responses={
            201: TicketSerializer,
            400: ERRORS[400],
            409: OpenApiResponse(description="Idempotency-Key used with another request"),
        },
        examples=[
            OpenApiExample(
                "A repair",
                value={
                    "subject": "耳机左边没有声音",
                    "description": "订单 LM00012345，收到第二天就坏了。",
                    "type": "repair",
                    "customer": "u-1001",
                    "tags": ["headphones"],
                },
                request_only=True,
            ),
            OpenApiExample("Opened", value=TICKET_EXAMPLE, response_only=True, status_codes=[201]),
        ],
        tags=["tickets"],
    )
    @idempotent
    def post(self, request):
        serializer = TicketCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            with on_behalf_of_partner(request.auth.name):
                ticket = services.open_ticket(
                    customer=data["customer"],
                    subject=data["subject"],
                    type_code=data["type"],
                    source=Ticket.Source.API,
                    description=data["description"],
                    priority=data.get("priority"),
                    skill_group=data.get("group"),
                    tags=data.get("tags", ()),
                    actor=None,
                )
        except services.TicketInputError as error:
            raise ValidationError({"detail": str(error)}) from None
        return Response(
            TicketSerializer(_partner_ticket(ticket.pk)).data, status=status.HTTP_201_CREATED
        )


class TicketDetailView(PartnerAPIMixin, generics.GenericAPIView):
    required_scope = "tickets"
    serializer_class = TicketSerializer

    @extend_schema(
        summary="One ticket",
        parameters=[ID_PARAMETER],
        responses={200: TicketSerializer, 404: ERRORS[404]},
        examples=[OpenApiExample("A ticket", value=TICKET_EXAMPLE, response_only=True)],
        tags=["tickets"],
    )
    def get(self, request, id: str):
        return Response(TicketSerializer(_partner_ticket(_ticket_pk(id))).data)

    @extend_schema(
        summary="Change a ticket",
        description="Only the fields sent change; each change is a row of the ticket's "
        "timeline. Other fields are refused (400). A closed ticket is 409.",
        parameters=[ID_PARAMETER],
        request=TicketChangeSerializer,
        responses={
            200: TicketSerializer,
            **ERRORS,
            409: OpenApiResponse(description="The ticket is closed"),
        },
        examples=[
            OpenApiExample(
                "Waiting on the customer",
                value={"status": "pending_customer", "priority": "urgent", "assignee": 7},
                request_only=True,
            ),
            OpenApiExample("Changed", value=TICKET_EXAMPLE, response_only=True),
        ],
        tags=["tickets"],
    )
    def patch(self, request, id: str):
        pk = _ticket_pk(id)
        serializer = TicketChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if "group" in changes:
            changes["skill_group"] = changes.pop("group")
        try:
            with on_behalf_of_partner(request.auth.name):
                services.change_ticket(ticket_id=pk, actor=None, **changes)
        except Ticket.DoesNotExist:
            raise NotFound(_("No such ticket.")) from None
        except services.TicketClosed:
            raise TicketIsClosed from None
        except services.TicketInputError as error:
            raise ValidationError({"detail": str(error)}) from None
        return Response(TicketSerializer(_partner_ticket(pk)).data)


class TicketCommentView(PartnerAPIMixin, generics.GenericAPIView):
    required_scope = "tickets"
    serializer_class = CommentSerializer

    @extend_schema(
        summary="Comment on a ticket",
        description="A reply to the customer (public), an internal note (public: false), "
        "or the customer's own reply relayed by the partner (from_customer: true).",
        parameters=[ID_PARAMETER, IDEMPOTENCY_KEY_PARAMETER],
        request=CommentCreateSerializer,
        responses={
            201: CommentSerializer,
            **ERRORS,
            409: OpenApiResponse(description="Idempotency-Key used with another request"),
        },
        examples=[
            OpenApiExample(
                "Customer reply",
                value={"body": "还是没有声音，换了手机也一样。", "from_customer": True},
                request_only=True,
            ),
            OpenApiExample(
                "Created",
                value={
                    "id": 4012,
                    "ticket": "T-000123",
                    "body": "还是没有声音，换了手机也一样。",
                    "public": True,
                    "from_customer": True,
                    "created_at": "2026-12-03T02:30:00Z",
                },
                response_only=True,
                status_codes=[201],
            ),
        ],
        tags=["tickets"],
    )
    @idempotent
    def post(self, request, id: str):
        pk = _ticket_pk(id)
        if not Ticket.objects.filter(pk=pk).exists():
            raise NotFound(_("No such ticket."))
        serializer = CommentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            with on_behalf_of_partner(request.auth.name):
                comment: TicketComment = services.add_comment(
                    ticket_id=pk,
                    body=data["body"],
                    public=data["public"],
                    from_customer=data["from_customer"],
                    author=None,
                )
        except Ticket.DoesNotExist:
            raise NotFound(_("No such ticket.")) from None
        except services.TicketInputError as error:
            raise ValidationError({"detail": str(error)}) from None
        return Response(CommentSerializer(comment).data, status=status.HTTP_201_CREATED)
