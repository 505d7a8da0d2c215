"""`customer.updated` from every path that changes what partners see of a customer: admin,
the desk's 360° panel, a level change, a merge and its undoing, a chat identity; once per
change, and never for a change partners cannot see or that changed nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse

from conversations.models import Conversation
from customers import services
from customers.models import Customer, CustomerMerge, CustomerTag, LevelChange
from customers.services.identities import customer_for_verified_identity
from customers.services.levels import change_level
from customers.services.merge import merge_customers, unmerge_customers
from customers.services.profiles import upsert_customer
from helpdesk.models import ApiKey, OutboundEvent, WebhookDelivery
from helpdesk.webhooks import deliveries, subscriptions
from tests.customers.admin_forms import customer_change as admin_save
from tests.factories import (
    AgentFactory,
    ConversationFactory,
    CustomerFactory,
    CustomerTagFactory,
)

pytestmark = pytest.mark.django_db


def told() -> list[dict]:
    """The `customer.updated` events' data, in the order they were written."""
    return list(
        OutboundEvent.objects.filter(event="customer.updated")
        .order_by("seq")
        .values_list("data", flat=True)
    )


@pytest.fixture
def customer():
    return CustomerFactory(name="王芳", external_id="u-1001", email="fang@example.com")


@pytest.fixture
def boss(client):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-12345678")
    client.force_login(user)
    return user


# --- admin -----------------------------------------------------------------------------------


def test_an_admin_edit_tells_partners_once_with_the_fields_that_changed(client, boss, customer):
    response = admin_save(client, customer, name="王芳芳", email="fang@lumen.example")

    assert response.status_code == 302, response.context["adminform"].form.errors
    [data] = told()
    assert data["changed"] == ["email", "name"]
    assert data["created"] is False
    assert data["customer"]["external_id"] == "u-1001"
    assert (data["customer"]["name"], data["customer"]["email"]) == (
        "王芳芳",
        "fang@lumen.example",
    )


def test_an_admin_save_that_changes_nothing_tells_nothing(client, boss, customer):
    response = admin_save(client, customer)

    assert response.status_code == 302
    assert told() == []


def test_an_admin_edit_partners_do_not_see_tells_nothing(client, boss, customer):
    response = admin_save(client, customer, care_opt_out="on", quiet_start="22:00")

    assert response.status_code == 302
    assert Customer.objects.get().care_opt_out is True
    assert told() == []


def test_a_level_changed_in_admin_is_one_event_with_the_segment_that_follows(
    client, boss, customer
):
    response = admin_save(client, customer, level="vip")

    assert response.status_code == 302
    [data] = told()
    assert data["changed"] == ["level", "segment"]
    assert (data["customer"]["level"], data["customer"]["segment"]) == ("vip", "vip")
    assert LevelChange.objects.get().changed_by == boss


def test_fields_and_a_tag_saved_together_in_admin_are_one_event(client, boss, customer):
    response = admin_save(client, customer, name="Fang", tags=["wholesale"])

    assert response.status_code == 302, response.context["adminform"].form.errors
    [data] = told()
    assert data["changed"] == ["name", "tags"]
    assert data["customer"]["tags"] == ["wholesale"]


def test_an_admin_form_refused_tells_nothing(client, boss, customer):
    response = admin_save(client, customer, name="Fang", email="not an address")

    assert response.status_code == 200
    assert Customer.objects.get().name == "王芳"
    assert told() == []


