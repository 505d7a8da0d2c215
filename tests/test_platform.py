"""Health, demo data, roles and the error pages."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from conversations.models import Agent, SkillGroup

pytestmark = pytest.mark.django_db


def test_healthz_reports_both_services_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_healthz_says_redis_failed_when_it_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["redis"].startswith("error")


def test_demo_data_is_idempotent():
    call_command("load_demo")
    snapshot = (
        list(Agent.objects.values_list("display_name", "user__password").order_by("pk")),
        SkillGroup.objects.count(),
    )

    call_command("load_demo")

    assert snapshot == (
        list(Agent.objects.values_list("display_name", "user__password").order_by("pk")),
        SkillGroup.objects.count(),
    )
    assert Agent.objects.count() == 4
    assert SkillGroup.objects.count() == 5


def test_the_two_roles_exist_with_permissions():
    supervisors = Group.objects.get(name="Supervisors")
    agents = Group.objects.get(name="Agents")

    assert supervisors.permissions.filter(codename="change_conversation").exists()
    assert agents.permissions.filter(codename="view_conversation").exists()
    assert not agents.permissions.filter(codename="delete_conversation").exists()


def test_an_unknown_api_route_answers_json_404(client):
    response = client.get("/api/v1/nothing-here/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_admin_lists_conversations_for_a_supervisor(admin_client):
    assert admin_client.get("/admin/conversations/conversation/").status_code == 200
    assert admin_client.get("/admin/conversations/message/").status_code == 200
    assert admin_client.get("/admin/customers/customer/").status_code == 200


def test_the_openapi_schema_validates_without_warnings():
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_the_schema_is_served(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert b"/api/v1/chat/sessions/" in response.content
