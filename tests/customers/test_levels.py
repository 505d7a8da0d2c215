"""Membership levels: the history of every change, and one congratulation per upgrade."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from conversations.models import Message
from conversations.services import care as sender
from customers.models import CareCampaign, Customer, LevelChange, Outreach
from customers.services.levels import change_level
from tests.customers.admin_forms import customer_change
from tests.factories import ConversationFactory, CustomerFactory, care_campaign

pytestmark = pytest.mark.django_db


def test_an_upgrade_is_recorded_and_claims_one_congratulation():
    care_campaign(CareCampaign.Kind.LEVEL_UP)
    customer = CustomerFactory(level="normal")

    change = change_level(customer_id=customer.pk, level="gold", source="api")
    again = change_level(customer_id=customer.pk, level="gold", source="api")

    customer.refresh_from_db()
    assert again is None
    assert customer.level == "gold"
    assert (change.old, change.new, change.source) == ("normal", "gold", "api")
    assert list(Outreach.objects.values_list("occasion", "subject")) == [
        (f"level:{change.pk}", "gold")
    ]


def test_a_downgrade_is_recorded_without_a_message():
    care_campaign(CareCampaign.Kind.LEVEL_UP)
    customer = CustomerFactory(level="vip")

    change_level(customer_id=customer.pk, level="silver", source="system")

    assert LevelChange.objects.get().is_upgrade is False
    assert not Outreach.objects.exists()


def test_an_unknown_level_is_refused_and_changes_nothing():
    customer = CustomerFactory(level="normal")

    with pytest.raises(ValueError):
        change_level(customer_id=customer.pk, level="platinum", source="api")

    assert Customer.objects.get().level == "normal"
    assert not LevelChange.objects.exists()


def test_a_change_that_rolls_back_leaves_no_history_and_no_claim():
    care_campaign(CareCampaign.Kind.LEVEL_UP)
    customer = CustomerFactory(level="normal")

    with pytest.raises(RuntimeError), transaction.atomic():
        change_level(customer_id=customer.pk, level="vip", source="api")
        raise RuntimeError

    assert not LevelChange.objects.exists() and not Outreach.objects.exists()


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("zh", "王芳升级为金卡：免费配送、优先服务，每单 95 折"),
        ("en", "王芳 is Gold: free shipping, priority service and 5% off every order"),
    ],
)
def test_the_congratulation_names_the_level_and_its_benefits_in_the_customers_language(
    language, text
):
    care_campaign(CareCampaign.Kind.LEVEL_UP)
    conversation = ConversationFactory(customer=CustomerFactory(name="王芳", language=language))
    change_level(customer_id=conversation.customer_id, level="gold", source="api")

    sender.send_due_outreach(now=timezone.now())

    assert Message.objects.get(conversation=conversation, meta__event="care").body == text


def test_a_level_changed_in_admin_is_recorded_with_the_supervisor(client):
    care_campaign(CareCampaign.Kind.LEVEL_UP)
    admin = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-12345678")
    customer = CustomerFactory(level="normal", name="Fang")
    client.force_login(admin)

    response = customer_change(client, customer, level="vip")

    assert response.status_code == 302, response.context["adminform"].form.errors
    change = LevelChange.objects.get()
    assert (change.old, change.new, change.source, change.changed_by) == (
        "normal",
        "vip",
        "admin",
        admin,
    )
    assert Customer.objects.get().level == "vip"
    assert Outreach.objects.filter(campaign__kind="level_up").count() == 1
