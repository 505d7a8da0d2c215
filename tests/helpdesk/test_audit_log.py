"""The audit log: each security-relevant action is exactly one entry, written with the
action; supervisors read it in admin, nobody changes or deletes it, agents never see it
(docs/security.md, "Audit log")."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from conversations.roles import AGENTS, SUPERVISORS, ensure_roles
from customers.models import Customer
from customers.services.merge import MergeRefused, merge_customers, unmerge_customers
from helpdesk import audit
from helpdesk.models import ApiKey, AuditEntry
from helpdesk.tasks import prune_audit_log_task
from tests.factories import AgentFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

Action = AuditEntry.Action
LOG = reverse("admin:helpdesk_auditentry_changelist")


def staff(role: str, **fields):
    ensure_roles()
    user = UserFactory(is_staff=True, **fields)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def supervisor(client):
    user = staff(SUPERVISORS, username="chen")
    client.force_login(user)
    return user


@pytest.fixture
def superuser(client):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def entries(action: str):
    return AuditEntry.objects.filter(action=action)


def form_data(response) -> dict:
    """The POST an admin change form would send as it stands."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None or field.disabled:
            continue
        widget = field.widget
        if hasattr(widget, "widgets"):  # a date and a time
            for index, part in enumerate(widget.decompress(value)):
                data[f"{name}_{index}"] = widget.widgets[index].format_value(part) or ""
        elif isinstance(value, list | tuple):
            data[name] = [str(v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = form[name].field.widget.format_value(value) or ""
    return data


# --- API keys ------------------------------------------------------------------------


def test_a_key_issued_in_admin_is_one_entry_by_the_supervisor(client, supervisor):
    response = client.post(
        reverse("admin:helpdesk_apikey_add"),
        {"name": "CRM <i>x</i>", "scopes": ["tickets", "customers"], "expires_at": ""},
    )

    assert response.status_code == 302
    key = ApiKey.objects.get()
    entry = entries(Action.API_KEY_CREATED).get()
    assert (entry.actor, entry.target_type, entry.target_id) == (
        supervisor,
        "helpdesk.apikey",
        str(key.pk),
    )
    assert entry.details == {"scopes": ["customers", "tickets"], "expires_at": None}
    assert entry.ip == "127.0.0.1"


def test_a_key_made_by_the_command_is_one_entry_without_an_actor():
    call_command("create_api_key", "--name", "ERP", "--scopes", "orders")

    entry = entries(Action.API_KEY_CREATED).get()
    assert (entry.actor, entry.target_repr) == (None, str(ApiKey.objects.get()))


def test_revoking_keys_is_one_entry_per_key_and_none_for_a_revoked_one(client, supervisor):
    first, _ = ApiKey.issue(name="a", scopes=["orders"])
    second, _ = ApiKey.issue(name="b", scopes=["orders"])
    changelist = reverse("admin:helpdesk_apikey_changelist")
    client.post(changelist, {"action": "revoke", "_selected_action": [first.pk]})

    client.post(changelist, {"action": "revoke", "_selected_action": [first.pk, second.pk]})

    revoked = entries(Action.API_KEY_REVOKED)
    assert sorted(revoked.values_list("target_id", flat=True)) == sorted(
        [str(first.pk), str(second.pk)]
    )
    assert set(revoked.values_list("actor", flat=True)) == {supervisor.pk}


# --- Exports -------------------------------------------------------------------------


def test_a_dashboard_table_downloaded_is_one_entry(client, supervisor):
    AgentFactory(user=supervisor)

    response = client.get("/desk/analytics/?export=by_channel")

    assert response.status_code == 200
    entry = entries(Action.EXPORT).get()
    assert (entry.actor, entry.target_type, entry.target_id) == (
        supervisor,
        "analytics.table",
        "by_channel",
    )
    assert set(entry.details) == {"from", "to", "rows"}


def test_a_drill_download_is_one_entry(client, supervisor):
    AgentFactory(user=supervisor)

    response = client.get("/desk/analytics/drill/?metric=counted&export=1")

    assert response.status_code == 200
    assert entries(Action.EXPORT).get().target_id == "drill:counted"


def test_a_page_of_the_dashboard_is_no_export(client, supervisor):
    AgentFactory(user=supervisor)

    client.get("/desk/analytics/")

    assert not entries(Action.EXPORT).exists()


# --- Customer merges ------------------------------------------------------------------


def test_a_merge_and_its_undoing_are_one_entry_each():
    by = UserFactory()
    stays, goes = CustomerFactory(name="王芳"), CustomerFactory(name="Fang")

    merge = merge_customers(source_id=goes.pk, target_id=stays.pk, how="desk", by=by)
    unmerge_customers(merge_id=merge.pk, by=by, reason="wrong person")

    merged = entries(Action.CUSTOMERS_MERGED).get()
    undone = entries(Action.MERGE_UNDONE).get()
    assert (merged.actor, merged.target_id, merged.details["merged_id"]) == (
        by,
        str(stays.pk),
        goes.pk,
    )
    assert (undone.details["merge_id"], undone.details["reason"]) == (merge.pk, "wrong person")


def test_a_refused_merge_writes_nothing():
    customer = CustomerFactory()

    with pytest.raises(MergeRefused):
        merge_customers(source_id=customer.pk, target_id=customer.pk, how="desk")

    assert not entries(Action.CUSTOMERS_MERGED).exists()


# --- Deletions in admin ------------------------------------------------------------


def test_an_object_deleted_on_its_delete_page_is_one_entry(client, superuser):
    customer = CustomerFactory(name="<script>alert(1)</script>")

    response = client.post(
        reverse("admin:customers_customer_delete", args=[customer.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Customer.objects.filter(pk=customer.pk).exists()
    entry = entries(Action.DELETED).get()
    assert (entry.actor, entry.target_type, entry.target_id) == (
        superuser,
        "customers.customer",
        str(customer.pk),
    )


def test_delete_selected_is_one_entry_per_object(client, superuser):
    keys = [ApiKey.issue(name=n, scopes=["orders"])[0] for n in ("a", "b")]

    client.post(
        reverse("admin:helpdesk_apikey_changelist"),
        {"action": "delete_selected", "_selected_action": [k.pk for k in keys], "post": "yes"},
    )

    assert not ApiKey.objects.exists()
    assert sorted(entries(Action.DELETED).values_list("target_id", flat=True)) == sorted(
        str(k.pk) for k in keys
    )


# --- Users, groups, passwords ----------------------------------------------------------


def test_a_users_groups_and_staff_flag_changed_in_admin_is_one_entry(client, superuser):
    ensure_roles()
    agent = UserFactory(username="agent7")
    url = reverse("admin:auth_user_change", args=[agent.pk])
    data = form_data(client.get(url))
    data["groups"] = [str(Group.objects.get(name=SUPERVISORS).pk)]
    data["is_staff"] = "on"

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = entries(Action.USER_ACCESS_CHANGED).get()
    assert (entry.actor, entry.target_id) == (superuser, str(agent.pk))
    assert entry.details == {
        "is_staff": {"before": False, "after": True},
        "groups": {"added": [SUPERVISORS], "removed": []},
    }


def test_a_user_saved_without_changing_access_writes_nothing(client, superuser):
    agent = UserFactory(username="agent8")
    url = reverse("admin:auth_user_change", args=[agent.pk])
    data = form_data(client.get(url))
    data["first_name"] = "Lin"

    assert client.post(url, data).status_code == 302
    assert not entries(Action.USER_ACCESS_CHANGED).exists()


def test_a_plain_user_added_in_admin_writes_no_access_change(client, superuser):
    response = client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "newcomer",
            "usable_password": "true",
            "password1": "a-long-new-secret-42",
            "password2": "a-long-new-secret-42",
        },
    )

    assert response.status_code == 302
    assert not entries(Action.USER_ACCESS_CHANGED).exists()


def test_a_groups_permissions_changed_in_admin_is_one_entry(client, superuser):
    group = Group.objects.create(name="Night shift")
    permission = Permission.objects.get(codename="view_customer")
    url = reverse("admin:auth_group_change", args=[group.pk])

    response = client.post(url, {"name": "Night shift", "permissions": [permission.pk]})

    assert response.status_code == 302
    entry = entries(Action.GROUP_PERMISSIONS_CHANGED).get()
    assert entry.details == {"permissions": {"added": ["customers.view_customer"], "removed": []}}


def test_a_password_set_in_admin_is_one_entry(client, superuser):
    agent = UserFactory(username="agent9")

    response = client.post(
        reverse("admin:auth_user_password_change", args=[agent.pk]),
        {"password1": "a-long-new-secret-42", "password2": "a-long-new-secret-42"},
    )

    assert response.status_code == 302
    entry = entries(Action.PASSWORD_SET).get()
    assert (entry.actor, entry.target_id) == (superuser, str(agent.pk))


# --- Who sees the log, and that it stays as written ----------------------------------------


def test_supervisors_see_the_log_with_hostile_names_inert(client, supervisor):
    AuditEntry.objects.create(
        action=Action.LOGIN_FAILED,
        actor_name="<script>alert(1)</script>",
        target_repr="<img src=x onerror=alert(2)>",
        details={"where": "<b>desk</b>"},
    )

    listing = client.get(LOG, {"q": "script"})
    entry = AuditEntry.objects.get(action=Action.LOGIN_FAILED)
    detail = client.get(reverse("admin:helpdesk_auditentry_change", args=[entry.pk]))

    assert listing.status_code == detail.status_code == 200
    for page in (listing.content.decode(), detail.content.decode()):
        assert "<script>alert(1)" not in page
        assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing.content.decode()
    assert "&lt;b&gt;desk&lt;/b&gt;" in detail.content.decode()


def test_the_log_filters_by_action_and_searches_by_address(client, supervisor):
    AuditEntry.objects.create(action=Action.EXPORT, actor_name="a", ip="10.1.2.3")
    AuditEntry.objects.create(action=Action.LOGOUT, actor_name="b", ip="10.9.9.9")

    by_action = client.get(LOG, {"action__exact": Action.EXPORT})
    by_address = client.get(LOG, {"q": "10.1.2"})

    assert [e.ip for e in by_action.context["cl"].result_list] == ["10.1.2.3"]
    assert [e.ip for e in by_address.context["cl"].result_list] == ["10.1.2.3"]


def test_a_staff_agent_who_is_not_a_supervisor_gets_403(client):
    client.force_login(staff(AGENTS))

    assert client.get(LOG).status_code == 403


def test_an_agent_without_admin_access_is_sent_to_log_in(client):
    client.force_login(AgentFactory().user)

    response = client.get(LOG)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_not_even_a_superuser_may_add_change_or_delete_an_entry(client, superuser):
    entry = AuditEntry.objects.create(action=Action.EXPORT, actor_name="a")
    change = reverse("admin:helpdesk_auditentry_change", args=[entry.pk])

    added = client.post(reverse("admin:helpdesk_auditentry_add"), {"action": "export"})
    changed = client.post(change, {"action": "logout", "actor_name": "b"})
    deleted = client.post(
        reverse("admin:helpdesk_auditentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    bulk = client.post(
        LOG, {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    )

    assert added.status_code == deleted.status_code == 403
    assert changed.status_code == 403
    assert bulk.status_code in (200, 302)
    entry.refresh_from_db()
    assert (entry.action, entry.actor_name) == (Action.EXPORT, "a")


def test_an_entry_cannot_be_saved_again_or_deleted():
    entry = AuditEntry.objects.create(action=Action.EXPORT, actor_name="a")

    with pytest.raises(ValueError, match="never changed"):
        entry.save()
    with pytest.raises(ValueError, match="never deleted"):
        entry.delete()


def _entries_aged(days: list[int], now) -> None:
    for age in days:
        AuditEntry.objects.create(
            action=Action.LOGIN, target_repr=f"{age} days", created_at=now - timedelta(days=age)
        )


def test_the_retention_job_deletes_only_entries_past_the_retention_in_batches(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    now = timezone.now()
    _entries_aged([400, 90, 31, 31, 30 - 1, 1, 0], now)

    assert audit.prune(now=now, batch=2) == 4

    kept = sorted(AuditEntry.objects.values_list("target_repr", flat=True))
    assert kept == ["0 days", "1 days", "29 days"]
    assert audit.prune(now=now) == 0


def test_with_no_retention_every_entry_is_kept(settings):
    settings.AUDIT_RETENTION_DAYS = 0
    now = timezone.now()
    _entries_aged([4000, 1], now)

    assert prune_audit_log_task() == 0
    assert AuditEntry.objects.count() == 2


def test_the_retention_job_is_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["prune-audit-log"]
    assert entry["task"] == prune_audit_log_task.name
    assert entry["schedule"] == 86400.0
