"""The sandbox gateway itself: Razorpay's rules and shapes, the checkout page, webhooks and controls."""

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import urllib.error
import urllib.request
from html import unescape
from urllib.parse import urlencode

import pytest
import razorpay

from payments.sandbox import SandboxGateway
from payments.sandbox.ledger import ApiError
from tests.conftest import SANDBOX_KEY_ID, SANDBOX_KEY_SECRET, SANDBOX_WEBHOOK_SECRET

AUTH = "Basic " + base64.b64encode(f"{SANDBOX_KEY_ID}:{SANDBOX_KEY_SECRET}".encode()).decode()
CALLBACK = "http://127.0.0.1:8000/orders/payment/callback/"


def call(sandbox, method, path, body=None, *, auth=AUTH, headers=None, form=None):
    """A raw HTTP request to the sandbox: (status, parsed JSON or text)."""
    data = None
    all_headers = dict(headers or {})
    if auth:
        all_headers["Authorization"] = auth
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    if form is not None:
        data = urlencode(form).encode()
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(sandbox.base_url + path, data=data, headers=all_headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - our own 127.0.0.1 server
            status, raw, kind = response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as error:
        status, raw, kind = error.code, error.read(), error.headers.get_content_type()
    return status, (json.loads(raw) if kind == "application/json" else raw.decode())


def sdk(sandbox) -> razorpay.Client:
    return razorpay.Client(auth=(SANDBOX_KEY_ID, SANDBOX_KEY_SECRET), base_url=sandbox.base_url)


def form_fields(html: str) -> dict[str, str]:
    return {unescape(n): unescape(v) for n, v in re.findall(r"name='([^']*)' value='([^']*)'", html)}


def form_action(html: str, form_id: str = "callback") -> str:
    return unescape(re.search(rf"<form id='{form_id}' method='post' action='([^']*)'", html).group(1))


# --- authentication and shapes --------------------------------------------------------


@pytest.mark.parametrize(
    "auth",
    [None, "Basic " + base64.b64encode(f"{SANDBOX_KEY_ID}:wrong".encode()).decode(), "Bearer abc", "Basic ???"],
)
def test_the_api_needs_the_key_id_and_secret(sandbox_gateway, auth):
    status, body = call(sandbox_gateway, "POST", "/v1/orders", {"amount": 100, "currency": "INR"}, auth=auth)
    assert status == 401
    assert body["error"]["code"] == "BAD_REQUEST_ERROR"
    assert body["error"]["description"] == "Authentication failed"
    assert sandbox_gateway.orders == {}


def test_an_order_is_shaped_like_razorpays(sandbox_gateway):
    status, order = call(sandbox_gateway, "POST", "/v1/orders", {"amount": 49_900, "currency": "INR", "receipt": "R1"})
    assert status == 200
    assert re.fullmatch(r"order_[A-Za-z0-9]{14}", order["id"])
    assert order["entity"] == "order"
    assert (order["amount"], order["amount_paid"], order["amount_due"]) == (49_900, 0, 49_900)
    assert (order["status"], order["attempts"], order["receipt"]) == ("created", 0, "R1")
    assert order["notes"] == []  # Razorpay renders empty notes as a list
    assert abs(order["created_at"] - time.time()) < 5


@pytest.mark.parametrize(
    ("body", "description"),
    [
        ({"currency": "INR"}, "The amount field is required."),
        ({"amount": "500", "currency": "INR"}, "The amount must be an integer."),
        ({"amount": 500.0, "currency": "INR"}, "The amount must be an integer."),
        ({"amount": True, "currency": "INR"}, "The amount must be an integer."),
        ({"amount": 99, "currency": "INR"}, "The amount must be atleast INR 1.00"),
        ({"amount": 100}, "The currency field is required."),
        ({"amount": 100, "currency": "USD"}, "The selected currency is invalid."),
        ({"amount": 100, "currency": "INR", "receipt": "x" * 41}, "The receipt may not be greater than 40 characters."),
        (
            {"amount": 100, "currency": "INR", "notes": {f"k{i}": "v" for i in range(16)}},
            "Number of fields in notes should be less than or equal to 15",
        ),
        ({"amount": 100, "currency": "INR", "price": 1}, "price is/are not required and should not be sent"),
    ],
)
def test_order_validation_errors_are_razorpays(sandbox_gateway, body, description):
    status, answer = call(sandbox_gateway, "POST", "/v1/orders", body)
    assert status == 400
    assert answer["error"]["code"] == "BAD_REQUEST_ERROR"
    assert answer["error"]["description"] == description
    assert sandbox_gateway.orders == {}


def test_the_sdk_raises_bad_request_for_a_float_amount(sandbox_gateway):
    with pytest.raises(razorpay.errors.BadRequestError, match="The amount must be an integer"):
        sdk(sandbox_gateway).order.create({"amount": 100.5, "currency": "INR"})


def test_limits_that_are_allowed(sandbox_gateway):
    notes = {f"k{i}": "v" for i in range(15)}
    order = sdk(sandbox_gateway).order.create({"amount": 100, "currency": "INR", "receipt": "x" * 40, "notes": notes})
    assert order["notes"] == notes


def test_order_status_moves_created_attempted_paid(sandbox_gateway):
    client = sdk(sandbox_gateway)
    order = client.order.create({"amount": 1000, "currency": "INR"})
    sandbox_gateway.fail(order["id"])
    attempted = client.order.fetch(order["id"])
    assert (attempted["status"], attempted["attempts"], attempted["amount_paid"]) == ("attempted", 1, 0)

    sandbox_gateway.pay(order["id"])
    paid = client.order.fetch(order["id"])
    assert (paid["status"], paid["attempts"], paid["amount_paid"], paid["amount_due"]) == ("paid", 2, 1000, 0)

    with pytest.raises(ApiError, match="already been paid"):
        sandbox_gateway.pay(order["id"])


def test_a_slow_attempt_is_captured_after_another_paid_the_order_and_refunded_on_its_own(sandbox_gateway):
    """Razorpay lets a slow method succeed after another attempt paid the order: two captures, refunds per payment."""
    client = sdk(sandbox_gateway)
    order = client.order.create({"amount": 1000, "currency": "INR"})
    slow = sandbox_gateway.start_payment(order["id"])
    first = sandbox_gateway.pay(order["id"], notes={"order_id": "42"})
    assert client.payment.fetch(slow["id"])["status"] == "created"
    assert client.payment.fetch(first["id"])["notes"] == {"order_id": "42"}  # the browser's notes, kept

    second = sandbox_gateway.complete_payment(slow["id"])

    assert (second["status"], second["captured"]) == ("captured", True)
    assert [e.name for e in sandbox_gateway.events] == ["payment.captured", "order.paid", "payment.captured"]
    assert [p["status"] for p in client.order.payments(order["id"])["items"]] == ["captured", "captured"]
    client.payment.refund(slow["id"], {"amount": 1000})
    assert client.payment.fetch(slow["id"])["status"] == "refunded"
    assert client.payment.fetch(first["id"])["amount_refunded"] == 0
    with pytest.raises(ApiError, match="only a created attempt"):
        sandbox_gateway.complete_payment(slow["id"])


def test_collections_are_shaped_like_razorpays(sandbox_gateway):
    client = sdk(sandbox_gateway)
    order = client.order.create({"amount": 1000, "currency": "INR"})
    payment = sandbox_gateway.pay(order["id"])
    client.payment.refund(payment["id"], {"amount": 100}, headers={"X-Refund-Idempotency": "collection-01"})

    payments = client.order.payments(order["id"])
    refunds = client.payment.fetch_multiple_refund(payment["id"])
    assert (payments["entity"], payments["count"], payments["items"][0]["id"]) == ("collection", 1, payment["id"])
    assert (refunds["entity"], refunds["count"], refunds["items"][0]["amount"]) == ("collection", 1, 100)


def test_a_refund_without_an_amount_refunds_what_is_left(sandbox_gateway):
    client = sdk(sandbox_gateway)
    payment = sandbox_gateway.pay(client.order.create({"amount": 1000, "currency": "INR"})["id"])
    client.payment.refund(payment["id"], {"amount": 300}, headers={"X-Refund-Idempotency": "rest-000001"})
    rest = client.payment.refund(payment["id"], {}, headers={"X-Refund-Idempotency": "rest-000002"})
    assert rest["amount"] == 700
    assert client.payment.fetch(payment["id"])["status"] == "refunded"


@pytest.mark.parametrize("key", ["short-key", "has spaces in it", "semi;colon;key", "ключ-ключ-ключ"])
def test_an_invalid_idempotency_key_is_refused(sandbox_gateway, key):
    client = sdk(sandbox_gateway)
    payment = sandbox_gateway.pay(client.order.create({"amount": 1000, "currency": "INR"})["id"])
    status, body = call(
        sandbox_gateway,
        "POST",
        f"/v1/payments/{payment['id']}/refund",
        {"amount": 100},
        headers={"X-Refund-Idempotency": key.encode().decode("latin-1")},
    )
    assert status == 400
    assert "X-Refund-Idempotency" in body["error"]["description"]
    assert sandbox_gateway.refunds == {}


def test_an_unknown_path_answers_razorpays_not_found(sandbox_gateway):
    status, body = call(sandbox_gateway, "GET", "/v1/settlements")
    assert status == 400
    assert body["error"]["description"] == "The requested URL was not found on the server."


# --- refunds settle, or fail when told ------------------------------------------------


def test_fail_next_refund_makes_it_fail_and_gives_the_amount_back(sandbox_gateway, webhook_receiver):
    client = sdk(sandbox_gateway)
    payment = sandbox_gateway.pay(client.order.create({"amount": 1000, "currency": "INR"})["id"])
    sandbox_gateway.fail_next_refund()
    doomed = client.payment.refund(payment["id"], {"amount": 1000}, headers={"X-Refund-Idempotency": "doomed-0001"})
    assert doomed["status"] == "pending"
    assert client.payment.fetch(payment["id"])["status"] == "refunded"

    webhook_receiver.wait_for(3)  # payment.captured, order.paid, refund.failed
    assert client.refund.fetch(doomed["id"])["status"] == "failed"
    after = client.payment.fetch(payment["id"])
    assert (after["status"], after["amount_refunded"], after["refund_status"]) == ("captured", 0, None)
    assert webhook_receiver.events()[-1] == "refund.failed"

    retried = client.payment.refund(payment["id"], {"amount": 1000}, headers={"X-Refund-Idempotency": "doomed-0002"})
    webhook_receiver.wait_for(4)
    assert client.refund.fetch(retried["id"])["status"] == "processed"
    assert webhook_receiver.events()[-1] == "refund.processed"


def test_refunds_can_be_left_pending_and_settled_by_hand(sandbox_gateway):
    sandbox_gateway.configure(refund_delay=None)
    client = sdk(sandbox_gateway)
    payment = sandbox_gateway.pay(client.order.create({"amount": 1000, "currency": "INR"})["id"])
    refund = client.payment.refund(payment["id"], {"amount": 500}, headers={"X-Refund-Idempotency": "by-hand-001"})
    time.sleep(0.3)
    assert client.refund.fetch(refund["id"])["status"] == "pending"

    assert sandbox_gateway.settle_refund(refund["id"])["status"] == "processed"
    assert sandbox_gateway.settle_refund(refund["id"]) is None  # only once
    assert [event.name for event in sandbox_gateway.events][-1] == "refund.processed"


# --- the checkout page ----------------------------------------------------------------


@pytest.fixture
def checkout_order(sandbox_gateway):
    return sdk(sandbox_gateway).order.create({"amount": 123456, "currency": "INR", "receipt": "JC-000777"})


def checkout_path(order_id: str, **params) -> str:
    return f"/checkout/{order_id}?{urlencode({'callback_url': CALLBACK, **params})}"


def test_the_checkout_page_shows_the_order_and_two_plain_forms(sandbox_gateway, checkout_order):
    status, html = call(sandbox_gateway, "GET", checkout_path(checkout_order["id"]), auth=None)
    assert status == 200
    assert "₹1,234.56" in html
    assert "JC-000777" in html
    assert f"action='/checkout/{checkout_order['id']}/pay'" in html
    assert f"action='/checkout/{checkout_order['id']}/fail'" in html
    assert ">Pay</button>" in html
    assert ">Fail</button>" in html
    assert form_fields(html)["callback_url"] == CALLBACK


def test_pay_returns_the_buyer_with_the_three_fields_and_a_valid_signature(sandbox_gateway, checkout_order):
    order_id = checkout_order["id"]
    status, html = call(
        sandbox_gateway, "POST", f"/checkout/{order_id}/pay", auth=None, form={"callback_url": CALLBACK}
    )

    assert status == 200
    assert form_action(html) == CALLBACK
    fields = form_fields(html)
    assert set(fields) == {"razorpay_order_id", "razorpay_payment_id", "razorpay_signature"}
    assert fields["razorpay_order_id"] == order_id
    expected = hmac.new(
        SANDBOX_KEY_SECRET.encode(), f"{order_id}|{fields['razorpay_payment_id']}".encode(), hashlib.sha256
    )
    assert fields["razorpay_signature"] == expected.hexdigest()
    assert ">Continue</button>" in html  # without JavaScript
    assert "document.getElementById('callback').submit()" in html

    payment = sandbox_gateway.payments[fields["razorpay_payment_id"]]
    assert (payment["status"], payment["captured"], payment["order_id"]) == ("captured", True, order_id)
    assert sandbox_gateway.orders[order_id]["status"] == "paid"
    assert [event.name for event in sandbox_gateway.events] == ["payment.captured", "order.paid"]

    again, _ = call(sandbox_gateway, "GET", checkout_path(order_id), auth=None)
    assert again == 400  # a paid order cannot be paid again


def test_fail_returns_the_buyer_with_razorpays_error_fields(sandbox_gateway, checkout_order):
    order_id = checkout_order["id"]
    status, html = call(
        sandbox_gateway, "POST", f"/checkout/{order_id}/fail", auth=None, form={"callback_url": CALLBACK}
    )

    assert status == 200
    assert form_action(html) == CALLBACK
    fields = form_fields(html)
    assert fields["error[code]"] == "BAD_REQUEST_ERROR"
    assert fields["error[description]"] == "Payment failed at the bank (sandbox)"
    assert (fields["error[source]"], fields["error[step]"], fields["error[reason]"]) == (
        "bank",
        "payment_authorization",
        "payment_failed",
    )
    metadata = json.loads(fields["error[metadata]"])
    assert metadata["order_id"] == order_id
    assert sandbox_gateway.payments[metadata["payment_id"]]["status"] == "failed"
    assert not any(name.startswith("razorpay_") for name in fields)
    assert sandbox_gateway.orders[order_id]["status"] == "attempted"
    assert [event.name for event in sandbox_gateway.events] == ["payment.failed"]


@pytest.mark.parametrize(
    "callback",
    [
        "https://evil.example.com/steal",
        "//evil.example.com/",
        "javascript:alert(1)",
        "http://127.0.0.1.evil.example.com/",
        "http://user:pass@127.0.0.1/",
        "",
    ],
)
def test_a_callback_url_off_this_machine_is_refused(sandbox_gateway, checkout_order, callback):
    order_id = checkout_order["id"]
    page, _ = call(sandbox_gateway, "GET", f"/checkout/{order_id}?{urlencode({'callback_url': callback})}", auth=None)
    pay, _ = call(sandbox_gateway, "POST", f"/checkout/{order_id}/pay", auth=None, form={"callback_url": callback})
    assert (page, pay) == (400, 400)
    assert sandbox_gateway.payments == {}


def test_a_cancel_url_off_this_machine_is_refused(sandbox_gateway, checkout_order):
    status, _ = call(
        sandbox_gateway, "GET", checkout_path(checkout_order["id"], cancel_url="https://evil.example.com/"), auth=None
    )
    assert status == 400


def test_the_configured_site_is_an_allowed_callback_host(checkout_order, sandbox_gateway):
    sandbox_gateway.allowed_callback_hosts = frozenset({"shop.example.com", ".joycart.test"})
    order_id = checkout_order["id"]
    for url, allowed in [
        ("https://shop.example.com/cb", True),
        ("https://www.joycart.test/cb", True),
        ("https://joycart.test/cb", True),
        ("https://other.example.com/cb", False),
        ("https://notjoycart.test/cb", False),
    ]:
        status, _ = call(sandbox_gateway, "GET", f"/checkout/{order_id}?{urlencode({'callback_url': url})}", auth=None)
        assert (status == 200) is allowed, url


def test_checkout_for_an_unknown_order_is_404(sandbox_gateway):
    status, _ = call(sandbox_gateway, "GET", checkout_path("order_doesNotExist00"), auth=None)
    assert status == 404


# --- webhooks -------------------------------------------------------------------------


def test_webhooks_are_signed_razorpay_envelopes(sandbox_gateway, webhook_receiver):
    client = sdk(sandbox_gateway)
    order = client.order.create({"amount": 1000, "currency": "INR"})
    payment = sandbox_gateway.pay(order["id"])

    captured, paid = webhook_receiver.wait_for(2)
    event_ids = set()
    for request in (captured, paid):
        assert request.path == "/api/v1/payments/razorpay/webhook/"
        assert request.headers["Content-Type"] == "application/json"
        expected = hmac.new(SANDBOX_WEBHOOK_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-Razorpay-Signature"] == expected
        not_with_key_secret = hmac.new(SANDBOX_KEY_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-Razorpay-Signature"] != not_with_key_secret
        event_ids.add(request.headers["X-Razorpay-Event-Id"])
    assert len(event_ids) == 2

    first, second = json.loads(captured.body), json.loads(paid.body)
    assert (first["entity"], first["account_id"], first["event"]) == ("event", "acc_sandbox", "payment.captured")
    assert first["contains"] == ["payment"]
    assert first["payload"]["payment"]["entity"]["id"] == payment["id"]
    assert first["payload"]["payment"]["entity"]["status"] == "captured"
    assert second["event"] == "order.paid"
    assert second["contains"] == ["payment", "order"]
    assert second["payload"]["order"]["entity"]["status"] == "paid"
    assert sandbox_gateway.wait_for_webhooks()
    assert [(d.event, d.status, d.attempt) for d in sandbox_gateway.deliveries] == [
        ("payment.captured", 200, 1),
        ("order.paid", 200, 1),
    ]


def test_failed_payment_and_refund_webhooks_carry_their_entities(sandbox_gateway, webhook_receiver):
    client = sdk(sandbox_gateway)
    order = client.order.create({"amount": 1000, "currency": "INR"})
    sandbox_gateway.fail(order["id"])
    payment = sandbox_gateway.pay(order["id"])
    refund = client.payment.refund(payment["id"], {"amount": 400}, headers={"X-Refund-Idempotency": "webhook-0001"})

    received = webhook_receiver.wait_for(4)
    envelopes = [json.loads(item.body) for item in received]
    assert [e["event"] for e in envelopes] == ["payment.failed", "payment.captured", "order.paid", "refund.processed"]
    assert envelopes[0]["payload"]["payment"]["entity"]["error_description"] == "Payment failed at the bank (sandbox)"
    processed = envelopes[3]
    assert processed["contains"] == ["refund", "payment"]
    assert processed["payload"]["refund"]["entity"]["id"] == refund["id"]
    assert processed["payload"]["refund"]["entity"]["status"] == "processed"
    assert processed["payload"]["payment"]["entity"]["amount_refunded"] == 400


def test_webhooks_twice(sandbox_gateway, webhook_receiver):
    sandbox_gateway.webhook_mode("twice")
    sandbox_gateway.pay(sdk(sandbox_gateway).order.create({"amount": 1000, "currency": "INR"})["id"])

    received = webhook_receiver.wait_for(4)
    ids = [item.headers["X-Razorpay-Event-Id"] for item in received]
    assert len(set(ids)) == 2
    assert {event_id: ids.count(event_id) for event_id in ids} == dict.fromkeys(set(ids), 2)
    bodies = {item.headers["X-Razorpay-Event-Id"]: set() for item in received}
    for item in received:
        bodies[item.headers["X-Razorpay-Event-Id"]].add(item.body)
    assert all(len(copies) == 1 for copies in bodies.values())  # the very same bytes both times


def test_webhooks_out_of_order(sandbox_gateway, webhook_receiver):
    sandbox_gateway.webhook_mode("reversed")
    sandbox_gateway.pay(sdk(sandbox_gateway).order.create({"amount": 1000, "currency": "INR"})["id"])

    webhook_receiver.wait_for(2)
    assert webhook_receiver.events() == ["order.paid", "payment.captured"]


def test_an_incomplete_out_of_order_batch_waits_for_a_flush(sandbox_gateway, webhook_receiver):
    sandbox_gateway.webhook_mode("reversed", batch=3)
    client = sdk(sandbox_gateway)
    sandbox_gateway.fail(client.order.create({"amount": 1000, "currency": "INR"})["id"])
    sandbox_gateway.fail(client.order.create({"amount": 1000, "currency": "INR"})["id"])
    time.sleep(0.3)
    assert webhook_receiver.received == []

    sandbox_gateway.flush_webhooks()
    received = webhook_receiver.wait_for(2)
    ids = [json.loads(item.body)["payload"]["payment"]["entity"]["id"] for item in received]
    assert ids == [event.envelope["payload"]["payment"]["entity"]["id"] for event in reversed(sandbox_gateway.events)]


def test_webhooks_late(sandbox_gateway, webhook_receiver):
    sandbox_gateway.webhook_mode("late", seconds=0.6)
    paid_at = time.monotonic()
    sandbox_gateway.pay(sdk(sandbox_gateway).order.create({"amount": 1000, "currency": "INR"})["id"])

    time.sleep(0.3)
    assert webhook_receiver.received == []
    received = webhook_receiver.wait_for(2, timeout=5)
    assert all(item.at - paid_at >= 0.55 for item in received)


def test_webhooks_never_are_held_until_released(sandbox_gateway, webhook_receiver):
    sandbox_gateway.webhook_mode("never")
    sandbox_gateway.pay(sdk(sandbox_gateway).order.create({"amount": 1000, "currency": "INR"})["id"])

    assert sandbox_gateway.wait_for_webhooks(timeout=2)
    time.sleep(0.2)
    assert webhook_receiver.received == []
    assert sandbox_gateway.deliveries == []
    held = sandbox_gateway.held_events
    assert [event.name for event in held] == ["payment.captured", "order.paid"]
    assert (
        held[0].headers["X-Razorpay-Signature"]
        == hmac.new(SANDBOX_WEBHOOK_SECRET.encode(), held[0].body, hashlib.sha256).hexdigest()
    )

    released = sandbox_gateway.release_webhooks()
    assert released == [event.id for event in held]
    webhook_receiver.wait_for(2)
    assert webhook_receiver.events() == ["payment.captured", "order.paid"]
    assert sandbox_gateway.held_events == []


def test_failed_deliveries_are_retried_with_backoff_and_logged(sandbox_gateway, webhook_receiver):
    webhook_receiver.statuses = [500, 503]
    sandbox_gateway.fail(sdk(sandbox_gateway).order.create({"amount": 1000, "currency": "INR"})["id"])

    received = webhook_receiver.wait_for(3)
    assert len({item.headers["X-Razorpay-Event-Id"] for item in received}) == 1
    assert received[1].at - received[0].at >= 0.04  # the fixture's backoff: 0.05 s, then 0.1 s
    assert received[2].at - received[1].at >= 0.09
    assert sandbox_gateway.wait_for_webhooks()
    assert [(d.event, d.attempt, d.status, d.ok) for d in sandbox_gateway.deliveries] == [
        ("payment.failed", 1, 500, False),
        ("payment.failed", 2, 503, False),
        ("payment.failed", 3, 200, True),
    ]


def test_an_unreachable_endpoint_is_retried_a_few_times_then_given_up(sandbox_gateway, webhook_receiver):
    webhook_receiver.stop()
    sandbox_gateway.fail(sdk(sandbox_gateway).order.create({"amount": 1000, "currency": "INR"})["id"])

    assert sandbox_gateway.wait_for_webhooks(timeout=10)
    attempts = sandbox_gateway.deliveries
    assert [d.attempt for d in attempts] == [1, 2, 3, 4]
    assert all(d.status is None and d.error for d in attempts)


def test_without_a_webhook_url_events_are_recorded_but_not_delivered(sandbox_gateway):
    sandbox_gateway.pay(sdk(sandbox_gateway).order.create({"amount": 1000, "currency": "INR"})["id"])
    assert sandbox_gateway.wait_for_webhooks()
    assert [event.name for event in sandbox_gateway.events] == ["payment.captured", "order.paid"]
    assert sandbox_gateway.deliveries == []


# --- the control endpoint -------------------------------------------------------------


def test_the_control_endpoint_drives_the_same_controls(sandbox_gateway):
    order = sdk(sandbox_gateway).order.create({"amount": 1000, "currency": "INR"})

    status, answer = call(
        sandbox_gateway, "POST", "/_sandbox/control", {"action": "fail_next", "count": 1, "status": 502}
    )
    assert (status, answer) == (200, {"ok": True, "result": None})
    assert call(sandbox_gateway, "GET", f"/v1/orders/{order['id']}")[0] == 502
    assert call(sandbox_gateway, "GET", f"/v1/orders/{order['id']}")[0] == 200

    status, answer = call(sandbox_gateway, "POST", "/_sandbox/control", {"action": "pay", "order_id": order["id"]})
    assert status == 200
    assert answer["result"]["status"] == "captured"
    assert answer["result"]["razorpay_signature"]

    _, state = call(sandbox_gateway, "POST", "/_sandbox/control", {"action": "state"})
    assert [o["status"] for o in state["result"]["orders"]] == ["paid"]
    assert [p["id"] for p in state["result"]["payments"]] == [answer["result"]["id"]]

    call(sandbox_gateway, "POST", "/_sandbox/control", {"action": "webhook_mode", "mode": "never"})
    assert sandbox_gateway.webhooks.mode == "never"
    call(sandbox_gateway, "POST", "/_sandbox/control", {"action": "configure", "webhook_url": "http://127.0.0.1:9/x"})
    assert sandbox_gateway.webhook_url == "http://127.0.0.1:9/x"
    call(sandbox_gateway, "POST", "/_sandbox/control", {"action": "reset"})
    assert (sandbox_gateway.orders, sandbox_gateway.webhooks.mode) == ({}, "normal")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"action": "shutdown"}, 400),
        ({"action": "fail_next", "colour": "red"}, 400),
        ({"action": "webhook_mode", "mode": "sometimes"}, 400),
        ({"action": "configure", "key_secret": "x"}, 400),
        ({"action": "pay", "order_id": "order_doesNotExist00"}, 400),
    ],
)
def test_the_control_endpoint_refuses_what_it_does_not_know(sandbox_gateway, body, status):
    assert call(sandbox_gateway, "POST", "/_sandbox/control", body)[0] == status
    assert sandbox_gateway.faults.pending() == []


