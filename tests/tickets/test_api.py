"""The partner API for tickets: /api/v1/tickets/ (contracts/partner-api.md, docs/api.md)."""

import json
import threading
from datetime import timedelta

import httpx
import pytest
import time_machine
from django.utils import timezone

from helpdesk.models import ApiKey, IdempotencyKey
from tests.factories import AgentFactory, ConversationFactory, CustomerFactory, SkillGroupFactory
from tickets.defaults import ensure_defaults
from tickets.models import (
    Priority,
    SLAPolicy,
    SLATarget,
    Ticket,
    TicketClock,
    TicketComment,
    TicketEvent,
    TicketType,
    pk_of,
)
from tickets.services import change_ticket, open_ticket

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"


@pytest.fixture
def raw_key():
    _, raw = ApiKey.issue(name="CRM", scopes=["tickets"])
    return raw


@pytest.fixture
def api(client, raw_key):
    """The test client speaking JSON with the CRM's key, in English."""

    class Api:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}", "HTTP_ACCEPT_LANGUAGE": "en"}

        def get(self, path, params=None, **extra):
            return client.get(path, params or {}, **self.headers, **extra)

        def post(self, path, body, **extra):
            return client.post(
                path, json.dumps(body), content_type="application/json", **self.headers, **extra
            )

        def patch(self, path, body, **extra):
            return client.patch(
                path, json.dumps(body), content_type="application/json", **self.headers, **extra
            )

        def post_raw(self, path, content, content_type="application/json"):
            return client.post(path, content, content_type=content_type, **self.headers)

    return Api()


@pytest.fixture
def customer():
    return CustomerFactory(external_id="u-1001")


def a_ticket(customer=None, **fields):
    return open_ticket(
        customer=customer or CustomerFactory(),
        subject=fields.pop("subject", "耳机坏了"),
        type_code=fields.pop("type_code", "question"),
        source=fields.pop("source", Ticket.Source.CHAT),
        **fields,
    )


def url(ticket) -> str:
    return f"{TICKETS}{ticket.number}/"


# --- POST /tickets/ ----------------------------------------------------------------------


def test_a_partner_opens_a_ticket_prioritised_by_urgency_and_level(api):
    CustomerFactory(external_id="vip-1", level="vip")

    response = api.post(
        TICKETS, {"subject": "屏幕碎了", "type": "complaint", "customer": "vip-1", "tags": ["屏幕"]}
    )

    assert response.status_code == 201
    ticket = Ticket.objects.get()
    body = response.json()
    assert body["id"] == ticket.number
    assert (body["source"], body["customer"], body["type"]) == ("api", "vip-1", "complaint")
    assert body["priority"] == "urgent"  # a complaint is high; a VIP's one step more
    assert body["status"] == "new"
    assert body["tags"] == ["屏幕"]
    assert body["sla"]["policy"] == "Standard"
    assert body["sla"]["first_response_due"].endswith("Z")
    assert body["sla"]["breached"] == {
        "first_response": False,
        "next_response": False,
        "resolution": False,
    }
    assert ticket.events.get().kind == TicketEvent.Kind.CREATED


def test_a_partner_may_name_the_priority_and_the_group(api, customer):
    SkillGroupFactory(code="after_sales")

    response = api.post(
        TICKETS,
        {
            "subject": "耳机坏了",
            "description": "左耳没声音",
            "type": "repair",
            "customer": "u-1001",
            "priority": "low",
            "group": "after_sales",
        },
    )

    assert response.status_code == 201
    assert (response.json()["priority"], response.json()["group"]) == ("low", "after_sales")
    assert Ticket.objects.get().priority == Priority.LOW


def test_an_unknown_customer_is_a_field_error_and_opens_nothing(api):
    response = api.post(TICKETS, {"subject": "耳机坏了", "type": "repair", "customer": "u-404"})

    assert response.status_code == 400
    assert response.json() == {"customer": ["No customer with this external id."]}
    assert not Ticket.objects.exists()


