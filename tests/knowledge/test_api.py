"""GET /api/v1/knowledge/articles/ — search and read published articles."""

import pytest

from helpdesk.models import ApiKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def headers():
    _, raw = ApiKey.issue(name="widget", scopes=["knowledge"])
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_search_returns_ranked_highlighted_hits(client, demo_kb, headers):
    response = client.get(
        "/api/v1/knowledge/articles/", {"q": "退货政策", "language": "zh"}, **headers
    )

    first = response.json()["results"][0]
    assert first["article"]["slug"] == "returns-policy"
    assert "<mark>" in first["title_html"]


def test_listing_without_a_query_gives_the_published_articles(client, demo_kb, headers):
    response = client.get("/api/v1/knowledge/articles/", {"language": "en"}, **headers)

    assert len(response.json()["results"]) == 40


def test_one_article_by_slug(client, demo_kb, headers):
    response = client.get(
        "/api/v1/knowledge/articles/returns-policy/", {"language": "en"}, **headers
    )

    assert response.status_code == 200
    assert response.json()["language"] == "en"
    assert response.json()["questions"]


@pytest.mark.parametrize("params", [{"language": "fr"}, {"q": "x" * 201}])
def test_bad_parameters_are_400(client, headers, params):
    response = client.get("/api/v1/knowledge/articles/", params, **headers)

    assert response.status_code == 400
    assert response.json()


def test_an_unknown_slug_is_404(client, headers):
    assert client.get("/api/v1/knowledge/articles/nothing/", **headers).status_code == 404