def test_the_control_endpoint_needs_the_credentials(sandbox_gateway):
    assert call(sandbox_gateway, "POST", "/_sandbox/control", {"action": "reset"}, auth=None)[0] == 401


def test_faults_only_hit_matching_paths_and_are_used_up(sandbox_gateway):
    client = sdk(sandbox_gateway)
    order = client.order.create({"amount": 1000, "currency": "INR"})
    sandbox_gateway.fail_next(2, path="/v1/payments/*")
    assert client.order.fetch(order["id"])["id"] == order["id"]
    assert [f["remaining"] for f in sandbox_gateway.faults.pending()] == [2]
    for _ in range(2):
        assert call(sandbox_gateway, "GET", "/v1/payments/pay_x")[0] == 500
    assert call(sandbox_gateway, "GET", "/v1/payments/pay_x")[0] == 400  # back to the real answer
    assert sandbox_gateway.faults.pending() == []


def test_stop_is_quick_even_with_a_call_hanging():
    sandbox = SandboxGateway("rzp_test_a", "a-secret", "a-webhook").start()
    sandbox.hang_next(1, seconds=30)

    def hang() -> None:
        with pytest.raises(OSError):
            call(sandbox, "GET", "/v1/orders/x", auth=None)

    hanging = threading.Thread(target=hang, daemon=True)
    hanging.start()
    time.sleep(0.2)
    started = time.monotonic()
    sandbox.stop()
    assert time.monotonic() - started < 3