def test_the_external_id_of_a_customer_merged_into_another_finds_that_one(api, customer):
    from customers.services.merge import merge_customers

    gone = CustomerFactory(external_id="u-9009")
    merge_customers(source_id=gone.pk, target_id=customer.pk, how="admin")

    response = api.post(TICKETS, {"subject": "耳机坏了", "type": "repair", "customer": "u-9009"})

    assert response.status_code == 201
    assert Ticket.objects.get().customer_id == customer.pk


def test_fields_a_partner_may_not_set_are_refused_by_name(api, customer):
    response = api.post(
        TICKETS,
        {
            "subject": "耳机坏了",
            "type": "repair",
            "customer": "u-1001",
            "status": "closed",
            "id": "T-000001",
            "sla": {"policy": "VIP"},
            "created_by": 1,
        },
    )

    assert response.status_code == 400
    assert response.json() == {
        name: ["This field cannot be set here."] for name in ("status", "id", "sla", "created_by")
    }
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"subject": 5},
        {"subject": "   "},
        {"subject": "x" * 201},
        {"subject": "a\u0000b"},
        {"subject": "\ud800"},
        {"type": "nope"},
        {"priority": 40},
        {"priority": "highest"},
        {"customer": 1001},
        {"group": "nope"},
        {"tags": "a,b"},
        {"tags": [1]},
        {"tags": ["x" * 41]},
        {"tags": ["\u0000"]},
        {"tags": [f"t{n}" for n in range(21)]},
        {"description": ["x"]},
    ],
)
def test_bad_values_are_field_errors_and_open_nothing(api, customer, change):
    body = {"subject": "耳机坏了", "type": "repair", "customer": "u-1001"} | change

    response = api.post(TICKETS, body)

    assert response.status_code == 400
    assert list(response.json()) == list(change)
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '"subject"', "[" * 100_000 + "]" * 100_000])
def test_a_body_that_is_not_a_json_object_is_400(api, body):
    response = api.post_raw(TICKETS, body)

    assert response.status_code == 400
    assert response.json()
    assert not Ticket.objects.exists()


