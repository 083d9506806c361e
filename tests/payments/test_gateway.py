"""The gateway interface, through the real `razorpay` SDK, against the sandbox on 127.0.0.1."""

import hashlib
import hmac
import json
import socket
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from payments.gateway import (
    GatewayOrder,
    GatewayPayment,
    GatewayPermanentError,
    GatewayRefund,
    GatewayRetryableError,
    RazorpayGateway,
    from_paise,
    get_gateway,
    sandbox_checkout_url,
    to_paise,
)
from tests.conftest import SANDBOX_KEY_ID, SANDBOX_KEY_SECRET, SANDBOX_WEBHOOK_SECRET

REFUND_PATH = "/v1/payments/*/refund"


def gateway_for(base_url: str, *, timeout: float = 5.0, key_secret: str = SANDBOX_KEY_SECRET) -> RazorpayGateway:
    return RazorpayGateway(
        key_id=SANDBOX_KEY_ID,
        key_secret=key_secret,
        webhook_secret=SANDBOX_WEBHOOK_SECRET,
        base_url=base_url,
        timeout=timeout,
    )


# --- amounts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rupees", "paise"),
    [
        (Decimal("1234.56"), 123456),
        (Decimal("0.01"), 1),
        (Decimal("1.10"), 110),
        (Decimal("1.1"), 110),
        (Decimal("99999999.99"), 9999999999),
        (Decimal("500"), 50000),
        (Decimal("12.500"), 1250),
        (7, 700),
    ],
)
def test_to_paise_is_exact(rupees, paise):
    assert to_paise(rupees) == paise
    assert isinstance(to_paise(rupees), int)


@pytest.mark.parametrize("rupees", [Decimal("0.001"), Decimal("10.005"), Decimal("1.999")])
def test_to_paise_refuses_fractions_of_a_paisa(rupees):
    with pytest.raises(ValueError, match="whole number of paise"):
        to_paise(rupees)


@pytest.mark.parametrize("rupees", [10.5, "10.50", True, None, Decimal("NaN"), Decimal("Infinity")])
def test_to_paise_refuses_floats_strings_and_non_numbers(rupees):
    with pytest.raises((TypeError, ValueError)):
        to_paise(rupees)


def test_from_paise_gives_two_decimal_rupees():
    assert from_paise(123456) == Decimal("1234.56")
    assert str(from_paise(100)) == "1.00"
    assert str(from_paise(5)) == "0.05"
    for bad in (1.5, "100", True):
        with pytest.raises(TypeError):
            from_paise(bad)
    for paise in (1, 99, 100, 123456, 9999999999):
        assert to_paise(from_paise(paise)) == paise


def test_the_gateway_refuses_a_non_integer_amount_before_calling_razorpay(gateway, sandbox_gateway):
    with pytest.raises(TypeError, match="to_paise"):
        gateway.order_create(amount_paise=Decimal("500.00"), currency="INR", receipt="r", notes={})
    assert sandbox_gateway.orders == {}


# --- orders and payments --------------------------------------------------------------


def test_order_create_and_fetch(gateway, sandbox_gateway):
    order = gateway.order_create(amount_paise=123456, currency="INR", receipt="JC-000042", notes={"order_id": "42"})

    assert isinstance(order, GatewayOrder)
    assert order.id.startswith("order_")
    assert (order.amount_paise, order.amount_paid_paise, order.amount_due_paise) == (123456, 0, 123456)
    assert (order.currency, order.receipt, order.status, order.attempts) == ("INR", "JC-000042", "created", 0)
    assert order.notes == {"order_id": "42"}
    assert order.raw["entity"] == "order"
    assert sandbox_gateway.orders[order.id]["amount"] == 123456

    fetched = gateway.order_fetch(order.id)
    assert fetched == order


def test_order_payments_after_a_failure_and_a_capture(gateway, sandbox_gateway, make_order):
    order = make_order(amount_paise=25_000)
    assert gateway.order_payments(order.id) == []

    failed = sandbox_gateway.fail(order.id)
    captured = sandbox_gateway.pay(order.id)
    payments = {payment.id: payment for payment in gateway.order_payments(order.id)}

    assert set(payments) == {failed["id"], captured["id"]}
    good = payments[captured["id"]]
    assert isinstance(good, GatewayPayment)
    assert (good.status, good.captured, good.amount_paise, good.currency) == ("captured", True, 25_000, "INR")
    assert (good.order_id, good.amount_refunded_paise, good.refund_status) == (order.id, 0, None)
    assert good.amount == Decimal("250.00")
    bad = payments[failed["id"]]
    assert (bad.status, bad.captured, bad.error_code) == ("failed", False, "BAD_REQUEST_ERROR")
    assert bad.error_description == "Payment failed at the bank (sandbox)"

    paid = gateway.order_fetch(order.id)
    assert (paid.status, paid.attempts, paid.amount_paid_paise, paid.amount_due_paise) == ("paid", 2, 25_000, 0)


