"""CSRF: every route a browser with a session can POST to refuses a POST without the
token — the desk's, the dashboards', the help centre's, admin's, the login pages and the
language switch — taken from the URL resolver, so a new route is covered the day it is
added. Only the partner API is exempt, and it takes no session (docs/security.md)."""

import pytest
from django.test import Client
from rest_framework.authentication import SessionAuthentication

from tests.factories import AgentFactory, UserFactory
from tests.routes import site_routes

pytestmark = pytest.mark.django_db

ROUTES = [(route.url(), route.pattern) for route in site_routes()]
PROTECTED = [path for path, entry in ROUTES if not getattr(entry.callback, "csrf_exempt", False)]
# Admin's routes (some 300, six per model) are requested in one test, the others one each.
ADMIN_ROUTES = [path for path in PROTECTED if path.startswith("/admin/")]
SITE_ROUTES = [path for path in PROTECTED if not path.startswith("/admin/")]
EXEMPT = [(path, entry) for path, entry in ROUTES if getattr(entry.callback, "csrf_exempt", False)]


@pytest.fixture
def browser():
    """A supervisor's browser that sends no CSRF token unless told."""
    user = UserFactory(username="chief", password="!", is_staff=True, is_superuser=True)
    AgentFactory(user=user)
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _refused(client: Client, path: str) -> bool:
    response = client.post(path, {"body": "hello", "username": "chief", "password": "x"})
    return response.status_code == 403 and "CSRF verification failed" in response.content.decode()


def test_the_routes_are_found():
    assert len(SITE_ROUTES) > 50
    assert len(ADMIN_ROUTES) > 100
    assert "/desk/login/" in SITE_ROUTES
    assert "/admin/login/" in ADMIN_ROUTES
    assert "/i18n/setlang/" in SITE_ROUTES
    assert any(path.startswith("/desk/tickets/") for path in SITE_ROUTES)
    assert any(path.startswith("/help/") for path in SITE_ROUTES)


@pytest.mark.parametrize("path", SITE_ROUTES)
def test_a_post_without_the_token_is_refused(browser, path):
    assert _refused(browser, path)


def test_a_post_to_admin_without_the_token_is_refused_everywhere(browser):
    assert [path for path in ADMIN_ROUTES if not _refused(browser, path)] == []


def test_a_post_with_the_token_gets_through():
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.get("/desk/login/")

    response = client.post(
        "/desk/login/",
        {
            "username": "nobody",
            "password": "x",
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
        },
    )

    assert response.status_code == 200
    assert "CSRF verification failed" not in response.content.decode()


def test_only_the_partner_api_is_exempt_and_it_takes_no_session():
    assert EXEMPT
    for path, entry in EXEMPT:
        assert path.startswith("/api/"), path
        view = entry.callback.cls
        assert not any(
            issubclass(authentication, SessionAuthentication)
            for authentication in view.authentication_classes
        ), path
