"""Care planners (Celery Beat): claim today's outreach; conversations' tasks send it. And
the automatic tag rules: one customer's after a change, everyone's nightly."""

from __future__ import annotations

from celery import shared_task

from customers.services import care, recommendations, segments, tag_rules


@shared_task
def plan_birthdays_task() -> int:
    return care.plan_birthdays()


@shared_task
def plan_order_reminders_task() -> int:
    return care.plan_order_reminders()


@shared_task
def plan_vip_revisits_task() -> int:
    return care.plan_vip_revisits()


@shared_task
def refresh_segments_task() -> int:
    """Every customer's segment (time turns new customers into occasional ones)."""
    return segments.refresh_segments()


@shared_task
def sweep_recommendation_conversions_task() -> int:
    """Conversions of recommendations that no order upsert or redemption reported."""
    return recommendations.sweep_conversions()


@shared_task
def evaluate_tags_task(customer_ids: list[int]) -> tuple[int, int]:
    """These customers' automatic tags, after a chat closed, an order changed, a merge."""
    return tag_rules.evaluate_customers(customer_ids=customer_ids)


@shared_task
def sweep_tag_rules_task(rule_ids: list[int] | None = None) -> tuple[int, int]:
    """Every rule (or these) on every customer (Beat, nightly at 03:30; a rule saved in
    admin)."""
    return tag_rules.sweep(rule_ids=rule_ids)
