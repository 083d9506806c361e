"""The sandbox gateway: a Razorpay-compatible HTTP server on 127.0.0.1, with fault controls.

`SandboxGateway` is both the server and its remote control. Tests call its methods directly;
the standalone server (`manage.py run_sandbox_gateway`) and browser tests use the same methods
through `POST /_sandbox/control` (see `CONTROL_ACTIONS`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from .faults import Fault, Faults
from .handler import SandboxHandler, SandboxHTTPServer
from .ledger import ApiError, Ledger
from .webhooks import Delivery, Event, WebhookDispatcher

logger = logging.getLogger(__name__)

FAILED_PAYMENT_DESCRIPTION = "Payment failed at the bank (sandbox)"

CONFIGURABLE = ("refund_delay", "refund_latency", "webhook_url")
# What the control endpoint may call: {"action": name, ...keyword arguments}.
CONTROL_ACTIONS = (
    "fail_next",
    "hang_next",
    "drop_next_response",
    "fail_next_refund",
    "webhook_mode",
    "release_webhooks",
    "flush_webhooks",
    "pay",
    "start_payment",
    "complete_payment",
    "fail",
    "settle_refund",
    "configure",
    "reset",
    "state",
)


class SandboxGateway:
    """A Razorpay stand-in. `start()` serves it on a free port (or `port`) in a daemon thread."""

    def __init__(
        self,
        key_id: str,
        key_secret: str,
        webhook_secret: str,
        webhook_url: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        allowed_callback_hosts: Iterable[str] = (),
        refund_delay: float | None = 0.2,
        refund_latency: float = 0.0,
        webhook_retry_delays: tuple[float, ...] = (0.1, 0.5, 2.0),
        webhook_timeout: float = 5.0,
    ) -> None:
        self.key_id = key_id
        self.key_secret = key_secret
        self.host = host
        self.port = port
        self.allowed_callback_hosts = frozenset(allowed_callback_hosts)
        self.refund_delay = refund_delay  # seconds until a pending refund settles; None: only settle_refund()
        self.refund_latency = refund_latency  # seconds a refund request is "in progress" (its key answers 409)
        self.ledger = Ledger()
        self.faults = Faults()
        self.webhooks = WebhookDispatcher(
            secret=webhook_secret, url=webhook_url, retry_delays=webhook_retry_delays, timeout=webhook_timeout
        )
        self._doomed_refunds: set[str] = set()
        self._timers: list[threading.Timer] = []
        self._timers_lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle -------------------------------------------------------------------

    def start(self) -> SandboxGateway:
        self._stopping.clear()
        self._server = SandboxHTTPServer((self.host, self.port), SandboxHandler, sandbox=self)
        self.port = self._server.server_address[1]
        self.webhooks.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox-gateway", daemon=True
        )
        self._thread.start()
        logger.debug("Razorpay sandbox gateway on %s", self.base_url)
        return self

    def serve_forever(self) -> None:
        """Block the calling thread until interrupted (the management command), starting first if need be."""
        if self._server is None:
            self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        self._stopping.set()
        with self._timers_lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.webhooks.stop()

    def __enter__(self) -> SandboxGateway:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def checkout_url(self, order_id: str) -> str:
        return f"{self.base_url}/checkout/{order_id}"

    @property
    def webhook_url(self) -> str | None:
        return self.webhooks.url

    @webhook_url.setter
    def webhook_url(self, url: str | None) -> None:
        self.webhooks.url = url

    # --- inspection -------------------------------------------------------------------

    @property
    def orders(self) -> dict[str, dict]:
        with self.ledger.lock:
            return {key: self.ledger.snapshot("orders", key) for key in self.ledger.orders}

    @property
    def payments(self) -> dict[str, dict]:
        with self.ledger.lock:
            return {key: self.ledger.snapshot("payments", key) for key in self.ledger.payments}

    @property
    def refunds(self) -> dict[str, dict]:
        with self.ledger.lock:
            return {key: self.ledger.snapshot("refunds", key) for key in self.ledger.refunds}

    @property
    def deliveries(self) -> list[Delivery]:
        return list(self.webhooks.deliveries)

    @property
    def events(self) -> list[Event]:
        return list(self.webhooks.events)

    @property
    def held_events(self) -> list[Event]:
        return list(self.webhooks.held)

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Until every scheduled delivery (retries and late ones included) has been attempted."""
        return self.webhooks.wait_idle(timeout)

    def state(self) -> dict[str, Any]:
        return {
            "orders": list(self.orders.values()),
            "payments": list(self.payments.values()),
            "refunds": list(self.refunds.values()),
            "deliveries": [
                {"event_id": d.event_id, "event": d.event, "attempt": d.attempt, "status": d.status, "error": d.error}
                for d in self.deliveries
            ],
            "held_events": [{"id": e.id, "event": e.name} for e in self.held_events],
            "webhook_mode": self.webhooks.mode,
            "webhook_url": self.webhook_url,
            "faults": self.faults.pending(),
        }

    # --- what the checkout buttons do -------------------------------------------------

    def payment_signature(self, order_id: str, payment_id: str) -> str:
        message = f"{order_id}|{payment_id}".encode()
        return hmac.new(self.key_secret.encode(), message, hashlib.sha256).hexdigest()

    def pay(
        self, order_id: str, *, amount: int | None = None, method: str = "upi", notes: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A captured payment for the order; sends `payment.captured` and `order.paid`. Returns the payment
        with the `razorpay_signature` the checkout would hand back. `amount` simulates a mismatched capture,
        `notes` what the browser put in the checkout's options."""
        payment, order = self.ledger.pay(order_id, amount=amount, method=method, notes=notes)
        self.webhooks.emit("payment.captured", {"payment": payment})
        self.webhooks.emit("order.paid", {"payment": payment, "order": order})
        return {**payment, "razorpay_signature": self.payment_signature(order_id, payment["id"])}

    def start_payment(self, order_id: str, *, amount: int | None = None, method: str = "netbanking") -> dict[str, Any]:
        """An attempt the bank has not confirmed yet (UPI, netbanking): `complete_payment` captures it later,
        even after another attempt paid the order."""
        return self.ledger.attempt(order_id, amount=amount, method=method)

    def complete_payment(self, payment_id: str) -> dict[str, Any]:
        """Capture a started attempt; sends `payment.captured`, and `order.paid` if the order became paid now."""
        payment, order, paid_now = self.ledger.capture(payment_id)
        self.webhooks.emit("payment.captured", {"payment": payment})
        if paid_now:
            self.webhooks.emit("order.paid", {"payment": payment, "order": order})
        return {**payment, "razorpay_signature": self.payment_signature(order["id"], payment_id)}

    def fail(self, order_id: str, *, description: str = FAILED_PAYMENT_DESCRIPTION) -> dict[str, Any]:
        """A failed payment attempt on the order; sends `payment.failed`."""
        payment, _ = self.ledger.fail(order_id, description=description)
        self.webhooks.emit("payment.failed", {"payment": payment})
        return payment

    # --- refunds ----------------------------------------------------------------------

    def sleep(self, seconds: float) -> bool:
        """Wait, cut short when the sandbox stops. True if it is stopping."""
        return self._stopping.wait(seconds)

    def refund_create(self, payment_id: str, body: Any, idempotency_key: str | None) -> dict[str, Any]:
        """POST /v1/payments/{id}/refund: what the API does, with X-Refund-Idempotency semantics."""
        earlier = self.ledger.refund_begin(payment_id, body, idempotency_key)
        if earlier is not None:
            return earlier
        try:
            if self.refund_latency:
                self.sleep(self.refund_latency)
            refund = self.ledger.refund_create(payment_id, body, idempotency_key)
        except ApiError:
            self.ledger.refund_abandon(idempotency_key)
            raise
        if self.faults.take_refund_failure():
            self._doomed_refunds.add(refund["id"])
        if self.refund_delay is not None:
            self._later(self.refund_delay, self.settle_refund, refund["id"])
        return refund

    def settle_refund(self, refund_id: str, *, succeed: bool | None = None) -> dict[str, Any] | None:
        """Process a pending refund now: processed (or failed, if `fail_next_refund` marked it, or
        `succeed=False`), with its webhook. None if it was no longer pending."""
        if succeed is None:
            succeed = refund_id not in self._doomed_refunds
        settled = self.ledger.refund_settle(refund_id, succeed=succeed)
        if settled is None:
            return None
        refund, payment = settled
        self.webhooks.emit("refund.processed" if succeed else "refund.failed", {"refund": refund, "payment": payment})
        return refund

    def _later(self, seconds: float, function: Callable[..., Any], *args: Any) -> None:
        def run() -> None:
            if not self._stopping.is_set():
                function(*args)

        timer = threading.Timer(seconds, run)
        timer.daemon = True
        with self._timers_lock:
            self._timers = [t for t in self._timers if t.is_alive()]
            self._timers.append(timer)
        timer.start()

    # --- fault controls ---------------------------------------------------------------

    def fail_next(self, count: int = 1, *, status: int = 500, path: str | None = None) -> None:
        """The next `count` API calls (matching the glob `path`, if given) answer `status` with a
        Razorpay-shaped SERVER_ERROR body, and change nothing."""
        self.faults.arm(Fault("fail", int(count), path=path, status=int(status)))

    def hang_next(self, count: int = 1, *, seconds: float = 5.0, path: str | None = None) -> None:
        """The next `count` API calls wait `seconds` before being carried out as usual, so a client with a
        shorter timeout gives up on a call that may still take effect."""
        self.faults.arm(Fault("hang", int(count), path=path, seconds=float(seconds)))

    def drop_next_response(self, count: int = 1, *, path: str | None = "/v1/payments/*/refund") -> None:
        """The next `count` matching calls are carried out, then the connection is closed unanswered."""
        self.faults.arm(Fault("drop", int(count), path=path))

    def fail_next_refund(self, count: int = 1) -> None:
        """The next `count` refunds created are accepted (pending), then settle as failed."""
        self.faults.fail_next_refunds(int(count))

    def webhook_mode(self, mode: str, *, seconds: float | None = None, batch: int | None = None) -> None:
        """normal, twice (each event delivered twice), reversed (held in batches of `batch`, each delivered
        newest first), late (each delayed `seconds`) or never (kept in `held_events` until release)."""
        self.webhooks.set_mode(mode, seconds=seconds, batch=batch)

    def release_webhooks(self) -> list[str]:
        return [event.id for event in self.webhooks.release()]

    def flush_webhooks(self) -> None:
        self.webhooks.flush()

    def configure(self, **options: Any) -> None:
        """Set any of `refund_delay` (None: refunds stay pending until settle_refund), `refund_latency`
        and `webhook_url` (None: events are recorded, not delivered)."""
        unknown = sorted(set(options) - set(CONFIGURABLE))
        if unknown:
            raise ValueError(f"cannot configure {', '.join(unknown)}; only {', '.join(CONFIGURABLE)}")
        for name, value in options.items():
            setattr(self, name, value)

    def reset(self) -> None:
        """Forget every entity, event, delivery and armed fault; back to normal webhooks."""
        self.ledger.reset()
        self.faults.clear()
        self.webhooks.reset()
        self._doomed_refunds.clear()

    def control(self, action: str, params: dict[str, Any]) -> Any:
        """One control action by name, as the HTTP control endpoint receives it."""
        if action not in CONTROL_ACTIONS:
            raise ApiError(f"unknown action {action!r}; one of: {', '.join(CONTROL_ACTIONS)}", field="action")
        try:
            return getattr(self, action)(**params)
        except (TypeError, ValueError) as exc:
            raise ApiError(f"{action}: {exc}") from exc
