"""Partner API keys: hashed, scoped, revocable, expiring, throttled — over real HTTP."""

from datetime import timedelta

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from helpdesk.models import ApiKey, hash_key

pytestmark = pytest.mark.django_db(transaction=True)


def _get(live, path, key=None, **params):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.get(f"{live.url}{path}", headers=headers, params=params, timeout=10)


def test_create_api_key_prints_the_key_once_and_stores_only_its_hash(capsys):
    call_command("create_api_key", "--name", "CRM", "--scopes", "knowledge,bot")

    raw = capsys.readouterr().out.splitlines()[1]
    key = ApiKey.objects.get()
    assert key.key_hash == hash_key(raw)
    assert raw not in (key.prefix, key.key_hash)
    assert key.scopes == ["bot", "knowledge"]


def test_unknown_scopes_are_refused():
    with pytest.raises(CommandError, match="unknown scopes"):
        call_command("create_api_key", "--name", "x", "--scopes", "knowledge,root")

    assert not ApiKey.objects.exists()


def test_no_key_or_a_bad_key_is_401(live):
    assert _get(live, "/api/v1/knowledge/articles/").status_code == 401
    response = _get(live, "/api/v1/knowledge/articles/", key="lhk_nope")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_a_key_without_the_scope_is_403(live):
    _, raw = ApiKey.issue(name="orders only", scopes=["orders"])

    assert _get(live, "/api/v1/knowledge/articles/", key=raw).status_code == 403


@pytest.mark.parametrize(
    "change",
    [{"revoked_at": timezone.now()}, {"expires_at": timezone.now() - timedelta(seconds=1)}],
)
def test_revoked_and_expired_keys_are_401(live, change):
    key, raw = ApiKey.issue(name="old", scopes=["knowledge"])
    ApiKey.objects.filter(pk=key.pk).update(**change)

    assert _get(live, "/api/v1/knowledge/articles/", key=raw).status_code == 401


def test_a_good_key_works_and_records_its_last_use(live):
    key, raw = ApiKey.issue(name="help widget", scopes=["knowledge"])

    response = _get(live, "/api/v1/knowledge/articles/", key=raw, language="en")

    assert response.status_code == 200
    assert response.json() == {"results": []}
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_each_key_is_throttled_with_retry_after(client, settings):
    settings.API_KEY_RATE = "2/min"
    _, raw = ApiKey.issue(name="busy", scopes=["knowledge"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    codes = [client.get("/api/v1/knowledge/articles/", **headers) for _ in range(3)]

    assert [r.status_code for r in codes] == [200, 200, 429]
    assert int(codes[-1]["Retry-After"]) > 0
