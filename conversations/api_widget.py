"""The embeddable widget's calls (docs/chat-protocol.md §5): its site's settings, and
proactive chat invitations for the widget and the chat page.

The widget runs on the shop's pages, another origin: every call names its site
(`?channel=<key>`, also on the CORS preflight, which has no body) and is answered with
CORS headers only for an origin that site allows. Without `channel` the caller is the
chat page itself (this helpdesk's origin).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.cache import patch_vary_headers
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from conversations.api import IdentitySerializer, PageSerializer
from conversations.models import Conversation, WidgetSite
from conversations.services import read_chat_token
from customers.models import Invitation
from customers.services import Identity, IdentityRefused, identified_customer_id
from customers.services import invitations as invites
from helpdesk.origins import origin_allowed
from helpdesk.serializers import StrictCharField

CHAT_PAGE = "chat"
CHANNEL = OpenApiParameter(
    "channel", str, description="The widget site's key (data-channel); absent: the chat page"
)


class StrictIntegerField(serializers.IntegerField):
    """An integer, and only an integer: "5", 5.0 or true is an error."""

    default_error_messages = {"not_an_integer": "Must be an integer."}

    def to_internal_value(self, data):
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("not_an_integer")
        return super().to_internal_value(data)


class WidgetThrottle(SimpleRateThrottle):
    """Per client IP; a CORS preflight is not counted (it comes with the call it precedes)."""

    scope = "chat_invitation"

    def get_rate(self) -> str:
        return settings.CHAT_INVITATION_RATE

    def allow_request(self, request, view) -> bool:
        if request.method == "OPTIONS":
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        return f"throttle_chat_invitation_{self.get_ident(request)}"


class WidgetCallView(APIView):
    """A call from the widget (`?channel=`) or the chat page, with its CORS answer."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [WidgetThrottle]

    def site(self, request) -> WidgetSite | None:
        """The calling widget site (None: the chat page), checked against the request's
        Origin: 404 for an unknown key, 403 for a site switched off or an origin it does
        not allow."""
        if not hasattr(request, "_widget_site"):
            request._widget_site = None
            key = request.query_params.get("channel")
            if key is not None:
                site = WidgetSite.objects.filter(key=key[:40]).first()
                if site is None:
                    raise NotFound("no such widget channel")
                request._widget_site = site
        site = request._widget_site
        origin = request.headers.get("Origin")
        if site is None:
            if not origin_allowed(origin, required=False):
                raise PermissionDenied("this origin may not call here")
        elif not site.allows(origin):
            raise PermissionDenied("this site is not allowed to show this widget")
        return site

    def options(self, request, *args, **kwargs):
        self.site(request)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        site = getattr(request, "_widget_site", None)
        origin = request.headers.get("Origin")
        if site is not None and site.allows(origin):
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response["Access-Control-Allow-Headers"] = "Content-Type"
            response["Access-Control-Max-Age"] = "600"
        patch_vary_headers(response, ["Origin"])
        return response


class WidgetConfigResponseSerializer(serializers.Serializer):
    channel = StrictCharField()
    language = StrictCharField(help_text="zh, en, or empty: the visitor's browser")
    invite_after = serializers.ListField(child=serializers.IntegerField())
    chat = StrictCharField(help_text="the chat page to frame, without the origin parameter")


class WidgetConfigView(WidgetCallView):
    """What the widget needs to start: refused (403) on an origin its site does not allow,
    and then the widget does not run."""

    @extend_schema(
        operation_id="chat_widget_settings",
        parameters=[CHANNEL],
        responses={200: WidgetConfigResponseSerializer},
        tags=["chat"],
    )
    def get(self, request):
        site = self.site(request)
        if site is None:
            raise NotFound("name the widget's channel")
        return Response(
            {
                "channel": site.key,
                "language": site.language,
                "invite_after": invites.invite_after(),
                "chat": f"/chat/?embed={site.key}",
            }
        )


class InvitationRequestSerializer(serializers.Serializer):
    page = PageSerializer()
    seconds = StrictIntegerField(min_value=0, max_value=86400)
    visitor = StrictCharField(max_length=64, required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=["zh", "en"], required=False, default="zh")
    token = StrictCharField(max_length=512, required=False, allow_blank=True)
    identity = IdentitySerializer(required=False)


class InvitationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    message = StrictCharField()


class InvitationResponseSerializer(serializers.Serializer):
    invitation = InvitationSerializer(allow_null=True)


class InvitationView(WidgetCallView):
    """Should this visitor be invited to chat now? The page asks once it has been open
    `seconds` (at the widget config's `invite_after`); at most one invitation per visitor
    per browsing session, never to a customer waiting for or talking with an agent."""

    @extend_schema(
        operation_id="chat_invitation_check",
        parameters=[CHANNEL],
        request=InvitationRequestSerializer,
        responses={200: InvitationResponseSerializer},
        tags=["chat"],
    )
    def post(self, request):
        site = self.site(request)
        serializer = InvitationRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        customer_id = None
        if "identity" in data:
            try:
                customer_id = identified_customer_id(Identity(**data["identity"]))
            except IdentityRefused:
                raise PermissionDenied("identity hash is missing or wrong") from None
        elif data.get("token"):
            session = read_chat_token(data["token"])
            customer_id = session[0] if session else None
        if (
            customer_id is not None
            and Conversation.objects.filter(
                customer_id=customer_id,
                status__in=(Conversation.Status.QUEUED, Conversation.Status.ASSIGNED),
            ).exists()
        ):
            return Response({"invitation": None})
        invitation = invites.find_invitation(
            customer_id=customer_id,
            visitor=data["visitor"],
            source=site.key if site else CHAT_PAGE,
            url=data["page"].get("url", ""),
            seconds=data["seconds"],
            language=data["language"],
        )
        if invitation is None:
            return Response({"invitation": None})
        return Response(
            {
                "invitation": {
                    "id": str(invitation.pk),
                    "message": invitation.rule.message_in(invitation.language),
                }
            }
        )


class InvitationAnswerSerializer(serializers.Serializer):
    answer = serializers.ChoiceField(choices=["accepted", "declined"])


class InvitationAnswerView(WidgetCallView):
    """The visitor's answer to an invitation, counted once (409 for a second answer)."""

    @extend_schema(
        operation_id="chat_invitation_answer",
        parameters=[CHANNEL],
        request=InvitationAnswerSerializer,
        responses={200: InvitationAnswerSerializer},
        tags=["chat"],
    )
    def post(self, request, invitation_id):
        site = self.site(request)
        serializer = InvitationAnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        source = site.key if site else CHAT_PAGE
        if not Invitation.objects.filter(pk=invitation_id, source=source).exists():
            raise NotFound("no such invitation")
        try:
            invitation = invites.answer_invitation(
                invitation_id=invitation_id, answer=serializer.validated_data["answer"]
            )
        except invites.AlreadyAnswered:
            return Response(
                {"detail": "this invitation was answered before"}, status=status.HTTP_409_CONFLICT
            )
        return Response({"answer": invitation.answer})
