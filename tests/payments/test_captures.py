"""The capture ledger: every capture the gateway made for one of our gateway orders is recorded once and ends in
one outcome (it pays the order, it is refunded in full against its OWN gateway payment id, or it waits for staff),
through the webhooks, reconciliation and the expiry alike. The real SDK talks to the sandbox gateway, whose ledger
keeps refunds per payment id; the refund task runs after each transaction commits, as in development."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from orders.models import Order, OrderItemStatus, OrderStatus
from orders.services.lifecycle import order_item_cancel
from payments.errors import RefundExceedsCaptured
from payments.gateway import GatewayPayment
from payments.models import (
    CaptureOutcome,
    CaptureReason,
    GatewayCapture,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from payments.services.captures import payment_captures_settle
from payments.services.expiry import orders_expire_unpaid
from payments.services.online import payment_capture_apply, payment_failure_apply, payments_reconcile
from payments.services.refunds import refund_initiate, refund_retry
from tests.orders.helpers import items_of, stock_of
from tests.payments.online_helpers import (
    age,
    buy_now_online,
    deliver,
    deliver_all,
    events,
    payment_of,
    placements,
    statuses,
)
from tests.payments.refund_helpers import apply_refund_webhooks

pytestmark = pytest.mark.django_db

S = OrderItemStatus
Outcome = CaptureOutcome
Reason = CaptureReason


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    """Run what waits for the commit (the refund task, the mail) as soon as the block ends, as after a real commit."""

    def block():
        return django_capture_on_commit_callbacks(execute=True)

    return block


@pytest.fixture
def order(buyer, product, sandbox_gateway, committing):
    """2 of a ₹499.00 product (₹998.00), awaiting payment, with its gateway order."""
    with committing():
        return buy_now_online(buyer, product, 2)


def gateway_order_of(order) -> str:
    return payment_of(order).gateway_order_id


def capture_of(gateway_payment_id: str) -> GatewayCapture:
    return GatewayCapture.objects.get(gateway_payment_id=gateway_payment_id)


def gateway_refunds(sandbox, gateway_payment_id: str) -> list[dict]:
    """What the gateway itself refunded against this payment id."""
    return [refund for refund in sandbox.refunds.values() if refund["payment_id"] == gateway_payment_id]


def deliver_new(client, sandbox, seen: int = 0) -> int:
    """Deliver the sandbox's events from the `seen`-th on (each once); returns how many it has emitted so far."""
    emitted = list(sandbox.events)
    for event in emitted[seen:]:
        assert deliver(client, event).status_code == 200
    return len(emitted)


def refund_mails(order) -> list:
    return [m for m in mail.outbox if m.subject == f"Your payment for {order.number} is being refunded"]


# --- finding 1: a capture that is not the order's --------------------------------------------


