"""Care planners (Celery Beat): claim today's outreach; conversations' tasks send it."""

from __future__ import annotations

from celery import shared_task

from customers.services import care, recommendations, segments


@shared_task
def plan_birthdays_task() -> int:
    return care.plan_birthdays()


@shared_task
def plan_order_reminders_task() -> int:
    return care.plan_order_reminders()


@shared_task
def refresh_segments_task() -> int:
    """Every customer's segment (time turns new customers into occasional ones)."""
    return segments.refresh_segments()


@shared_task
def sweep_recommendation_conversions_task() -> int:
    """Conversions of recommendations that no order upsert or redemption reported."""
    return recommendations.sweep_conversions()