def test_a_body_that_is_not_json_is_415(api):
    response = api.post_raw(
        TICKETS, "subject=x&type=repair", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415
    assert response.json()["detail"]


def test_a_huge_body_is_413_and_opens_nothing(api, customer, settings):
    body = {"subject": "耳机坏了", "type": "repair", "customer": "u-1001"}
    body["description"] = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = api.post(TICKETS, body)

    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
    assert not Ticket.objects.exists()


# --- authentication and scope ----------------------------------------------------------------

ENDPOINTS = [
    ("get", TICKETS),
    ("post", TICKETS),
    ("get", f"{TICKETS}T-000001/"),
    ("patch", f"{TICKETS}T-000001/"),
    ("post", f"{TICKETS}T-000001/comments/"),
]


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_no_key_is_401(client, method, path):
    response = client.generic(method.upper(), path, "{}", content_type="application/json")

    assert response.status_code == 401
    assert response.json()["detail"]


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_a_key_without_the_tickets_scope_is_403_and_changes_nothing(client, method, path):
    a_ticket()
    _, raw = ApiKey.issue(name="help widget", scopes=["knowledge", "conversations"])

    response = client.generic(
        method.upper(),
        path,
        json.dumps({"status": "closed", "body": "x"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )

    assert response.status_code == 403
    assert Ticket.objects.get().status == Ticket.Status.NEW
    assert not TicketComment.objects.exists()


def test_each_key_is_throttled_with_retry_after(api, settings):
    settings.API_KEY_RATE = "2/min"

    codes = [api.get(TICKETS) for _ in range(3)]

    assert [response.status_code for response in codes] == [200, 200, 429]
    assert int(codes[-1]["Retry-After"]) > 0


# --- GET /tickets/{id}/ -------------------------------------------------------------------------


def test_one_ticket_with_its_conversations_group_assignee_and_clocks(api, customer):
    conversation = ConversationFactory(customer=customer)
    group = SkillGroupFactory(code="after_sales")
    agent = AgentFactory(display_name="李娜")
    ticket = a_ticket(customer, conversation=conversation, skill_group=group)
    change_ticket(ticket_id=ticket.pk, actor=None, assignee=agent, status="pending_customer")

    response = api.get(url(ticket))

    assert response.status_code == 200
    body = response.json()
    assert body["conversations"] == [str(conversation.id)]
    assert (body["group"], body["customer"]) == ("after_sales", "u-1001")
    assert body["assignee"] == {"id": agent.pk, "name": "李娜"}
    assert body["status"] == "pending_customer"
    assert body["sla"]["paused"] is True
    assert body["created_at"].endswith("Z")
    assert (body["resolved_at"], body["closed_at"]) == (None, None)


def test_a_visitors_ticket_has_no_customer_id(api):
    ticket = a_ticket(CustomerFactory(external_id=None))

    assert api.get(url(ticket)).json()["customer"] is None


def test_a_breached_clock_shows(api):
    ticket = a_ticket()
    TicketClock.objects.filter(ticket=ticket, clock="first_response").update(
        breached_at=timezone.now()
    )

    assert api.get(url(ticket)).json()["sla"]["breached"]["first_response"] is True


@pytest.mark.parametrize("number", ["T-999999", "abc", "T-", "0", "T-99999999999999999999"])
def test_an_unknown_or_malformed_number_is_404(api, number):
    a_ticket()

    response = api.get(f"{TICKETS}{number}/")

    assert response.status_code == 404
    assert response.json() == {"detail": "No such ticket."}


# --- PATCH /tickets/{id}/ -------------------------------------------------------------------------


def test_a_partner_changes_a_ticket_and_the_timeline_records_each_change(api):
    ticket = a_ticket(tags=["old"])
    group = SkillGroupFactory(code="billing_team")
    agent = AgentFactory()

    response = api.patch(
        url(ticket),
        {
            "subject": "发票开错了",
            "status": "pending_internal",
            "priority": "urgent",
            "type": "billing",
            "group": "billing_team",
            "assignee": agent.pk,
            "tags": ["invoice"],
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["subject"], body["status"], body["priority"]) == (
        "发票开错了",
        "pending_internal",
        "urgent",
    )
    assert (body["type"], body["group"], body["assignee"]["id"]) == (
        "billing",
        "billing_team",
        agent.pk,
    )
    assert body["tags"] == ["invoice"]
    changes = ticket.events.filter(kind=TicketEvent.Kind.CHANGED)
    assert set(changes.values_list("field", flat=True)) == {
        "subject",
        "status",
        "priority",
        "type",
        "skill_group",
        "assignee",
        "tags",
    }
    assert set(changes.values_list("actor", "via")) == {(None, "API: CRM")}
    assert Ticket.objects.get().skill_group == group


def test_only_the_fields_sent_change(api):
    ticket = a_ticket(tags=["keep"])

    response = api.patch(url(ticket), {"priority": "low"})

    assert response.json()["tags"] == ["keep"]
    assert list(ticket.events.filter(kind="changed").values_list("field", flat=True)) == [
        "priority"
    ]


def test_null_clears_the_assignee_and_the_group(api):
    ticket = a_ticket(skill_group=SkillGroupFactory())
    change_ticket(ticket_id=ticket.pk, actor=None, assignee=AgentFactory())

    response = api.patch(url(ticket), {"assignee": None, "group": None})

    assert (response.json()["assignee"], response.json()["group"]) == (None, None)


def test_a_closed_ticket_is_409_and_stays_as_it_was(api):
    ticket = a_ticket()
    change_ticket(ticket_id=ticket.pk, actor=None, status="closed")

    response = api.patch(url(ticket), {"priority": "urgent"})

    assert response.status_code == 409
    assert response.json()["detail"].startswith("This ticket is closed and cannot be changed.")
    assert Ticket.objects.get().priority == Priority.NORMAL


@pytest.mark.parametrize(
    "change",
    [
        {"status": "gone"},
        {"status": ["open"]},
        {"priority": 30},
        {"priority": "max"},
        {"assignee": 999_999},
        {"assignee": "李娜"},
        {"assignee": 0},
        {"group": "nope"},
        {"type": "nope"},
        {"subject": ""},
        {"tags": {"a": 1}},
        {"customer": "u-2"},
        {"number": "T-000009"},
        {"sla_policy": 1},
    ],
)
def test_bad_changes_are_field_errors_and_change_nothing(api, change):
    ticket = a_ticket()

    response = api.patch(url(ticket), change)

    assert response.status_code == 400
    assert list(response.json()) == list(change)
    assert not ticket.events.filter(kind=TicketEvent.Kind.CHANGED).exists()


def test_changing_an_unknown_ticket_is_404(api):
    assert api.patch(f"{TICKETS}T-999999/", {"status": "open"}).status_code == 404


# --- POST /tickets/{id}/comments/ ---------------------------------------------------------------


def test_a_public_reply_answers_the_first_response_clock(api):
    ticket = a_ticket()

    response = api.post(f"{url(ticket)}comments/", {"body": "我们已安排换货。"})

    assert response.status_code == 201
    body = response.json()
    assert (body["ticket"], body["body"], body["public"], body["from_customer"]) == (
        ticket.number,
        "我们已安排换货。",
        True,
        False,
    )
    assert body["created_at"].endswith("Z")
    ticket.refresh_from_db()
    assert ticket.first_responded_at is not None
    assert ticket.status == Ticket.Status.OPEN


def test_an_internal_note_leaves_the_clock_running(api):
    ticket = a_ticket()

    response = api.post(f"{url(ticket)}comments/", {"body": "仓库确认中", "public": False})

    assert response.json()["public"] is False
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None


def test_the_customers_reply_relayed_by_the_partner_reopens_a_resolved_ticket(api):
    ticket = a_ticket()
    change_ticket(ticket_id=ticket.pk, actor=None, status="resolved")

    response = api.post(f"{url(ticket)}comments/", {"body": "还是不行", "from_customer": True})

    assert response.status_code == 201
    assert response.json()["from_customer"] is True
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.REOPENED


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"body": ""},
        {"body": 5},
        {"body": "x" * 10_001},
        {"body": "hi", "public": "yes"},
        {"body": "hi", "from_customer": 1},
        {"body": "hi", "from_customer": True, "public": False},
        {"body": "hi", "author": 1},
    ],
)
def test_bad_comments_are_400_and_leave_nothing(api, body):
    ticket = a_ticket()

    response = api.post(f"{url(ticket)}comments/", body)

    assert response.status_code == 400
    assert response.json()
    assert not TicketComment.objects.exists()


def test_a_comment_on_an_unknown_ticket_is_404(api):
    assert api.post(f"{TICKETS}T-999999/comments/", {"body": "hi"}).status_code == 404


# --- GET /tickets/ ----------------------------------------------------------------------------


def numbers(response) -> list[str]:
    return [ticket["id"] for ticket in response.json()["results"]]


def test_the_list_is_newest_first(api):
    first, second = a_ticket(), a_ticket()

    response = api.get(TICKETS)

    assert response.status_code == 200
    assert numbers(response) == [second.number, first.number]


@pytest.fixture
def assorted():
    """Two tickets that differ in everything a filter looks at."""
    agent = AgentFactory()
    one = a_ticket(
        CustomerFactory(external_id="u-1"),
        type_code="repair",
        priority=Priority.URGENT,
        skill_group=SkillGroupFactory(code="after_sales"),
        tags=["screen"],
    )
    change_ticket(ticket_id=one.pk, actor=None, status="open", assignee=agent)
    TicketClock.objects.filter(ticket=one, clock="resolution").update(breached_at=timezone.now())
    other = a_ticket(CustomerFactory(external_id="u-2"), type_code="billing", tags=["invoice"])
    return {"one": one, "other": other, "agent": agent}


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"status": "open"}, "one"),
        ({"status": "new"}, "other"),
        ({"priority": "urgent"}, "one"),
        ({"type": "billing"}, "other"),
        ({"group": "after_sales"}, "one"),
        ({"assignee": "none"}, "other"),
        ({"customer": "u-2"}, "other"),
        ({"tag": "screen"}, "one"),
        ({"breached": "true"}, "one"),
        ({"breached": "false"}, "other"),
    ],
)
def test_each_filter_narrows_the_list(api, assorted, params, expected):
    response = api.get(TICKETS, params)

    assert numbers(response) == [assorted[expected].number]


