"""`POST /api/v1/inbound/messages/`: a message a partner relays from a channel of its own
(contracts/partner-api.md; docs/api.md, "Inbound messages")."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from conversations.models import Conversation
from conversations.protocol import message_payload
from conversations.services.inbound import receive_inbound_message
from customers.services.identities import InvalidIdentity
from helpdesk.api_auth import PartnerAPIMixin
from helpdesk.idempotency import IDEMPOTENCY_KEY_PARAMETER, REPLAYED_HEADER, idempotent
from helpdesk.serializers import StrictCharField, StrictSerializer
from helpdesk.webhooks.targets import TargetRefused, parse_target

MAX_ATTACHMENTS = 10


class AttachmentURLField(StrictCharField):
    """An http(s) URL the helpdesk fetches the file from (its address is checked when it is
    fetched: docs/api.md, "Attachments")."""

    def __init__(self, **kwargs):
        super().__init__(max_length=2000, **kwargs)

    def to_internal_value(self, data):
        url = super().to_internal_value(data)
        try:
            parse_target(url)
        except TargetRefused as refused:
            raise ValidationError(str(refused)) from None
        return url


class InboundMessageSerializer(StrictSerializer):
    channel = serializers.ChoiceField(
        choices=[(c.value, c.label) for c in Conversation.INBOUND_CHANNELS]
    )
    customer = StrictCharField(
        max_length=128, help_text="the customer's external_id (their shop account)"
    )
    client_id = StrictCharField(
        max_length=64, help_text="the partner's id of this message: a retry with it is harmless"
    )
    body = StrictCharField(
        max_length=settings.CHAT_MAX_BODY,
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text="the text, 1–4000 characters; may be empty when attachments carry the message",
    )
    attachments = serializers.ListField(
        child=AttachmentURLField(),
        max_length=MAX_ATTACHMENTS,
        required=False,
        default=list,
        help_text="http(s) URLs of the files (images, voice notes, videos, PDF, Office)",
    )
    language = serializers.ChoiceField(
        choices=["zh", "en"],
        required=False,
        help_text="of a conversation this message starts; omitted: the customer's",
    )
    name = StrictCharField(
        max_length=120,
        required=False,
        allow_blank=True,
        default="",
        help_text="the customer's name, for a customer this message creates",
    )

    def validate(self, data: dict) -> dict:
        if not data["body"].strip() and not data["attachments"]:
            raise ValidationError({"body": [_("Send a text, attachments, or both.")]})
        return data


class InboundConversationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    channel = serializers.ChoiceField(choices=Conversation.Channel.choices)


class InboundMessageResponseSerializer(serializers.Serializer):
    conversation = InboundConversationSerializer()
    message = serializers.DictField(help_text="the message object of the chat protocol")


class InboundMessageView(PartnerAPIMixin, APIView):
    """A customer's message from a channel the partner relays: it joins their open
    conversation on that channel or starts one, and is answered as in the live chat
    (the bot first, then an agent). Replies come back through the `message.created`
    webhook."""

    required_scope = "conversations"

    @extend_schema(
        operation_id="inbound_message_create",
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=InboundMessageSerializer,
        responses={
            201: InboundMessageResponseSerializer,
            400: OpenApiResponse(description="a field is missing or wrong"),
            409: OpenApiResponse(description="Idempotency-Key used with another request"),
            413: OpenApiResponse(description="the body is over 256 KiB"),
            415: OpenApiResponse(description="the body is not JSON"),
        },
        examples=[
            OpenApiExample(
                "Stored",
                value={
                    "conversation": {
                        "id": "6f1c2a4e-8b1d-4a57-9e43-2f0f8f1f6a10",
                        "channel": "wechat",
                    },
                    "message": {
                        "id": "0f5e8a52-3c4b-4d6e-9f70-8a9b0c1d2e3f",
                        "seq": 1,
                        "conversation": "6f1c2a4e-8b1d-4a57-9e43-2f0f8f1f6a10",
                        "sender": "customer",
                        "sender_name": "",
                        "body": "我的订单到哪里了？",
                        "attachments": [],
                        "client_id": "wx-msg-23817625",
                        "created_at": "2026-12-07T06:30:00.123Z",
                        "meta": None,
                    },
                },
                response_only=True,
                status_codes=["201"],
            ),
            OpenApiExample(
                "A WeChat message",
                value={
                    "channel": "wechat",
                    "customer": "u-1001",
                    "client_id": "wx-msg-23817625",
                    "body": "我的订单到哪里了？",
                },
                request_only=True,
            ),
        ],
        tags=["conversations"],
    )
    @idempotent
    def post(self, request):
        serializer = InboundMessageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            received = receive_inbound_message(
                channel=data["channel"],
                external_id=data["customer"],
                client_id=data["client_id"],
                body=data["body"],
                attachment_urls=data["attachments"],
                language=data.get("language"),
                name=data["name"],
            )
        except InvalidIdentity as error:
            raise ValidationError({"customer": [str(error)]}) from None
        message = received.message
        response = Response(
            {
                "conversation": {"id": str(message.conversation_id), "channel": data["channel"]},
                "message": message_payload(message, received.attachments),
            },
            status=status.HTTP_201_CREATED,
        )
        if not received.created:
            response[REPLAYED_HEADER] = "true"
        return response
