"""The export and the erasure in admin: supervisors only, a download named after the
customer, a confirmation step, a clear answer to everything else."""

import json

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from conversations.models import Conversation
from conversations.roles import AGENTS, SUPERVISORS, ensure_roles
from customers.models import Customer
from helpdesk.models import AuditEntry
from tests.factories import ConversationFactory, CustomerFactory, MessageFactory, UserFactory

pytestmark = pytest.mark.django_db


def staff(role: str):
    ensure_roles()
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def customer():
    found = CustomerFactory(name="王芳", email="fang@example.com", external_id="acct-fang")
    conversation = ConversationFactory(customer=found, status=Conversation.Status.CLOSED)
    MessageFactory(conversation=conversation, seq=1, body="我住在南京路 1 号")
    return found


def export_url(customer):
    return reverse("admin:customers_customer_export", args=[customer.pk])


def erase_url(customer):
    return reverse("admin:customers_customer_erase", args=[customer.pk])


def test_a_supervisor_downloads_the_customers_json(client, customer):
    client.force_login(staff(SUPERVISORS))

    response = client.get(export_url(customer))

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="customer-{customer.pk}.json"'
    assert response["Content-Type"].startswith("application/json")
    document = json.loads(response.content)
    assert document["customer"]["email"] == "fang@example.com"
    assert document["conversations"][0]["messages"][0]["body"] == "我住在南京路 1 号"


def test_the_customer_page_shows_the_supervisor_both_buttons(client, customer):
    client.force_login(staff(SUPERVISORS))

    page = client.get(reverse("admin:customers_customer_change", args=[customer.pk])).content

    assert export_url(customer).encode() in page
    assert erase_url(customer).encode() in page
    assert "导出数据（JSON）".encode() in page


def test_an_agent_sees_no_buttons_and_is_refused_both(client, customer):
    client.force_login(staff(AGENTS))

    page = client.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    exported = client.get(export_url(customer))
    erased = client.post(erase_url(customer), {"confirm": "yes"})

    assert page.status_code == 200
    assert export_url(customer).encode() not in page.content
    assert erase_url(customer).encode() not in page.content
    assert (exported.status_code, erased.status_code) == (403, 403)
    assert Customer.objects.get(pk=customer.pk).erased_at is None


def test_anonymous_is_sent_to_the_login(client, customer):
    response = client.get(export_url(customer))

    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize("object_id", ["999999", "abc", "1.5"])
def test_an_unknown_customer_is_a_404(client, object_id):
    client.force_login(staff(SUPERVISORS))

    exported = client.get(f"/admin/customers/customer/{object_id}/export/")
    erased = client.get(f"/admin/customers/customer/{object_id}/erase/")

    assert (exported.status_code, erased.status_code) == (404, 404)


def test_the_erasure_asks_for_confirmation_first(client, customer):
    client.force_login(staff(SUPERVISORS))

    page = client.get(erase_url(customer))
    unconfirmed = client.post(erase_url(customer), {})

    assert page.status_code == 200
    assert "无法恢复".encode() in page.content
    assert unconfirmed.status_code == 400
    assert "请勾选确认框".encode() in unconfirmed.content
    assert Customer.objects.get(pk=customer.pk).erased_at is None


def test_a_confirmed_erasure_erases_and_goes_back_to_the_customer(client, customer):
    client.force_login(staff(SUPERVISORS))

    response = client.post(erase_url(customer), {"confirm": "yes"}, follow=True)

    erased = Customer.objects.get(pk=customer.pk)
    assert response.redirect_chain[-1][0] == reverse(
        "admin:customers_customer_change", args=[customer.pk]
    )
    assert erased.erased_at is not None and erased.email == ""
    assert [str(m) for m in response.context["messages"]] == [
        f"顾客 {customer.pk} 的个人数据已删除（删除了 0 个文件）。"
    ]
    assert erase_url(customer).encode() not in response.content


def test_an_open_conversation_is_a_409_with_the_reason(client, customer):
    client.force_login(staff(SUPERVISORS))
    ConversationFactory(customer=customer, status=Conversation.Status.BOT)

    response = client.post(erase_url(customer), {"confirm": "yes"})

    assert response.status_code == 409
    assert "请先结束".encode() in response.content
    assert Customer.objects.get(pk=customer.pk).erased_at is None


def test_erasing_an_erased_customer_again_says_so(client, customer):
    client.force_login(staff(SUPERVISORS))
    client.post(erase_url(customer), {"confirm": "yes"})

    response = client.post(erase_url(customer), {"confirm": "yes"}, follow=True)

    assert [str(m) for m in response.context["messages"]][-1] == "这位顾客的个人数据已经删除过了。"


def test_an_export_and_an_erasure_are_one_audit_entry_each_naming_the_supervisor(client, customer):
    supervisor = staff(SUPERVISORS)
    client.force_login(supervisor)

    client.get(export_url(customer))
    client.post(erase_url(customer), {"confirm": "yes"})
    client.post(erase_url(customer), {"confirm": "yes"})  # already erased: no second entry

    rows = list(
        AuditEntry.objects.filter(target_id=str(customer.pk))
        .order_by("pk")
        .values_list("action", "actor_id", "target_type")
    )
    assert rows == [
        (AuditEntry.Action.EXPORT, supervisor.pk, "customers.customer"),
        (AuditEntry.Action.CUSTOMER_ERASED, supervisor.pk, "customers.customer"),
    ]


def test_a_refused_erasure_writes_no_audit_entry(client, customer):
    client.force_login(staff(SUPERVISORS))
    ConversationFactory(customer=customer, status=Conversation.Status.BOT)

    client.post(erase_url(customer), {"confirm": "yes"})

    assert not AuditEntry.objects.filter(action=AuditEntry.Action.CUSTOMER_ERASED).exists()
