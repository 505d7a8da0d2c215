"""Partner events (contracts/partner-api.md, "Webhooks"): written to the outbox by services.

A service calls `emit(event, data)` inside its transaction: the event exists if
and only if the change it describes committed. Deliveries to the partners'
subscriptions are made from the outbox (the partner API issue).
"""

from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder

from helpdesk.models import WEBHOOK_EVENTS, OutboundEvent


def emit(event: str, data: dict) -> OutboundEvent:
    return emit_many([(event, data)])[0]


def emit_many(items: list[tuple[str, dict]]) -> list[OutboundEvent]:
    """Several events in one write, in their order (a batch job)."""
    rows = []
    for event, data in items:
        if event not in WEBHOOK_EVENTS:
            raise ValueError(f"unknown webhook event {event!r}")
        # Times and ids as the API writes them (ISO-8601, strings), whatever was passed.
        rows.append(
            OutboundEvent(event=event, data=json.loads(json.dumps(data, cls=DjangoJSONEncoder)))
        )
    return OutboundEvent.objects.bulk_create(rows)
