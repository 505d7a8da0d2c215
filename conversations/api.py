"""The chat session endpoint of the chat protocol (contracts/chat-protocol.md §1)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import get_language_from_request
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from conversations.models import Conversation
from conversations.services import open_chat_session
from customers.services import Identity, IdentityRefused


class IdentitySerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=128)
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    hash = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")


class PageSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)
    referrer = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class SessionRequestSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(
        choices=Conversation.Channel.choices, default=Conversation.Channel.WEB
    )
    language = serializers.ChoiceField(choices=["zh", "en"], required=False)
    token = serializers.CharField(max_length=512, required=False, allow_blank=True)
    identity = IdentitySerializer(required=False)
    page = PageSerializer(required=False)


class SessionResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
    conversation = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Conversation.Status.choices)
    websocket = serializers.CharField()
    last_seq = serializers.IntegerField()


class ChatSessionThrottle(AnonRateThrottle):
    scope = "chat_session"

    def get_rate(self) -> str:
        return settings.CHAT_SESSION_RATE


class ChatSessionView(APIView):
    """Open or resume a customer's chat session. No login, no CSRF; limited per IP."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [ChatSessionThrottle]

    @extend_schema(
        request=SessionRequestSerializer,
        responses={201: SessionResponseSerializer},
        examples=[
            OpenApiExample(
                "Identified customer",
                value={
                    "channel": "web",
                    "language": "zh",
                    "identity": {"external_id": "u-1001", "name": "王芳", "hash": "…"},
                },
                request_only=True,
            )
        ],
        tags=["chat"],
    )
    def post(self, request):
        serializer = SessionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        language = data.get("language") or (
            "en" if get_language_from_request(request).startswith("en") else "zh"
        )
        identity = Identity(**data["identity"]) if "identity" in data else None
        try:
            session = open_chat_session(
                channel=data["channel"],
                language=language,
                token=data.get("token") or None,
                identity=identity,
                page=data.get("page"),
            )
        except IdentityRefused:
            raise PermissionDenied("identity hash is missing or wrong") from None
        conversation = session.conversation
        return Response(
            {
                "token": session.token,
                "conversation": str(conversation.id),
                "status": conversation.status,
                "websocket": "/ws/chat/",
                "last_seq": conversation.last_seq,
            },
            status=status.HTTP_201_CREATED,
        )
