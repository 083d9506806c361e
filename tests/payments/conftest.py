"""Payments fixtures: the gateway over the sandbox, paid orders, and a webhook receiver to watch deliveries.

`sandbox_gateway` itself lives in tests/conftest.py, for every test folder.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from payments.gateway import RazorpayGateway, get_gateway
from tests.factories import ProductFactory, StoreFactory
from tests.orders.helpers import make_buyer


@pytest.fixture
def gateway(sandbox_gateway) -> RazorpayGateway:
    return get_gateway()


@pytest.fixture
def make_order(gateway):
    def make(amount_paise: int = 50_000, receipt: str = "JC-TEST-1", notes: dict | None = None):
        return gateway.order_create(
            amount_paise=amount_paise, currency="INR", receipt=receipt, notes=notes or {"order_id": "1"}
        )

    return make


@pytest.fixture
def paid_payment(make_order, sandbox_gateway):
    """A captured ₹500.00 payment: `(gateway order, payment id)`."""
    order = make_order()
    return order, sandbox_gateway.pay(order.id)["id"]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)


class WebhookReceiver:
    """A stand-in for our webhook endpoint: records every request and answers `statuses` in turn, then 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: list[int] = []
        self._condition = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._condition:
                    receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver._condition.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/payments/razorpay/webhook/"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._condition:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"expected {count} webhook requests, got {len(self.received)}"
                self._condition.wait(remaining)
            return list(self.received)

    def events(self) -> list[str]:
        return [json.loads(item.body)["event"] for item in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_receiver(sandbox_gateway):
    receiver = WebhookReceiver()
    sandbox_gateway.webhook_url = receiver.url
    yield receiver
    receiver.stop()


# --- online orders (test_online*, test_webhooks, test_expiry) -----------------------------


@pytest.fixture
def store(db):
    return StoreFactory()


@pytest.fixture
def product(store):
    """Visible, 10 in stock, ₹499.00, sold by `store`."""
    return ProductFactory(store=store)


@pytest.fixture
def buyer(db):
    """A shopper with a default address at `buyer.address`."""
    return make_buyer()