def test_several_statuses_are_any_of_them(api, assorted):
    response = api.get(f"{TICKETS}?status=new&status=open")

    assert numbers(response) == [assorted["other"].number, assorted["one"].number]


def test_the_assignee_filter_takes_an_agents_id(api, assorted):
    response = api.get(TICKETS, {"assignee": assorted["agent"].pk})

    assert numbers(response) == [assorted["one"].number]


def test_created_and_updated_after_take_iso_times(api):
    with time_machine.travel(timezone.now() - timedelta(days=2), tick=False):
        old = a_ticket()
    new = a_ticket()
    yesterday = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert numbers(api.get(TICKETS, {"created_after": yesterday})) == [new.number]
    change_ticket(ticket_id=old.pk, actor=None, priority=Priority.HIGH)
    assert numbers(api.get(TICKETS, {"updated_after": yesterday})) == [new.number, old.number]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "gone"},
        {"priority": "30"},
        {"breached": "maybe"},
        {"assignee": "me"},
        {"updated_after": "yesterday"},
        {"customer": "u-\u0000"},
        {"created_after": "2026-13-01T00:00:00Z"},
    ],
)
def test_a_bad_filter_value_is_a_400_naming_it(api, params):
    response = api.get(TICKETS, params)

    assert response.status_code == 400
    assert list(response.json()) == list(params)


