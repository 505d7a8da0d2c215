"""Logging in to the desk and to admin: failed attempts throttled per user name and per
IP address, one answer whether the user exists or not, every attempt in the audit log
(docs/security.md, "Logging in").

Failures are counted in Redis (shared by every daphne process), in a window that starts
with the first failure: after LOGIN_FAILURES_PER_USER failures for one user name (from
any address) or LOGIN_FAILURES_PER_IP from one address (for any names), further attempts
are refused, without checking the password, until the window ends. A successful login
is not counted and clears its user name's count (not its address's: one known account
must not wipe out an address's failures on others).
"""

from __future__ import annotations

import hashlib
import logging
import math

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from redis import RedisError

from helpdesk import audit
from helpdesk.redis_clients import key, sync_redis

logger = logging.getLogger(__name__)

USERNAME = "username"
IP = "ip"


def _counters(username: str, ip: str | None) -> list[tuple[str, str, int]]:
    """(kind, Redis key, limit) of the counts an attempt falls under."""
    name = hashlib.sha256(username.strip().casefold().encode()).hexdigest()
    counters = [(USERNAME, key("login-fail", "user", name), settings.LOGIN_FAILURES_PER_USER)]
    if ip:
        counters.append((IP, key("login-fail", "ip", ip), settings.LOGIN_FAILURES_PER_IP))
    return counters


def seconds_refused(username: str, ip: str | None) -> int:
    """How many seconds attempts for this name from this address are still refused; 0
    when they are taken."""
    counters = _counters(username, ip)
    pipe = sync_redis().pipeline(transaction=False)
    for _kind, counter, _limit in counters:
        pipe.get(counter)
        pipe.ttl(counter)
    answers = pipe.execute()
    wait = 0
    for index, (_kind, _counter, limit) in enumerate(counters):
        count, ttl = answers[2 * index], answers[2 * index + 1]
        if count is not None and int(count) >= limit:
            wait = max(wait, ttl if ttl > 0 else settings.LOGIN_FAILURE_WINDOW)
    return wait


def take_attempt(username: str, ip: str | None) -> dict[str, int]:
    """Counts an attempt before its password is checked; returns each count ("username",
    "ip") with this attempt in it. Counting first is what holds the limits under
    concurrent guesses: an attempt whose count is over a limit is refused however the
    earlier check went (INCR is atomic, so each count is had by exactly one attempt)."""
    counters = _counters(username, ip)
    pipe = sync_redis().pipeline(transaction=False)
    for _kind, counter, _limit in counters:
        pipe.set(counter, 0, ex=settings.LOGIN_FAILURE_WINDOW, nx=True)
        pipe.incr(counter)
    answers = pipe.execute()
    return {kind: answers[2 * index + 1] for index, (kind, _c, _l) in enumerate(counters)}


def over_limit(counts: dict[str, int]) -> bool:
    limits = {USERNAME: settings.LOGIN_FAILURES_PER_USER, IP: settings.LOGIN_FAILURES_PER_IP}
    return any(count > limits[kind] for kind, count in counts.items())


def reached_limit(counts: dict[str, int]) -> list[str]:
    """The kinds of limit a failed attempt with these counts has just reached."""
    limits = {USERNAME: settings.LOGIN_FAILURES_PER_USER, IP: settings.LOGIN_FAILURES_PER_IP}
    return [kind for kind, count in counts.items() if count == limits[kind]]


def give_back(username: str, ip: str | None, *, succeeded: bool) -> None:
    """Takes back an attempt that was no failure: refused after counting (over a limit),
    or successful — which also clears its user name's earlier failures (not its
    address's: one known account must not wipe out an address's failures on others)."""
    client = sync_redis()
    counters = _counters(username, ip)
    cleared = [kind == USERNAME and succeeded for kind, _counter, _limit in counters]
    pipe = client.pipeline(transaction=False)
    for (_kind, counter, _limit), clear in zip(counters, cleared, strict=True):
        if clear:
            pipe.delete(counter)
        else:
            pipe.decr(counter)
            pipe.ttl(counter)
    answers = iter(pipe.execute())
    for (_kind, counter, _limit), clear in zip(counters, cleared, strict=True):
        if clear:
            next(answers)
            continue
        next(answers)
        # A count whose window ended meanwhile is made again by DECR, without an expiry
        # (it would never end): it gets a window again. EXPIRE NX would need Redis 7.
        if next(answers) == -1:
            client.expire(counter, settings.LOGIN_FAILURE_WINDOW)


