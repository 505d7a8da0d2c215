"""Partner API authentication: Bearer keys, scopes and a per-key throttle."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions, throttling

from helpdesk.models import ApiKey, hash_key


class Partner:
    """The authenticated caller of the partner API (request.user)."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_active = True

    def __init__(self, key: ApiKey):
        self.key = key
        self.pk = None

    def __str__(self) -> str:
        return f"partner:{self.key.name}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <key>'.")
        try:
            raw = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid API key.") from None
        key = ApiKey.objects.filter(key_hash=hash_key(raw)).first()
        if key is None or not key.is_active:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired API key.")
        now = timezone.now()
        # One write a minute at most: last_used_at is for people, not an audit log.
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return Partner(key), key

    def authenticate_header(self, request):
        return self.keyword


class HasScope(permissions.BasePermission):
    """The key carries the view's `required_scope`."""

    message = "This API key does not have the scope for this resource."

    def has_permission(self, request, view):
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        return getattr(view, "required_scope", None) in key.scopes


class ApiKeyThrottle(throttling.SimpleRateThrottle):
    scope = "api_key"

    def get_rate(self) -> str:
        return settings.API_KEY_RATE

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            return f"throttle_api_key_{request.auth.pk}"
        return None


class PartnerAPIMixin:
    """What every partner API view uses: key auth, scope check, per-key throttle."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [permissions.IsAuthenticated, HasScope]
    throttle_classes = [ApiKeyThrottle]
    required_scope: str = ""
