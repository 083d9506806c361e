"""No gateway call ever runs inside a database transaction: a slow or hung Razorpay must not hold
row locks, and a rolled-back transaction must not leave money moved at the gateway.

Every public call of `RazorpayGateway` that reaches the network is wrapped to record whether the
caller's connection was in an atomic block. The tests are transactional, so the baseline is "not in
one": any `True` is a call made under a transaction by the code under test. Each flow runs through its
real interface (API, admin, command) and the test checks the calls it needs were made, so it cannot
pass by calling nothing.
"""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from orders.models import Order, OrderItemStatus
from payments.gateway import RazorpayGateway, get_gateway
from payments.models import CaptureOutcome, GatewayCapture, Payment, PaymentStatus, Refund, RefundStatus
from payments.services.refunds import refund_submit
from payments.tasks_online import order_payment_expire
from tests.factories import ProductFactory
from tests.orders.helpers import bearer, items_of, make_buyer
from tests.payments.online_helpers import age, checkout_online, deliver_all, pay_url, payment_of, place_online

pytestmark = pytest.mark.django_db(transaction=True)

NETWORK_CALLS = (
    "order_create",
    "order_fetch",
    "order_payments",
    "payment_fetch",
    "refund_create",
    "refunds_fetch",
    "refund_fetch",
)
REFUND_PATH = "/v1/payments/*/refund"


@pytest.fixture
def gateway_calls(monkeypatch, sandbox_gateway):
    """Every network call of the gateway, as (name, whether it ran inside a transaction)."""
    calls: list[tuple[str, bool]] = []
    for name in NETWORK_CALLS:
        original = getattr(RazorpayGateway, name)

        def recorded(self, *args, _name=name, _original=original, **kwargs):
            calls.append((_name, connection.in_atomic_block))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(RazorpayGateway, name, recorded)
    assert not connection.in_atomic_block  # the baseline: transactional tests run outside any transaction
    return calls


@pytest.fixture
def sandbox(sandbox_gateway):
    sandbox_gateway.configure(refund_delay=None)  # refunds stay pending until settled, for reconciliation
    return sandbox_gateway


def online_checkout(api, buyer, product, quantity: int = 1) -> Order:
    response = checkout_online(api, buyer, product, quantity)
    assert response.status_code == 201, response.content
    return Order.objects.get(pk=response.json()["id"])


def captured(client, sandbox, order: Order) -> Order:
    """Paid at the sandbox, and its signed webhooks handed to our endpoint."""
    sandbox.pay(payment_of(order).gateway_order_id)
    deliver_all(client, sandbox, "payment.captured")
    assert payment_of(order).status == PaymentStatus.CAPTURED
    return order


def made_inside_a_transaction(calls) -> list[str]:
    return [name for name, in_transaction in calls if in_transaction]


def test_the_recorder_sees_a_call_made_inside_a_transaction(gateway_calls, sandbox):
    """The control: were a service to call the gateway under `atomic`, these tests would say so."""
    with transaction.atomic():
        get_gateway().order_create(amount_paise=10_000, currency="INR", receipt="control", notes={})
    get_gateway().order_create(amount_paise=10_000, currency="INR", receipt="control", notes={})
    assert gateway_calls == [("order_create", True), ("order_create", False)]


def test_checkout_and_pay_again(gateway_calls, sandbox):
    buyer = make_buyer()
    api = bearer(buyer)
    sandbox.fail_next(1, status=503, path="/v1/orders")  # checkout cannot create the gateway order

    order = online_checkout(api, buyer, ProductFactory())
    assert payment_of(order).gateway_order_id is None
    response = api.post(pay_url(order))

    assert response.status_code == 200, response.content
    assert payment_of(order).gateway_order_id
    assert gateway_calls == [("order_create", False), ("order_create", False)]


def test_refund_submit_from_the_buyers_cancel_and_the_staffs_retry(gateway_calls, sandbox, client, staff):
    buyer = make_buyer()
    api = bearer(buyer)
    order = captured(client, sandbox, online_checkout(api, buyer, ProductFactory(price=Decimal("300.00")), 2))
    gateway_calls.clear()
    sandbox.fail_next_refund(1)

    item = items_of(order)[0]
    response = api.post(f"/api/v1/orders/{order.pk}/items/{item.pk}/cancel/", {"reason": "r"}, format="json")
    assert response.status_code == 200, response.content
    refund = Refund.objects.get(order_item=item)
    sandbox.settle_refund(refund.gateway_refund_id)  # the gateway fails it
    deliver_all(client, sandbox, "refund.failed")
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.FAILED

    client.force_login(staff)
    retried = client.post(
        "/admin/payments/refund/", {"action": "retry_failed_refunds", "_selected_action": [refund.pk]}
    )

    assert retried.status_code == 302
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.PROCESSING
    assert gateway_calls == [("refund_create", False), ("refund_create", False)]


def test_a_refused_refund_submit_reads_the_gateways_refunds_outside_transactions(gateway_calls, sandbox, client):
    buyer = make_buyer()
    api = bearer(buyer)
    order = captured(client, sandbox, online_checkout(api, buyer, ProductFactory(price=Decimal("300.00")), 2))
    gateway_calls.clear()
    sandbox.drop_next_response(1)  # the gateway refunds; we never hear
    item = items_of(order)[0]
    response = api.post(f"/api/v1/orders/{order.pk}/items/{item.pk}/cancel/", {"reason": "r"}, format="json")
    assert response.status_code == 200, response.content
    refund = Refund.objects.get(order_item=item)
    sandbox.fail_next(1, status=400, path=REFUND_PATH)

    refund_submit(refund_id=refund.pk)  # refused, so it looks for the refund the first call made

    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.PROCESSING
    assert gateway_calls == [("refund_create", False), ("refund_create", False), ("refunds_fetch", False)]


