"""Unpaid online orders give their stock back after ORDER_PAYMENT_TIMEOUT_MINUTES: once, whoever runs the sweep,
and never against a capture that got there first."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.tasks import task_backends
from django.utils import timezone

from orders.models import ActorRole, Order, OrderEvent, OrderItemStatus, OrderStatus
from payments.gateway import GatewayPayment
from payments.models import Payment, PaymentStatus
from payments.services.expiry import EXPIRED_REASON, order_expire_unpaid, orders_expire_unpaid
from payments.services.online import payment_capture_apply
from payments.tasks_online import order_payment_expire
from tests.factories import ProductFactory
from tests.orders.helpers import buy_now, make_buyer, run_concurrently, stock_of
from tests.payments.online_helpers import age, buy_now_online, payment_of, place_online, statuses

S = OrderItemStatus


@pytest.fixture
def no_gateway(monkeypatch):
    """Checkout without a gateway order: these tests are about the reservation, not the gateway."""
    monkeypatch.setattr("orders.services.checkout.payment_gateway_order_ensure", lambda **kwargs: None)


@pytest.mark.django_db
class TestExpiry:
    def test_cancels_the_items_releases_the_stock_and_needs_no_payment(self, buyer, product, no_gateway):
        second = ProductFactory(stock=5)
        order = place_online(buyer, {product: 2, second: 5})
        assert (stock_of(product), stock_of(second)) == (8, 0)
        age(order, 16)

        assert orders_expire_unpaid() == 1
        assert statuses(order) == [S.CANCELLED, S.CANCELLED]
        assert (stock_of(product), stock_of(second)) == (10, 5)
        order.refresh_from_db()
        assert order.status == OrderStatus.CANCELLED
        assert payment_of(order).status == PaymentStatus.NOT_REQUIRED
        moves = OrderEvent.objects.filter(order=order, to_status=S.CANCELLED)
        assert [(e.actor_id, e.actor_role, e.from_status, e.reason) for e in moves] == [
            (None, ActorRole.SYSTEM, S.PENDING_PAYMENT, EXPIRED_REASON)
        ] * 2

    def test_is_idempotent(self, buyer, product, no_gateway):
        order = buy_now_online(buyer, product, 3)
        age(order, 16)
        assert orders_expire_unpaid() == 1
        assert orders_expire_unpaid() == 0
        assert order_expire_unpaid(order_id=order.pk) is False
        assert stock_of(product) == 10
        assert OrderEvent.objects.filter(order=order, to_status=S.CANCELLED).count() == 1

    def test_leaves_orders_within_the_deadline_cash_on_delivery_and_paid_orders(
        self, buyer, product, sandbox_gateway, settings
    ):
        settings.ORDER_PAYMENT_TIMEOUT_MINUTES = 30
        fresh = buy_now_online(buyer, product)
        age(fresh, 29)
        cod = buy_now(buyer, product)
        age(cod, 60)
        paid = buy_now_online(buyer, product)
        captured = sandbox_gateway.pay(payment_of(paid).gateway_order_id)
        payment_capture_apply(gateway_payment=GatewayPayment.from_razorpay(captured))
        age(paid, 60)

        assert orders_expire_unpaid() == 0
        assert statuses(fresh) == [S.PENDING_PAYMENT]
        assert statuses(cod) == [S.PLACED] and statuses(paid) == [S.PLACED]
        assert orders_expire_unpaid(now=timezone.now() + timedelta(minutes=2)) == 1
        assert statuses(fresh) == [S.CANCELLED]

    def test_the_command(self, buyer, product, no_gateway, capsys):
        age(buy_now_online(buyer, product), 20)
        call_command("expire_unpaid_orders")
        assert capsys.readouterr().out.strip() == "Expired 1 unpaid order (older than 15 min)."
        call_command("expire_unpaid_orders")
        assert "Expired 0 unpaid orders" in capsys.readouterr().out


@pytest.mark.django_db
class TestDeferredExpiry:
    def test_with_the_immediate_backend_nothing_is_scheduled(self, buyer, product, no_gateway):
        assert not order_payment_expire.get_backend().supports_defer
        buy_now_online(buyer, product)  # would raise InvalidTask if it tried

    def test_a_deferring_backend_gets_a_task_at_the_deadline(self, buyer, product, no_gateway, settings):
        settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
        order = buy_now_online(buyer, product)
        [result] = task_backends["default"].results
        assert result.task.name == order_payment_expire.name
        assert result.kwargs == {"order_id": order.pk}
        assert result.task.run_after == order.created_at + timedelta(minutes=15)

    def test_the_database_queue_gets_it_in_the_checkout_transaction(self, buyer, product, no_gateway, settings):
        from django_tasks_db.models import DBTaskResult

        settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
        order = buy_now_online(buyer, product)
        [row] = DBTaskResult.objects.filter(task_path__endswith="order_payment_expire")
        assert row.args_kwargs["kwargs"] == {"order_id": order.pk}
        assert row.run_after == order.created_at + timedelta(minutes=15)

    def test_the_task_expires_that_order_once_due(self, buyer, product, no_gateway):
        order = buy_now_online(buyer, product)
        order_payment_expire.call(order_id=order.pk)
        assert statuses(order) == [S.PENDING_PAYMENT]  # not due yet
        age(order, 15)
        order_payment_expire.call(order_id=order.pk)
        assert statuses(order) == [S.CANCELLED] and stock_of(product) == 10

    def test_a_deadline_raised_after_checkout_requeues_the_task_instead_of_cancelling_early(
        self, buyer, product, no_gateway, settings
    ):
        settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
        results = task_backends["default"].results
        order = buy_now_online(buyer, product, 2)
        assert [result.task.run_after for result in results] == [order.created_at + timedelta(minutes=15)]
        settings.ORDER_PAYMENT_TIMEOUT_MINUTES = 30  # raised by the operator while the task waited
        age(order, 16)  # the worker runs the task at the old deadline
        order.refresh_from_db()

        order_payment_expire.call(order_id=order.pk)

        assert statuses(order) == [S.PENDING_PAYMENT] and stock_of(product) == 8
        assert payment_of(order).status == PaymentStatus.PENDING
        requeued = results[-1]
        assert len(results) == 2 and requeued.kwargs == {"order_id": order.pk}
        assert requeued.task.run_after == order.created_at + timedelta(minutes=30)

        age(order, 30)  # the worker runs it again at the new deadline
        order_payment_expire.call(order_id=order.pk)

        assert statuses(order) == [S.CANCELLED] and stock_of(product) == 10
        assert len(results) == 2  # done: not queued again

    def test_the_task_does_not_requeue_for_an_order_that_is_settled(self, buyer, product, no_gateway, settings):
        settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
        results = task_backends["default"].results
        paid, expired = buy_now_online(buyer, product), buy_now_online(buyer, product)
        Payment.objects.filter(order=paid).update(status=PaymentStatus.CAPTURED)
        Order.objects.filter(pk=paid.pk).update(status=OrderStatus.PLACED)
        age(expired, 20)
        assert orders_expire_unpaid() == 1  # cron got there first

        for order in (paid, expired):
            order_payment_expire.call(order_id=order.pk)

        assert len(results) == 2  # the two queued at checkout, nothing more


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_expiries_and_a_capture_racing_have_exactly_one_outcome(monkeypatch):
    """Real threads behind a barrier on PostgreSQL: for each order, either the capture placed it (no refund) or
    one expiry cancelled it and the capture that followed is refunded in full; stock is never released twice."""
    monkeypatch.setattr("orders.services.checkout.payment_gateway_order_ensure", lambda **kwargs: None)
    refunds = []
    monkeypatch.setattr("payments.services.refunds.refund_initiate", lambda **kwargs: refunds.append(kwargs))
    product = ProductFactory(stock=50)
    for round_number in range(8):
        refunds.clear()
        buyer = make_buyer()
        order = buy_now_online(buyer, product, 2)
        gateway_order_id = f"order_race{round_number}"
        Payment.objects.filter(order=order).update(gateway_order_id=gateway_order_id)
        age(order, 16)
        captured = GatewayPayment.from_razorpay(
            {
                "id": f"pay_race{round_number}",
                "order_id": gateway_order_id,
                "amount": 99_800,
                "currency": "INR",
                "status": "captured",
                "captured": True,
            }
        )

        def contender(index: int, order=order, captured=captured):
            if index == 2:
                return payment_capture_apply(gateway_payment=captured).detail
            return order_expire_unpaid(order_id=order.pk)

        results = run_concurrently(contender, 3)
        assert not any(isinstance(result, Exception) for result in results), results
        expired = [result for result in results[:2] if result is True]
        assert len(expired) <= 1
        order.refresh_from_db()
        payment = payment_of(order)
        assert payment.status == PaymentStatus.CAPTURED and payment.captured_amount == Decimal("998.00")
        if expired:
            assert statuses(order) == [S.CANCELLED] and order.status == OrderStatus.CANCELLED
            assert [call["amount"] for call in refunds] == [Decimal("998.00")]
        else:
            assert statuses(order) == [S.PLACED] and refunds == []
        assert OrderEvent.objects.filter(order=order).exclude(from_status="").count() == 1
    assert stock_of(product) == 50 - 2 * Order.objects.filter(status=OrderStatus.PLACED).count()
