"""Merging two customers who are one person, and undoing it exactly."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.translation import override

from conversations.models import DedicatedAgent, Message, OfflineMessage, Survey
from customers.models import (
    CareCampaign,
    Coupon,
    Customer,
    CustomerIdentity,
    CustomerMerge,
    CustomerTag,
    LevelChange,
    Outreach,
    PointsEntry,
)
from customers.services.care import claim_outreach, grant_points
from customers.services.merge import (
    MergeRefused,
    merge_customers,
    merge_preview,
    relations,
    surviving_customer_id,
    unmerge_customers,
)
from tests.factories import (
    AfterSalesRequestFactory,
    AgentFactory,
    ConversationFactory,
    CustomerFactory,
    CustomerNoteFactory,
    CustomerTagFactory,
    MessageFactory,
    OrderFactory,
    UserFactory,
    care_campaign,
)
from tests.threads import at_once
from tickets.models import Ticket
from tickets.services import open_ticket

pytestmark = pytest.mark.django_db


def state() -> dict:
    """Every row that points at a customer, by relation, with the customer it points at,
    and every customer's fields: what a merge changes and its undoing must put back."""
    rows = {}
    for field in relations():
        rows[f"{field.model._meta.label_lower}.{field.name}"] = sorted(
            (str(pk), customer)
            for pk, customer in field.model._base_manager.values_list("pk", field.attname)
        )
    customers = {
        c["id"]: {k: v for k, v in c.items() if k != "updated_at"}
        for c in Customer.objects.values()
    }
    extra = {
        "coupons": sorted(Coupon.objects.values_list("pk", "campaign")),
        "outreach": sorted(Outreach.objects.values_list("pk", "occasion", "status", "detail")),
        "tags": sorted(CustomerTag.objects.values_list("customer_id", "name", "source")),
    }
    return {"rows": rows, "customers": customers, "extra": extra}


@pytest.fixture
def pair():
    """A visitor with a little history, and the known customer they turn out to be."""
    known = CustomerFactory(name="王芳", external_id="u-1001", level="silver", points=100)
    visitor = CustomerFactory(name="", email="fang@example.com", level="gold", points=0)
    return visitor, known


def fill(customer, *, birthday_campaign, tag="回头客", coupon="birthday-2026"):
    conversation = ConversationFactory(customer=customer)
    MessageFactory(conversation=conversation, seq=1, body="我的耳机坏了")
    CustomerTagFactory(customer=customer, name=tag)
    CustomerNoteFactory(customer=customer, body=f"note about {customer.pk}")
    order = OrderFactory(customer=customer)
    AfterSalesRequestFactory(order=order)
    grant_points(customer_id=customer.pk, points=30, reason="survey", key=f"k-{customer.pk}")
    Coupon.objects.create(
        code=f"C{customer.pk}",
        customer=customer,
        campaign=coupon,
        title="生日券",
        amount=Decimal("20"),
        expires_at=timezone.now() + timedelta(days=30),
    )
    claim_outreach(
        campaign=birthday_campaign,
        customer_id=customer.pk,
        occasion="birthday:2026",
        occurred_at=timezone.now(),
    )
    OfflineMessage.objects.create(conversation=conversation, customer=customer, body="在吗")
    Survey.objects.create(
        conversation=conversation, customer=customer, delivered_in=conversation, question="?"
    )
    open_ticket(customer=customer, subject="坏了", type_code="repair", source=Ticket.Source.API)
    return conversation


def test_a_merge_moves_every_row_to_the_customer_who_stays(pair):
    visitor, known = pair
    birthday = care_campaign(CareCampaign.Kind.BIRTHDAY)
    conversation = fill(visitor, birthday_campaign=birthday)
    fill(known, birthday_campaign=birthday)
    DedicatedAgent.objects.create(customer=visitor, agent=AgentFactory())
    supervisor = UserFactory()

    merge = merge_customers(
        source_id=visitor.pk,
        target_id=known.pk,
        how=CustomerMerge.How.ADMIN,
        by=supervisor,
        reason="same phone",
    )

    assert not Customer.objects.filter(pk=visitor.pk).exists()
    for field in relations():
        assert not field.model._base_manager.filter(**{field.attname: visitor.pk}).exists()
    conversation.refresh_from_db()
    assert conversation.customer_id == known.pk
    assert Message.objects.filter(conversation=conversation).count() == 1
    assert known.conversations.count() == 2 and known.tickets.count() == 2
    assert known.orders.count() == 2 and known.after_sales.count() == 2
    assert known.notes.count() == 2 and known.surveys.count() == 2
    assert DedicatedAgent.objects.get().customer_id == known.pk
    assert (merge.merged_id, merge.survivor_id, merge.merged_by, merge.reason) == (
        visitor.pk,
        known.pk,
        supervisor,
        "same phone",
    )
    assert merge.moved["conversations.conversation.customer"] == [str(conversation.pk)]
    assert merge.merged_snapshot[0]["pk"] == visitor.pk


