"""Real threads racing on PostgreSQL: refunds never add up to more than was captured."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F

from orders.models import OrderItemStatus
from orders.services.lifecycle import order_item_cancel
from payments.errors import RefundExceedsCaptured
from payments.models import Payment, Refund, RefundStatus
from payments.services.refunds import refund_initiate
from tests.factories import ProductFactory
from tests.orders.helpers import items_of, make_buyer, run_concurrently
from tests.payments.refund_helpers import captured_online_order, committed, gateway_refunds_of, payment_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sandbox(sandbox_gateway):
    sandbox_gateway.configure(refund_delay=None)
    return sandbox_gateway


def test_two_concurrent_cancels_refund_each_item_once_within_the_capture(sandbox):
    products = [ProductFactory(price=Decimal("800.00")), ProductFactory(price=Decimal("1200.00"))]
    order = captured_online_order(sandbox, make_buyer(), dict.fromkeys(products, 1))
    items = items_of(order)
    # Both the buyer and the seller cancel each item, all at once.
    actors = [order.buyer, items[0].seller.user, order.buyer, items[1].seller.user]
    targets = [items[0], items[0], items[1], items[1]]

    results = run_concurrently(
        lambda i: order_item_cancel(item_id=targets[i].pk, actor=actors[i], reason=f"race {i}"), len(targets)
    )

    assert sum(not isinstance(result, Exception) for result in results) == 2, results
    payment = payment_of(order)
    assert sorted(r.amount for r in Refund.objects.all()) == [Decimal("800.00"), Decimal("1200.00")]
    assert payment.refunded_amount == committed(payment) == payment.captured_amount
    assert sorted(r["amount"] for r in gateway_refunds_of(sandbox, payment)) == [80_000, 120_000]
    assert all(item.status == OrderItemStatus.CANCELLED for item in items_of(order))


def test_cancels_the_capture_cannot_cover_are_refused_whole(sandbox):
    """The capture covers two of three items (say a late capture's refund took the rest): one cancel loses."""
    products = [ProductFactory(price=Decimal("500.00")) for _ in range(3)]
    order = captured_online_order(sandbox, make_buyer(), dict.fromkeys(products, 1))
    Payment.objects.filter(order=order).update(captured_amount=Decimal("1000.00"))
    items = items_of(order)

    results = run_concurrently(
        lambda i: order_item_cancel(item_id=items[i].pk, actor=order.buyer, reason="race"), len(items)
    )

    refused = [result for result in results if isinstance(result, RefundExceedsCaptured)]
    assert len(refused) == 1, results
    assert [item.status for item in items_of(order)].count(OrderItemStatus.CANCELLED) == 2
    payment = payment_of(order)
    assert payment.refunded_amount == committed(payment) == Decimal("1000.00")
    assert Refund.objects.count() == 2 == len(gateway_refunds_of(sandbox, payment))


def test_racing_refunds_of_one_payment_stop_at_the_captured_amount(sandbox):
    order = captured_online_order(sandbox, make_buyer(), {ProductFactory(price=Decimal("1000.00")): 1})
    payment_id = payment_of(order).pk

    def refund_400(_index: int) -> Refund:
        with transaction.atomic():
            payment = Payment.objects.select_for_update().get(pk=payment_id)
            return refund_initiate(payment=payment, amount=Decimal("400.00"), reason="race")

    results = run_concurrently(refund_400, 8)

    made = [result for result in results if isinstance(result, Refund)]
    assert len(made) == 2, results
    assert all(isinstance(result, (Refund, RefundExceedsCaptured)) for result in results), results
    payment = Payment.objects.get(pk=payment_id)
    assert payment.refunded_amount == committed(payment) == Decimal("800.00")
    assert Refund.objects.exclude(status=RefundStatus.FAILED).count() == 2


def test_the_database_refuses_refunded_above_captured(sandbox):
    order = captured_online_order(sandbox, make_buyer(), {ProductFactory(price=Decimal("300.00")): 1})
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(order=order).update(refunded_amount=F("captured_amount") + Decimal("0.01"))
