"""Logging in to the desk and to admin: failures throttled per user name and per address,
one answer whether the user exists or not, a new session key at login, every attempt in
the audit log (docs/security.md)."""

import re
import time

import pytest
import redis
from django.contrib.sessions.backends.cached_db import SessionStore
from django.test import Client, RequestFactory
from django.urls import reverse

from conversations.demo import DEMO_PASSWORD
from helpdesk.audit import client_ip
from helpdesk.logins import _counters, give_back, take_attempt
from helpdesk.models import AuditEntry
from helpdesk.redis_clients import sync_redis
from tests.factories import AgentFactory, UserFactory

pytestmark = pytest.mark.django_db

DESK = reverse("desk:login")
ADMIN = reverse("admin:login")
REFUSED_EN = "Too many failed attempts to log in. Please try again in"
LOGIN_PAGES = pytest.mark.parametrize("url", [DESK, ADMIN], ids=["desk", "admin"])


@pytest.fixture(autouse=True)
def _small_limits(settings):
    settings.LOGIN_FAILURES_PER_USER = 3
    settings.LOGIN_FAILURES_PER_IP = 5
    settings.LOGIN_FAILURE_WINDOW = 900


def english(address: str = "10.0.0.1") -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=address)


def attempt(client: Client, url: str, username: str, password: str = "wrong"):  # noqa: S107
    return client.post(url, {"username": username, "password": password})


def staff_agent(username: str = "lin"):
    return AgentFactory(user=UserFactory(username=username, is_staff=True)).user


def test_a_wrong_password_shows_the_page_again_with_the_error():
    staff_agent()

    response = attempt(english(), DESK, "lin")

    assert response.status_code == 200
    assert "Your user name and password did not match" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


@LOGIN_PAGES
def test_after_the_failures_allowed_for_a_name_even_the_right_password_is_refused(url):
    staff_agent()
    client = english()
    for _ in range(3):
        assert attempt(client, url, "lin").status_code == 200

    response = attempt(client, url, "lin", DEMO_PASSWORD)

    assert response.status_code == 429
    assert REFUSED_EN in response.content.decode()
    assert "15 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_refusal_is_in_the_visitors_language():
    staff_agent()
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans", REMOTE_ADDR="10.0.0.1")
    for _ in range(3):
        attempt(client, DESK, "lin")

    response = attempt(client, DESK, "lin")

    assert response.status_code == 429
    assert "登录失败次数过多" in response.content.decode()


def test_the_limit_for_a_name_holds_whatever_the_address():
    staff_agent()
    for number in range(3):
        attempt(english(f"10.0.1.{number}"), DESK, "lin")

    response = attempt(english("10.0.2.1"), DESK, "lin", DEMO_PASSWORD)

    assert response.status_code == 429


def test_the_limit_for_an_address_holds_whatever_the_names():
    staff_agent()
    client = english("10.0.0.7")
    for number in range(5):
        attempt(client, DESK, f"guess{number}")

    refused = attempt(client, DESK, "lin", DEMO_PASSWORD)
    elsewhere = attempt(english("10.0.0.8"), DESK, "lin", DEMO_PASSWORD)

    assert refused.status_code == 429
    assert elsewhere.status_code == 302


def test_the_desk_and_admin_share_the_count():
    staff_agent()
    client = english()
    for url in (DESK, ADMIN, DESK):
        attempt(client, url, "lin")

    assert attempt(client, ADMIN, "lin", DEMO_PASSWORD).status_code == 429


def test_successful_logins_are_not_counted_and_clear_the_names_failures():
    staff_agent()
    client = english()
    for _ in range(4):
        assert attempt(client, DESK, "lin", DEMO_PASSWORD).status_code == 302
        client.post(reverse("desk:logout"))
    attempt(client, DESK, "lin")
    attempt(client, DESK, "lin")
    assert attempt(client, DESK, "lin", DEMO_PASSWORD).status_code == 302
    client.post(reverse("desk:logout"))

    attempt(client, DESK, "lin")
    attempt(client, DESK, "lin")

    assert attempt(client, DESK, "lin", DEMO_PASSWORD).status_code == 302


def test_attempts_are_taken_again_when_the_window_ends(settings):
    settings.LOGIN_FAILURE_WINDOW = 2
    staff_agent()
    client = english()
    for _ in range(3):  # counted directly: three real attempts may take longer than the window
        take_attempt("lin", "10.0.0.1")
    assert attempt(client, DESK, "lin", DEMO_PASSWORD).status_code == 429

    time.sleep(2.2)

    assert attempt(client, DESK, "lin", DEMO_PASSWORD).status_code == 302


def test_an_attempt_that_passed_the_check_before_others_were_counted_is_refused(monkeypatch):
    """Concurrent guesses: each checks the counts, then all are counted; the ones over the
    limit are refused before their password is checked, and counted as nothing."""
    staff_agent()
    monkeypatch.setattr("helpdesk.logins.seconds_refused", lambda username, ip: 0)
    for _ in range(3):
        take_attempt("lin", "10.0.3.1")

    refused = attempt(english("10.0.3.1"), DESK, "lin", DEMO_PASSWORD)

    assert refused.status_code == 429
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN).exists()
    assert take_attempt("lin", "10.0.3.1") == {"username": 4, "ip": 4}


