"""Unpaid online orders give their stock back after ORDER_PAYMENT_TIMEOUT_MINUTES: once, whoever runs the sweep,
and never against a capture that got there first."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.tasks import task_backends
from django.test import Client
from django.utils import timezone

from orders.models import ActorRole, Order, OrderEvent, OrderItemStatus, OrderStatus
from payments.gateway import GatewayPayment, RazorpayGateway
from payments.models import Payment, PaymentStatus, Refund, WebhookEvent, WebhookOutcome
from payments.services.expiry import EXPIRED_REASON, order_expire_unpaid, orders_expire_unpaid
from payments.services.online import payment_capture_apply
from payments.tasks_online import order_payment_expire
from tests.factories import ProductFactory
from tests.orders.helpers import buy_now, make_buyer, run_concurrently, stock_of
from tests.payments.online_helpers import (
    age,
    buy_now_online,
    deliver,
    deliver_all,
    events,
    payment_of,
    place_online,
    placements,
    statuses,
)

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

        assert orders_expire_unpaid()["expired"] == 1
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
        assert orders_expire_unpaid()["expired"] == 1
        assert orders_expire_unpaid()["expired"] == 0
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

        assert orders_expire_unpaid()["expired"] == 0
        assert statuses(fresh) == [S.PENDING_PAYMENT]
        assert statuses(cod) == [S.PLACED] and statuses(paid) == [S.PLACED]
        assert orders_expire_unpaid(now=timezone.now() + timedelta(minutes=2))["expired"] == 1
        assert statuses(fresh) == [S.CANCELLED]

    def test_the_command(self, buyer, product, no_gateway, capsys):
        age(buy_now_online(buyer, product), 20)
        call_command("expire_unpaid_orders")
        assert capsys.readouterr().out.strip() == (
            "Expired 1 unpaid order (older than 15 min); 0 paid at the last moment; "
            "0 deferred (Razorpay unreachable, asked again next run)."
        )
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
        assert orders_expire_unpaid()["expired"] == 1  # cron got there first

        for order in (paid, expired):
            order_payment_expire.call(order_id=order.pk)

        assert len(results) == 2  # the two queued at checkout, nothing more


PAYMENTS_READ = "/v1/orders/*/payments"
DEFERRED_LINE = "0 paid at the last moment; 1 deferred"


@pytest.fixture
def gateway_reads(monkeypatch):
    """The gateway order ids the expiry asked the gateway about, in order."""
    asked: list[str] = []
    original = RazorpayGateway.order_payments

    def recorded(self, order_id):
        asked.append(order_id)
        return original(self, order_id)

    monkeypatch.setattr(RazorpayGateway, "order_payments", recorded)
    return asked


@pytest.fixture
def held(sandbox_gateway):
    """The sandbox, keeping every webhook back: the buyer paid, we have not heard."""
    sandbox_gateway.webhook_mode("never")
    return sandbox_gateway


def refunds_of(order: Order) -> list[Decimal]:
    return list(Refund.objects.filter(payment__order=order).values_list("amount", flat=True))


@pytest.mark.django_db
class TestExpiryAsksTheGateway:
    def test_finding_3_an_order_paid_just_before_its_deadline_is_placed_not_cancelled_when_the_webhook_is_late(
        self, buyer, product, held, gateway_reads
    ):
        order = buy_now_online(buyer, product, 2)
        paid = held.pay(payment_of(order).gateway_order_id)  # a minute before the deadline
        age(order, 16)

        assert orders_expire_unpaid() == {"expired": 0, "captured": 1, "deferred": 0}

        assert statuses(order) == [S.PLACED] and placements(order) == 1
        payment = payment_of(order)
        assert (payment.status, payment.gateway_payment_id, payment.captured_amount) == (
            PaymentStatus.CAPTURED,
            paid["id"],
            Decimal("998.00"),
        )
        assert stock_of(product) == 8 and refunds_of(order) == []
        assert gateway_reads == [payment.gateway_order_id]
        assert orders_expire_unpaid() == {"expired": 0, "captured": 0, "deferred": 0}

    def test_finding_3_a_capture_webhook_stored_but_not_processed_yet_is_processed_before_the_expiry(
        self, buyer, product, held, client, settings
    ):
        order = buy_now_online(buyer, product, 2)
        held.pay(payment_of(order).gateway_order_id)
        settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # the worker is behind
        deliver_all(client, held)
        assert set(WebhookEvent.objects.values_list("outcome", flat=True)) == {WebhookOutcome.PENDING}
        # Were the stored webhooks not processed first, this would leave the order waiting (deferred).
        held.fail_next(1, path=PAYMENTS_READ)
        age(order, 16)

        assert orders_expire_unpaid() == {"expired": 0, "captured": 1, "deferred": 0}

        assert statuses(order) == [S.PLACED] and payment_of(order).status == PaymentStatus.CAPTURED
        assert sorted(WebhookEvent.objects.values_list("outcome", flat=True)) == [
            WebhookOutcome.IGNORED,
            WebhookOutcome.PROCESSED,
        ]
        assert stock_of(product) == 8 and refunds_of(order) == []

    @pytest.mark.parametrize("outage", ["fails", "hangs"])
    def test_finding_3_an_order_the_gateway_cannot_be_asked_about_waits_then_is_cancelled_at_the_hard_timeout(
        self, buyer, product, held, client, settings, capsys, outage
    ):
        settings.RAZORPAY_TIMEOUT_SECONDS = 0.3

        def gateway_down():
            if outage == "fails":
                held.fail_next(1, status=503, path=PAYMENTS_READ)
            else:
                held.hang_next(1, seconds=1, path=PAYMENTS_READ)

        order = buy_now_online(buyer, product, 2)
        held.pay(payment_of(order).gateway_order_id)
        age(order, 16)
        gateway_down()

        call_command("expire_unpaid_orders")

        assert DEFERRED_LINE in capsys.readouterr().out
        assert statuses(order) == [S.PENDING_PAYMENT] and stock_of(product) == 8
        assert payment_of(order).status == PaymentStatus.PENDING

        age(order, 60)  # ORDER_PAYMENT_HARD_TIMEOUT_MINUTES
        gateway_down()
        call_command("expire_unpaid_orders")

        assert "Expired 1 unpaid order (older than 15 min); 0 paid" in capsys.readouterr().out
        assert statuses(order) == [S.CANCELLED] and stock_of(product) == 10
        assert payment_of(order).status == PaymentStatus.NOT_REQUIRED
        # The capture's webhook comes at last: the money goes back, all of it.
        deliver_all(client, held)
        assert statuses(order) == [S.CANCELLED] and stock_of(product) == 10
        assert refunds_of(order) == [Decimal("998.00")]

    def test_the_hard_timeout_follows_its_setting(self, buyer, product, held, settings):
        settings.ORDER_PAYMENT_HARD_TIMEOUT_MINUTES = 30
        order = buy_now_online(buyer, product)
        age(order, 29)
        held.fail_next(1, path=PAYMENTS_READ)
        assert orders_expire_unpaid()["deferred"] == 1
        age(order, 30)
        held.fail_next(1, path=PAYMENTS_READ)
        assert orders_expire_unpaid()["expired"] == 1

    def test_a_sweep_stops_asking_a_gateway_that_timed_out(self, buyer, product, held, settings, gateway_reads):
        """With Razorpay down, a run costs one timeout, not one per order."""
        settings.RAZORPAY_TIMEOUT_SECONDS = 0.3
        orders = [buy_now_online(buyer, product) for _ in range(3)]
        for order in orders:
            age(order, 16)
        held.hang_next(1, seconds=1, path=PAYMENTS_READ)

        assert orders_expire_unpaid() == {"expired": 0, "captured": 0, "deferred": 3}
        assert len(gateway_reads) == 1
        assert orders_expire_unpaid() == {"expired": 3, "captured": 0, "deferred": 0}  # back: asked, none paid

    def test_a_refusal_about_one_gateway_order_does_not_stop_the_others(self, buyer, product, held, gateway_reads):
        refused, unpaid = buy_now_online(buyer, product), buy_now_online(buyer, product)
        held.pay(payment_of(refused).gateway_order_id)
        for order in (refused, unpaid):
            age(order, 16)
        held.fail_next(1, status=400, path=PAYMENTS_READ)

        assert orders_expire_unpaid() == {"expired": 1, "captured": 0, "deferred": 1}
        assert statuses(refused) == [S.PENDING_PAYMENT] and statuses(unpaid) == [S.CANCELLED]
        assert orders_expire_unpaid() == {"expired": 0, "captured": 1, "deferred": 0}
        assert statuses(refused) == [S.PLACED]

    def test_finding_3_an_order_that_never_reached_the_pay_page_expires_without_asking_the_gateway(
        self, buyer, product, held, gateway_reads
    ):
        held.fail_next(1, status=503, path="/v1/orders")  # checkout could not create its gateway order
        order = buy_now_online(buyer, product)
        assert payment_of(order).gateway_order_id is None
        age(order, 16)

        assert orders_expire_unpaid() == {"expired": 1, "captured": 0, "deferred": 0}

        assert statuses(order) == [S.CANCELLED] and stock_of(product) == 10
        assert gateway_reads == []

    def test_an_unpaid_order_is_expired_once_the_gateway_says_so(self, buyer, product, held, gateway_reads):
        order = buy_now_online(buyer, product)
        held.fail(payment_of(order).gateway_order_id)  # an attempt that failed is not a payment
        age(order, 16)
        assert orders_expire_unpaid() == {"expired": 1, "captured": 0, "deferred": 0}
        assert statuses(order) == [S.CANCELLED] and gateway_reads == [payment_of(order).gateway_order_id]

    def test_orders_not_due_are_not_asked_about(self, buyer, product, held, gateway_reads):
        age(buy_now_online(buyer, product), 14)
        assert orders_expire_unpaid() == {"expired": 0, "captured": 0, "deferred": 0}
        assert gateway_reads == []


@pytest.mark.django_db
class TestTheWorkersTaskAsksTheGateway:
    @pytest.fixture
    def queued(self, settings):
        settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
        return task_backends["default"].results

    def test_finding_3_the_task_places_an_order_paid_just_before_its_deadline(self, buyer, product, held, queued):
        order = buy_now_online(buyer, product, 2)
        held.pay(payment_of(order).gateway_order_id)
        age(order, 15)

        order_payment_expire.call(order_id=order.pk)

        assert statuses(order) == [S.PLACED] and payment_of(order).status == PaymentStatus.CAPTURED
        assert stock_of(product) == 8 and refunds_of(order) == []
        assert len(queued) == 1  # the checkout's; settled, so not queued again

    def test_finding_3_the_task_comes_back_a_minute_later_while_the_gateway_is_down_and_cancels_at_the_hard_timeout(
        self, buyer, product, held, queued
    ):
        order = buy_now_online(buyer, product)
        age(order, 15)
        held.fail_next(1, path=PAYMENTS_READ)
        before = timezone.now()

        order_payment_expire.call(order_id=order.pk)

        assert statuses(order) == [S.PENDING_PAYMENT]
        assert len(queued) == 2 and queued[-1].kwargs == {"order_id": order.pk}
        assert before + timedelta(minutes=1) <= queued[-1].task.run_after <= timezone.now() + timedelta(minutes=1)

        age(order, 59.5)  # a minute later would pass the hard timeout: it comes back at the hard timeout
        order.refresh_from_db()
        held.fail_next(1, path=PAYMENTS_READ)
        order_payment_expire.call(order_id=order.pk)
        assert statuses(order) == [S.PENDING_PAYMENT]
        assert queued[-1].task.run_after == order.created_at + timedelta(minutes=60)

        age(order, 60)
        held.fail_next(1, path=PAYMENTS_READ)
        order_payment_expire.call(order_id=order.pk)
        assert statuses(order) == [S.CANCELLED] and stock_of(product) == 10
        assert len(queued) == 3  # done: not queued again


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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_finding_3_the_expiry_racing_the_late_webhooks_of_an_order_paid_in_time_places_it_once(sandbox_gateway):
    """Real threads behind a barrier on PostgreSQL: the buyer paid a moment before the deadline, and its two
    webhooks arrive just as cron and the worker's task come to expire the order. Whoever gets the row first,
    the order is placed once: never cancelled, never refunded, its stock taken once (at checkout)."""
    sandbox_gateway.webhook_mode("never")
    product = ProductFactory(stock=50)
    rounds = 4
    for _round in range(rounds):
        order = buy_now_online(make_buyer(), product, 2)
        sandbox_gateway.pay(payment_of(order).gateway_order_id)
        webhooks = [events(sandbox_gateway, "payment.captured")[-1], events(sandbox_gateway, "order.paid")[-1]]
        age(order, 16)

        def contender(index: int, order=order, webhooks=webhooks):
            if index == 0:
                out = StringIO()
                call_command("expire_unpaid_orders", stdout=out)
                return out.getvalue()
            if index == 1:
                return order_payment_expire.call(order_id=order.pk)
            return deliver(Client(), webhooks[index - 2]).status_code

        results = run_concurrently(contender, 4)

        assert not any(isinstance(result, Exception) for result in results), results
        assert results[2:] == [200, 200]
        assert "Expired 0 unpaid orders" in results[0]
        order.refresh_from_db()
        assert order.status == OrderStatus.PLACED and statuses(order) == [S.PLACED] and placements(order) == 1
        assert payment_of(order).status == PaymentStatus.CAPTURED
        assert not Refund.objects.filter(payment__order=order).exists()
    assert stock_of(product) == 50 - 2 * rounds
