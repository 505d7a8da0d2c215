"""Care claims (customers/services/care.py): birthdays by the customer's own clock, order
reminders once per order and state, points once per reason."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from customers.models import CareCampaign, Customer, Outreach
from customers.services import care
from tests.factories import CustomerFactory, OrderFactory, care_campaign

pytestmark = pytest.mark.django_db

# 2026-12-04 01:30 UTC: 09:30 in Shanghai, 17:30 the day before in Los Angeles.
EARLY = datetime(2026, 12, 4, 1, 30, tzinfo=UTC)


def birthday_claims() -> list[tuple[str, str]]:
    return sorted(
        Outreach.objects.filter(campaign__kind=CareCampaign.Kind.BIRTHDAY).values_list(
            "customer__name", "occasion"
        )
    )


def test_a_claim_is_made_once_per_campaign_customer_and_occasion():
    campaign = care_campaign(CareCampaign.Kind.SURVEY, delay_minutes=5)
    customer = CustomerFactory()
    at = timezone.now()

    first = care.claim_outreach(
        campaign=campaign, customer_id=customer.pk, occasion="conversation:1", occurred_at=at
    )
    again = care.claim_outreach(
        campaign=campaign, customer_id=customer.pk, occasion="conversation:1", occurred_at=at
    )

    assert first is not None and again is None
    outreach = Outreach.objects.get()
    assert outreach.due_at == at + timedelta(minutes=5)
    assert outreach.expires_at == at + timedelta(hours=24)
    assert outreach.status == Outreach.Status.PENDING


def test_a_claim_in_a_rolled_back_transaction_leaves_nothing():
    campaign = care_campaign(CareCampaign.Kind.SURVEY)
    customer = CustomerFactory()

    with pytest.raises(RuntimeError), transaction.atomic():
        care.claim_outreach(
            campaign=campaign,
            customer_id=customer.pk,
            occasion="conversation:1",
            occurred_at=timezone.now(),
        )
        raise RuntimeError("the close failed")

    assert not Outreach.objects.exists()


def test_birthdays_are_claimed_from_nine_in_each_customers_own_timezone():
    care_campaign(CareCampaign.Kind.BIRTHDAY)
    CustomerFactory(name="上海", timezone="Asia/Shanghai", birthday=date(1990, 12, 4))
    CustomerFactory(name="LA", timezone="America/Los_Angeles", birthday=date(1985, 12, 4))
    CustomerFactory(name="London", timezone="Europe/London", birthday=date(1980, 12, 4))
    CustomerFactory(name="tomorrow", timezone="Asia/Shanghai", birthday=date(1990, 12, 5))

    care.plan_birthdays(now=EARLY)  # Shanghai 09:30; London 01:30; LA still the 3rd
    early = birthday_claims()
    care.plan_birthdays(now=EARLY + timedelta(hours=8))  # London 09:30
    care.plan_birthdays(now=EARLY + timedelta(hours=16))  # LA 01:30 on the 4th
    care.plan_birthdays(now=EARLY + timedelta(hours=24))  # LA 09:30; Shanghai on the 5th
    late = birthday_claims()

    assert early == [("上海", "birthday:2026")]
    assert late == [
        ("LA", "birthday:2026"),
        ("London", "birthday:2026"),
        ("tomorrow", "birthday:2026"),
        ("上海", "birthday:2026"),
    ]


def test_a_second_run_the_same_day_claims_nothing_more():
    care_campaign(CareCampaign.Kind.BIRTHDAY)
    CustomerFactory(timezone="Asia/Shanghai", birthday=date(1990, 12, 4))

    first = care.plan_birthdays(now=EARLY)
    second = care.plan_birthdays(now=EARLY + timedelta(hours=5))

    assert (first, second) == (1, 0)
    assert Outreach.objects.count() == 1


def outreach_rows_estimate() -> float:
    """What PostgreSQL's planner believes the outreach table holds (-1: never analyzed)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'customers_outreach'")
        return cursor.fetchone()[0]


