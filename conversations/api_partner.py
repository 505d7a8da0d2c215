"""Partner API: conversations, their messages, and survey answers (contracts/partner-api.md,
docs/api.md). Read-only and thin: querysets in, JSON out.

A message is the chat protocol's message object (`conversations.protocol.message_payload`),
so a partner relaying a channel reads the same shape its customers' apps do.
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
    extend_schema_view,
)
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from conversations.models import Conversation, Message, Survey
from conversations.protocol import message_payload
from helpdesk.api_auth import PartnerAPIMixin
from helpdesk.pagination import (
    PartnerCursor,
    PartnerListView,
    after_filter,
    updated_after_filter,
)
from helpdesk.serializers import utc_time

UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}")
# A cursor's position on a time column, as DRF writes it (str of a datetime).
TIME_POSITION = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}:\d{2}")
SEQ_POSITION = re.compile(r"[0-9]{1,10}")
PRIORITY_WORDS = {value: label for value, label in ((0, "normal"), (1, "vip"))}


def _conversation_pk(conversation_id: str) -> UUID:
    """The id as a UUID; a malformed one is a 404 like an unknown one."""
    if not UUID_TEXT.fullmatch(conversation_id):
        raise NotFound(_("No such conversation."))
    return UUID(conversation_id)


def partner_conversations():
    return Conversation.objects.select_related("customer", "assignee", "skill_group")


# --- what a conversation, a message and a survey answer look like ------------------------------


class AssigneeSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        help_text="the agent's id (what a ticket's PATCH and ?assignee= take)"
    )
    name = serializers.CharField(source="display_name")


class ConversationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    customer = serializers.CharField(
        source="customer.external_id",
        allow_null=True,
        help_text="the customer's external_id; null for a visitor the shop never identified",
    )
    channel = serializers.ChoiceField(choices=Conversation.Channel.choices)
    status = serializers.ChoiceField(choices=Conversation.Status.choices)
    language = serializers.CharField()
    assignee = AssigneeSerializer(allow_null=True)
    skill_group = serializers.CharField(
        source="skill_group.code", allow_null=True, help_text="a skill group's code"
    )
    priority = serializers.SerializerMethodField()
    resolution = serializers.CharField(help_text="empty while open")
    tags = serializers.ListField(child=serializers.CharField())
    last_seq = serializers.IntegerField(help_text="the seq of its latest message")
    created_at = utc_time()
    updated_at = utc_time()
    last_message_at = utc_time(allow_null=True)
    queued_at = utc_time(allow_null=True)
    assigned_at = utc_time(allow_null=True)
    closed_at = utc_time(allow_null=True)

    def get_priority(self, conversation) -> str:
        return PRIORITY_WORDS.get(conversation.priority, str(conversation.priority))


class AttachmentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    url = serializers.CharField(help_text="a signed link to the file")
    transcript = serializers.CharField(required=False, help_text="a voice note's text")


class MessageSerializer(serializers.Serializer):
    """The chat protocol's message object (conversations.protocol.message_payload)."""

    id = serializers.UUIDField()
    seq = serializers.IntegerField()
    conversation = serializers.UUIDField()
    sender = serializers.ChoiceField(choices=Message.Sender.choices)
    sender_name = serializers.CharField()
    body = serializers.CharField()
    attachments = AttachmentSerializer(many=True)
    client_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    meta = serializers.DictField(allow_null=True)

    def to_representation(self, message):
        payload = message_payload(message, list(message.attachment_set.all()))
        request = self.context.get("request")
        if request is not None:
            for attachment in payload["attachments"]:
                attachment["url"] = request.build_absolute_uri(attachment["url"])
        return payload


class SurveyResponseSerializer(serializers.Serializer):
    """A survey's answer: also the data of the `survey.answered` webhook."""

    id = serializers.UUIDField()
    conversation = serializers.UUIDField(source="conversation_id")
    customer = serializers.CharField(
        source="conversation.customer.external_id",
        allow_null=True,
        help_text="the customer's external_id",
    )
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField()
    answered_at = utc_time()


# --- the lists ----------------------------------------------------------------------------------


class ConversationFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(
        distinct=False,  # no join to repeat a row: DISTINCT would only cost a sort
        choices=Conversation.Status.choices,
        help_text="repeat for several: ?status=bot&status=queued",
    )
    channel = filters.ChoiceFilter(choices=Conversation.Channel.choices)
    customer = filters.CharFilter(
        field_name="customer__external_id", help_text="the customer's external_id"
    )
    updated_after = updated_after_filter()

    class Meta:
        model = Conversation
        fields: list[str] = []


class MessageFilter(filters.FilterSet):
    after_seq = filters.NumberFilter(
        field_name="seq",
        lookup_expr="gt",
        min_value=0,
        max_value=2**31 - 1,
        help_text="only the messages after this seq (what a relay has seen)",
    )

    class Meta:
        model = Message
        fields: list[str] = []


class SurveyFilter(filters.FilterSet):
    customer = filters.CharFilter(
        field_name="conversation__customer__external_id", help_text="the customer's external_id"
    )
    conversation = filters.UUIDFilter(field_name="conversation_id")
    score = filters.MultipleChoiceFilter(
        distinct=False,  # no join to repeat a row: DISTINCT would only cost a sort
        choices=[(str(n), str(n)) for n in range(1, 6)],
        help_text="repeat for several",
    )
    answered_after = after_filter("answered_at")

    class Meta:
        model = Survey
        fields: list[str] = []