class ThrottledLoginMixin:
    """For an AuthenticationForm: refuses attempts over the limits (before the password
    is checked), counts failures and writes the failures and lockouts to the audit log."""

    where = ""  # "desk" or "admin", kept with the audit entries
    throttled_message = _(
        "Too many failed attempts to log in. Please try again in %(minutes)s minutes."
    )
    unavailable_message = _("Logging in is not possible at the moment. Please try again shortly.")

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip = audit.client_ip(self.request)
        try:
            wait = seconds_refused(username, ip)
            counts = {} if wait else take_attempt(username, ip)
        except RedisError:
            # Without the counts a guesser would have no limit: no attempt is taken.
            logger.exception("login refused: the failure counts cannot be read")
            self.request.login_refusal = 503
            raise ValidationError(self.unavailable_message, code="unavailable") from None
        if wait:
            raise self._throttled(wait)
        if over_limit(counts):  # concurrent attempts took the last ones allowed
            self._give_back(username, ip, succeeded=False)
            raise self._throttled(settings.LOGIN_FAILURE_WINDOW)
        try:
            cleaned = super().clean()
        except ValidationError as error:
            if getattr(error, "code", None) == "invalid_login":
                self._failed(username, counts)
            else:
                self._give_back(username, ip, succeeded=False)
            raise
        self._give_back(username, ip, succeeded=True)
        return cleaned

    def _throttled(self, wait: int) -> ValidationError:
        self.request.login_refusal = 429
        return ValidationError(
            self.throttled_message,
            code="throttled",
            params={"minutes": max(1, math.ceil(wait / 60))},
        )

    def _give_back(self, username: str, ip: str | None, *, succeeded: bool) -> None:
        try:
            give_back(username, ip, succeeded=succeeded)
        except RedisError:
            logger.exception("a login attempt could not be taken back from the counts")

    def _failed(self, username: str, counts: dict[str, int]) -> None:
        audit.record(
            action=audit.Action.LOGIN_FAILED,
            actor_name=username,
            target_type="auth.user",
            target_repr=username,
            details={"where": self.where},
        )
        ip = audit.client_ip(self.request)
        for kind in reached_limit(counts):
            audit.record(
                action=audit.Action.LOCKED_OUT,
                actor_name=username,
                target_type="auth.user" if kind == USERNAME else "ip",
                target_repr=username if kind == USERNAME else (ip or ""),
                details={
                    "where": self.where,
                    "by": kind,
                    "failures": (
                        settings.LOGIN_FAILURES_PER_USER
                        if kind == USERNAME
                        else settings.LOGIN_FAILURES_PER_IP
                    ),
                    "window_seconds": settings.LOGIN_FAILURE_WINDOW,
                },
            )


class DeskAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    where = "desk"


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    where = "admin"


def refusal_status(request, response):
    """A refused attempt's page goes out 429 (too many failures) or 503 (the counts cannot
    be read), with the form saying why."""
    status = getattr(request, "login_refusal", None)
    if status:
        response.status_code = status
    return response


class DeskLoginView(auth_views.LoginView):
    """The desk's login page."""

    authentication_form = DeskAuthenticationForm
    template_name = "conversations/login.html"
    redirect_authenticated_user = True

    def form_invalid(self, form):
        return refusal_status(self.request, super().form_invalid(form))


def record_login(sender, request, user, **kwargs) -> None:
    """user_logged_in: a decoupled hook (Django's login() sends it, whoever calls it)."""
    audit.record(action=audit.Action.LOGIN, actor=user, target=user)


def record_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        audit.record(action=audit.Action.LOGOUT, actor=user, target=user)