class TestMismatch:
    def test_finding1_a_mismatched_capture_is_refunded_against_its_own_id_once_the_order_expires(
        self, order, product, sandbox_gateway, client, committing
    ):
        """It used to stay flagged while the expiry cancelled the order: the buyer's money stuck at the gateway."""
        paid = sandbox_gateway.pay(gateway_order_of(order), amount=100)
        with committing():
            deliver_all(client, sandbox_gateway)
        capture = capture_of(paid["id"])
        assert (capture.outcome, capture.reason) == (Outcome.FLAGGED, Reason.MISMATCH)
        assert capture.amount == Decimal("1.00") and gateway_refunds(sandbox_gateway, paid["id"]) == []

        age(order, 20)
        with committing():
            assert orders_expire_unpaid()["expired"] == 1

        capture.refresh_from_db()
        assert capture.outcome == Outcome.REFUNDED and capture.refunded_amount == Decimal("1.00")
        [refund] = capture.refunds.all()
        assert (refund.amount, refund.order_item_id, refund.payment_id) == (Decimal("1.00"), None, capture.payment_id)
        [at_gateway] = gateway_refunds(sandbox_gateway, paid["id"])
        assert at_gateway["amount"] == 100 and refund.gateway_refund_id == at_gateway["id"]
        assert statuses(order) == [S.CANCELLED] and stock_of(product) == 10
        payment = payment_of(order)
        assert (payment.status, payment.captured_amount, payment.refunded_amount) == (
            PaymentStatus.NOT_REQUIRED,
            Decimal("0.00"),
            Decimal("0.00"),
        )
        [told] = refund_mails(order)
        assert told.to == [order.buyer.email]
        assert "did not match the order's total of ₹998.00" in told.body
        assert "full refund of ₹1.00" in told.body
        html, _type = told.alternatives[0]
        assert "did not match the order's total of ₹998.00" in html and "full refund of ₹1.00" in html

    def test_a_mismatch_on_an_order_no_longer_awaiting_payment_is_refunded_at_once(
        self, order, sandbox_gateway, client, committing
    ):
        age(order, 20)
        orders_expire_unpaid()
        paid = sandbox_gateway.pay(gateway_order_of(order), amount=150)
        with committing():
            deliver_all(client, sandbox_gateway)

        capture = capture_of(paid["id"])
        assert (capture.outcome, capture.reason) == (Outcome.REFUNDED, Reason.MISMATCH)
        assert [r["amount"] for r in gateway_refunds(sandbox_gateway, paid["id"])] == [150]
        assert payment_of(order).status == PaymentStatus.NOT_REQUIRED  # it never became the payment's capture

    def test_a_mismatch_past_the_deadline_is_refunded_even_before_the_expiry_runs(
        self, order, sandbox_gateway, client, committing
    ):
        age(order, 20)  # due, not swept yet: the buyer can no longer pay correctly
        paid = sandbox_gateway.pay(gateway_order_of(order), amount=150)
        with committing():
            deliver_all(client, sandbox_gateway)
        assert capture_of(paid["id"]).outcome == Outcome.REFUNDED
        assert statuses(order) == [S.PENDING_PAYMENT]  # the expiry still does its own work

    def test_a_flagged_capture_waits_while_the_buyer_may_still_pay(self, order, sandbox_gateway, client, committing):
        paid = sandbox_gateway.pay(gateway_order_of(order), amount=100)
        with committing():
            deliver_all(client, sandbox_gateway)
            deliver_all(client, sandbox_gateway)  # Razorpay's retries
            assert payments_reconcile(older_than=timedelta(0))["captured"] == 0
        assert capture_of(paid["id"]).outcome == Outcome.FLAGGED
        assert Refund.objects.count() == 0 and refund_mails(order) == []

    def test_a_flagged_capture_is_refunded_when_a_correct_capture_pays_the_order(
        self, order, sandbox_gateway, client, committing
    ):
        gateway_order_id = gateway_order_of(order)
        slow = sandbox_gateway.start_payment(gateway_order_id)  # the buyer's correct attempt, still at the bank
        wrong = sandbox_gateway.pay(gateway_order_id, amount=100)
        with committing():
            seen = deliver_new(client, sandbox_gateway)
        assert capture_of(wrong["id"]).outcome == Outcome.FLAGGED

        sandbox_gateway.complete_payment(slow["id"])
        with committing():
            deliver_new(client, sandbox_gateway, seen)

        assert capture_of(slow["id"]).outcome == Outcome.PAID and statuses(order) == [S.PLACED]
        assert (capture_of(wrong["id"]).outcome, capture_of(wrong["id"]).reason) == (Outcome.REFUNDED, Reason.MISMATCH)
        assert [r["amount"] for r in gateway_refunds(sandbox_gateway, wrong["id"])] == [100]
        assert gateway_refunds(sandbox_gateway, slow["id"]) == []
        payment = payment_of(order)
        assert (payment.gateway_payment_id, payment.captured_amount, payment.refunded_amount) == (
            slow["id"],
            Decimal("998.00"),
            Decimal("0.00"),
        )

    def test_the_settle_service_refunds_only_when_the_order_no_longer_awaits_payment(
        self, order, sandbox_gateway, committing
    ):
        paid = sandbox_gateway.pay(gateway_order_of(order), amount=100)
        payment_capture_apply(gateway_payment=GatewayPayment.from_razorpay(paid))
        with transaction.atomic():
            assert payment_captures_settle(payment=Payment.objects.select_for_update().get(order=order)) == 0
        age(order, 20)
        with committing(), transaction.atomic():
            assert payment_captures_settle(payment=Payment.objects.select_for_update().get(order=order)) == 1
        assert capture_of(paid["id"]).outcome == Outcome.REFUNDED


# --- finding 2: a second capture on a paid order ---------------------------------------------


