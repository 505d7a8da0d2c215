"""GET /api/v1/analytics/summary/ (contracts/partner-api.md): scope, dates, the figures."""

import pytest

from analytics.periods import day_bounds
from analytics.services.rollup import roll_up
from helpdesk.models import ApiKey

URL = "/api/v1/analytics/summary/"


@pytest.fixture
def headers(db):
    _, raw = ApiKey.issue(name="bi", scopes=["analytics"])
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_the_summary_has_the_headline_metrics_and_targets(client, headers, past_day):
    start, end = day_bounds(past_day.day)
    roll_up(start=start, end=end)
    day = past_day.day.isoformat()

    response = client.get(f"{URL}?from={day}&to={day}", **headers)

    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"]) == (day, day)
    assert body["metrics"]["response_rate"] == 0.75
    assert body["metrics"]["csat"] == 0.5
    assert body["metrics"]["avg_response_agent"] == 12
    assert body["targets"]["response_rate"] == {"target": 1.0, "at_least": True, "met": False}
    assert body["targets"]["avg_response_agent"]["met"] is True
    assert body["counts"]["conversations"] == 7


def test_filters_apply(client, headers, past_day):
    start, end = day_bounds(past_day.day)
    roll_up(start=start, end=end)
    day = past_day.day.isoformat()

    body = client.get(f"{URL}?from={day}&to={day}&customer_level=gold", **headers).json()

    assert body["counts"]["conversations"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-02-30", "from"),
        ("to=tomorrow", "to"),
        ("from=2026-03-02&to=2026-03-01", "detail"),
        ("from=2024-01-01&to=2025-06-01", "detail"),
        ("from=1990-01-01&to=1990-01-02", "detail"),
        ("channel=telex", "channel"),
        ("agent=-1", "agent"),
    ],
)
def test_bad_dates_and_ranges_are_400(client, headers, query, field):
    response = client.get(f"{URL}?{query}", **headers)

    assert response.status_code == 400
    assert field in response.json()


def test_a_key_without_the_scope_is_403_and_no_key_401(client, db):
    _, raw = ApiKey.issue(name="tickets only", scopes=["tickets"])

    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 403
    assert client.get(URL).status_code == 401


def test_the_summary_is_in_the_openapi_schema_with_an_example(client, db):
    schema = client.get("/api/schema/?format=json").json()

    operation = schema["paths"]["/api/v1/analytics/summary/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"from", "to"}
    content = operation["responses"]["200"]["content"]["application/json"]
    assert content["examples"]["AWeek"]["value"]["metrics"]["csat"] == 0.95
    assert "400" in operation["responses"]
