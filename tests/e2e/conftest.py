"""Playwright with the system Chromium (never a downloaded browser).

Without Chromium the browser tests skip, unless E2E_REQUIRED=1 (CI), where a
missing browser is a failure.
"""

import os
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium_path() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    path = _chromium_path()
    if path is None:
        message = "Chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("E2E_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread for as
    # long as the browser lives; the tests' ORM calls happen between browser
    # steps, never inside that loop, so Django's async guard is lifted meanwhile.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=path, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def call_service():
    """Call a service as the server would, on a thread of its own: Playwright's event loop runs
    in the test's thread, where a service could not publish its live events (async_to_sync)."""

    def call(service, /, **kwargs):
        def run():
            try:
                return service(**kwargs)
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(run).result()

    return call


@pytest.fixture
def new_context(browser):
    """Browser contexts (one per person), all closed after the test."""
    opened = []

    def new(**options):
        context = browser.new_context(**options)
        opened.append(context)
        return context

    yield new
    for context in opened:
        context.close()


@pytest.fixture
def ticket_defaults(transactional_db):
    """The migration's ticket types and default SLA policy (an earlier test's flush removed
    them)."""
    from tickets.defaults import ensure_defaults
    from tickets.models import SLAPolicy, SLATarget, TicketType

    ensure_defaults(TicketType, SLAPolicy, SLATarget)
