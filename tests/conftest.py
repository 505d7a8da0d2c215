"""Fixtures shared by every test: real PostgreSQL and Redis, a real daphne server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from django.conf import settings
from django.core.cache import cache
from django.db.backends.signals import connection_created
from django.utils import translation

BASE_DIR = Path(__file__).resolve().parent.parent


def _yield_to_the_server(sender, connection, **kwargs):
    """The live server may still be finishing work (a grace check, a request of a closed
    page) while a test's teardown truncates the tables. Should the two deadlock, PostgreSQL
    aborts the session that waited deadlock_timeout first: waiting far longer here makes
    that the server's, never the test's cleanup."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET deadlock_timeout = '60s'")


connection_created.connect(_yield_to_the_server)

# Limits the live server runs with, so tests can reach them quickly.
LIVE_CHAT_RATE_LIMIT = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(settings_dict: dict) -> str:
    host = quote(settings_dict.get("HOST") or "", safe="")
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    password = (
        f":{quote(settings_dict['PASSWORD'], safe='')}" if settings_dict.get("PASSWORD") else ""
    )
    return f"postgres://{settings_dict['USER']}{password}@{host}{port}/{settings_dict['NAME']}"


class LiveServer:
    def __init__(self, url: str, process: subprocess.Popen):
        self.url = url
        self.ws_url = url.replace("http://", "ws://")
        self.process = process

    def __str__(self) -> str:
        return self.url


def live_server_env(*, database_url: str, redis_url: str | None = None, **extra: str) -> dict:
    """The environment a live server process of the tests runs with."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url or settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "CHAT_IDENTITY_SECRET": settings.CHAT_IDENTITY_SECRET,
        "CHANNEL_LAYER_PREFIX": settings.CHANNEL_LAYER_PREFIX,
        "CACHE_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "CHAT_RATE_LIMIT": str(LIVE_CHAT_RATE_LIMIT),
        # A flood of LIVE_CHAT_RATE_LIMIT + n frames must fall in one window even when a
        # busy machine takes seconds to store them (the server counts as it handles them).
        "CHAT_RATE_WINDOW": "120",
        "CHAT_SESSION_RATE": "100000/min",
        "CONN_MAX_AGE": "0",
        "ANALYTICS_LIVE_SECONDS": "0",  # today's numbers exactly as the test made them
        # An agent whose desk closed is away after 2 s (tests wait for it).
        "AGENT_AWAY_GRACE": "2",
        "QUEUE_UPDATE_DELAY": "0.1",
        # A desk socket follows three conversations at most (the fourth drops the first).
        "DESK_MAX_SUBSCRIPTIONS": "3",
        # Webhooks may reach the tests' receivers on 127.0.0.1 (as in local development).
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        **extra,
    }


def daphne_command(port: int) -> list[str]:
    """How the tests start the server: as production does (helpdesk/server.py)."""
    return [
        sys.executable,
        "-m",
        "helpdesk.server",
        "-b",
        "127.0.0.1",
        "-p",
        str(port),
        "helpdesk.asgi:application",
    ]


@pytest.fixture(scope="session")
def daphne_server(django_db_setup, django_db_blocker) -> LiveServer:
    """daphne serving the whole app against the test database, in its own process."""
    from django.db import connection

    port = _free_port()
    env = live_server_env(database_url=database_url(connection.settings_dict))
    (BASE_DIR / ".data").mkdir(exist_ok=True)
    log = open(BASE_DIR / ".data" / "test-daphne.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        daphne_command(port),
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            raise RuntimeError(
                "daphne did not start: " + (BASE_DIR / ".data/test-daphne.log").read_text()[-3000:]
            )
        time.sleep(0.2)
    yield LiveServer(url, process)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


@pytest.fixture
def live(daphne_server, transactional_db) -> LiveServer:
    """The live server, with a database the server process can see (committed rows)."""
    return daphne_server


@pytest.fixture(autouse=True)
def _queue_updates_at_once(settings):
    """In the test process, queue positions are published on commit, not by a timer thread
    that would outlive the test."""
    settings.QUEUE_UPDATE_DELAY = 0


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the site's default language: a test client request in English
    leaves English active in this thread (LocaleMiddleware never deactivates it)."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Per-IP throttles live in Redis; every test starts with an empty count."""
    cache.delete_many(
        [
            f"throttle_{scope}_{ip}"
            for scope in ("chat_session", "chat_invitation", "chat_attachment")
            for ip in ("127.0.0.1", "None", "")
        ]
    )
    _forget_login_failures()
    yield


def _forget_login_failures() -> None:
    """Failed logins are counted in Redis per user name and per address (helpdesk/logins.py)."""
    from helpdesk.redis_clients import key, sync_redis

    client = sync_redis()
    stale = list(client.scan_iter(match=key("login-fail", "*"), count=1000))
    if stale:
        client.delete(*stale)


@pytest.fixture
def demo_kb(db):
    """The demo shop's 80 articles and its intents, published."""
    from knowledge.demo import DEMO_DIR
    from knowledge.services import import_intents, import_kb

    with open(DEMO_DIR / "kb.jsonl", "rb") as kb:
        import_kb(kb)
    import_intents((DEMO_DIR / "intents.json").read_bytes())


def pytest_collection_modifyitems(config, items):
    """Browser tests run last: Playwright's sync API keeps an event loop running in the main
    thread while the session's browser lives, and a later test whose service publishes on
    commit (async_to_sync) in that thread would fail."""
    items.sort(key=lambda item: "/e2e/" in str(item.path))


@pytest.fixture
def partner_client():
    """`partner_client(*scopes)`: DRF's APIClient speaking JSON in English with a new key
    holding those scopes (the key is the client's `.key`)."""
    from rest_framework.test import APIClient

    from helpdesk.models import ApiKey

    def make(*scopes: str) -> APIClient:
        key, raw = ApiKey.issue(name="partner", scopes=list(scopes))
        client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        client.default_format = "json"
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        client.key = key
        client.raw_key = raw
        return client

    return make
