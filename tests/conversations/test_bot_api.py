"""POST /api/v1/bot/answer — the same engine for partners (chat protocol §4)."""

import pytest

from helpdesk.models import ApiKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def headers():
    _, raw = ApiKey.issue(name="wechat relay", scopes=["bot"])
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_a_question_gets_the_article_answer_with_meta(client, demo_kb, headers):
    response = client.post(
        "/api/v1/bot/answer",
        {"text": "退货政策是怎样的？", "language": "zh"},
        content_type="application/json",
        **headers,
    )

    assert response.status_code == 200
    assert response.json()["meta"]["action"] == "answer"
    assert response.json()["meta"]["article"] == "returns-policy"
    assert "/help/a/returns-policy/" in response.json()["reply"]


def test_an_out_of_scope_question_falls_back_in_english(client, demo_kb, headers):
    response = client.post(
        "/api/v1/bot/answer",
        {"text": "Can you help me with my calculus homework?", "language": "en"},
        content_type="application/json",
        **headers,
    )

    assert response.json()["meta"]["action"] == "fallback"
    assert response.json()["meta"]["article"] is None
    assert "person" in response.json()["reply"]


@pytest.mark.parametrize(
    "body", [{}, {"text": ""}, {"text": 5}, {"text": "x" * 4001}, {"text": "hi", "language": "fr"}]
)
def test_bad_input_is_400(client, headers, body):
    response = client.post("/api/v1/bot/answer", body, content_type="application/json", **headers)

    assert response.status_code == 400


def test_the_bot_scope_is_required(client):
    _, raw = ApiKey.issue(name="kb only", scopes=["knowledge"])

    response = client.post(
        "/api/v1/bot/answer",
        {"text": "hi"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )

    assert response.status_code == 403
