"""`payment.captured` and `order.paid` for one payment, delivered at the same moment to our endpoint (Razorpay sends
both on every capture, at least once each, in no order): on PostgreSQL with real threads, the order's items move
PENDING_PAYMENT → PLACED exactly once, with one set of effects (stock taken once, at checkout; one "placed" mail
to the buyer and one to each seller). And one capture reached by the webhook and reconciliation at once is recorded
in the capture ledger once, with one outcome."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client

from orders.models import OrderItemStatus, OrderStatus
from payments.models import CaptureOutcome, GatewayCapture, PaymentStatus, Refund, WebhookEvent, WebhookOutcome
from payments.services.online import payments_reconcile
from tests.factories import ProductFactory, StoreFactory
from tests.orders.helpers import make_buyer, run_concurrently, stock_of
from tests.payments.online_helpers import deliver, events, payment_of, place_online, placements, statuses

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

S = OrderItemStatus


@pytest.mark.parametrize("copies", [1, 4], ids=["one-of-each", "four-of-each"])
def test_concurrent_payment_captured_and_order_paid_place_the_order_once(sandbox_gateway, copies):
    lamp = ProductFactory(store=StoreFactory(), stock=10, price=Decimal("250.00"))
    rug = ProductFactory(store=StoreFactory(), stock=10, price=Decimal("99.00"))
    for _round in range(4):
        mail.outbox.clear()
        buyer = make_buyer()
        order = place_online(buyer, {lamp: 2, rug: 1})
        sandbox_gateway.pay(payment_of(order).gateway_order_id)
        [captured] = events(sandbox_gateway, "payment.captured")[-1:]
        [paid] = events(sandbox_gateway, "order.paid")[-1:]
        deliveries = [captured, paid] * copies

        responses = run_concurrently(lambda i, deliveries=deliveries: deliver(Client(), deliveries[i]), len(deliveries))

        assert [getattr(response, "status_code", response) for response in responses] == [200] * len(deliveries)
        order.refresh_from_db()
        assert order.status == OrderStatus.PLACED and statuses(order) == [S.PLACED, S.PLACED]
        assert placements(order) == 2  # one move per item
        payment = payment_of(order)
        assert payment.status == PaymentStatus.CAPTURED
        assert list(payment.captures.values_list("outcome", flat=True)) == [CaptureOutcome.PAID]
        stored = dict(
            WebhookEvent.objects.filter(event_id__in=[captured.id, paid.id]).values_list("event_type", "outcome")
        )
        assert sorted(stored.values()) == [WebhookOutcome.IGNORED, WebhookOutcome.PROCESSED]  # one applied it
        subjects = sorted(message.subject for message in mail.outbox)
        assert subjects.count(f"Your JoyCart order {order.number} is placed") == 1, subjects
        assert len([s for s in subjects if s.startswith(f"New order {order.number}")]) == 2, subjects  # per seller
    assert (stock_of(lamp), stock_of(rug)) == (10 - 4 * 2, 10 - 4 * 1)  # taken at checkout, never again


@pytest.mark.parametrize("which", ["first capture", "second capture"])
def test_one_capture_delivered_by_webhook_and_read_by_reconciliation_at_once_is_recorded_and_settled_once(
    sandbox_gateway, which
):
    """The webhook (twice) and reconciliation (twice) reach the same capture at the same moment: one capture row,
    one outcome, and for a second capture one refund, at the gateway too."""
    order = place_online(make_buyer(), {ProductFactory(store=StoreFactory(), price=Decimal("250.00")): 2})
    gateway_order_id = payment_of(order).gateway_order_id
    slow = sandbox_gateway.start_payment(gateway_order_id)
    if which == "second capture":
        sandbox_gateway.pay(gateway_order_id)
        for event in events(sandbox_gateway):
            deliver(Client(), event)
    sandbox_gateway.webhook_mode("never")
    sandbox_gateway.complete_payment(slow["id"])
    [captured] = [
        e
        for e in events(sandbox_gateway, "payment.captured")
        if e.envelope["payload"]["payment"]["entity"]["id"] == slow["id"]
    ]

    def one(index: int):
        if index % 2:
            return payments_reconcile(older_than=timedelta(0))
        return deliver(Client(), captured).status_code

    results = run_concurrently(one, 4)

    assert not [result for result in results if isinstance(result, Exception)], results
    capture = GatewayCapture.objects.get(gateway_payment_id=slow["id"])
    assert GatewayCapture.objects.filter(payment__order=order).count() == (1 if which == "first capture" else 2)
    assert placements(order) == 1 and statuses(order) == [S.PLACED]
    if which == "first capture":
        assert capture.outcome == CaptureOutcome.PAID and Refund.objects.count() == 0
    else:
        assert capture.outcome == CaptureOutcome.REFUNDED
        assert Refund.objects.filter(capture=capture).count() == 1
        assert [r["payment_id"] for r in sandbox_gateway.refunds.values()] == [slow["id"]]
