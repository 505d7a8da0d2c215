"""Merging two customers from the desk's 360° panel: find the other, see what will move,
confirm; one history after. Agents only, conversations they may see only, bad input
refused with nothing merged."""

import pytest
from django.urls import reverse

from conversations.models import Conversation
from customers.models import Customer, CustomerIdentity, CustomerMerge
from tests.factories import (
    AgentFactory,
    ConversationFactory,
    CustomerFactory,
    OrderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

XSS = '<img src=x onerror="alert(1)">'


@pytest.fixture
def agent():
    return AgentFactory()


@pytest.fixture
def conversation(agent):
    visitor = CustomerFactory(name="", phone="")
    return ConversationFactory(
        customer=visitor, status=Conversation.Status.ASSIGNED, assignee=agent
    )


@pytest.fixture
def known():
    customer = CustomerFactory(name="王芳", external_id="u-1001", phone="13800001001")
    ConversationFactory(customer=customer, status=Conversation.Status.CLOSED)
    return customer


@pytest.fixture
def logged_in(client, agent):
    client.force_login(agent.user)
    return client


def _url(name, conversation, *args):
    return reverse(f"desk:{name}", args=[conversation.id, *args])


@pytest.mark.parametrize("q", ["王芳", "13800001001", "u-1001", "#known", "fang@example.com"])
def test_the_agent_finds_the_other_customer(logged_in, conversation, known, q):
    CustomerIdentity.objects.create(customer=known, kind="email", value="fang@example.com")
    q = q.replace("known", str(known.pk))

    response = logged_in.get(_url("customer-merge", conversation), {"q": q})

    body = response.content.decode()
    assert response.status_code == 200
    assert f'data-customer="{known.pk}"' in body
    assert _url("customer-merge-with", conversation, known.pk) in body


def test_the_search_leaves_out_the_customer_in_front_of_the_agent(logged_in, conversation):
    conversation.customer.name = "王芳"
    conversation.customer.save()

    body = logged_in.get(_url("customer-merge", conversation), {"q": "王芳"}).content.decode()

    assert 'id="merge-found"' in body and "data-customer=" not in body


def test_a_hostile_name_in_the_results_is_inert(logged_in, conversation):
    CustomerFactory(name=XSS)

    body = logged_in.get(_url("customer-merge", conversation), {"q": "img"}).content.decode()

    assert XSS not in body
    assert "&lt;img src=x" in body


def test_the_preview_says_who_stays_and_what_moves_and_changes_nothing(
    logged_in, conversation, known
):
    OrderFactory(customer=conversation.customer)

    response = logged_in.get(
        _url("customer-merge-with", conversation, known.pk),
        headers={"X-Requested-With": "fetch"},
    )

    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    offer = body[body.index('id="merge-offer"') : body.index('id="merge-brings"')]
    assert f"#{conversation.customer_id}" in offer and f"#{known.pk}" in offer
    assert 'id="merge-brings"' in body
    assert Customer.objects.count() == 2 and not CustomerMerge.objects.exists()


def test_confirming_merges_and_the_panel_shows_one_history(logged_in, conversation, known, agent):
    visitor_id = conversation.customer_id

    response = logged_in.post(
        _url("customer-merge-with", conversation, known.pk),
        {"reason": "same phone number"},
        headers={"X-Requested-With": "fetch"},
    )

    body = response.content.decode()
    assert response.status_code == 200
    conversation.refresh_from_db()
    assert conversation.customer_id == known.pk
    assert not Customer.objects.filter(pk=visitor_id).exists()
    merge = CustomerMerge.objects.get()
    assert (merge.how, merge.merged_by, merge.reason) == ("desk", agent.user, "same phone number")
    assert "王芳" in body and "u-1001" in body
    assert body.count("data-conversation=") == 1  # the other, closed chat: one history


def test_without_script_the_merge_comes_back_to_the_conversation(logged_in, conversation, known):
    response = logged_in.post(_url("customer-merge-with", conversation, known.pk), {"reason": ""})

    assert response.status_code == 302
    assert response["Location"] == _url("conversation", conversation) + "#customer-panel"
    assert CustomerMerge.objects.count() == 1


def test_the_identified_customer_stays_whichever_side_the_agent_starts_from(
    logged_in, agent, known
):
    conversation = ConversationFactory(
        customer=known, status=Conversation.Status.ASSIGNED, assignee=agent
    )
    visitor = CustomerFactory()

    logged_in.post(_url("customer-merge-with", conversation, visitor.pk), {"reason": "x"})

    assert CustomerMerge.objects.get().survivor_id == known.pk


def test_an_overlong_reason_is_refused_with_nothing_merged(logged_in, conversation, known):
    response = logged_in.post(
        _url("customer-merge-with", conversation, known.pk),
        {"reason": "长" * 501},
        headers={"X-Requested-With": "fetch"},
    )

    assert response.status_code == 400
    assert 'class="panel-error"' in response.content.decode()
    assert not CustomerMerge.objects.exists()


def test_an_overlong_search_is_refused(logged_in, conversation):
    response = logged_in.get(_url("customer-merge", conversation), {"q": "x" * 101})

    assert response.status_code == 400


def test_a_search_with_a_nul_or_only_spaces_finds_nobody(logged_in, conversation, known):
    for q in ("\x00", "   ", "王\x00芳"):
        response = logged_in.get(_url("customer-merge", conversation), {"q": q})
        assert response.status_code == 200
    assert CustomerMerge.objects.count() == 0


def test_an_unknown_customer_or_the_same_one_is_404(logged_in, conversation):
    for customer_id in (999_999, conversation.customer_id):
        assert (
            logged_in.get(_url("customer-merge-with", conversation, customer_id)).status_code == 404
        )
        assert (
            logged_in.post(_url("customer-merge-with", conversation, customer_id)).status_code
            == 404
        )
    assert not CustomerMerge.objects.exists()


def test_another_agents_conversation_is_404_and_nothing_merges(client, conversation, known):
    stranger = AgentFactory()
    client.force_login(stranger.user)

    response = client.post(_url("customer-merge-with", conversation, known.pk), {"reason": ""})

    assert response.status_code == 404
    assert not CustomerMerge.objects.exists()


def test_a_user_who_is_no_agent_may_not_merge(client, conversation, known):
    client.force_login(UserFactory(is_staff=True))

    response = client.post(_url("customer-merge-with", conversation, known.pk), {"reason": ""})

    assert response.status_code == 403
    assert not CustomerMerge.objects.exists()


def test_nobody_logged_in_is_sent_to_log_in(client, conversation, known):
    response = client.post(_url("customer-merge-with", conversation, known.pk))

    assert response.status_code == 302 and "login" in response["Location"]
    assert not CustomerMerge.objects.exists()


def test_the_panel_shows_the_customers_identities(logged_in, conversation):
    CustomerIdentity.objects.create(
        customer=conversation.customer,
        kind="wechat",
        value="oWx-123",
        verified=True,
        verified_by="partner_api",
    )
    CustomerIdentity.objects.create(
        customer=conversation.customer, kind="email", value=XSS.replace(" ", "") + "@x.cn"
    )

    body = logged_in.get(_url("customer-panel", conversation)).content.decode()

    assert 'data-kind="wechat"' in body and "oWx-123" in body
    assert 'data-kind="email"' in body and "<img" not in body
