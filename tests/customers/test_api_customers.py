"""The partner API for customers: /api/v1/customers/ (contracts/partner-api.md, docs/api.md)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.events import customer_data
from customers.models import (
    CareCampaign,
    Customer,
    CustomerIdentity,
    CustomerTag,
    LevelChange,
    Outreach,
)
from customers.services import InvalidInput, add_customer_tag, remove_customer_tag
from customers.services.merge import merge_customers
from helpdesk.models import OutboundEvent
from tests.factories import (
    ConversationFactory,
    CustomerFactory,
    OrderFactory,
    UserFactory,
    care_campaign,
)
from tickets.defaults import ensure_defaults
from tickets.models import SLAPolicy, SLATarget, Ticket, TicketType
from tickets.services import open_ticket

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/"
BODY = {
    "name": "王芳",
    "email": "wang.fang@example.com",
    "phone": "+86 138-0013-8000",
    "birthday": "1990-05-17",
    "level": "gold",
    "language": "zh",
    "tags": ["newsletter", "wholesale"],
    "attributes": {"store": "Shanghai", "orders": 12, "b2b": True, "note": None},
}


@pytest.fixture
def api(partner_client):
    return partner_client("customers")


def events(name="customer.updated"):
    return list(OutboundEvent.objects.filter(event=name).order_by("seq"))


# --- PUT: create and update ----------------------------------------------------------------------


def test_a_put_creates_the_customer_with_its_shop_account(api):
    response = api.put(f"{CUSTOMERS}u-1001/", BODY)

    assert response.status_code == 201
    body = response.json()
    assert body["external_id"] == "u-1001"
    assert (body["name"], body["email"], body["birthday"]) == (
        "王芳",
        "wang.fang@example.com",
        "1990-05-17",
    )
    assert (body["level"], body["language"]) == ("gold", "zh")
    assert body["tags"] == ["newsletter", "wholesale"]
    assert body["attributes"] == BODY["attributes"]
    customer = Customer.objects.get()
    account = customer.identities.get(kind=CustomerIdentity.Kind.ACCOUNT)
    assert (account.value, account.verified, account.verified_by) == (
        "u-1001",
        True,
        CustomerIdentity.Method.PARTNER_API,
    )
    assert customer.identities.filter(kind="phone", value="+8613800138000").exists()


def test_a_new_customer_is_told_to_subscribers_once_with_what_a_get_returns(api):
    api.put(f"{CUSTOMERS}u-1001/", BODY)

    [event] = events()
    customer = Customer.objects.get()
    assert event.data["created"] is True
    assert event.data["customer"] == customer_data(customer)
    assert set(event.data["changed"]) >= {"name", "email", "level", "tags", "attributes"}
    detail = api.get(f"{CUSTOMERS}u-1001/").json()
    detail.pop("recent_activity")
    assert event.data["customer"] == detail


def test_the_same_put_twice_leaves_one_row_and_one_set_of_side_effects(api):
    care_campaign(CareCampaign.Kind.LEVEL_UP)
    CustomerFactory(external_id="u-1001", level="normal")

    first = api.put(f"{CUSTOMERS}u-1001/", BODY)
    second = api.put(f"{CUSTOMERS}u-1001/", BODY)

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json() == second.json()
    assert Customer.objects.count() == 1
    assert len(events()) == 1
    assert LevelChange.objects.count() == 1
    assert Outreach.objects.count() == 1
    assert CustomerTag.objects.count() == 2


def test_a_level_upgrade_goes_through_the_level_service(api):
    care_campaign(CareCampaign.Kind.LEVEL_UP)
    customer = CustomerFactory(external_id="u-1001", level="silver")

    response = api.put(f"{CUSTOMERS}u-1001/", {"level": "vip"})

    assert response.status_code == 200
    change = LevelChange.objects.get()
    assert (change.customer_id, change.old, change.new, change.source) == (
        customer.pk,
        "silver",
        "vip",
        LevelChange.Source.API,
    )
    outreach = Outreach.objects.get()
    assert (outreach.occasion, outreach.subject) == (f"level:{change.pk}", "vip")
    assert Customer.objects.get().segment == Customer.Segment.VIP
    assert events()[0].data["changed"] == ["level"]


def test_a_customer_created_at_a_level_has_it_recorded_but_not_congratulated(api):
    care_campaign(CareCampaign.Kind.LEVEL_UP)

    api.put(f"{CUSTOMERS}u-1001/", {"level": "gold"})

    assert LevelChange.objects.get().new == "gold"
    assert not Outreach.objects.exists()


def test_fields_left_out_stay_and_null_or_empty_clears(api):
    api.put(f"{CUSTOMERS}u-1001/", BODY)

    response = api.put(f"{CUSTOMERS}u-1001/", {"birthday": None, "email": ""})

    body = response.json()
    assert (body["birthday"], body["email"], body["name"], body["level"]) == (
        None,
        "",
        "王芳",
        "gold",
    )
    assert sorted(events()[-1].data["changed"]) == ["birthday", "email"]


def test_tags_replace_the_partners_tags_and_keep_an_agents(api):
    customer = CustomerFactory(external_id="u-1001")
    add_customer_tag(customer_id=customer.pk, name="avoid price talk", created_by=UserFactory())
    api.put(f"{CUSTOMERS}u-1001/", {"tags": ["newsletter", "wholesale"]})

    response = api.put(f"{CUSTOMERS}u-1001/", {"tags": ["wholesale", "avoid price talk"]})

    assert response.json()["tags"] == ["avoid price talk", "wholesale"]
    assert dict(CustomerTag.objects.values_list("name", "source")) == {
        "avoid price talk": CustomerTag.Source.MANUAL,
        "wholesale": CustomerTag.Source.API,
    }
    api.put(f"{CUSTOMERS}u-1001/", {"tags": []})
    assert list(CustomerTag.objects.values_list("name", flat=True)) == ["avoid price talk"]


def test_a_merged_away_account_updates_the_customer_it_went_to(api):
    api.put(f"{CUSTOMERS}u-1/", {"name": "A"})
    kept = CustomerFactory(name="kept")
    merge_customers(
        source_id=Customer.objects.get(external_id="u-1").pk, target_id=kept.pk, how="admin"
    )

    response = api.put(f"{CUSTOMERS}u-1/", {"phone": "13800138000"})

    assert response.status_code == 200
    kept.refresh_from_db()
    assert (Customer.objects.count(), kept.phone, kept.external_id) == (1, "13800138000", "u-1")


@pytest.mark.parametrize(
    "field", ["segment", "points", "external_id", "id", "created_at", "care_opt_out"]
)
def test_fields_a_partner_may_not_set_are_refused_by_name(api, field):
    response = api.put(f"{CUSTOMERS}u-1001/", {"name": "x", field: "vip"})

    assert response.status_code == 400
    assert response.json()[field] == ["This field cannot be set here."]
    assert not Customer.objects.exists()
    assert not events()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"level": "platinum"}, "level"),
        ({"language": "fr"}, "language"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "call me"}, "phone"),
        ({"birthday": "1990-13-01"}, "birthday"),
        ({"name": 5}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"tags": [f"t{n}" for n in range(21)]}, "tags"),
        ({"tags": ["   "]}, "tags"),
        ({"tags": ["x" * 41]}, "tags"),
        ({"tags": "vip"}, "tags"),
        ({"attributes": {"nested": {"a": 1}}}, "attributes"),
        ({"attributes": [1, 2]}, "attributes"),
        ({"attributes": {"k": "x" * 501}}, "attributes"),
        ({"attributes": {f"k{n}": n for n in range(51)}}, "attributes"),
        ({"attributes": {"a\x00": 1}}, "attributes"),
        ({"attributes": {"a": "b\x00"}}, "attributes"),
        ({"name": "a\x00"}, "name"),
    ],
)
def test_bad_values_are_400_naming_the_field_and_leave_nothing(api, body, field):
    response = api.put(f"{CUSTOMERS}u-1001/", body)

    assert response.status_code == 400
    assert field in response.json()
    assert not Customer.objects.exists()


def test_a_body_that_is_not_an_object_is_400(api):
    response = api.put(f"{CUSTOMERS}u-1001/", ["name"])

    assert response.status_code == 400


def test_malformed_json_is_400(api):
    response = api.generic(
        "PUT", f"{CUSTOMERS}u-1001/", b'{"name": ', content_type="application/json"
    )

    assert response.status_code == 400
    assert not Customer.objects.exists()


def test_a_form_body_is_415(api):
    response = api.put(f"{CUSTOMERS}u-1001/", {"name": "x"}, format="multipart")

    assert response.status_code == 415


def test_a_body_too_large_is_413(api):
    response = api.put(f"{CUSTOMERS}u-1001/", {"name": "x" * (300 * 1024)})

    assert response.status_code == 413
    assert not Customer.objects.exists()


@pytest.mark.parametrize("external_id", ["%20u-1", "u-1%20", "x" * 129, "a%00b"])
def test_a_malformed_external_id_is_400_on_put_and_404_on_get(api, external_id):
    assert api.put(f"{CUSTOMERS}{external_id}/", {"name": "x"}).status_code == 400
    assert api.get(f"{CUSTOMERS}{external_id}/").status_code == 404
    assert not Customer.objects.exists()


# --- GET one -----------------------------------------------------------------------------------


def test_a_customer_with_tags_and_recent_activity(api):
    ensure_defaults(TicketType, SLAPolicy, SLATarget)
    customer = CustomerFactory(external_id="u-1001", level="vip")
    conversation = ConversationFactory(customer=customer, status="closed")
    ticket = open_ticket(
        customer=customer, subject="耳机坏了", type_code="repair", source=Ticket.Source.API
    )
    order = OrderFactory(customer=customer, status="shipped")
    add_customer_tag(customer_id=customer.pk, name="headphones", created_by=None)
    CustomerFactory(external_id="u-other")

    response = api.get(f"{CUSTOMERS}u-1001/")

    assert response.status_code == 200
    body = response.json()
    assert (body["external_id"], body["level"], body["tags"]) == ("u-1001", "vip", ["headphones"])
    activity = {(item["type"], item["id"], item["status"]) for item in body["recent_activity"]}
    assert activity == {
        ("conversation", str(conversation.pk), "closed"),
        ("ticket", ticket.number, ticket.status),
        ("order", order.number, "shipped"),
    }
    times = [item["at"] for item in body["recent_activity"]]
    assert times == sorted(times, reverse=True)


def test_an_unknown_customer_is_404(api):
    CustomerFactory(external_id="u-1001")

    response = api.get(f"{CUSTOMERS}u-1002/")

    assert response.status_code == 404
    assert response.json()["detail"] == "No such customer."


# --- the list ------------------------------------------------------------------------------------


def test_the_list_is_newest_first_of_the_shops_customers_only(api):
    made = [CustomerFactory(external_id=f"u-{n}") for n in range(3)]
    CustomerFactory()  # an anonymous visitor: no natural key, not a partner's

    body = api.get(CUSTOMERS).json()

    assert [row["external_id"] for row in body["results"]] == [
        c.external_id for c in reversed(made)
    ]


def test_the_list_filters_by_level_tag_and_updated_after(api):
    gold = CustomerFactory(external_id="u-gold", level="gold")
    tagged = CustomerFactory(external_id="u-tagged")
    add_customer_tag(customer_id=tagged.pk, name="wholesale", created_by=None)
    old = CustomerFactory(external_id="u-old")
    Customer.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=9))

    def ids(**params):
        return [row["external_id"] for row in api.get(CUSTOMERS, params).json()["results"]]

    assert ids(level="gold") == ["u-gold"]
    assert ids(tag="wholesale") == ["u-tagged"]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(updated_after=since) == ["u-tagged", gold.external_id]


@pytest.mark.parametrize("params", [{"level": "platinum"}, {"updated_after": "yesterday"}])
def test_a_bad_filter_is_400_naming_it(api, params):
    CustomerFactory(external_id="u-1")

    response = api.get(CUSTOMERS, params)

    assert response.status_code == 400
    assert set(response.json()) == set(params)


def test_cursor_pages_never_repeat_or_skip(api):
    made = {CustomerFactory(external_id=f"u-{n}").external_id for n in range(7)}
    seen, url, params = [], CUSTOMERS, {"page_size": 3}

    while url:
        page = api.get(url, params).json()
        seen += [row["external_id"] for row in page["results"]]
        url, params = page["next"], None

    assert sorted(seen) == sorted(made)
    assert len(seen) == len(made)


def test_a_forged_cursor_is_404(api):
    assert api.get(CUSTOMERS, {"cursor": "cD1ub3BlJTI3"}).status_code == 404


def test_a_page_takes_the_same_queries_whatever_its_size(api, django_assert_num_queries):
    for n in range(5):
        customer = CustomerFactory(external_id=f"u-{n}")
        add_customer_tag(customer_id=customer.pk, name=f"tag-{n}", created_by=None)

    # The key, its last use, the page, the page's tags.
    with django_assert_num_queries(4):
        assert len(api.get(CUSTOMERS).json()["results"]) == 5


# --- keys and scopes -----------------------------------------------------------------------------


def test_without_the_customers_scope_it_is_403(partner_client):
    other = partner_client("orders", "tickets")

    assert other.get(CUSTOMERS).status_code == 403
    assert other.put(f"{CUSTOMERS}u-1/", {"name": "x"}).status_code == 403
    assert not Customer.objects.exists()


def test_without_a_key_it_is_401(client):
    assert client.get(CUSTOMERS).status_code == 401


def test_a_busy_key_is_throttled_with_retry_after(api, settings):
    settings.API_KEY_RATE = "2/min"

    codes = [api.put(f"{CUSTOMERS}u-1/", {"name": "x"}) for _ in range(3)]

    assert [r.status_code for r in codes] == [201, 200, 429]
    assert int(codes[-1]["Retry-After"]) > 0


def test_an_agent_cannot_remove_a_tag_the_shop_set(api):
    api.put(f"{CUSTOMERS}u-1001/", {"tags": ["wholesale"]})

    with pytest.raises(InvalidInput, match="shop's systems"):
        remove_customer_tag(tag=CustomerTag.objects.get())

    assert CustomerTag.objects.count() == 1