@pytest.mark.parametrize("cursor", ["nonsense", "cD1hYmM=", "cD05OTk5OTk5OTk5OTk5OTk5OTk5OTk="])
def test_a_bad_or_forged_cursor_is_404(api, cursor):
    # "p=abc" and a position beyond any id, encoded as DRF encodes a cursor
    assert api.get(TICKETS, {"cursor": cursor}).status_code == 404


def test_pages_have_no_duplicates_or_gaps_while_tickets_are_opened(api):
    existing = [a_ticket() for _ in range(7)]
    seen: list[str] = []
    response = api.get(TICKETS, {"page_size": 3})

    while True:
        seen += numbers(response)
        a_ticket()  # opened between two pages
        if not response.json()["next"]:
            break
        response = api.get(response.json()["next"])

    assert seen == [ticket.number for ticket in reversed(existing)]


@pytest.mark.parametrize("count", [2, 20])
def test_a_page_takes_the_same_queries_for_any_number_of_tickets(
    api, django_assert_num_queries, count
):
    for _ in range(count):
        a_ticket(
            conversation=ConversationFactory(),
            skill_group=SkillGroupFactory(),
        )
    Ticket.objects.update(assignee=AgentFactory())
    api.get(TICKETS)  # the key's last use is recorded once a minute: not in the count

    # the key, the page with its joins, the page's conversations, the page's clocks
    with django_assert_num_queries(4):
        response = api.get(TICKETS, {"status": "new"})

    assert len(response.json()["results"]) == count


# --- Idempotency-Key ----------------------------------------------------------------------------

BODY = {"subject": "耳机坏了", "type": "repair", "customer": "u-1001"}


