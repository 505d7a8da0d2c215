"""Merging two customers in admin, and a supervisor undoing it: permissions, other
people's ids, bad input — a clear answer and nothing changed."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from conversations.roles import AGENTS, SUPERVISORS, ensure_roles
from customers.models import Customer, CustomerMerge
from customers.services.merge import merge_customers
from tests.factories import ConversationFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

MERGE = reverse("admin:customers_customer_merge")


def staff(role: str):
    ensure_roles()
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def supervisor(client):
    user = staff(SUPERVISORS)
    client.force_login(user)
    return user


@pytest.fixture
def pair():
    one = CustomerFactory(name="王芳", external_id="u-1")
    two = CustomerFactory(name="<b>Fang</b>", email="fang@example.com")
    ConversationFactory(customer=two)
    return one, two


def test_the_action_takes_two_customers_to_the_merge_page(client, supervisor, pair):
    one, two = pair

    response = client.post(
        reverse("admin:customers_customer_changelist"),
        {"action": "merge_two", "_selected_action": [one.pk, two.pk]},
    )

    assert response.status_code == 302
    assert response["Location"] == f"{MERGE}?a={one.pk}&b={two.pk}"


def test_the_action_with_one_or_three_customers_says_so(client, supervisor, pair):
    response = client.post(
        reverse("admin:customers_customer_changelist"),
        {"action": "merge_two", "_selected_action": [pair[0].pk]},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == ["请正好选择两位顾客。"]


def test_the_merge_page_shows_both_and_what_each_would_bring(client, supervisor, pair):
    one, two = pair

    response = client.get(MERGE, {"a": one.pk, "b": two.pk})

    body = response.content.decode()
    assert response.status_code == 200
    assert "&lt;b&gt;Fang&lt;/b&gt;" in body and "<b>Fang</b>" not in body
    assert body.count('name="keep"') == 2
    assert not CustomerMerge.objects.exists()


def test_a_supervisor_merges_keeping_the_one_chosen(client, supervisor, pair):
    one, two = pair

    response = client.post(MERGE, {"a": one.pk, "b": two.pk, "keep": one.pk, "reason": "电话相同"})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:customers_customer_change", args=[one.pk])
    merge = CustomerMerge.objects.get()
    assert (merge.survivor_id, merge.merged_id, merge.how, merge.merged_by, merge.reason) == (
        one.pk,
        two.pk,
        "admin",
        supervisor,
        "电话相同",
    )
    assert one.conversations.count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"keep": ""},
        {"keep": "999999"},
        {"keep": "one", "reason": "x" * 501},
    ],
)
def test_bad_input_on_the_merge_page_is_400_with_nothing_merged(client, supervisor, pair, data):
    one, two = pair
    data = {k: (str(one.pk) if v == "one" else v) for k, v in data.items()}

    response = client.post(MERGE, {"a": one.pk, "b": two.pk, **data})

    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()
    assert not CustomerMerge.objects.exists()


@pytest.mark.parametrize("a", ["999999", "abc", "", "１２", "1\x00"])
def test_unknown_or_malformed_ids_are_404(client, supervisor, pair, a):
    response = client.post(MERGE, {"a": a, "b": pair[1].pk, "keep": pair[1].pk})

    assert response.status_code == 404
    assert Customer.objects.count() == 2


def test_the_same_customer_twice_is_404(client, supervisor, pair):
    response = client.get(MERGE, {"a": pair[0].pk, "b": pair[0].pk})

    assert response.status_code == 404


def test_staff_without_the_merge_permission_may_not(client, pair):
    client.force_login(UserFactory(is_staff=True))

    response = client.post(MERGE, {"a": pair[0].pk, "b": pair[1].pk, "keep": pair[0].pk})

    assert response.status_code == 403
    assert not CustomerMerge.objects.exists()


def test_agents_may_merge_but_only_supervisors_undo(client, pair):
    agent = staff(AGENTS)
    client.force_login(agent)
    merge = merge_customers(source_id=pair[1].pk, target_id=pair[0].pk, how="desk")

    response = client.post(reverse("admin:customers_customermerge_unmerge", args=[merge.pk]))

    assert agent.has_perm("customers.merge_customers")
    assert response.status_code == 403
    assert CustomerMerge.objects.get().undone_at is None


def test_a_supervisor_undoes_a_merge(client, supervisor, pair):
    one, two = pair
    merge = merge_customers(source_id=two.pk, target_id=one.pk, how="desk")
    page = reverse("admin:customers_customermerge_change", args=[merge.pk])
    undo = reverse("admin:customers_customermerge_unmerge", args=[merge.pk])
    assert undo in client.get(page).content.decode()

    response = client.post(undo, {"reason": "两个人"})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:customers_customer_change", args=[two.pk])
    merge.refresh_from_db()
    assert (merge.undone_by, merge.undo_reason) == (supervisor, "两个人")
    assert Customer.objects.get(pk=two.pk).conversations.count() == 1


def test_undoing_twice_or_an_unknown_merge_is_refused(client, supervisor, pair):
    merge = merge_customers(source_id=pair[1].pk, target_id=pair[0].pk, how="desk")
    undo = reverse("admin:customers_customermerge_unmerge", args=[merge.pk])
    client.post(undo, {"reason": ""})

    again = client.post(undo, {"reason": ""})
    unknown = client.post(reverse("admin:customers_customermerge_unmerge", args=[999_999]))
    too_long = client.post(undo, {"reason": "x" * 501})

    assert (again.status_code, unknown.status_code, too_long.status_code) == (400, 404, 400)
    assert CustomerMerge.objects.filter(undone_at__isnull=False).count() == 1


def test_the_identities_and_merges_lists_show_their_rows_inert(client, supervisor, pair):
    from customers.models import CustomerIdentity

    CustomerIdentity.objects.create(customer=pair[0], kind="web", value="<script>x</script>")
    merge_customers(source_id=pair[1].pk, target_id=pair[0].pk, how="desk", reason="<i>why</i>")

    identities = client.get(reverse("admin:customers_customeridentity_changelist"), {"q": "script"})
    merges = client.get(reverse("admin:customers_customermerge_changelist"))

    assert identities.status_code == merges.status_code == 200
    assert "&lt;script&gt;x&lt;/script&gt;" in identities.content.decode()
    assert "<script>x</script>" not in identities.content.decode()
    assert "&lt;b&gt;Fang&lt;/b&gt;" in merges.content.decode()