class NewestConversationsFirst(PartnerCursor):
    ordering = ("-created_at", "-id")
    position = TIME_POSITION


class BySeq(PartnerCursor):
    ordering = "seq"  # unique in a conversation
    position = SEQ_POSITION


class LatestAnswersFirst(PartnerCursor):
    ordering = ("-answered_at", "-id")
    position = TIME_POSITION


# --- examples for the schema --------------------------------------------------------------------

CONVERSATION_EXAMPLE = {
    "id": "6f1c2a4e-8b1d-4a57-9e43-2f0f8f1f6a10",
    "customer": "u-1001",
    "channel": "wechat",
    "status": "closed",
    "language": "zh",
    "assignee": {"id": 7, "name": "李娜"},
    "skill_group": "aftersales",
    "priority": "normal",
    "resolution": "resolved",
    "tags": ["headphones"],
    "last_seq": 12,
    "created_at": "2026-12-06T09:58:00Z",
    "updated_at": "2026-12-06T10:20:00Z",
    "last_message_at": "2026-12-06T10:15:00Z",
    "queued_at": "2026-12-06T10:00:00Z",
    "assigned_at": "2026-12-06T10:00:05Z",
    "closed_at": "2026-12-06T10:20:00Z",
}
MESSAGE_EXAMPLE = {
    "id": "0f5e8a52-3c4b-4d6e-9f70-8a9b0c1d2e3f",
    "seq": 3,
    "conversation": "6f1c2a4e-8b1d-4a57-9e43-2f0f8f1f6a10",
    "sender": "agent",
    "sender_name": "李娜",
    "body": "您好，我看一下您的订单。",
    "attachments": [],
    "client_id": None,
    "created_at": "2026-12-06T10:00:30.120Z",
    "meta": None,
}
SURVEY_EXAMPLE = {
    "id": "2d4c6e8a-1b3d-4f5a-8c7e-9a0b1c2d3e4f",
    "conversation": "6f1c2a4e-8b1d-4a57-9e43-2f0f8f1f6a10",
    "customer": "u-1001",
    "score": 5,
    "comment": "很快就解决了",
    "answered_at": "2026-12-06T10:40:00Z",
}
ID_PARAMETER = OpenApiParameter(
    "id", str, OpenApiParameter.PATH, description="the conversation's id (a UUID)"
)
BAD_FILTER = OpenApiResponse(description="A bad filter value, named")
NOT_FOUND = OpenApiResponse(description="No such conversation")


# --- views --------------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        summary="List conversations",
        description="Newest first, cursor-paginated (`page_size` up to 200).",
        responses={200: ConversationSerializer(many=True), 400: BAD_FILTER},
        examples=[OpenApiExample("A page", value=CONVERSATION_EXAMPLE, response_only=True)],
        tags=["conversations"],
    )
)
class ConversationListView(PartnerListView):
    required_scope = "conversations"
    serializer_class = ConversationSerializer
    filterset_class = ConversationFilter
    pagination_class = NewestConversationsFirst

    def get_queryset(self):
        return partner_conversations()


class ConversationDetailView(PartnerAPIMixin, generics.GenericAPIView):
    required_scope = "conversations"
    serializer_class = ConversationSerializer

    @extend_schema(
        summary="One conversation",
        parameters=[ID_PARAMETER],
        responses={200: ConversationSerializer, 404: NOT_FOUND},
        examples=[OpenApiExample("A conversation", value=CONVERSATION_EXAMPLE, response_only=True)],
        tags=["conversations"],
    )
    def get(self, request, id: str):
        conversation = partner_conversations().filter(pk=_conversation_pk(id)).first()
        if conversation is None:
            raise NotFound(_("No such conversation."))
        return Response(ConversationSerializer(conversation).data)


@extend_schema_view(
    get=extend_schema(
        summary="A conversation's messages",
        description="By seq, oldest first, cursor-paginated (`page_size` up to 200); "
        "`?after_seq=` starts after the last one seen. Internal notes are never listed.",
        parameters=[ID_PARAMETER],
        responses={200: MessageSerializer(many=True), 400: BAD_FILTER, 404: NOT_FOUND},
        examples=[OpenApiExample("A page", value=MESSAGE_EXAMPLE, response_only=True)],
        tags=["conversations"],
    )
)
class ConversationMessagesView(PartnerListView):
    required_scope = "conversations"
    serializer_class = MessageSerializer
    filterset_class = MessageFilter
    pagination_class = BySeq

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema asks for the model only
            return Message.objects.none()
        conversation_id = _conversation_pk(self.kwargs["id"])
        if not Conversation.objects.filter(pk=conversation_id).exists():
            raise NotFound(_("No such conversation."))
        return Message.objects.filter(conversation_id=conversation_id).prefetch_related(
            "attachment_set"
        )


@extend_schema_view(
    get=extend_schema(
        summary="List survey answers",
        description="The answered satisfaction surveys, latest answer first, "
        "cursor-paginated. Each is what the `survey.answered` webhook carried.",
        responses={200: SurveyResponseSerializer(many=True), 400: BAD_FILTER},
        examples=[OpenApiExample("A page", value=SURVEY_EXAMPLE, response_only=True)],
        tags=["conversations"],
    )
)
class SurveyResponseListView(PartnerListView):
    required_scope = "conversations"
    serializer_class = SurveyResponseSerializer
    filterset_class = SurveyFilter
    pagination_class = LatestAnswersFirst

    def get_queryset(self):
        return Survey.objects.filter(answered_at__isnull=False).select_related(
            "conversation__customer"
        )