def test_payment_fetch(gateway, paid_payment):
    order, payment_id = paid_payment
    payment = gateway.payment_fetch(payment_id)
    assert (payment.id, payment.order_id, payment.status, payment.method) == (payment_id, order.id, "captured", "upi")


def test_an_unknown_id_is_a_permanent_error(gateway):
    for call in (gateway.order_fetch, gateway.payment_fetch, gateway.refund_fetch, gateway.order_payments):
        with pytest.raises(GatewayPermanentError) as caught:
            call("order_doesNotExist00")
        assert (caught.value.status, caught.value.code) == (400, "BAD_REQUEST_ERROR")
        assert caught.value.description == "The id provided does not exist"


def test_a_bad_order_request_keeps_razorpays_description(gateway):
    with pytest.raises(GatewayPermanentError) as caught:
        gateway.order_create(amount_paise=99, currency="INR", receipt="r", notes={})
    assert caught.value.description == "The amount must be atleast INR 1.00"
    with pytest.raises(GatewayPermanentError, match="receipt may not be greater than 40 characters"):
        gateway.order_create(amount_paise=100, currency="INR", receipt="r" * 41, notes={})


# --- refunds --------------------------------------------------------------------------


def test_partial_then_full_refund(gateway, sandbox_gateway, paid_payment):
    _, payment_id = paid_payment

    first = gateway.refund_create(
        payment_id=payment_id, amount_paise=10_000, idempotency_key="refund-0000001", notes={"refund_id": "1"}
    )
    assert isinstance(first, GatewayRefund)
    assert first.id.startswith("rfnd_")
    assert (first.payment_id, first.amount_paise, first.status, first.notes) == (
        payment_id,
        10_000,
        "pending",
        {"refund_id": "1"},
    )
    partly = gateway.payment_fetch(payment_id)
    assert (partly.status, partly.amount_refunded_paise, partly.refund_status) == ("captured", 10_000, "partial")

    second = gateway.refund_create(
        payment_id=payment_id, amount_paise=40_000, idempotency_key="refund-0000002", notes={"refund_id": "2"}
    )
    fully = gateway.payment_fetch(payment_id)
    assert (fully.status, fully.amount_refunded_paise, fully.refund_status) == ("refunded", 50_000, "full")

    assert {refund.id for refund in gateway.refunds_fetch(payment_id)} == {first.id, second.id}
    assert gateway.refund_fetch(second.id).amount_paise == 40_000


def test_refunds_settle_as_processed(gateway, sandbox_gateway, paid_payment):
    _, payment_id = paid_payment
    refund = gateway.refund_create(payment_id=payment_id, amount_paise=500, idempotency_key="refund-settle-1", notes={})
    deadline = time.monotonic() + 5
    while gateway.refund_fetch(refund.id).status == "pending" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gateway.refund_fetch(refund.id).status == "processed"


def test_a_refund_above_the_captured_amount_is_refused_with_razorpays_description(
    gateway, sandbox_gateway, paid_payment
):
    _, payment_id = paid_payment
    gateway.refund_create(payment_id=payment_id, amount_paise=30_000, idempotency_key="refund-over-01", notes={})

    with pytest.raises(GatewayPermanentError) as caught:
        gateway.refund_create(payment_id=payment_id, amount_paise=20_001, idempotency_key="refund-over-02", notes={})

    assert caught.value.description == "The refund amount provided is greater than amount captured"
    assert (caught.value.code, caught.value.status) == ("BAD_REQUEST_ERROR", 400)
    assert len(sandbox_gateway.refunds) == 1


def test_a_fully_refunded_payment_refuses_another_refund(gateway, paid_payment):
    _, payment_id = paid_payment
    gateway.refund_create(payment_id=payment_id, amount_paise=50_000, idempotency_key="refund-full-01", notes={})
    with pytest.raises(GatewayPermanentError, match="The payment has been fully refunded already"):
        gateway.refund_create(payment_id=payment_id, amount_paise=100, idempotency_key="refund-full-02", notes={})


def test_a_payment_that_was_not_captured_cannot_be_refunded(gateway, sandbox_gateway, make_order):
    order = make_order()
    failed = sandbox_gateway.fail(order.id)
    with pytest.raises(GatewayPermanentError) as caught:
        gateway.refund_create(payment_id=failed["id"], amount_paise=100, idempotency_key="refund-uncapt-1", notes={})
    assert caught.value.description == "The payment status should be captured for action to be taken"
    assert sandbox_gateway.refunds == {}