def test_a_customer_added_in_admin_with_a_shop_account_is_told_as_created(client, boss):
    response = client.post(
        reverse("admin:customers_customer_add"),
        {
            "external_id": "u-3003",
            "name": "Li Lei",
            "language": "en",
            "level": "silver",
            "timezone": "Asia/Shanghai",
            "attributes": "{}",
            "tags-TOTAL_FORMS": "1",
            "tags-INITIAL_FORMS": "0",
            "tags-0-name": "b2b",
            **{
                f"{prefix}-{count}": "0"
                for prefix in ("identities", "notes", "orders", "points_entries", "level_changes")
                for count in ("TOTAL_FORMS", "INITIAL_FORMS")
            },
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    [data] = told()
    assert data["created"] is True
    assert (data["customer"]["external_id"], data["customer"]["tags"]) == ("u-3003", ["b2b"])
    assert {"external_id", "name", "level", "tags"} <= set(data["changed"])


# --- the desk's 360° panel -------------------------------------------------------------------


@pytest.fixture
def desk(client, customer):
    agent = AgentFactory()
    conversation = ConversationFactory(
        customer=customer, status=Conversation.Status.ASSIGNED, assignee=agent
    )
    client.force_login(agent.user)
    return client, conversation


def _desk_url(name, conversation, *args):
    return reverse(f"desk:{name}", args=[conversation.id, *args])


def test_a_tag_added_in_the_desk_is_told_and_adding_it_again_is_not(desk):
    client, conversation = desk

    client.post(_desk_url("customer-tag-add", conversation), {"name": "price sensitive"})
    client.post(_desk_url("customer-tag-add", conversation), {"name": "price sensitive"})

    [data] = told()
    assert (data["changed"], data["customer"]["tags"]) == (["tags"], ["price sensitive"])


def test_a_tag_removed_in_the_desk_is_told(desk, customer):
    client, conversation = desk
    tag = CustomerTagFactory(customer=customer, name="vip-ish", source=CustomerTag.Source.MANUAL)

    client.post(_desk_url("customer-tag-remove", conversation, tag.pk))

    [data] = told()
    assert (data["changed"], data["customer"]["tags"]) == (["tags"], [])


def test_a_note_is_not_part_of_what_partners_see(desk):
    client, conversation = desk

    client.post(_desk_url("customer-note-add", conversation), {"body": "prefers email"})

    assert told() == []


def test_a_visitor_without_a_shop_account_is_told_to_nobody():
    visitor = CustomerFactory()

    services.add_customer_tag(customer_id=visitor.pk, name="curious", created_by=None)

    assert told() == []


# --- levels, the partner API, rollback ---------------------------------------------------------


def test_a_level_change_is_told_once_and_the_same_level_again_not(customer):
    change_level(customer_id=customer.pk, level="gold", source=LevelChange.Source.API)
    change_level(customer_id=customer.pk, level="gold", source=LevelChange.Source.API)

    [data] = told()
    assert (data["changed"], data["customer"]["level"]) == (["level"], "gold")


def test_the_partner_put_still_tells_its_change_once(customer):
    upsert_customer(external_id="u-1001", name="Fang", level="silver", tags=["b2b"])

    [data] = told()
    assert data["changed"] == ["name", "level", "tags"]


def test_a_change_that_rolls_back_tells_nothing(customer):
    with pytest.raises(RuntimeError), transaction.atomic():
        change_level(customer_id=customer.pk, level="gold", source=LevelChange.Source.API)
        raise RuntimeError

    assert told() == []


# --- merging ----------------------------------------------------------------------------------


def test_a_merge_tells_the_customer_who_stays_once_with_what_it_took(customer):
    visitor = CustomerFactory(name="", phone="13800000000", level="gold")
    CustomerTagFactory(customer=visitor, name="wechat", source=CustomerTag.Source.MANUAL)

    merge_customers(source_id=visitor.pk, target_id=customer.pk, how=CustomerMerge.How.ADMIN)

    [data] = told()
    assert data["customer"]["external_id"] == "u-1001"
    assert data["changed"] == ["level", "phone", "tags"]
    assert data["customer"]["tags"] == ["wechat"]


def test_a_customer_who_takes_the_others_account_in_a_merge_is_told_with_it(customer):
    visitor = CustomerFactory(name="Fang")

    merge_customers(source_id=customer.pk, target_id=visitor.pk, how=CustomerMerge.How.ADMIN)

    [data] = told()
    assert data["customer"]["external_id"] == "u-1001"
    assert "external_id" in data["changed"]


def test_undoing_a_merge_tells_who_stayed_and_who_came_back(customer):
    other = CustomerFactory(name="Fang B", external_id="u-2002")
    CustomerTagFactory(customer=other, name="b2b", source=CustomerTag.Source.MANUAL)
    merge = merge_customers(source_id=other.pk, target_id=customer.pk, how="admin")
    OutboundEvent.objects.all().delete()

    unmerge_customers(merge_id=merge.pk, by=None)

    stayed, back = told()
    assert (stayed["customer"]["external_id"], stayed["changed"]) == ("u-1001", ["tags"])
    assert (back["customer"]["external_id"], back["created"]) == ("u-2002", True)
    assert back["customer"]["tags"] == ["b2b"]


# --- chat identity, inbound, delivery ------------------------------------------------------------------


def test_a_chat_identity_with_a_new_name_is_told_and_the_same_again_not(customer):
    identity = services.Identity(
        external_id="u-1001",
        name="Fang W.",
        hash=services.identity_hash("u-1001"),
    )

    services.customer_for_identity(identity=identity, language="zh")
    services.customer_for_identity(identity=identity, language="zh")

    [data] = told()
    assert (data["changed"], data["customer"]["name"]) == (["name"], "Fang W.")


def test_a_chat_session_that_brings_a_new_shop_account_is_told_as_created():
    identity = services.Identity(
        external_id="u-4004", name="Han Mei", hash=services.identity_hash("u-4004")
    )

    services.customer_for_identity(identity=identity, language="en")
    services.customer_for_identity(identity=identity, language="en")

    [data] = told()
    assert (data["customer"]["external_id"], data["customer"]["name"]) == ("u-4004", "Han Mei")
    assert data["created"] is True


def test_a_new_customer_of_the_partner_put_is_told_once(db):
    upsert_customer(external_id="u-5005", name="New")

    [data] = told()
    assert (data["created"], data["customer"]["external_id"]) == (True, "u-5005")


def test_a_visitor_made_by_a_wechat_identity_is_told_to_nobody():
    customer_for_verified_identity(kind="wechat", value="oWx-9", method="partner_api")

    assert told() == []


def test_an_admin_edit_reaches_a_customer_updated_subscription_in_the_customers_order(
    client, boss, customer, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    key, _raw = ApiKey.issue(name="CRM", scopes=["webhooks"])
    subscriptions.create_subscription(
        api_key=key, url="http://127.0.0.1:9/hook", events=["customer.updated"]
    )

    admin_save(client, customer, name="Fang")
    deliveries.fan_out()

    assert WebhookDelivery.objects.get().subject == "customer:u-1001"