@pytest.mark.parametrize(("threshold", "analyzed"), [(3, True), (4, False)])
def test_a_large_claim_refreshes_the_outreach_tables_statistics(monkeypatch, threshold, analyzed):
    # Planned from a table that looked empty, the sender's queue read sorted every pending
    # row for each batch (docs/benchmarks.md, the birthday job).
    monkeypatch.setattr(care, "ANALYZE_AFTER_CLAIMS", threshold)
    care_campaign(CareCampaign.Kind.BIRTHDAY)
    for _ in range(3):
        CustomerFactory(timezone="Asia/Shanghai", birthday=date(1990, 12, 4))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_outreach")  # empty: the planner's picture is 0 rows
    before = outreach_rows_estimate()

    claimed = care.plan_birthdays(now=EARLY)

    assert claimed == 3
    assert before <= 0
    assert outreach_rows_estimate() == (3 if analyzed else before)


def test_birthdays_are_claimed_a_chunk_at_a_time_and_each_chunk_starts_the_sender(
    monkeypatch, django_capture_on_commit_callbacks
):
    from conversations.tasks import send_due_outreach_task

    monkeypatch.setattr(care, "BIRTHDAY_CLAIM_CHUNK", 2)
    enqueued = []
    monkeypatch.setattr(
        send_due_outreach_task, "apply_async", lambda *a, **k: enqueued.append((a, k))
    )
    care_campaign(CareCampaign.Kind.BIRTHDAY)
    for n in range(5):
        CustomerFactory(name=f"today {n}", timezone="Asia/Shanghai", birthday=date(1990, 12, 4))
    CustomerFactory(name="tomorrow", timezone="Asia/Shanghai", birthday=date(1990, 12, 5))
    CustomerFactory(name="no birthday", timezone="Asia/Shanghai", birthday=None)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        claimed = care.plan_birthdays(now=EARLY)

    assert claimed == 5
    assert [name for name, _occasion in birthday_claims()] == [f"today {n}" for n in range(5)]
    # Three chunks claimed rows (2 + 2 + 1): the sender was told after each one's commit.
    assert len(callbacks) == 3
    assert len(enqueued) == 3


def test_a_planner_stopped_half_way_keeps_its_committed_chunks_and_the_next_run_claims_the_rest(
    monkeypatch,
):
    monkeypatch.setattr(care, "BIRTHDAY_CLAIM_CHUNK", 2)
    care_campaign(CareCampaign.Kind.BIRTHDAY)
    for n in range(5):
        CustomerFactory(name=f"today {n}", timezone="Asia/Shanghai", birthday=date(1990, 12, 4))
    claim = care._claim_birthdays
    chunks = []

    def fails_on_the_second_chunk(cursor, **kwargs):
        chunks.append(kwargs["ids"])
        if len(chunks) == 2:
            raise RuntimeError("the worker was lost")
        claim(cursor, **kwargs)

    monkeypatch.setattr(care, "_claim_birthdays", fails_on_the_second_chunk)
    with pytest.raises(RuntimeError):
        care.plan_birthdays(now=EARLY)
    after_the_failure = len(birthday_claims())
    monkeypatch.setattr(care, "_claim_birthdays", claim)
    again = care.plan_birthdays(now=EARLY)

    assert after_the_failure == 2  # the first chunk, committed before the failure
    assert again == 3
    assert len(birthday_claims()) == 5
    assert Outreach.objects.values("customer_id").distinct().count() == 5


@pytest.mark.parametrize(
    ("now", "claimed"),
    [
        (datetime(2027, 2, 28, 2, 0, tzinfo=UTC), True),  # 2027 has no 29 February
        (datetime(2028, 2, 28, 2, 0, tzinfo=UTC), False),  # 2028 has one: wait for it
        (datetime(2028, 2, 29, 2, 0, tzinfo=UTC), True),
    ],
)
def test_29_february_birthdays_are_kept_on_28_february_in_other_years(now, claimed):
    care_campaign(CareCampaign.Kind.BIRTHDAY)
    CustomerFactory(timezone="Asia/Shanghai", birthday=date(2000, 2, 29))

    care.plan_birthdays(now=now)

    assert Outreach.objects.exists() is claimed