def test_the_staying_customer_keeps_the_higher_level_and_adds_up_the_points(pair):
    visitor, known = pair
    grant_points(customer_id=visitor.pk, points=40, reason="survey", key="visitor-survey")

    merge_customers(source_id=visitor.pk, target_id=known.pk, how=CustomerMerge.How.DESK)

    known.refresh_from_db()
    assert (known.level, known.points) == ("gold", 140)
    assert known.email == "fang@example.com" and known.name == "王芳"
    assert PointsEntry.objects.get().customer_id == known.pk
    change = LevelChange.objects.get()
    assert (change.old, change.new, change.source) == ("silver", "gold", "merge")


def test_a_tag_both_have_is_kept_once(pair):
    visitor, known = pair
    CustomerTagFactory(customer=visitor, name="回头客")
    CustomerTagFactory(customer=visitor, name="价格敏感")
    CustomerTagFactory(customer=known, name="回头客")

    merge = merge_customers(source_id=visitor.pk, target_id=known.pk, how="admin")

    assert sorted(known.tags.values_list("name", flat=True)) == ["价格敏感", "回头客"]
    assert [row["fields"]["name"] for row in merge.dropped] == ["回头客"]


def test_coupons_of_the_same_campaign_both_stay_usable(pair):
    visitor, known = pair
    for customer in pair:
        Coupon.objects.create(
            code=f"C{customer.pk}",
            customer=customer,
            campaign="birthday-2026",
            title="t",
            amount=10,
            expires_at=timezone.now() + timedelta(days=3),
        )

    merge_customers(source_id=visitor.pk, target_id=known.pk, how="admin")

    assert sorted(known.coupons.values_list("code", flat=True)) == sorted(
        [f"C{visitor.pk}", f"C{known.pk}"]
    )


@pytest.mark.parametrize(
    ("visitor_status", "known_status", "expected"),
    [
        ("pending", "pending", {"visitor": "skipped", "known": "pending"}),
        ("sent", "pending", {"visitor": "sent", "known": "skipped"}),
        ("pending", "sent", {"visitor": "skipped", "known": "sent"}),
    ],
)
def test_an_outreach_claimed_for_both_is_sent_at_most_once(
    pair, visitor_status, known_status, expected
):
    visitor, known = pair
    birthday = care_campaign(CareCampaign.Kind.BIRTHDAY)
    ids = {}
    for name, customer, status in (
        ("visitor", visitor, visitor_status),
        ("known", known, known_status),
    ):
        ids[name] = claim_outreach(
            campaign=birthday,
            customer_id=customer.pk,
            occasion="birthday:2026",
            occurred_at=timezone.now(),
        )
        Outreach.objects.filter(pk=ids[name]).update(status=status)

    merge_customers(source_id=visitor.pk, target_id=known.pk, how="admin")

    statuses = {name: Outreach.objects.get(pk=pk).status for name, pk in ids.items()}
    assert statuses == expected
    assert Outreach.objects.filter(customer=known, status__in=["pending", "sent"]).count() == 1


def test_unmerge_puts_back_exactly_what_moved(pair):
    visitor, known = pair
    birthday = care_campaign(CareCampaign.Kind.BIRTHDAY)
    fill(visitor, birthday_campaign=birthday)
    fill(known, birthday_campaign=birthday)
    CustomerIdentity.objects.create(
        customer=visitor, kind="email", value="fang@example.com", source="chat"
    )
    CustomerIdentity.objects.create(
        customer=known, kind="email", value="fang@example.com", source="chat"
    )
    DedicatedAgent.objects.create(customer=visitor, agent=AgentFactory())
    DedicatedAgent.objects.create(customer=known, agent=AgentFactory())
    CustomerIdentity.objects.create(
        customer=known,
        kind="account",
        value="u-1001",
        verified=True,
        verified_by="import",
        source="external_id",
    )
    before = state()
    merge = merge_customers(source_id=visitor.pk, target_id=known.pk, how="admin")
    later = ConversationFactory(customer=known)  # after the merge: stays with known

    unmerge_customers(merge_id=merge.pk, by=UserFactory(), reason="two people after all")

    later.delete()
    after = state()
    # The level went up with the merge and back down with its undoing, both recorded.
    changes = after["rows"].pop("customers.levelchange.customer")
    assert changes == [(str(c.pk), known.pk) for c in LevelChange.objects.order_by("pk")]
    assert list(LevelChange.objects.order_by("pk").values_list("old", "new", "source")) == [
        ("silver", "gold", "merge"),
        ("gold", "silver", "merge"),
    ]
    before["rows"].pop("customers.levelchange.customer")
    assert after == before
    merge.refresh_from_db()
    assert merge.is_undone and merge.undo_reason == "two people after all"
    assert surviving_customer_id(visitor.pk) is None


