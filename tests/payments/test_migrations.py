"""The capture ledger's data migration: the captures already on payments become GatewayCapture rows, their refunds
point at them, and payments flagged before the ledger existed are handed back to reconciliation."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from orders.models import PaymentMethod
from payments.models import CaptureOutcome, CaptureReason, GatewayCapture, Payment, Refund
from tests.factories import ProductFactory
from tests.orders.helpers import items_of, make_buyer, order_of

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("payments", "0004_webhook_drain")


@pytest.fixture
def migrate():
    """Move the payments app's schema to a migration; back to the latest after the test."""

    def to(target: tuple[str, str]):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate([target])
        return executor.loader.project_state([target]).apps

    yield to
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_existing_captures_and_refunds_enter_the_ledger_and_flagged_payments_are_read_again(migrate):
    paid, late, flagged = (order_of(make_buyer(), {ProductFactory(price=Decimal("200.00")): 1}) for _ in range(3))
    paid_item = items_of(paid)[0]
    old = migrate(BEFORE)
    HistoricalPayment, HistoricalRefund = old.get_model("payments", "Payment"), old.get_model("payments", "Refund")
    long_ago = timezone.now() - timedelta(days=30)
    for order, number in ((paid, 1), (late, 2)):
        HistoricalPayment.objects.filter(order_id=order.pk).update(
            method=PaymentMethod.ONLINE,
            status="CAPTURED",
            gateway_order_id=f"order_old{number}",
            gateway_payment_id=f"pay_old{number}",
            captured_amount=Decimal("200.00"),
            refunded_amount=Decimal("200.00"),
            captured_at=long_ago,
        )
    payment_ids = dict(HistoricalPayment.objects.values_list("order_id", "pk"))
    HistoricalRefund.objects.create(
        payment_id=payment_ids[paid.pk], order_item_id=paid_item.pk, amount=Decimal("200.00"), idempotency_key="k1" * 6
    )
    HistoricalRefund.objects.create(payment_id=payment_ids[late.pk], amount=Decimal("200.00"), idempotency_key="k2" * 6)
    HistoricalPayment.objects.filter(order_id=flagged.pk).update(
        method=PaymentMethod.ONLINE,
        gateway_order_id="order_old3",
        flagged=True,
        flag_reason="payment pay_x captured INR 1.00 for an order of INR 200.00",
        gateway_checked_at=long_ago,
        updated_at=long_ago,
    )

    migrate(("payments", "0007_refund_capture_required"))

    paying, refunded = GatewayCapture.objects.get(payment__order=paid), GatewayCapture.objects.get(payment__order=late)
    assert (paying.gateway_payment_id, paying.outcome, paying.reason) == ("pay_old1", CaptureOutcome.PAID, "")
    assert (refunded.gateway_payment_id, refunded.outcome, refunded.reason) == (
        "pay_old2",
        CaptureOutcome.REFUNDED,
        CaptureReason.ORDER_CLOSED,
    )
    assert paying.amount == paying.refunded_amount == Decimal("200.00")
    assert (paying.captured_at, paying.gateway_order_id) == (long_ago, "order_old1")
    assert Refund.objects.get(order_item=paid_item).capture == paying
    assert Refund.objects.get(payment__order=late).capture == refunded
    assert not GatewayCapture.objects.filter(payment__order=flagged).exists()
    handed_back = Payment.objects.get(order=flagged)
    assert handed_back.gateway_checked_at is None and handed_back.updated_at > timezone.now() - timedelta(minutes=5)