class TestSecondCapture:
    def test_finding2_a_second_capture_is_refunded_in_full_against_its_own_payment_id(
        self, order, sandbox_gateway, client, committing
    ):
        """It used to be flagged "refund it by hand", and a refund would have gone to the first payment id."""
        gateway_order_id = gateway_order_of(order)
        slow = sandbox_gateway.start_payment(gateway_order_id)
        first = sandbox_gateway.pay(gateway_order_id)
        with committing():
            seen = deliver_new(client, sandbox_gateway)
        sandbox_gateway.complete_payment(slow["id"])  # the bank confirms the slow attempt after all
        with committing():
            deliver_new(client, sandbox_gateway, seen)

        second = capture_of(slow["id"])
        assert (second.outcome, second.reason) == (Outcome.REFUNDED, Reason.ALREADY_PAID)
        assert capture_of(first["id"]).outcome == Outcome.PAID and placements(order) == 1
        [at_gateway] = gateway_refunds(sandbox_gateway, slow["id"])
        assert at_gateway["amount"] == 99_800
        assert gateway_refunds(sandbox_gateway, first["id"]) == []
        assert sandbox_gateway.payments[first["id"]]["amount_refunded"] == 0
        payment = payment_of(order)
        assert (payment.gateway_payment_id, payment.captured_amount, payment.refunded_amount) == (
            first["id"],
            Decimal("998.00"),
            Decimal("0.00"),
        )
        [told] = refund_mails(order)
        assert "had already been paid by an earlier payment" in told.body
        assert "full refund of ₹998.00" in told.body

    def test_a_cancelled_item_is_still_refunded_from_the_capture_that_paid(
        self, order, sandbox_gateway, client, committing
    ):
        gateway_order_id = gateway_order_of(order)
        slow = sandbox_gateway.start_payment(gateway_order_id)
        first = sandbox_gateway.pay(gateway_order_id)
        with committing():
            seen = deliver_new(client, sandbox_gateway)
        sandbox_gateway.complete_payment(slow["id"])
        with committing():
            deliver_new(client, sandbox_gateway, seen)
            order_item_cancel(item_id=items_of(order)[0].pk, actor=order.buyer, reason="changed my mind")

        assert [r["amount"] for r in gateway_refunds(sandbox_gateway, first["id"])] == [99_800]
        assert [r["amount"] for r in gateway_refunds(sandbox_gateway, slow["id"])] == [99_800]
        assert payment_of(order).refunded_amount == Decimal("998.00")
        assert capture_of(first["id"]).refunded_amount == capture_of(slow["id"]).refunded_amount == Decimal("998.00")

    def test_repeated_and_reordered_deliveries_record_one_row_and_one_refund_per_capture(
        self, order, sandbox_gateway, client, committing
    ):
        gateway_order_id = gateway_order_of(order)
        slow = sandbox_gateway.start_payment(gateway_order_id)
        first = sandbox_gateway.pay(gateway_order_id)
        sandbox_gateway.complete_payment(slow["id"])
        every = events(sandbox_gateway)
        with committing():
            for event in [*reversed(every), *every, *reversed(every)]:
                assert deliver(client, event).status_code == 200
            payments_reconcile(older_than=timedelta(0))

        assert GatewayCapture.objects.count() == 2
        outcomes = {capture.gateway_payment_id: capture.outcome for capture in GatewayCapture.objects.all()}
        assert sorted(outcomes.values()) == [Outcome.PAID, Outcome.REFUNDED]
        [refunded] = [pay_id for pay_id, outcome in outcomes.items() if outcome == Outcome.REFUNDED]
        assert Refund.objects.get().capture.gateway_payment_id == refunded
        assert len(gateway_refunds(sandbox_gateway, refunded)) == 1
        assert sorted([first["id"], slow["id"]]) == sorted(outcomes)
        assert placements(order) == 1 and len(refund_mails(order)) == 1

    def test_a_failed_refund_of_a_second_capture_is_retried_against_the_same_payment_id(
        self, order, sandbox_gateway, client, committing
    ):
        gateway_order_id = gateway_order_of(order)
        slow = sandbox_gateway.start_payment(gateway_order_id)
        sandbox_gateway.pay(gateway_order_id)
        with committing():
            seen = deliver_new(client, sandbox_gateway)
        sandbox_gateway.configure(refund_delay=None)
        sandbox_gateway.fail_next_refund(1)
        sandbox_gateway.complete_payment(slow["id"])
        with committing():
            deliver_new(client, sandbox_gateway, seen)
        refund = capture_of(slow["id"]).refunds.get()
        sandbox_gateway.settle_refund(refund.gateway_refund_id)  # the gateway fails it
        apply_refund_webhooks(sandbox_gateway)
        refund.refresh_from_db()
        assert refund.status == RefundStatus.FAILED and capture_of(slow["id"]).refunded_amount == Decimal("0.00")

        with committing():
            refund_retry(refund_id=refund.pk, actor=None)

        refund.refresh_from_db()
        assert refund.status == RefundStatus.PROCESSING
        assert capture_of(slow["id"]).refunded_amount == Decimal("998.00")
        assert [r["status"] for r in gateway_refunds(sandbox_gateway, slow["id"])] == ["failed", "pending"]

    def test_the_database_refuses_refunds_above_a_captures_amount(self, order, sandbox_gateway):
        paid = sandbox_gateway.pay(gateway_order_of(order), amount=100)
        payment_capture_apply(gateway_payment=GatewayPayment.from_razorpay(paid))
        with pytest.raises(IntegrityError), transaction.atomic():
            GatewayCapture.objects.filter(gateway_payment_id=paid["id"]).update(refunded_amount=F("amount") + 1)
        with pytest.raises(RefundExceedsCaptured), transaction.atomic():
            payment = Payment.objects.select_for_update().get(order=order)
            refund_initiate(payment=payment, amount=Decimal("1.01"), reason="too much", capture=capture_of(paid["id"]))


