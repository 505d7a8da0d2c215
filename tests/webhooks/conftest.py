import ipaddress

import pytest

from helpdesk.models import ApiKey, WebhookSubscription
from helpdesk.webhooks import subscriptions, targets
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def private_allowed(settings):
    """Deliveries to the receiver on 127.0.0.1 (tests set what local development sets)."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_RETRY_BASE = 0


@pytest.fixture
def partner_key(db):
    key, _ = ApiKey.issue(name="CRM", scopes=["webhooks"])
    return key


@pytest.fixture
def subscribe(partner_key):
    def make(
        url: str, events=("ticket.created", "ticket.updated"), key=None
    ) -> WebhookSubscription:
        return subscriptions.create_subscription(
            api_key=key or partner_key, url=url, events=list(events)
        )

    return make


class FakeDNS(dict):
    """{host: [address, …]}: what the names resolve to; `lookups` lists what was asked."""

    def __init__(self):
        super().__init__()
        self.lookups: list[str] = []


@pytest.fixture
def dns(monkeypatch) -> FakeDNS:
    """The webhooks' resolver answering from a table the test writes (other names as
    usual): DNS that changes between subscribing and delivering."""
    table = FakeDNS()
    real = targets.resolve

    def resolve(host, port):
        table.lookups.append(host)
        if host in table:
            return [ipaddress.ip_address(address) for address in table[host]]
        return real(host, port)

    monkeypatch.setattr(targets, "resolve", resolve)
    return table