def test_a_retry_with_the_same_key_gets_the_first_response_and_opens_nothing_more(api, customer):
    first = api.post(TICKETS, BODY, HTTP_IDEMPOTENCY_KEY="order-42-ticket")

    retry = api.post(TICKETS, BODY, HTTP_IDEMPOTENCY_KEY="order-42-ticket")

    assert (retry.status_code, retry.content) == (first.status_code, first.content)
    assert first.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert Ticket.objects.count() == 1


def test_the_same_key_with_another_body_is_409(api, customer):
    api.post(TICKETS, BODY, HTTP_IDEMPOTENCY_KEY="k-1")

    response = api.post(TICKETS, BODY | {"subject": "屏幕碎了"}, HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 409
    assert response.json()["detail"] == (
        "This Idempotency-Key was already used with a different request."
    )
    assert Ticket.objects.count() == 1


def test_keys_belong_to_one_api_key(api, client, customer):
    _, other = ApiKey.issue(name="app backend", scopes=["tickets"])
    api.post(TICKETS, BODY, HTTP_IDEMPOTENCY_KEY="k-1")

    response = client.post(
        TICKETS,
        json.dumps(BODY),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {other}",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert response.status_code == 201
    assert Ticket.objects.count() == 2


def test_a_key_expires_after_24_hours(api, customer):
    api.post(TICKETS, BODY, HTTP_IDEMPOTENCY_KEY="k-1")

    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        response = api.post(TICKETS, BODY | {"subject": "又坏了"}, HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 201
    assert Ticket.objects.count() == 2
    assert IdempotencyKey.objects.count() == 1


def test_a_refused_request_keeps_no_key_so_the_corrected_one_goes_through(api, customer):
    refused = api.post(TICKETS, BODY | {"type": "nope"}, HTTP_IDEMPOTENCY_KEY="k-1")

    response = api.post(TICKETS, BODY, HTTP_IDEMPOTENCY_KEY="k-1")

    assert refused.status_code == 400
    assert response.status_code == 201
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "ключ"])
def test_a_malformed_key_is_400(api, customer, key):
    response = api.post(TICKETS, BODY, HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_a_comment_retried_with_its_key_is_made_once(api):
    ticket = a_ticket()
    path = f"{url(ticket)}comments/"

    first = api.post(path, {"body": "已处理"}, HTTP_IDEMPOTENCY_KEY="c-1")
    retry = api.post(path, {"body": "已处理"}, HTTP_IDEMPOTENCY_KEY="c-1")

    assert retry.json() == first.json()
    assert TicketComment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_open_one_ticket(live, raw_key):
    ensure_defaults(TicketType, SLAPolicy, SLATarget)
    CustomerFactory(external_id="u-1001")
    start = threading.Barrier(6)
    responses = []

    def send():
        start.wait()
        responses.append(
            httpx.post(
                f"{live.url}{TICKETS}",
                json=BODY,
                headers={"Authorization": f"Bearer {raw_key}", "Idempotency-Key": "same"},
                timeout=30,
            )
        )

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [response.status_code for response in responses] == [201] * 6
    assert len({response.content for response in responses}) == 1
    assert Ticket.objects.count() == 1


def test_the_ticket_page_names_the_partner_key_for_what_it_did(api, client, customer):
    response = api.post(
        "/api/v1/tickets/", {"subject": "从 CRM 来的工单", "type": "question", "customer": "u-1001"}
    )
    assert response.status_code == 201
    ticket = Ticket.objects.get(pk=pk_of(response.json()["id"]))
    api.post(f"{url(ticket)}comments/", {"body": "已收到", "public": False})
    boss = AgentFactory()
    boss.user.is_superuser = True
    boss.user.save()
    client.force_login(boss.user)

    page = client.get(f"/desk/tickets/{ticket.pk}/").content.decode()

    assert ticket.comments.get().via == "API: CRM"
    assert ticket.events.get(kind="created").via == "API: CRM"
    assert page.count("API: CRM") == 2  # the "opened" row and the note