class TestLateCapture:
    def test_a_late_capture_is_recorded_refunded_against_its_id_and_the_buyer_told_why(
        self, order, sandbox_gateway, client, committing
    ):
        age(order, 20)
        orders_expire_unpaid()
        paid = sandbox_gateway.pay(gateway_order_of(order))
        with committing():
            deliver_all(client, sandbox_gateway)
            deliver_all(client, sandbox_gateway)

        capture = capture_of(paid["id"])
        assert (capture.outcome, capture.reason, capture.refunded_amount) == (
            Outcome.REFUNDED,
            Reason.ORDER_CLOSED,
            Decimal("998.00"),
        )
        assert [r["amount"] for r in gateway_refunds(sandbox_gateway, paid["id"])] == [99_800]
        [told] = refund_mails(order)
        assert "reached us after the order had been cancelled, because the payment did not arrive in time" in told.body


# --- finding 4: which order a payment belongs to ---------------------------------------------


class TestWhichOrder:
    def test_finding4_a_payment_whose_notes_name_another_order_is_not_applied_to_it(
        self, order, sandbox_gateway, client, committing
    ):
        """The browser sets the payment's notes in the checkout options: they must not choose the order."""
        elsewhere = sandbox_gateway.ledger.order_create({"amount": 99_800, "currency": "INR"})
        sandbox_gateway.pay(elsewhere["id"], notes={"order_id": str(order.pk)})
        with committing():
            deliver(client, events(sandbox_gateway, "payment.captured")[0])
            deliver(client, events(sandbox_gateway, "order.paid")[0])

        assert statuses(order) == [S.PENDING_PAYMENT]
        assert payment_of(order).status == PaymentStatus.PENDING
        assert GatewayCapture.objects.count() == 0

    def test_finding4_neither_a_capture_nor_a_failure_is_matched_by_the_payments_notes(self, order, sandbox_gateway):
        elsewhere = sandbox_gateway.ledger.order_create({"amount": 99_800, "currency": "INR"})
        paid = sandbox_gateway.pay(elsewhere["id"], notes={"order_id": str(order.pk)})
        failed = {**paid, "status": "failed", "captured": False, "error_description": "declined"}
        assert not payment_capture_apply(gateway_payment=GatewayPayment.from_razorpay(paid), order_notes={}).changed
        assert not payment_failure_apply(gateway_payment=GatewayPayment.from_razorpay(failed)).changed
        assert payment_of(order).failed_at is None and GatewayCapture.objects.count() == 0

    def test_a_capture_on_our_gateway_order_whose_id_was_lost_is_placed_from_that_orders_notes(
        self, order, sandbox_gateway, client, committing
    ):
        """payment.captured alone: the gateway order is read (after the webhook's transaction) for our notes."""
        gateway_order_id = gateway_order_of(order)
        Payment.objects.filter(order=order).update(gateway_order_id=None)
        paid = sandbox_gateway.pay(gateway_order_id)
        with committing():
            deliver(client, events(sandbox_gateway, "payment.captured")[0])

        assert statuses(order) == [S.PLACED]
        assert capture_of(paid["id"]).outcome == Outcome.PAID
        assert payment_of(order).gateway_order_id == gateway_order_id