# --- X-Refund-Idempotency -------------------------------------------------------------


def test_the_same_key_and_body_return_the_same_refund(gateway, sandbox_gateway, paid_payment):
    _, payment_id = paid_payment
    args = {"payment_id": payment_id, "amount_paise": 10_000, "idempotency_key": "refund-idem-01", "notes": {"r": "1"}}

    first = gateway.refund_create(**args)
    again = gateway.refund_create(**args)

    assert again.id == first.id
    assert list(sandbox_gateway.refunds) == [first.id]
    assert gateway.payment_fetch(payment_id).amount_refunded_paise == 10_000


def test_the_same_key_with_a_different_body_is_a_permanent_error(gateway, sandbox_gateway, paid_payment):
    _, payment_id = paid_payment
    gateway.refund_create(payment_id=payment_id, amount_paise=10_000, idempotency_key="refund-idem-02", notes={})

    with pytest.raises(GatewayPermanentError) as caught:
        gateway.refund_create(payment_id=payment_id, amount_paise=20_000, idempotency_key="refund-idem-02", notes={})

    assert caught.value.status == 400
    assert "idempotency key" in caught.value.description
    assert len(sandbox_gateway.refunds) == 1


def test_concurrent_requests_with_one_key_make_one_refund_and_the_loser_gets_a_retryable_409(
    gateway, sandbox_gateway, paid_payment
):
    _, payment_id = paid_payment
    sandbox_gateway.refund_latency = 0.5  # the first request stays "in progress" for half a second
    args = {"payment_id": payment_id, "amount_paise": 10_000, "idempotency_key": "refund-race-01", "notes": {}}
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def refund() -> None:
        barrier.wait()
        try:
            outcomes.append(gateway.refund_create(**args))
        except GatewayRetryableError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=refund) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    refunds = [item for item in outcomes if isinstance(item, GatewayRefund)]
    conflicts = [item for item in outcomes if isinstance(item, GatewayRetryableError)]
    assert len(refunds) == 1, outcomes
    assert len(conflicts) == 1, outcomes
    assert conflicts[0].status == 409
    assert len(sandbox_gateway.refunds) == 1

    sandbox_gateway.refund_latency = 0
    assert gateway.refund_create(**args).id == refunds[0].id  # the loser's retry gets the winner's refund
    assert len(sandbox_gateway.refunds) == 1


# --- faults: 5xx, hangs, lost responses, refused connections ---------------------------


def test_a_5xx_is_retryable_and_the_retry_succeeds(gateway, sandbox_gateway, make_order):
    order = make_order()
    sandbox_gateway.fail_next(2, status=503)

    for _ in range(2):
        with pytest.raises(GatewayRetryableError) as caught:
            gateway.order_fetch(order.id)
        assert (caught.value.status, caught.value.code) == (503, "SERVER_ERROR")
        assert "The server encountered an error" in caught.value.description

    assert gateway.order_fetch(order.id).id == order.id


def test_a_5xx_on_refund_creates_nothing_and_the_retry_makes_exactly_one_refund(gateway, sandbox_gateway, paid_payment):
    _, payment_id = paid_payment
    order_id = paid_payment[0].id
    sandbox_gateway.fail_next(1, path=REFUND_PATH)
    assert gateway.order_fetch(order_id).status == "paid"  # other paths are not hit by the armed fault
    args = {"payment_id": payment_id, "amount_paise": 10_000, "idempotency_key": "refund-5xx-0001", "notes": {}}

    with pytest.raises(GatewayRetryableError):
        gateway.refund_create(**args)
    assert sandbox_gateway.refunds == {}

    refund = gateway.refund_create(**args)
    assert list(sandbox_gateway.refunds) == [refund.id]


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (502, True), (409, True), (429, True), (400, False)])
def test_errors_are_classified_by_http_status_not_by_the_body_code(
    sandbox_gateway, gateway, make_order, status, retryable
):
    # The sandbox's fault body always says SERVER_ERROR, which the SDK raises as ServerError whatever the status.
    order = make_order()
    sandbox_gateway.fail_next(1, status=status)
    with pytest.raises(GatewayRetryableError if retryable else GatewayPermanentError) as caught:
        gateway.order_fetch(order.id)
    assert caught.value.status == status


