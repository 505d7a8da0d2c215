"""GET /api/v1/analytics/summary/ — the dashboard's headline metrics for a partner."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import selectors
from analytics.metrics import METRICS, TARGETED, compute
from analytics.scopes import MAX_DAYS, ScopeForm
from helpdesk.api_auth import PartnerAPIMixin

COUNTS = (
    "conversations",
    "handoffs",
    "resolved",
    "bot_resolved",
    "surveys_sent",
    "surveys_answered",
    "tickets_created",
    "tickets_resolved",
    "tickets_reopened",
)

SUMMARY_EXAMPLE = {
    "from": "2026-12-01",
    "to": "2026-12-07",
    "timezone": "Asia/Shanghai",
    "metrics": {
        "response_rate": 0.98,
        "avg_response_agent": 12.4,
        "avg_response_bot": 1.2,
        "resolution_rate": 0.91,
        "automated_resolution_rate": 0.82,
        "fcr_rate": 0.86,
        "csat": 0.95,
        "conversations": 18950,
        "frt_human_median": 15,
        "sla_resolution": 0.97,
        "...": "every metric of docs/metrics.md, null where there is no data",
    },
    "targets": {
        "response_rate": {"target": 1.0, "at_least": True, "met": False},
        "avg_response_agent": {"target": 15, "at_least": False, "met": True},
    },
    "counts": {"conversations": 18950, "handoffs": 3410, "tickets_created": 402},
}


def _errors(form: ScopeForm) -> dict:
    names = {"start": "from", "end": "to"}
    errors = {}
    for field, messages in form.errors.items():
        if field == "__all__":
            errors["detail"] = " ".join(messages)
        else:
            errors[names.get(field, field)] = list(messages)
    return errors


class SummaryView(PartnerAPIMixin, APIView):
    required_scope = "analytics"

    @extend_schema(
        summary="Headline metrics",
        description=(
            "The analytics dashboard's metrics for a range of local days (both included; "
            f"default: the last 7 days; at most {MAX_DAYS}), as defined in docs/metrics.md: "
            "rates as fractions (0–1), times in seconds (`ticket_resolution_hours` in hours), "
            "null where there is nothing to measure. Today's numbers are live. Filters: "
            "`channel`, `skill_group` and `agent` (ids), `customer_level`, `language`."
        ),
        parameters=[
            OpenApiParameter("from", str, description="first day, YYYY-MM-DD"),
            OpenApiParameter("to", str, description="last day, YYYY-MM-DD (≥ from)"),
            OpenApiParameter("channel", str, required=False),
            OpenApiParameter("skill_group", int, required=False),
            OpenApiParameter("agent", int, required=False),
            OpenApiParameter("customer_level", str, required=False),
            OpenApiParameter("language", str, required=False),
        ],
        responses={
            200: inline_serializer(
                "AnalyticsSummary",
                {
                    "from": serializers.DateField(),
                    "to": serializers.DateField(),
                    "timezone": serializers.CharField(),
                    "metrics": serializers.DictField(child=serializers.FloatField(allow_null=True)),
                    "targets": serializers.DictField(child=serializers.DictField()),
                    "counts": serializers.DictField(child=serializers.IntegerField()),
                },
            ),
            400: OpenApiResponse(
                description='A bad date or range: `{"from": ["…"]}` or `{"detail": "…"}`'
            ),
        },
        examples=[OpenApiExample("A week", value=SUMMARY_EXAMPLE, response_only=True)],
        tags=["analytics"],
    )
    def get(self, request):
        form = ScopeForm(request.query_params)
        if not form.is_valid():
            raise ValidationError(_errors(form))
        scope = form.scope()
        totals = selectors.figures(scope, now=timezone.now())[None]
        values = compute(totals)
        return Response(
            {
                "from": scope.start.isoformat(),
                "to": scope.end.isoformat(),
                "timezone": settings.TIME_ZONE,
                "metrics": {metric.key: values[metric.key] for metric in METRICS},
                "targets": {
                    metric.key: {
                        "target": metric.target.value,
                        "at_least": metric.target.at_least,
                        "met": metric.target.met(values[metric.key]),
                    }
                    for metric in TARGETED
                },
                "counts": {name: totals[name] for name in COUNTS},
            }
        )
