"""The cron jobs race each other on PostgreSQL: `expire_unpaid_orders` and `reconcile_payments`, several of each
at once (cron every minute on several machines, or a slow run overlapping the next), over the same overdue
orders and stale refunds. Each order ends with exactly one outcome, stock comes back once, and the gateway
holds exactly the refunds we hold.

Real threads behind a barrier, each calling the management command as cron would. Webhooks go nowhere:
the cron jobs are the only ones to learn anything from the gateway.
"""

import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from orders.models import OrderEvent, OrderItemStatus, OrderStatus
from orders.services.lifecycle import order_item_cancel
from payments.models import PaymentStatus, Refund, RefundStatus
from tests.factories import ProductFactory
from tests.orders.helpers import items_of, make_buyer, run_concurrently, stock_of
from tests.payments.online_helpers import age, payment_of, place_online, statuses
from tests.payments.refund_helpers import captured_online_order, gateway_refunds_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

S = OrderItemStatus
THREADS = 6
REFUND_PATH = "/v1/payments/*/refund"


@pytest.fixture
def sandbox(sandbox_gateway):
    sandbox_gateway.configure(refund_delay=None)  # refunds stay pending until settled
    return sandbox_gateway


def cron(index: int) -> str:
    """Even threads expire, odd threads reconcile: each job beside itself and beside the other."""
    out = StringIO()
    if index % 2:
        call_command("reconcile_payments", "--older-than-minutes", "0", stdout=out)
    else:
        call_command("expire_unpaid_orders", stdout=out)
    return out.getvalue()


def total(outputs: list[str], pattern: str) -> int:
    return sum(int(number) for output in outputs for number in re.findall(pattern, output))


@pytest.mark.parametrize("round_number", range(3))
def test_concurrent_expiry_and_reconciliation_settle_each_order_once(sandbox, round_number):
    lamp, rug = ProductFactory(stock=30, price=Decimal("250.00")), ProductFactory(stock=30, price=Decimal("99.00"))
    # Never paid, overdue: expired once, stock back once.
    unpaid = [place_online(make_buyer(), {lamp: 2, rug: 1}) for _ in range(3)]
    # Paid at the gateway before the deadline, webhook lost, overdue: placed, by a reconciliation or by an expiry
    # (which asks the gateway before it cancels), never cancelled.
    paid_late = [place_online(make_buyer(), {lamp: 1, rug: 2}) for _ in range(3)]
    # Paid at the gateway, webhook lost, still within the deadline: placed, once, by one of the reconciliations.
    paid_in_time = [place_online(make_buyer(), {lamp: 1, rug: 1}) for _ in range(2)]
    for order in paid_late + paid_in_time:
        sandbox.pay(payment_of(order).gateway_order_id)
    for order in unpaid + paid_late:
        age(order, 20)
    for order in paid_in_time:
        age(order, 5)
    # Refunds whose webhook or task never came: one processed at the gateway, one never submitted (a 5xx).
    cancelled = captured_online_order(
        sandbox, make_buyer(), {ProductFactory(price=Decimal("300.00")): 1, ProductFactory(price=Decimal("120.00")): 1}
    )
    first, second = items_of(cancelled)
    order_item_cancel(item_id=first.pk, actor=cancelled.buyer, reason="r")
    sandbox.fail_next(1, status=503, path=REFUND_PATH)
    order_item_cancel(item_id=second.pk, actor=cancelled.buyer, reason="r")
    processed, never_submitted = Refund.objects.get(order_item=first), Refund.objects.get(order_item=second)
    sandbox.settle_refund(processed.gateway_refund_id)
    assert (processed.status, never_submitted.status) == (RefundStatus.PROCESSING, RefundStatus.INITIATED)

    outputs = run_concurrently(cron, THREADS)

    assert not [output for output in outputs if isinstance(output, Exception)], outputs
    for order in unpaid:
        assert statuses(order) == [S.CANCELLED, S.CANCELLED]
        assert payment_of(order).status == PaymentStatus.NOT_REQUIRED
        assert Refund.objects.filter(payment__order=order).count() == 0
    for order in paid_in_time:
        assert statuses(order) == [S.PLACED, S.PLACED]
        assert Refund.objects.filter(payment__order=order).count() == 0
    for order in paid_late:
        order.refresh_from_db()
        payment = payment_of(order)
        assert payment.status == PaymentStatus.CAPTURED and order.status == OrderStatus.PLACED
        assert statuses(order) == [S.PLACED, S.PLACED]
        assert Refund.objects.filter(payment=payment).count() == 0 and gateway_refunds_of(sandbox, payment) == []
    for order in unpaid + paid_late + paid_in_time:
        assert OrderEvent.objects.filter(order=order).exclude(from_status="").count() == 2  # one move per item
    # Stock comes back once per expired item, and never for a placed one.
    assert stock_of(lamp) == 30 - len(paid_late) * 1 - len(paid_in_time)
    assert stock_of(rug) == 30 - len(paid_late) * 2 - len(paid_in_time)
    # What the jobs said adds up: every expiry and every capture was done by exactly one of them.
    assert total(outputs, r"Expired (\d+) unpaid") == len(unpaid)
    captured_by_reconciliation = total(outputs, r"Payments: checked \d+, captured (\d+)")
    captured_by_expiry = total(outputs, r"(\d+) paid at the last moment")
    assert captured_by_reconciliation + captured_by_expiry == len(paid_late) + len(paid_in_time)
    assert total(outputs, r"(\d+) deferred") == 0

    processed.refresh_from_db()
    never_submitted.refresh_from_db()
    assert processed.status == RefundStatus.REFUNDED
    assert never_submitted.status == RefundStatus.PROCESSING
    assert sorted(r["amount"] for r in gateway_refunds_of(sandbox, payment_of(cancelled))) == [12_000, 30_000]