@pytest.mark.parametrize(
    ("now", "claimed"),
    [
        (datetime(2027, 3, 14, 12, 59, tzinfo=UTC), False),  # 08:59 in New York (EDT since 02:00)
        (datetime(2027, 3, 14, 13, 0, tzinfo=UTC), True),  # 09:00 EDT
        (datetime(2027, 11, 7, 13, 59, tzinfo=UTC), False),  # 08:59 (EST again since 02:00)
        (datetime(2027, 11, 7, 14, 0, tzinfo=UTC), True),  # 09:00 EST
    ],
)
def test_nine_o_clock_follows_the_customers_dst(now, claimed):
    care_campaign(CareCampaign.Kind.BIRTHDAY)
    CustomerFactory(timezone="America/New_York", birthday=date(1990, now.month, now.day))

    with time_machine.travel(now, tick=False):
        care.plan_birthdays()

    assert Outreach.objects.exists() is claimed


def test_opted_out_customers_and_unknown_timezones_get_no_birthday_claim():
    care_campaign(CareCampaign.Kind.BIRTHDAY)
    CustomerFactory(
        name="no", timezone="Asia/Shanghai", birthday=date(1990, 12, 4), care_opt_out=True
    )
    broken = CustomerFactory(name="broken", birthday=date(1990, 12, 4))
    Customer.objects.filter(pk=broken.pk).update(timezone="Mars/Olympus")  # bypasses the form
    CustomerFactory(name="yes", timezone="Asia/Shanghai", birthday=date(1990, 12, 4))

    care.plan_birthdays(now=EARLY)

    assert birthday_claims() == [("yes", "birthday:2026")]


def test_a_disabled_campaign_claims_nothing():
    care_campaign(CareCampaign.Kind.BIRTHDAY, enabled=False)
    CustomerFactory(timezone="Asia/Shanghai", birthday=date(1990, 12, 4))

    assert care.plan_birthdays(now=EARLY) == 0


def test_order_reminders_are_claimed_once_per_order_and_state():
    care_campaign(CareCampaign.Kind.ORDER_SHIPPED)
    care_campaign(CareCampaign.Kind.ORDER_DELIVERED, delay_minutes=30)
    now = timezone.now()
    order = OrderFactory(number="LM20261103", status="shipped", shipped_at=now - timedelta(hours=2))
    OrderFactory(status="delivered", delivered_at=now - timedelta(days=10))  # long ago

    shipped = care.plan_order_reminders(now=now)
    order.status, order.delivered_at = "delivered", now - timedelta(minutes=1)
    order.save()
    delivered = care.plan_order_reminders(now=now)
    again = care.plan_order_reminders(now=now)

    assert (shipped, delivered, again) == (1, 1, 0)
    rows = dict(Outreach.objects.values_list("occasion", "due_at"))
    assert rows == {
        "order:LM20261103:shipped": order.shipped_at,
        "order:LM20261103:delivered": order.delivered_at + timedelta(minutes=30),
    }


def test_points_are_granted_once_per_key():
    customer = CustomerFactory()

    first = care.grant_points(customer_id=customer.pk, points=10, reason="survey", key="survey:1")
    again = care.grant_points(customer_id=customer.pk, points=10, reason="survey", key="survey:1")
    other = care.grant_points(customer_id=customer.pk, points=5, reason="survey", key="survey:2")

    customer.refresh_from_db()
    assert (first, again, other) == (True, False, True)
    assert customer.points == 15
    assert sorted(customer.points_entries.values_list("points", flat=True)) == [5, 10]
