"""Idempotency keys are forgotten after 24 hours (the endpoints' behaviour is tested with
them: tests/tickets/test_api.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.models import ApiKey, IdempotencyKey
from helpdesk.tasks import forget_idempotency_keys_task

pytestmark = pytest.mark.django_db


def test_keys_older_than_a_day_are_deleted_and_younger_ones_kept():
    key, _ = ApiKey.issue(name="CRM", scopes=["tickets"])
    now = timezone.now()
    IdempotencyKey.objects.bulk_create(
        IdempotencyKey(api_key=key, key=name, request_hash="h", created_at=now - age)
        for name, age in [("old", timedelta(hours=25)), ("young", timedelta(hours=23))]
    )

    deleted = forget_idempotency_keys_task()

    assert deleted == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["young"]