def test_unmerge_gives_back_the_external_id_the_staying_customer_took():
    anonymous = CustomerFactory(external_id=None)
    identified = CustomerFactory(external_id="u-7")
    ConversationFactory(customer=identified)

    merge = merge_customers(source_id=identified.pk, target_id=anonymous.pk, how="admin")
    anonymous.refresh_from_db()
    assert anonymous.external_id == "u-7"
    unmerge_customers(merge_id=merge.pk, by=None)

    anonymous.refresh_from_db()
    assert anonymous.external_id is None
    assert Customer.objects.get(pk=identified.pk).external_id == "u-7"
    assert identified.conversations.count() == 1


def test_an_undone_merge_cannot_be_undone_twice(pair):
    visitor, known = pair
    merge = merge_customers(source_id=visitor.pk, target_id=known.pk, how="admin")
    unmerge_customers(merge_id=merge.pk, by=None)

    with pytest.raises(MergeRefused):
        unmerge_customers(merge_id=merge.pk, by=None)


def test_a_merge_into_a_customer_merged_away_since_is_undone_in_order(pair):
    visitor, known = pair
    third = CustomerFactory()
    first = merge_customers(source_id=visitor.pk, target_id=known.pk, how="admin")
    second = merge_customers(source_id=known.pk, target_id=third.pk, how="admin")

    assert surviving_customer_id(visitor.pk) == third.pk
    with pytest.raises(MergeRefused):
        unmerge_customers(merge_id=first.pk, by=None)
    unmerge_customers(merge_id=second.pk, by=None)
    unmerge_customers(merge_id=first.pk, by=None)
    assert Customer.objects.filter(pk__in=[visitor.pk, known.pk, third.pk]).count() == 3


def test_a_customer_is_not_merged_with_itself_or_with_nobody(pair):
    visitor, known = pair

    with pytest.raises(MergeRefused):
        merge_customers(source_id=known.pk, target_id=known.pk, how="admin")
    with pytest.raises(MergeRefused):
        merge_customers(source_id=visitor.pk, target_id=999_999, how="admin")
    assert Customer.objects.filter(pk=visitor.pk).exists()
    assert not CustomerMerge.objects.exists()


def test_the_preview_counts_what_will_move(pair):
    visitor, known = pair
    ConversationFactory(customer=visitor)
    ConversationFactory(customer=visitor)
    OrderFactory(customer=visitor)

    with override("en"):
        preview = dict(merge_preview(source=visitor, target=known))

    assert preview == {"conversations": 2, "orders": 1}


@pytest.mark.django_db(transaction=True)
def test_two_merges_of_one_pair_at_once_merge_once():
    visitor, known = CustomerFactory(), CustomerFactory(external_id="u-1")
    ConversationFactory(customer=visitor)

    def merge():
        try:
            return merge_customers(source_id=visitor.pk, target_id=known.pk, how="admin")
        except MergeRefused:
            return "refused"

    results = at_once(merge, times=2)

    assert sorted(r if r == "refused" else "merged" for r in results) == ["merged", "refused"]
    assert CustomerMerge.objects.count() == 1
    assert known.conversations.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_merges_of_one_pair_in_opposite_directions_merge_once():
    one, two = CustomerFactory(), CustomerFactory()
    ConversationFactory(customer=one)
    ConversationFactory(customer=two)
    directions = iter([(one.pk, two.pk), (two.pk, one.pk)])

    def merge():
        source, target = next(directions)
        try:
            return merge_customers(source_id=source, target_id=target, how="admin")
        except MergeRefused:
            return "refused"

    results = at_once(merge, times=2)

    assert sum(1 for r in results if r == "refused") == 1
    assert Customer.objects.filter(pk__in=[one.pk, two.pk]).count() == 1
    survivor = Customer.objects.get(pk__in=[one.pk, two.pk])
    assert survivor.conversations.count() == 2


def test_a_moved_ticket_records_the_merge_and_its_undoing_on_its_timeline(pair):
    from tickets.models import TicketEvent

    visitor, known = pair
    supervisor = UserFactory()
    ticket = open_ticket(
        customer=visitor, subject="坏了", type_code="repair", source=Ticket.Source.API
    )

    merge = merge_customers(source_id=visitor.pk, target_id=known.pk, how="desk", by=supervisor)
    unmerge_customers(merge_id=merge.pk, by=supervisor)

    events = TicketEvent.objects.filter(ticket=ticket, field="customer").order_by("pk")
    assert [(e.old, e.new, e.actor) for e in events] == [
        (f"#{visitor.pk}", f"#{known.pk}", supervisor),
        (f"#{known.pk}", f"#{visitor.pk}", supervisor),
    ]
