"""Channel identities: a verified one finds (or creates) its one customer, a claim is kept
on its claimant only, two customers holding one verified identity are merged."""

import pytest

from customers.models import Customer, CustomerIdentity, CustomerMerge
from customers.services.identities import (
    IdentityConflict,
    InvalidIdentity,
    attach_verified_identity,
    claim_identity,
    customer_for_verified_identity,
    normalize,
)
from tests.factories import ConversationFactory, CustomerFactory
from tests.threads import at_once

pytestmark = pytest.mark.django_db


def test_an_inbound_wechat_openid_finds_or_creates_one_customer():
    first = customer_for_verified_identity(
        kind="wechat", value="oWx-1", method="partner_api", language="zh", source="partner API"
    )
    again = customer_for_verified_identity(kind="wechat", value=" oWx-1 ", method="partner_api")

    assert first.pk == again.pk
    identity = CustomerIdentity.objects.get()
    assert (identity.customer, identity.verified, identity.verified_by) == (
        first,
        True,
        "partner_api",
    )


def test_a_shop_account_recorded_only_in_external_id_is_found_and_recorded():
    old = CustomerFactory(external_id="u-1")

    found = customer_for_verified_identity(kind="account", value="u-1", method="identity_hash")

    assert found.pk == old.pk
    assert old.identities.get().verified_by == "import"


@pytest.mark.django_db(transaction=True)
def test_two_first_messages_at_once_create_one_customer():
    results = at_once(
        lambda: (
            customer_for_verified_identity(
                kind="miniprogram", value="mp-7", method="partner_api"
            ).pk
        ),
        times=4,
    )

    assert len(set(results)) == 1
    assert Customer.objects.count() == 1 and CustomerIdentity.objects.count() == 1


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("email", "not-an-email"),
        ("phone", "call me"),
        ("wechat", ""),
        ("wechat", "x" * 201),
        ("wechat", "a\x00b"),
        ("wechat", 12),
        ("fax", "123"),
    ],
)
def test_a_malformed_identity_is_refused_and_nothing_stored(kind, value):
    customer = CustomerFactory()

    with pytest.raises(InvalidIdentity):
        claim_identity(customer_id=customer.pk, kind=kind, value=value, source="chat")
    with pytest.raises(InvalidIdentity):
        customer_for_verified_identity(kind=kind, value=value, method="partner_api")

    assert not CustomerIdentity.objects.exists() and Customer.objects.count() == 1


def test_emails_and_phones_are_compared_in_one_form():
    assert normalize("email", " Fang@Example.COM ") == "fang@example.com"
    assert normalize("phone", "+86 138-0000 1001") == "+8613800001001"


def test_a_claim_is_kept_once_and_never_verified_by_repeating_it():
    customer = CustomerFactory()

    claim_identity(customer_id=customer.pk, kind="email", value="a@b.cn", source="chat")
    claim = claim_identity(customer_id=customer.pk, kind="email", value="A@B.cn", source="chat")

    assert (CustomerIdentity.objects.count(), claim.verified) == (1, False)


def test_a_verified_identity_held_by_another_customer_merges_them():
    shop = CustomerFactory(external_id="u-1")
    wechat = customer_for_verified_identity(kind="wechat", value="oWx-1", method="partner_api")
    ConversationFactory(customer=wechat, channel="wechat")

    merge = attach_verified_identity(
        customer_id=shop.pk, kind="wechat", value="oWx-1", method="partner_api"
    )

    assert (merge.survivor_id, merge.merged_id, merge.how) == (shop.pk, wechat.pk, "identity")
    assert shop.conversations.get().channel == "wechat"
    assert shop.identities.filter(kind="wechat", verified=True).count() == 1


def test_a_claim_then_verified_is_promoted_without_a_merge():
    customer = CustomerFactory()
    claim_identity(customer_id=customer.pk, kind="email", value="a@b.cn", source="chat")

    merge = attach_verified_identity(
        customer_id=customer.pk, kind="email", value="a@b.cn", method="agent"
    )

    assert merge is None
    assert CustomerIdentity.objects.get().verified


def test_two_shop_accounts_are_never_merged_automatically():
    one, two = CustomerFactory(external_id="u-1"), CustomerFactory(external_id="u-2")
    attach_verified_identity(customer_id=one.pk, kind="email", value="a@b.cn", method="agent")

    with pytest.raises(IdentityConflict):
        attach_verified_identity(customer_id=two.pk, kind="email", value="a@b.cn", method="agent")

    assert not CustomerMerge.objects.exists()
    assert not two.identities.exists()


def test_a_claim_of_someone_elses_verified_email_merges_nothing():
    holder = CustomerFactory(external_id="u-1")
    attach_verified_identity(customer_id=holder.pk, kind="email", value="a@b.cn", method="agent")
    visitor = CustomerFactory()

    claim_identity(customer_id=visitor.pk, kind="email", value="a@b.cn", source="chat")

    assert not CustomerMerge.objects.exists()
    assert visitor.identities.get().verified is False
