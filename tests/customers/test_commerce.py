"""The commerce adapter: scoped to the customer, and kind when the shop's system is down."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from customers.commerce import (
    CommerceUnavailable,
    HttpCommerce,
    LocalCommerce,
    OrderNotFound,
)
from customers.models import AfterSalesRequest, Coupon, Order
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    customer = CustomerFactory(external_id="u-1")
    Order.objects.create(
        number="LM20261103", customer=customer, status="shipped", tracking_number="SF1234567890123"
    )
    return customer


def test_an_order_is_found_by_number_or_tracking_number(customer):
    commerce = LocalCommerce()

    assert commerce.find_order(customer=customer, order_number="lm20261103").status == "shipped"
    assert (
        commerce.find_order(customer=customer, tracking_number="SF1234567890123").number
        == "LM20261103"
    )


def test_someone_elses_order_is_not_found(customer):
    stranger = CustomerFactory()

    with pytest.raises(OrderNotFound):
        LocalCommerce().find_order(customer=stranger, order_number="LM20261103")


def test_an_after_sales_request_is_opened_once(customer):
    commerce = LocalCommerce()

    first = commerce.request_after_sales(
        customer=customer, order_number="LM20261103", reason="defective"
    )
    again = commerce.request_after_sales(
        customer=customer, order_number="LM20261103", reason="defective"
    )

    assert first.created and not again.created
    assert first.number == again.number
    assert AfterSalesRequest.objects.get().kind == "repair"


def test_a_coupon_is_claimed_once_per_campaign(customer):
    commerce = LocalCommerce()

    first = commerce.claim_coupon(customer=customer, campaign="new-customer", language="zh")
    again = commerce.claim_coupon(customer=customer, campaign="new-customer", language="zh")

    assert (first.created, again.created) == (True, False)
    assert Coupon.objects.count() == 1
    assert first.title == "新人专享券"


class _OrderSystem(BaseHTTPRequestHandler):
    delay = 0.0

    def do_GET(self):  # noqa: N802
        time.sleep(self.delay)
        body = json.dumps({"number": "LM20261103", "status": "shipped", "total": "399.00"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def order_system():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OrderSystem)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    _OrderSystem.delay = 0.0


def test_the_http_adapter_reads_an_order_from_the_shops_system(customer, order_system):
    commerce = HttpCommerce(f"http://127.0.0.1:{order_system.server_port}", timeout=2)

    assert commerce.find_order(customer=customer, order_number="LM20261103").status == "shipped"


def test_a_slow_order_system_times_out_as_unavailable(customer, order_system):
    _OrderSystem.delay = 1.0
    commerce = HttpCommerce(f"http://127.0.0.1:{order_system.server_port}", timeout=0.2)

    with pytest.raises(CommerceUnavailable):
        commerce.find_order(customer=customer, order_number="LM20261103")


def test_an_order_system_that_is_down_is_unavailable(customer):
    commerce = HttpCommerce("http://127.0.0.1:9", timeout=0.5)

    with pytest.raises(CommerceUnavailable):
        commerce.find_order(customer=customer, order_number="LM20261103")