# --- finding 5: reconciliation reads every capture ---------------------------------------------


class TestReconciliation:
    def test_finding5_every_captured_attempt_of_a_pending_order_is_applied(self, order, sandbox_gateway, committing):
        sandbox_gateway.webhook_mode("never")
        gateway_order_id = gateway_order_of(order)
        slow = sandbox_gateway.start_payment(gateway_order_id)
        fast = sandbox_gateway.pay(gateway_order_id)
        sandbox_gateway.complete_payment(slow["id"])

        with committing():
            counts = payments_reconcile(older_than=timedelta(0))

        assert counts == {"checked": 1, "captured": 2, "failed": 0, "unchanged": 0, "errors": 0}
        outcomes = {c.gateway_payment_id: c.outcome for c in GatewayCapture.objects.all()}
        assert set(outcomes) == {slow["id"], fast["id"]}
        assert sorted(outcomes.values()) == [Outcome.PAID, Outcome.REFUNDED]
        [refunded] = [pay_id for pay_id, outcome in outcomes.items() if outcome == Outcome.REFUNDED]
        assert [r["amount"] for r in gateway_refunds(sandbox_gateway, refunded)] == [99_800]
        assert statuses(order) == [S.PLACED] and placements(order) == 1

    def test_finding5_a_captured_payment_is_read_again_for_a_capture_whose_webhook_was_lost(
        self, order, sandbox_gateway, client, committing
    ):
        gateway_order_id = gateway_order_of(order)
        slow = sandbox_gateway.start_payment(gateway_order_id)
        sandbox_gateway.pay(gateway_order_id)
        with committing():
            deliver_all(client, sandbox_gateway)
        assert payment_of(order).status == PaymentStatus.CAPTURED
        sandbox_gateway.webhook_mode("never")
        sandbox_gateway.complete_payment(slow["id"])  # its webhook is lost

        assert payments_reconcile(older_than=timedelta(0), dry_run=True)["captured"] == 1
        assert GatewayCapture.objects.filter(gateway_payment_id=slow["id"]).count() == 0
        with committing():
            assert payments_reconcile(older_than=timedelta(0))["captured"] == 1

        assert (capture_of(slow["id"]).outcome, capture_of(slow["id"]).reason) == (
            Outcome.REFUNDED,
            Reason.ALREADY_PAID,
        )
        assert [r["amount"] for r in gateway_refunds(sandbox_gateway, slow["id"])] == [99_800]

    def test_a_settled_payment_is_read_at_most_every_15_minutes_and_until_the_lookback_ends(
        self, order, sandbox_gateway, client, settings
    ):
        sandbox_gateway.pay(gateway_order_of(order))
        deliver_all(client, sandbox_gateway)
        assert payments_reconcile(older_than=timedelta(0))["checked"] == 1
        assert payments_reconcile(older_than=timedelta(0))["checked"] == 0  # read just now

        long_ago = timezone.now() - timedelta(minutes=16)
        Payment.objects.filter(order=order).update(gateway_checked_at=long_ago)
        assert payments_reconcile(older_than=timedelta(0))["checked"] == 1

        settings.RECONCILE_LOOKBACK_HOURS = 3
        Payment.objects.filter(order=order).update(
            gateway_checked_at=long_ago, updated_at=timezone.now() - timedelta(hours=3, minutes=1)
        )
        assert payments_reconcile(older_than=timedelta(0))["checked"] == 0  # its last change is too long ago
        Payment.objects.filter(order=order).update(updated_at=timezone.now() - timedelta(hours=2, minutes=59))
        assert payments_reconcile(older_than=timedelta(0))["checked"] == 1

    def test_an_expired_order_with_a_flagged_capture_is_settled_by_reconciliation_too(
        self, order, sandbox_gateway, client, committing
    ):
        """Reading a FLAGGED capture again once its order expired refunds it, whichever job sees it first."""
        paid = sandbox_gateway.pay(gateway_order_of(order), amount=100)
        deliver_all(client, sandbox_gateway)
        age(order, 20)
        with committing():
            assert payments_reconcile(older_than=timedelta(0))["captured"] == 1
            assert orders_expire_unpaid()["expired"] == 1
        assert capture_of(paid["id"]).outcome == Outcome.REFUNDED
        assert len(gateway_refunds(sandbox_gateway, paid["id"])) == 1
        assert Refund.objects.count() == 1
        assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
