"""PostgreSQL crashed and started again under live traffic: every request in between is
answered at once with a clear 503 in the visitor's language (JSON on the API, a page
elsewhere), never a 500; once PostgreSQL is back the same server answers again, without
a restart; and nothing is half written.

The test's own PostgreSQL cluster (tests/faults/processes.py), never the machine's."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import psycopg
import pytest

from tests.faults.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

UNAVAILABLE = {
    "en": "The service is briefly unavailable. Please try again in a moment.",
    "zh-hans": "服务暂时不可用，请稍后再试。",
}


def new_session(server, language: str = "en") -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/chat/sessions/",
        json={"page": {"url": "https://shop.example/p/1"}},
        headers={"Accept-Language": language},
        timeout=30,
    )


@pytest.fixture
def server(private_postgres, start_daphne, settings):
    return start_daphne(
        redis_url=settings.REDIS_URL,
        database_url=private_postgres.url,
        # A request waits this long for a connection before it is told to come back.
        DATABASE_POOL_TIMEOUT="2",
    )


def test_requests_fail_with_a_clear_503_while_postgres_is_down_and_work_again_after(
    server, private_postgres
):
    assert new_session(server).status_code == 201

    private_postgres.crash()
    api = {language: new_session(server, language) for language in UNAVAILABLE}
    page = {
        language: httpx.get(
            f"{server.url}/help/", headers={"Accept-Language": language}, timeout=30
        )
        for language in UNAVAILABLE
    }
    health = httpx.get(f"{server.url}/healthz", timeout=30)
    private_postgres.restart()
    back = wait_for(
        lambda: (response := new_session(server)).status_code == 201 and response,
        "the server to answer again",
    )

    for language, message in UNAVAILABLE.items():
        assert api[language].status_code == 503
        assert api[language].headers["Retry-After"] == "5"
        assert api[language].json() == {"detail": message, "code": "database_unavailable"}
        assert page[language].status_code == 503
        assert page[language].headers["Content-Type"].startswith("text/html")
        assert message in page[language].text
    assert health.status_code == 503
    assert health.json()["checks"]["database"].startswith("error")
    assert back.json()["status"] == "bot"
    assert httpx.get(f"{server.url}/help/", timeout=30).status_code == 200
    assert server.running  # the same process throughout


def test_nothing_is_half_written_when_postgres_crashes_under_load(server, private_postgres):
    outcomes: list[tuple[int, str | None]] = []
    stop = threading.Event()

    def customers_arriving():
        while not stop.is_set():
            response = new_session(server)
            conversation = (
                response.json().get("conversation") if response.status_code == 201 else None
            )
            outcomes.append((response.status_code, conversation))

    visitors = [threading.Thread(target=customers_arriving) for _ in range(4)]
    for visitor in visitors:
        visitor.start()
    try:
        wait_for(lambda: len(outcomes) >= 20, "sessions before the crash")
        private_postgres.crash()
        wait_for(lambda: any(status == 503 for status, _ in outcomes), "a refused session")
        private_postgres.restart()
        refused = len(outcomes)
        wait_for(
            lambda: any(status == 201 for status, _ in outcomes[refused:]),
            "sessions after the restart",
        )
        wait_for(lambda: len(outcomes) >= refused + 20, "more sessions after the restart")
    finally:
        stop.set()
        for visitor in visitors:
            visitor.join(timeout=60)

    with psycopg.connect(
        private_postgres.url.replace("postgres://postgres@", "postgresql://postgres@")
    ) as database:
        rows = database.execute(
            """
            SELECT c.id::text, c.customer_id, c.status,
                   (SELECT count(*) FROM conversations_message m WHERE m.conversation_id = c.id),
                   (SELECT coalesce(max(seq), 0) FROM conversations_message m
                    WHERE m.conversation_id = c.id)
            FROM conversations_conversation c
            """
        ).fetchall()
        customers = database.execute("SELECT count(*) FROM customers_customer").fetchone()[0]
    statuses = Counter(status for status, _ in outcomes)
    created = {conversation for status, conversation in outcomes if status == 201}
    assert set(statuses) <= {201, 503}, statuses
    assert statuses[503] > 0
    assert {conversation for conversation, *_ in rows} >= created
    # A session whose answer was lost with the crash may have committed; none is partial:
    # every conversation has its customer, every customer one conversation, and its
    # messages run from seq 1 without a gap.
    assert len(rows) == customers
    assert all(customer is not None and status == "bot" for _, customer, status, *_ in rows)
    assert all(count == last for *_, count, last in rows)
