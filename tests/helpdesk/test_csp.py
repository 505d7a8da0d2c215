"""Content Security Policy: every page the site answers with, taken from the URL resolver
(the desk's, the dashboards', the help centre's, the chat's, admin's, and the error pages
a made-up id leads to), carries the strict policy — no inline or eval'd script anywhere —
and `check --deploy` stays clean with the production settings (docs/security.md)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.csp import SITE_POLICY, directives
from tests.factories import AgentFactory, UserFactory
from tests.routes import site_routes

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parent.parent.parent
GET_ROUTES = [route.url() for route in site_routes()]
ADMIN_ROUTES = [path for path in GET_ROUTES if path.startswith("/admin/")]
SITE_ROUTES = [path for path in GET_ROUTES if not path.startswith("/admin/")]
LOOSE = {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "'strict-dynamic'", "data:", "*"}


@pytest.fixture
def supervisor():
    """A supervisor's browser, logged in to the desk and admin."""
    user = UserFactory(username="chief", password="!", is_staff=True, is_superuser=True)
    AgentFactory(user=user)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _html(response) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


def _loose(response) -> list[str]:
    """What in the page's policy would let a script run that is not one of our files."""
    policy = directives(response.get("Content-Security-Policy", ""))
    if not policy:
        return ["no Content-Security-Policy"]
    scripts = policy.get("script-src", policy.get("default-src", ["*"]))
    return sorted(LOOSE.intersection(scripts)) + [
        name for name in ("object-src", "base-uri") if name not in policy
    ]


@pytest.mark.parametrize("path", SITE_ROUTES)
def test_every_page_has_the_strict_policy(supervisor, path):
    response = supervisor.get(path)

    assert not _html(response) or _loose(response) == []


def test_every_admin_page_has_the_strict_policy(supervisor):
    responses = {path: supervisor.get(path) for path in ADMIN_ROUTES}
    pages = {path: response for path, response in responses.items() if _html(response)}

    assert len([r for r in pages.values() if r.status_code == 200]) > 30
    assert {path: _loose(response) for path, response in pages.items() if _loose(response)} == {}


def test_the_pages_get_the_site_policy_itself(supervisor):
    for path in ("/desk/", "/desk/tickets/", "/desk/analytics/", "/help/", "/chat/", "/admin/"):
        response = supervisor.get(path)

        assert response.status_code == 200, path
        assert directives(response["Content-Security-Policy"]) == SITE_POLICY, path


def test_an_error_page_gets_the_site_policy_too(supervisor):
    response = supervisor.get("/desk/no-such-page/")

    assert response.status_code == 404
    assert directives(response["Content-Security-Policy"]) == SITE_POLICY


def test_a_visitor_who_is_not_logged_in_gets_it_on_the_login_page():
    response = Client().get("/desk/login/")

    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == SITE_POLICY


def test_check_deploy_is_clean_with_the_production_settings():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings_production",
        "SECRET_KEY": "a-production-key-" + "x" * 60,
    }

    checked = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "System check identified no issues" in checked.stdout