def test_reconcile_payments(gateway_calls, sandbox, client):
    buyer = make_buyer()
    api = bearer(buyer)
    paid = captured(client, sandbox, place_online(buyer, {ProductFactory(): 1, ProductFactory(): 2}))
    unconfirmed = online_checkout(api, buyer, ProductFactory())
    sandbox.pay(payment_of(unconfirmed).gateway_order_id)  # its webhook never reaches us
    first, second = items_of(paid)
    for item in (first, second):
        if item is second:
            sandbox.fail_next(1, status=503, path=REFUND_PATH)  # stays INITIATED: reconcile submits it again
        api.post(f"/api/v1/orders/{paid.pk}/items/{item.pk}/cancel/", {"reason": "r"}, format="json")
    assert Refund.objects.get(order_item=first).status == RefundStatus.PROCESSING
    assert Refund.objects.get(order_item=second).status == RefundStatus.INITIATED
    age(unconfirmed, 5)
    gateway_calls.clear()

    call_command("reconcile_payments", "--older-than-minutes", "0")

    assert payment_of(unconfirmed).status == PaymentStatus.CAPTURED
    assert Refund.objects.get(order_item=second).status == RefundStatus.PROCESSING
    assert {"order_payments", "refund_create", "refund_fetch"} <= {name for name, _ in gateway_calls}
    assert made_inside_a_transaction(gateway_calls) == []


def test_the_capture_ledgers_reads_and_refunds(gateway_calls, sandbox, client, staff):
    """A capture on a gateway order whose id was lost (the order is read), a second capture and a mismatch
    refunded at expiry (refunds of their own payment ids), and staff's "Refund this capture now"."""
    buyer = make_buyer()
    api = bearer(buyer)
    lost = online_checkout(api, buyer, ProductFactory())
    lost_gateway_order = payment_of(lost).gateway_order_id
    Payment.objects.filter(order=lost).update(gateway_order_id=None)
    slow = sandbox.start_payment(lost_gateway_order)
    sandbox.pay(lost_gateway_order)
    deliver_all(client, sandbox, "payment.captured")  # no order.paid: the gateway order's notes are read
    assert payment_of(lost).status == PaymentStatus.CAPTURED
    sandbox.complete_payment(slow["id"])
    deliver_all(client, sandbox, "payment.captured")  # a second capture: refunded against its own id
    mismatched = online_checkout(api, buyer, ProductFactory())
    sandbox.pay(payment_of(mismatched).gateway_order_id, amount=100)
    deliver_all(client, sandbox, "payment.captured")
    age(mismatched, 20)
    call_command("expire_unpaid_orders")  # the flagged capture is refunded now that the order is cancelled
    for_staff = online_checkout(api, buyer, ProductFactory())
    sandbox.pay(payment_of(for_staff).gateway_order_id, amount=100)
    deliver_all(client, sandbox, "payment.captured")
    flagged = GatewayCapture.objects.get(payment__order=for_staff)
    client.force_login(staff)
    client.post("/admin/payments/gatewaycapture/", {"action": "refund_flagged_now", "_selected_action": [flagged.pk]})

    assert GatewayCapture.objects.filter(outcome=CaptureOutcome.REFUNDED).count() == 3
    assert Refund.objects.filter(status=RefundStatus.PROCESSING).count() == 3
    assert {"order_fetch", "refund_create"} <= {name for name, _ in gateway_calls}
    assert [name for name, _ in gateway_calls].count("refund_create") == 3


def test_expire_unpaid_orders_and_the_workers_expiry_task(gateway_calls, sandbox):
    """The expiry asks the gateway about each overdue order before cancelling it, outside its transactions."""
    buyer = make_buyer()
    api = bearer(buyer)
    paid, unpaid, by_the_task = (online_checkout(api, buyer, ProductFactory()) for _ in range(3))
    for order in (paid, by_the_task):
        sandbox.pay(payment_of(order).gateway_order_id)  # its webhook never reaches us
    for order in (paid, unpaid):
        age(order, 16)
    gateway_calls.clear()

    call_command("expire_unpaid_orders")
    age(by_the_task, 16)
    order_payment_expire.call(order_id=by_the_task.pk)

    assert (
        items_of(paid)[0].status == OrderItemStatus.PLACED and items_of(unpaid)[0].status == OrderItemStatus.CANCELLED
    )
    assert items_of(by_the_task)[0].status == OrderItemStatus.PLACED
    assert [name for name, _ in gateway_calls] == ["order_payments"] * 3
    assert made_inside_a_transaction(gateway_calls) == []


def test_payments_audit_reads_the_gateway_outside_transactions(gateway_calls, sandbox, client):
    buyer = make_buyer()
    api = bearer(buyer)
    captured(client, sandbox, online_checkout(api, buyer, ProductFactory()))
    online_checkout(api, buyer, ProductFactory())
    gateway_calls.clear()

    out = StringIO()
    call_command("payments_audit", "--gateway", stdout=out, stderr=StringIO())  # exits non-zero on any finding

    assert "0 unaccounted for; gateway read for 2, not for 0." in out.getvalue()
    assert [name for name, _ in gateway_calls] == ["order_payments"] * 2
    assert made_inside_a_transaction(gateway_calls) == []