class _StubHandler(BaseHTTPRequestHandler):
    """Answers every request with the class's fixed status and body."""

    status = 502
    body = b"<html>Bad gateway</html>"
    content_type = "text/html"

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (502, b"<html>Bad gateway</html>", GatewayRetryableError),  # a proxy's page: not JSON
        (200, b"not json", GatewayRetryableError),
        (
            500,
            json.dumps({"error": {"code": "BAD_REQUEST_ERROR", "description": "odd"}}).encode(),
            GatewayRetryableError,
        ),
        (422, json.dumps({"error": {"code": "GATEWAY_ERROR", "description": "nope"}}).encode(), GatewayPermanentError),
        (200, json.dumps({"unexpected": True}).encode(), GatewayRetryableError),  # a body we cannot read
    ],
)
def test_unreadable_and_odd_answers_are_classified(status, body, expected):
    handler = type("Handler", (_StubHandler,), {"status": status, "body": body})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        with pytest.raises(expected) as caught:
            gateway_for(f"http://127.0.0.1:{server.server_address[1]}").payment_fetch("pay_x")
    finally:
        server.shutdown()
        server.server_close()
    if status != 200:
        assert caught.value.status == status


def test_a_hung_call_times_out_as_retryable(sandbox_gateway, make_order):
    order = make_order()
    impatient = gateway_for(sandbox_gateway.base_url, timeout=0.3)
    sandbox_gateway.hang_next(1, seconds=3)

    started = time.monotonic()
    with pytest.raises(GatewayRetryableError) as caught:
        impatient.order_fetch(order.id)
    assert time.monotonic() - started < 2
    assert caught.value.status is None
    assert "Timeout" in caught.value.description


@pytest.mark.parametrize(
    "call",
    [
        lambda gw, ids: gw.order_create(amount_paise=100, currency="INR", receipt="r", notes={}),
        lambda gw, ids: gw.order_fetch(ids["order"]),
        lambda gw, ids: gw.order_payments(ids["order"]),
        lambda gw, ids: gw.payment_fetch(ids["payment"]),
        lambda gw, ids: gw.refund_create(
            payment_id=ids["payment"], amount_paise=100, idempotency_key="k" * 12, notes={}
        ),
        lambda gw, ids: gw.refunds_fetch(ids["payment"]),
        lambda gw, ids: gw.refund_fetch(ids["refund"]),
    ],
    ids=[
        "order_create",
        "order_fetch",
        "order_payments",
        "payment_fetch",
        "refund_create",
        "refunds_fetch",
        "refund_fetch",
    ],
)
def test_every_call_has_a_timeout(sandbox_gateway, gateway, paid_payment, call):
    order, payment_id = paid_payment
    refund = gateway.refund_create(payment_id=payment_id, amount_paise=100, idempotency_key="refund-tmo-01", notes={})
    ids = {"order": order.id, "payment": payment_id, "refund": refund.id}
    sandbox_gateway.hang_next(1, seconds=3)

    started = time.monotonic()
    with pytest.raises(GatewayRetryableError):
        call(gateway_for(sandbox_gateway.base_url, timeout=0.3), ids)
    assert time.monotonic() - started < 2


def test_a_lost_refund_response_is_retryable_and_the_retry_returns_the_same_refund(
    gateway, sandbox_gateway, paid_payment
):
    _, payment_id = paid_payment
    sandbox_gateway.drop_next_response(1, path=REFUND_PATH)
    args = {"payment_id": payment_id, "amount_paise": 20_000, "idempotency_key": "refund-lost-001", "notes": {}}

    with pytest.raises(GatewayRetryableError) as caught:
        gateway.refund_create(**args)
    assert caught.value.status is None  # no answer at all
    assert len(sandbox_gateway.refunds) == 1  # ...but the gateway made the refund
    (made,) = sandbox_gateway.refunds

    assert gateway.refund_create(**args).id == made
    assert len(sandbox_gateway.refunds) == 1
    assert gateway.payment_fetch(payment_id).amount_refunded_paise == 20_000


def test_a_timed_out_refund_that_completes_later_is_not_made_twice(gateway, sandbox_gateway, paid_payment):
    _, payment_id = paid_payment
    impatient = gateway_for(sandbox_gateway.base_url, timeout=0.3)
    sandbox_gateway.hang_next(1, seconds=1, path=REFUND_PATH)
    args = {"payment_id": payment_id, "amount_paise": 15_000, "idempotency_key": "refund-hang-001", "notes": {}}

    with pytest.raises(GatewayRetryableError):
        impatient.refund_create(**args)
    retried = gateway.refund_create(**args)
    time.sleep(1.2)  # the hung request wakes up and is carried out with the same key

    assert list(sandbox_gateway.refunds) == [retried.id]
    assert gateway.payment_fetch(payment_id).amount_refunded_paise == 15_000


