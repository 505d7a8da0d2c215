"""Proactive chat invitations: which rule matches (page, seconds, segment, recent order),
once per visitor per session, the answer counted once."""

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from customers.models import Invitation, InvitationRule
from customers.services import invitations
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


def rule(**fields) -> InvitationRule:
    defaults = {
        "name": "products",
        "min_seconds": 10,
        "message_zh": "需要帮忙挑选吗？",
        "message_en": "Need help choosing?",
    }
    return InvitationRule.objects.create(**(defaults | fields))


def find(**fields):
    defaults = {
        "customer_id": None,
        "visitor": "v-1",
        "source": "shop",
        "url": "https://shop.example/products/42?color=red",
        "seconds": 30,
        "language": "zh",
    }
    return invitations.find_invitation(**(defaults | fields))


@pytest.mark.parametrize(
    ("pattern", "url", "matches"),
    [
        ("", "https://shop.example/anything", True),
        ("/products/*", "https://shop.example/products/42?color=red", True),
        ("/products/*", "https://shop.example/cart", False),
        ("/products/*", "https://shop.example/x/products/1", False),
        ("/cart", "https://shop.example/cart?step=2", False),
        ("/cart?*", "https://shop.example/cart?step=2", True),
        ("https://shop.example/*", "https://shop.example/cart", True),
        ("https://shop.example/*", "https://evil.example/?https://shop.example/", False),
        ("/a.b/*", "https://shop.example/axb/1", False),
        ("/p/[1]/*", "https://shop.example/p/[1]/x", True),
    ],
)
def test_url_patterns(pattern, url, matches):
    assert invitations.url_matches(pattern, url) is matches


def test_the_first_matching_rule_in_order_of_precedence_is_shown_and_recorded():
    rule(name="later", position=2)
    first = rule(name="first", position=1, url_pattern="/products/*")
    rule(name="elsewhere", position=0, url_pattern="/cart")

    invitation = find()

    assert invitation.rule == first
    assert (invitation.visitor, invitation.source, invitation.page_url) == (
        "v-1",
        "shop",
        "https://shop.example/products/42?color=red",
    )


def test_not_before_the_rules_seconds_on_the_page_and_disabled_rules_never():
    rule(min_seconds=30)
    rule(name="off", min_seconds=0, enabled=False)

    assert find(seconds=29) is None
    assert find(seconds=30) is not None
    assert invitations.invite_after() == [30]


def test_the_segment_condition():
    rule(segment="vip", message_zh="VIP 专属顾问在线")
    vip = CustomerFactory(level="vip", segment="vip")
    newcomer = CustomerFactory()

    assert find(customer_id=newcomer.pk, visitor="a") is None
    assert find(customer_id=None, visitor="b") is None  # an anonymous visitor is new
    assert find(customer_id=vip.pk, visitor="c").customer == vip


def test_the_recent_order_condition():
    rule(recent_order_days=7)
    recent, old, unpaid = CustomerFactory(), CustomerFactory(), CustomerFactory()
    OrderFactory(customer=recent, status="delivered", placed_at=timezone.now() - timedelta(days=6))
    OrderFactory(customer=old, status="delivered", placed_at=timezone.now() - timedelta(days=8))
    OrderFactory(customer=unpaid, status="pending", placed_at=timezone.now())

    assert find(customer_id=old.pk, visitor="a") is None
    assert find(customer_id=unpaid.pk, visitor="b") is None
    assert find(customer_id=None, visitor="c") is None
    assert find(customer_id=recent.pk, visitor="d") is not None


def test_one_invitation_per_visitor_and_per_customer_in_a_browsing_session():
    rule()
    customer = CustomerFactory()

    assert find(visitor="v-1") is not None
    assert find(visitor="v-1", url="https://shop.example/products/43") is None
    assert find(visitor="v-2", customer_id=customer.pk) is not None
    assert find(visitor="v-3", customer_id=customer.pk) is None  # same person, other browser

    Invitation.objects.update(created_at=timezone.now() - timedelta(minutes=31))
    assert find(visitor="v-1") is not None


@pytest.mark.django_db(transaction=True)
def test_two_requests_of_one_visitor_at_once_make_one_invitation():
    rule()

    def ask(_):
        try:
            return find()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(ask, range(4)))

    assert sum(result is not None for result in results) == 1
    assert Invitation.objects.count() == 1


def test_an_answer_is_counted_once_and_the_first_stands():
    rule()
    invitation = find(visitor="v-9")

    invitations.answer_invitation(invitation_id=invitation.pk, answer="accepted")
    with pytest.raises(invitations.AlreadyAnswered):
        invitations.answer_invitation(invitation_id=invitation.pk, answer="declined")
    with pytest.raises(ValueError):
        invitations.answer_invitation(invitation_id=invitation.pk, answer="maybe")

    assert Invitation.objects.get().answer == "accepted"


def test_an_accepted_invitation_opens_one_conversation_with_its_message():
    rule()
    invitation = find(language="en")
    customer = CustomerFactory()
    invitations.answer_invitation(invitation_id=invitation.pk, answer="accepted")
    opened = {
        "invitation_id": invitation.pk,
        "customer_id": customer.pk,
        "conversation_id": "5b0c0e7e-0000-4000-8000-000000000001",
    }

    first = invitations.take_accepted_invitation(**opened)
    second = invitations.take_accepted_invitation(**opened)

    assert (first, second) == ("Need help choosing?", None)
    assert Invitation.objects.get().customer == customer


def test_a_declined_or_unanswered_invitation_says_nothing():
    rule()
    unanswered = find(visitor="a")
    declined = find(visitor="b")
    invitations.answer_invitation(invitation_id=declined.pk, answer="declined")
    customer = CustomerFactory()

    for invitation in (unanswered, declined):
        assert (
            invitations.take_accepted_invitation(
                invitation_id=invitation.pk,
                customer_id=customer.pk,
                conversation_id="5b0c0e7e-0000-4000-8000-000000000002",
            )
            is None
        )


def test_admin_lists_each_rule_with_its_counts_and_acceptance_rate(admin_client):
    rule(name="商品页邀请")
    for visitor, answer in (("a", "accepted"), ("b", "declined"), ("c", "accepted"), ("d", "")):
        invitation = find(visitor=visitor)
        if answer:
            invitations.answer_invitation(invitation_id=invitation.pk, answer=answer)

    page = admin_client.get(
        reverse("admin:customers_invitationrule_changelist"), HTTP_ACCEPT_LANGUAGE="en"
    )

    row = re.search(r"<tr>.*?商品页邀请.*?</tr>", page.content.decode(), re.S).group(0)
    cells = re.findall(r'<td class="field-(\w+)">([^<]*)</td>', row)
    assert dict(cells)["shown"] == "4"
    assert (dict(cells)["accepted"], dict(cells)["declined"]) == ("2", "1")
    assert dict(cells)["acceptance"] == "50%"
