"""Automatic tags from the rules an admin edits: each kind, removal when a customer no
longer matches, manual tags never touched, an idempotent and concurrency-safe sweep, the
hooks that apply them (a chat closing, an order changing, a merge), and rollback."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from conversations.models import Conversation
from conversations.services import close_conversation
from customers.models import Customer, CustomerTag, Order, TagRule
from customers.services import tag_rules
from customers.services.merge import merge_customers
from tests.factories import (
    AgentFactory,
    ConversationFactory,
    CustomerFactory,
    CustomerTagFactory,
    MessageFactory,
    OrderFactory,
)
from tests.threads import at_once
from tickets.models import Ticket
from tickets.services import open_ticket

pytestmark = pytest.mark.django_db


def rule(kind, *, value="", threshold=1, window_days=90, name_zh=None, name_en=None, **extra):
    return TagRule.objects.create(
        name_zh=name_zh or f"标签-{kind}",
        name_en=name_en or f"tag-{kind}",
        kind=kind,
        value=value,
        threshold=Decimal(threshold),
        window_days=window_days,
        **extra,
    )


def chat(customer, *, days_ago=1, **meta):
    conversation = ConversationFactory(customer=customer)
    Conversation.objects.filter(pk=conversation.pk).update(
        created_at=timezone.now() - timedelta(days=days_ago), last_seq=2
    )
    MessageFactory(conversation=conversation, seq=1, body="你好")
    MessageFactory(conversation=conversation, seq=2, sender="bot", body="…", meta=meta)
    return conversation


def auto_tags(customer) -> list[tuple[str, str]]:
    return list(
        CustomerTag.objects.filter(customer=customer, source="auto")
        .order_by("name")
        .values_list("name", "detail")
    )


def evaluate(*customers):
    return tag_rules.evaluate_customers(customer_ids=[c.pk for c in customers])


def test_an_intent_rule_tags_a_customer_with_enough_conversations_in_the_window():
    rule("intent", value="logistics_tracking", threshold=2, window_days=30, name_zh="关注物流")
    often, once, long_ago = CustomerFactory(), CustomerFactory(), CustomerFactory()
    chat(often, intent="logistics_tracking")
    chat(often, intent="logistics_tracking")
    chat(once, intent="logistics_tracking")
    chat(long_ago, intent="logistics_tracking")
    chat(long_ago, intent="logistics_tracking", days_ago=45)

    added, removed = evaluate(often, once, long_ago)

    assert (added, removed) == (1, 0)
    assert auto_tags(often) == [("关注物流", "chats 2 ≥ 2 / 30 d")]
    assert auto_tags(once) == auto_tags(long_ago) == []


def test_an_article_rule_counts_conversations_the_bot_answered_with_it():
    rule("article", value="returns-policy", name_zh="咨询过退货")
    reader, other = CustomerFactory(), CustomerFactory()
    chat(reader, article="returns-policy", intent=None)
    chat(other, article="warranty", intent=None)

    evaluate(reader, other)

    assert [name for name, _ in auto_tags(reader)] == ["咨询过退货"]
    assert auto_tags(other) == []


def test_an_emotion_rule_tags_a_customer_the_bot_handed_over_for_anger():
    rule("emotion", name_zh="近期情绪激动")
    angry, calm = CustomerFactory(), CustomerFactory()
    chat(angry, action="handoff", handoff_reason="emotion")
    chat(calm, action="handoff", handoff_reason="request")

    evaluate(angry, calm)

    assert [name for name, _ in auto_tags(angry)] == ["近期情绪激动"]
    assert auto_tags(calm) == []


def test_two_complaints_in_90_days_make_an_after_sales_dispute():
    rule("complaint", threshold=2, name_zh="售后维权客户", name_en="After-sales dispute")
    disputing, once = CustomerFactory(), CustomerFactory()
    open_ticket(customer=disputing, subject="投诉", type_code="complaint", source=Ticket.Source.API)
    chat(disputing, intent="complaint")
    open_ticket(customer=once, subject="投诉", type_code="complaint", source=Ticket.Source.API)
    open_ticket(customer=once, subject="坏了", type_code="repair", source=Ticket.Source.API)

    evaluate(disputing, once)

    assert auto_tags(disputing) == [("售后维权客户", "complaints 2 ≥ 2 / 90 d")]
    assert auto_tags(once) == []


def test_a_complaint_chat_that_became_a_complaint_ticket_counts_once():
    rule("complaint", threshold=2)
    customer = CustomerFactory()
    conversation = chat(customer, intent="complaint")
    open_ticket(
        customer=customer,
        subject="投诉",
        type_code="complaint",
        source=Ticket.Source.CHAT,
        conversation=conversation,
    )

    evaluate(customer)

    assert auto_tags(customer) == []


def test_a_category_rule_counts_paid_orders_with_an_item_of_that_category():
    rule("category", value="Audio", window_days=365, name_zh="音频设备买家")
    buyer, cancelled, odd = CustomerFactory(), CustomerFactory(), CustomerFactory()
    OrderFactory(
        customer=buyer, items=[{"sku": "B", "category": " audio "}], placed_at=timezone.now()
    )
    OrderFactory(
        customer=cancelled,
        status=Order.Status.CANCELLED,
        items=[{"sku": "B", "category": "audio"}],
        placed_at=timezone.now(),
    )
    OrderFactory(customer=odd, items={"not": "a list"}, placed_at=timezone.now())
    OrderFactory(customer=odd, items=["audio", 3, None], placed_at=timezone.now())

    evaluate(buyer, cancelled, odd)

    assert [name for name, _ in auto_tags(buyer)] == ["音频设备买家"]
    assert auto_tags(cancelled) == auto_tags(odd) == []


def test_a_spend_rule_adds_up_the_orders_of_the_period():
    rule("spend", threshold=1000, window_days=365, name_zh="高消费客户")
    big, small = CustomerFactory(), CustomerFactory()
    for total, days in (("600.00", 10), ("500.00", 200), ("5000.00", 400)):
        OrderFactory(customer=big, total=total, placed_at=timezone.now() - timedelta(days=days))
    OrderFactory(customer=small, total="5000.00", placed_at=timezone.now() - timedelta(days=400))

    evaluate(big, small)

    assert auto_tags(big) == [("高消费客户", "spent 1100 ≥ 1000 / 365 d")]
    assert auto_tags(small) == []


def test_a_customer_who_no_longer_matches_loses_the_tag_and_manual_tags_stay():
    spend = rule("spend", threshold=100, name_zh="高消费客户")
    customer, manual = CustomerFactory(), CustomerFactory()
    order = OrderFactory(customer=customer, total="300", placed_at=timezone.now())
    OrderFactory(customer=manual, total="10", placed_at=timezone.now())
    CustomerTagFactory(customer=manual, name="高消费客户")  # an agent's own, same name
    evaluate(customer, manual)
    assert auto_tags(customer) != []

    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)
    added, removed = evaluate(customer, manual)

    assert (added, removed) == (0, 1)
    assert auto_tags(customer) == []
    kept = CustomerTag.objects.get(customer=manual)
    assert (kept.name, kept.source, kept.rule) == ("高消费客户", "manual", None)
    assert spend.tags.count() == 0


def test_the_sweep_is_idempotent_and_a_switched_off_rule_loses_its_tags():
    spend = rule("spend", threshold=100)
    customers = [CustomerFactory() for _ in range(3)]
    for customer in customers:
        OrderFactory(customer=customer, total="150", placed_at=timezone.now())

    first = tag_rules.sweep()
    second = tag_rules.sweep()
    TagRule.objects.filter(pk=spend.pk).update(enabled=False)
    third = tag_rules.sweep()

    assert (first, second, third) == ((3, 0), (0, 0), (0, 3))
    assert not CustomerTag.objects.exists()


def test_an_evaluation_that_rolls_back_leaves_no_tag():
    rule("spend", threshold=100)
    customer = CustomerFactory()
    OrderFactory(customer=customer, total="150", placed_at=timezone.now())

    with pytest.raises(RuntimeError), transaction.atomic():
        evaluate(customer)
        raise RuntimeError

    assert not CustomerTag.objects.exists()


def test_the_tag_is_named_in_the_readers_language():
    rule("spend", threshold=1, name_zh="高消费客户", name_en="Big spender")
    customer = CustomerFactory()
    OrderFactory(customer=customer, total="150", placed_at=timezone.now())
    evaluate(customer)
    tag = CustomerTag.objects.select_related("rule").get()

    with override("en"):
        english = tag.label
    assert (tag.label, english) == ("高消费客户", "Big spender")


def test_closing_a_chat_reevaluates_its_customer_after_commit(
    django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = []
    monkeypatch.setattr(tag_rules, "_enqueue", enqueued.append)
    agent = AgentFactory()
    conversation = ConversationFactory(status=Conversation.Status.ASSIGNED, assignee=agent)

    with django_capture_on_commit_callbacks(execute=True):
        close_conversation(conversation_id=conversation.pk, agent=agent, resolution="resolved")

    assert enqueued == [[conversation.customer_id]]


def test_a_close_that_rolls_back_reevaluates_nothing(
    django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = []
    monkeypatch.setattr(tag_rules, "_enqueue", enqueued.append)
    agent = AgentFactory()
    conversation = ConversationFactory(status=Conversation.Status.ASSIGNED, assignee=agent)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            close_conversation(conversation_id=conversation.pk, agent=agent, resolution="resolved")
            raise RuntimeError

    assert enqueued == [] and callbacks == []


def test_an_order_changed_in_admin_and_a_merge_reevaluate_after_commit(
    client, django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = []
    monkeypatch.setattr(tag_rules, "_enqueue", enqueued.append)
    boss = get_user_model().objects.create_superuser("boss", "b@example.com", "pw-12345678")
    client.force_login(boss)
    order = OrderFactory(placed_at=timezone.now())
    url = reverse("admin:customers_order_change", args=[order.pk])
    data = {
        "number": order.number,
        "customer": order.customer_id,
        "status": "cancelled",
        "items": "[]",
        "total": "100.00",
        "tracking_events": "[]",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, data)
    other = CustomerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        merge_customers(source_id=other.pk, target_id=order.customer_id, how="admin")

    assert response.status_code == 302
    assert enqueued == [[order.customer_id], [order.customer_id]]


def test_the_task_applies_the_rules(monkeypatch):
    from customers.tasks import evaluate_tags_task, sweep_tag_rules_task

    rule("spend", threshold=100)
    customer = CustomerFactory()
    OrderFactory(customer=customer, total="150", placed_at=timezone.now())

    assert tuple(evaluate_tags_task.run([customer.pk])) == (1, 0)
    assert tuple(sweep_tag_rules_task.run()) == (0, 0)


def test_the_nightly_sweep_is_scheduled_in_beat():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="customers-sweep-tag-rules")

    assert task.task == "customers.tasks.sweep_tag_rules_task" and task.enabled
    assert (task.crontab.hour, task.crontab.minute) == ("3", "30")


def test_the_demo_rules_load_once_and_tag_the_demo_customers():
    call_command("load_demo")
    snapshot = sorted(CustomerTag.objects.values_list("customer__external_id", "name", "source"))

    call_command("load_demo")

    assert TagRule.objects.count() == 6
    assert snapshot == sorted(
        CustomerTag.objects.values_list("customer__external_id", "name", "source")
    )
    fang = Customer.objects.get(external_id="demo-1001")
    assert {"高消费客户", "音频设备买家"} <= set(auto_name for auto_name, _ in auto_tags(fang))


@pytest.mark.django_db(transaction=True)
def test_two_evaluations_of_one_customer_at_once_tag_once():
    rule("spend", threshold=100)
    customer = CustomerFactory()
    OrderFactory(customer=customer, total="150", placed_at=timezone.now())

    results = at_once(lambda: tag_rules.evaluate_customers(customer_ids=[customer.pk]), times=4)
    results += at_once(tag_rules.sweep, times=2)

    assert sorted(results)[-1] == (1, 0) and sum(r[0] for r in results) == 1
    assert CustomerTag.objects.filter(customer=customer).count() == 1


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"kind": "intent", "value": "  "}, "value"),
        ({"kind": "spend", "threshold": "0"}, "threshold"),
        ({"kind": "spend", "threshold": "abc"}, "threshold"),
        ({"kind": "spend", "window_days": "0"}, "window_days"),
        ({"kind": "nonsense"}, "kind"),
        ({"kind": "spend", "name_zh": "x" * 41}, "name_zh"),
    ],
)
def test_a_bad_rule_in_admin_is_refused_and_nothing_saved(client, fields, error_field):
    boss = get_user_model().objects.create_superuser("boss", "b@example.com", "pw-12345678")
    client.force_login(boss)
    data = {
        "name_zh": "高消费客户",
        "name_en": "Big spender",
        "value": "",
        "threshold": "100",
        "window_days": "90",
        "enabled": "on",
        **fields,
    }

    response = client.post(reverse("admin:customers_tagrule_add"), data)

    assert response.status_code == 200
    assert error_field in response.context["adminform"].form.errors
    assert not TagRule.objects.exists()


def test_apply_now_in_admin_tags_everyone_the_rule_matches(client):
    boss = get_user_model().objects.create_superuser("boss", "b@example.com", "pw-12345678")
    client.force_login(boss)
    spend = rule("spend", threshold=100, name_zh="高消费客户")
    OrderFactory(total="150", placed_at=timezone.now())

    response = client.post(
        reverse("admin:customers_tagrule_changelist"),
        {"action": "apply_now", "_selected_action": [spend.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert spend.tags.count() == 1


def test_a_rule_saved_in_admin_is_applied_to_everyone_after_commit(
    client, django_capture_on_commit_callbacks, monkeypatch
):
    swept = []
    monkeypatch.setattr(tag_rules, "_enqueue_sweep", swept.append)
    boss = get_user_model().objects.create_superuser("boss", "b@example.com", "pw-12345678")
    client.force_login(boss)
    data = {
        "name_zh": "高消费客户",
        "name_en": "Big spender",
        "kind": "spend",
        "value": "ignored",
        "threshold": "1000",
        "window_days": "365",
        "enabled": "on",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:customers_tagrule_add"), data)

    saved = TagRule.objects.get()
    assert response.status_code == 302
    assert (saved.value, swept) == ("", [[saved.pk]])