def test_a_forwarded_for_header_does_not_change_the_counted_address():
    staff_agent()
    for number in range(5):
        english().post(
            DESK,
            {"username": f"guess{number}", "password": "x"},
            HTTP_X_FORWARDED_FOR=f"192.0.2.{number}",
        )

    assert attempt(english(), DESK, "lin", DEMO_PASSWORD).status_code == 429


def test_behind_trusted_proxies_the_address_the_outermost_saw_is_counted(settings):
    settings.AUTH_TRUSTED_PROXIES = 1
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5"
    )

    assert client_ip(request) == "203.0.113.5"


def _page(response) -> str:
    """The page without what differs at every rendering (the CSRF token)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


@LOGIN_PAGES
def test_an_unknown_name_gets_the_same_answer_as_a_wrong_password(url):
    user = staff_agent("mei")
    known = attempt(english(), url, "mei")
    user.agent.delete()
    user.delete()

    unknown = attempt(english(), url, "mei")

    assert known.status_code == unknown.status_code == 200
    assert _page(known) == _page(unknown)
    assert "_auth_user_id" not in unknown.wsgi_request.session


def test_an_unknown_name_is_locked_out_like_a_known_one():
    staff_agent("mei")
    for _ in range(3):
        attempt(english("10.0.0.1"), DESK, "mei")
        attempt(english("10.0.0.2"), DESK, "nobody")

    known = attempt(english("10.0.0.1"), DESK, "mei")
    unknown = attempt(english("10.0.0.2"), DESK, "nobody")

    assert known.status_code == unknown.status_code == 429
    assert _page(known).replace("mei", "X") == _page(unknown).replace("nobody", "X")


def test_an_agent_who_is_not_staff_is_refused_by_admin_like_a_wrong_password():
    AgentFactory(user=UserFactory(username="desk-only", is_staff=False))

    right = attempt(english(), ADMIN, "desk-only", DEMO_PASSWORD)
    wrong = attempt(english(), ADMIN, "desk-only")

    assert right.status_code == wrong.status_code == 200
    assert _page(right) == _page(wrong)


@pytest.mark.parametrize("url", [DESK, ADMIN], ids=["desk", "admin"])
def test_the_session_key_changes_at_login(url):
    staff_agent()
    client = english()
    client.get(url)
    session = client.session
    session["before-login"] = "x"
    session.save()
    before = session.session_key

    response = attempt(client, url, "lin", DEMO_PASSWORD)

    assert response.status_code == 302
    after = client.cookies["sessionid"].value
    assert after != before
    assert client.session["_auth_user_id"]
    assert not SessionStore().exists(before)


def test_each_failure_is_one_audit_entry_and_the_lockout_one_more():
    staff_agent()
    client = english("10.0.0.3")
    attempt(client, DESK, "<b>lin</b>")
    for _ in range(3):  # the third reaches the limit for "lin"
        attempt(client, DESK, "lin")

    attempt(client, DESK, "lin")  # refused: not a failure, not written

    failures = AuditEntry.objects.filter(action=AuditEntry.Action.LOGIN_FAILED)
    assert failures.count() == 4
    assert set(failures.values_list("ip", flat=True)) == {"10.0.0.3"}
    assert failures.filter(actor_name="<b>lin</b>", actor=None).count() == 1
    lockout = AuditEntry.objects.get(action=AuditEntry.Action.LOCKED_OUT)
    assert (lockout.target_repr, lockout.details["by"]) == ("lin", "username")


def test_an_address_reaching_its_limit_is_one_lockout_entry():
    client = english("10.0.0.4")
    for number in range(5):
        attempt(client, ADMIN, f"guess{number}")

    lockout = AuditEntry.objects.get(action=AuditEntry.Action.LOCKED_OUT)

    assert (lockout.target_type, lockout.target_repr) == ("ip", "10.0.0.4")
    assert lockout.details == {
        "where": "admin",
        "by": "ip",
        "failures": 5,
        "window_seconds": 900,
    }


def test_a_login_and_a_logout_are_one_audit_entry_each():
    user = staff_agent()
    client = english("10.0.0.5")

    attempt(client, DESK, "lin", DEMO_PASSWORD)
    client.post(reverse("desk:logout"))

    login = AuditEntry.objects.get(action=AuditEntry.Action.LOGIN)
    logout = AuditEntry.objects.get(action=AuditEntry.Action.LOGOUT)
    assert (login.actor, login.actor_name, login.ip) == (user, "lin", "10.0.0.5")
    assert (logout.actor, logout.target_id) == (user, str(user.pk))


class _RedisDown:
    def pipeline(self, **kwargs):
        raise redis.ConnectionError("Connection refused")

    def delete(self, *keys):
        raise redis.ConnectionError("Connection refused")


@LOGIN_PAGES
def test_without_redis_no_attempt_is_taken_and_the_page_says_so(url, monkeypatch):
    staff_agent()
    monkeypatch.setattr("helpdesk.logins.sync_redis", _RedisDown)

    response = attempt(english(), url, "lin", DEMO_PASSWORD)

    assert response.status_code == 503
    assert "Logging in is not possible at the moment" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_a_count_whose_window_ended_during_the_attempt_does_not_live_for_ever():
    counter = _counters("lin", "10.0.4.1")[1][1]

    give_back("lin", "10.0.4.1", succeeded=True)  # as if its window ended in between

    assert 0 < sync_redis().ttl(counter) <= 900
