"""The chat session endpoint of the chat protocol (contracts/chat-protocol.md §1)."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import get_language_from_request
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated, PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle
from rest_framework.views import APIView

from conversations.files import AttachmentTooLarge, UploadRefused
from conversations.models import Conversation, Message
from conversations.protocol import attachment_payload
from conversations.services import (
    ConversationClosed,
    open_chat_session,
    read_chat_token,
    token_conversation,
)
from conversations.services.attachments import store_attachment
from conversations.services.bot import answer_without_conversation
from customers.services import Identity, IdentityRefused
from helpdesk.api_auth import PartnerAPIMixin
from helpdesk.serializers import StrictCharField
from knowledge.bot.text import detect_language


class IdentitySerializer(serializers.Serializer):
    external_id = StrictCharField(max_length=128)
    name = StrictCharField(max_length=120, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    phone = StrictCharField(max_length=32, required=False, allow_blank=True, default="")
    hash = StrictCharField(max_length=128, required=False, allow_blank=True, default="")


class PageSerializer(serializers.Serializer):
    url = StrictCharField(max_length=2000, required=False, allow_blank=True)
    title = StrictCharField(max_length=300, required=False, allow_blank=True)
    referrer = StrictCharField(max_length=2000, required=False, allow_blank=True)


class SessionRequestSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(
        choices=[(c.value, c.label) for c in Conversation.CHAT_CHANNELS],
        default=Conversation.Channel.WEB,
    )
    language = serializers.ChoiceField(choices=["zh", "en"], required=False)
    token = StrictCharField(max_length=512, required=False, allow_blank=True)
    identity = IdentitySerializer(required=False)
    page = PageSerializer(required=False)
    invitation = serializers.UUIDField(
        required=False, help_text="an accepted chat invitation: its message opens the chat"
    )


class SessionResponseSerializer(serializers.Serializer):
    token = StrictCharField()
    conversation = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Conversation.Status.choices)
    websocket = StrictCharField()
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
                invitation=data.get("invitation"),
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


class AttachmentResponseSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = StrictCharField()
    content_type = StrictCharField()
    size = serializers.IntegerField()
    url = StrictCharField()


class AttachmentUploadThrottle(SimpleRateThrottle):
    scope = "chat_attachment"

    def get_rate(self) -> str:
        return settings.CHAT_ATTACHMENT_RATE

    def get_cache_key(self, request, view):
        return f"throttle_chat_attachment_{self.get_ident(request)}"


class ChatAttachmentView(APIView):
    """Upload a file into the customer's conversation (contracts/chat-protocol.md §3)."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [AttachmentUploadThrottle]
    parser_classes = [MultiPartParser]

    def get_authenticate_header(self, request) -> str:
        # The chat token is the credential: a missing or bad one is 401, not 403.
        return "Bearer"

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        responses={201: AttachmentResponseSerializer},
        tags=["chat"],
    )
    def post(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        session = read_chat_token(header[7:] if header.startswith("Bearer ") else None)
        if session is None:
            raise NotAuthenticated("a chat token is required: Authorization: Bearer <token>")
        if token_conversation(session) is None:
            raise NotAuthenticated("this token's conversation is gone")
        conversation_id = session[1]
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > settings.ATTACHMENT_MAX_SIZE + 64 * 1024:
            return Response(
                {"detail": "the file is too large"}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            )
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": ["send the file in the multipart field 'file'"]})
        try:
            attachment = store_attachment(
                conversation_id=conversation_id, uploaded_by=Message.Sender.CUSTOMER, upload=upload
            )
        except AttachmentTooLarge as error:
            return Response({"detail": str(error)}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        except UploadRefused as error:
            return Response({"detail": str(error)}, status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)
        except ConversationClosed:
            raise ValidationError({"detail": "this conversation is closed"}) from None
        payload = attachment_payload(attachment)
        payload.pop("transcript", None)
        return Response(payload, status=status.HTTP_201_CREATED)


class BotAnswerRequestSerializer(serializers.Serializer):
    text = StrictCharField(max_length=4000)
    language = serializers.ChoiceField(choices=["zh", "en"], required=False)


class BotAnswerResponseSerializer(serializers.Serializer):
    reply = StrictCharField()
    meta = serializers.DictField(
        help_text="action, intent, article, confidence, slots (chat protocol)"
    )


class BotAnswerView(PartnerAPIMixin, APIView):
    """The bot's answer to one question, for partners running their own conversation (§4)."""

    required_scope = "bot"

    @extend_schema(
        request=BotAnswerRequestSerializer,
        responses={200: BotAnswerResponseSerializer},
        examples=[
            OpenApiExample(
                "Question",
                value={"text": "退货政策是怎样的？", "language": "zh"},
                request_only=True,
            ),
            OpenApiExample(
                "An article's answer",
                value={
                    "reply": "收到商品 7 天内可无理由退货……",
                    "meta": {
                        "action": "answer",
                        "intent": "return_policy",
                        "article": "return-policy",
                        "confidence": 0.91,
                    },
                },
                response_only=True,
            ),
        ],
        tags=["bot"],
    )
    def post(self, request):
        serializer = BotAnswerRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        text = serializer.validated_data["text"]
        language = serializer.validated_data.get("language") or detect_language(text)
        reply, meta = answer_without_conversation(text, language)
        return Response({"reply": reply, "meta": meta})