def test_a_refused_connection_is_retryable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(GatewayRetryableError) as caught:
        gateway_for(f"http://127.0.0.1:{port}").order_fetch("order_x")
    assert caught.value.status is None
    assert "ConnectionError" in caught.value.description


def test_bad_credentials_are_a_permanent_error(sandbox_gateway):
    with pytest.raises(GatewayPermanentError) as caught:
        gateway_for(sandbox_gateway.base_url, key_secret="wrong").order_create(
            amount_paise=100, currency="INR", receipt="r", notes={}
        )
    assert caught.value.status == 401
    assert caught.value.description == "Authentication failed"
    assert sandbox_gateway.orders == {}


# --- signatures -----------------------------------------------------------------------


def test_payment_signature(gateway, sandbox_gateway, make_order):
    order, other = make_order(), make_order()
    payment = sandbox_gateway.pay(order.id)
    signature = payment["razorpay_signature"]
    expected = hmac.new(SANDBOX_KEY_SECRET.encode(), f"{order.id}|{payment['id']}".encode(), hashlib.sha256)
    assert signature == expected.hexdigest()

    assert gateway.payment_signature_valid(order_id=order.id, payment_id=payment["id"], signature=signature)
    tampered = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert not gateway.payment_signature_valid(order_id=order.id, payment_id=payment["id"], signature=tampered)
    # A browser that sends back another order's id: checked against the id we stored, it fails.
    assert not gateway.payment_signature_valid(order_id=other.id, payment_id=payment["id"], signature=signature)
    assert not gateway.payment_signature_valid(order_id=order.id, payment_id=payment["id"], signature=None)
    assert not gateway.payment_signature_valid(order_id=order.id, payment_id=payment["id"], signature="")
    assert not gateway.payment_signature_valid(order_id=order.id, payment_id=payment["id"], signature="é" * 64)


def _signed(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_webhook_signature(gateway):
    body = b'{"entity":"event","event":"payment.captured","payload":{"payment":{"entity":{"amount":50000}}}}'
    good = _signed(body, SANDBOX_WEBHOOK_SECRET)

    assert gateway.webhook_signature_valid(body=body, signature=good)
    assert not gateway.webhook_signature_valid(body=body.replace(b"50000", b"50001"), signature=good)
    assert not gateway.webhook_signature_valid(body=body, signature=None)
    assert not gateway.webhook_signature_valid(body=body, signature="")
    assert not gateway.webhook_signature_valid(body=body, signature=_signed(body, SANDBOX_KEY_SECRET))
    reserialised = json.dumps(json.loads(body)).encode()
    assert not gateway.webhook_signature_valid(body=reserialised, signature=good)
    assert gateway.webhook_signature_valid(body=reserialised, signature=_signed(reserialised, SANDBOX_WEBHOOK_SECRET))


def test_a_webhook_body_that_is_not_utf8_or_not_bytes_is_invalid(gateway):
    latin1 = '{"note":"café"}'.encode("latin-1")
    assert not gateway.webhook_signature_valid(body=latin1, signature=_signed(latin1, SANDBOX_WEBHOOK_SECRET))
    text = '{"a":1}'
    assert not gateway.webhook_signature_valid(body=text, signature=_signed(text.encode(), SANDBOX_WEBHOOK_SECRET))
    utf8 = '{"note":"₹ café"}'.encode()
    assert gateway.webhook_signature_valid(body=utf8, signature=_signed(utf8, SANDBOX_WEBHOOK_SECRET))


# --- configuration --------------------------------------------------------------------


def test_get_gateway_is_configured_from_settings_and_cached(settings, sandbox_gateway):
    gateway = get_gateway()
    assert get_gateway() is gateway
    assert (gateway.key_id, gateway.base_url, gateway.timeout) == (SANDBOX_KEY_ID, sandbox_gateway.base_url, 5.0)

    settings.RAZORPAY_TIMEOUT_SECONDS = 2
    rebuilt = get_gateway()
    assert rebuilt is not gateway
    assert rebuilt.timeout == 2.0


def test_sandbox_checkout_url(settings):
    settings.RAZORPAY_BASE_URL = "http://127.0.0.1:8765"
    url = sandbox_checkout_url("order_abc", callback_url="http://127.0.0.1:8000/pay/cb?x=1")
    assert (
        url == "http://127.0.0.1:8765/checkout/order_abc?callback_url=http%3A%2F%2F127.0.0.1%3A8000%2Fpay%2Fcb%3Fx%3D1"
    )
