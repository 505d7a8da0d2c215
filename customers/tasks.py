"""Care planners (Celery Beat): claim today's outreach; conversations' tasks send it."""

from __future__ import annotations

from celery import shared_task

from customers.services import care


@shared_task
def plan_birthdays_task() -> int:
    return care.plan_birthdays()


@shared_task
def plan_order_reminders_task() -> int:
    return care.plan_order_reminders()


@shared_task
def plan_vip_revisits_task() -> int:
    return care.plan_vip_revisits()
