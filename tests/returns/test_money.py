"""The money of a return: never more than the item's amount, never both a cancellation's refund and a return's,
the refund's key as for cancellations, the payments audit reading a return right, and the order's status and
Cash on Delivery payment through a return."""

import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from orders.errors import InvalidTransition
from orders.models import Order, OrderItem, OrderItemStatus, OrderStatus
from orders.services.lifecycle import order_item_cancel, order_status_derive
from orders.services.returns import (
    order_item_return_approve,
    order_item_return_receive,
    order_item_return_request,
)
from payments.errors import ItemAlreadyRefunded, PayoutNotPending
from payments.locks import payment_lock
from payments.models import Payment, PaymentStatus, Payout, Refund, RefundStatus
from payments.services.audit import AuditPeriod, Standing, payments_audit
from payments.services.refunds import refund_initiate
from payments.services.returns import payout_mark_paid
from tests.factories import ProductFactory, UserFactory, only_variant
from tests.orders.helpers import buy_now, items_of, make_buyer, order_of
from tests.payments.refund_helpers import apply_refund_webhooks, captured_online_order, committed, payment_of
from tests.returns.helpers import UPI, deliver

pytestmark = pytest.mark.django_db
S = OrderItemStatus
KEY = re.compile(r"jcrf_[0-9a-f]{32}")


@pytest.fixture
def sandbox(sandbox_gateway):
    sandbox_gateway.configure(refund_delay=None)
    return sandbox_gateway


@pytest.fixture
def buyer():
    return make_buyer()


@pytest.fixture
def online(sandbox, buyer):
    """A captured online order: two of a ₹250.00 item and one ₹900.00 item."""
    lines = {ProductFactory(price=Decimal("250.00"), stock=10): 2, ProductFactory(price=Decimal("900.00")): 1}
    return captured_online_order(sandbox, buyer, lines)


def status_of(item) -> str:
    return OrderItem.objects.values_list("status", flat=True).get(pk=item.pk)


def received(item, buyer, *, committing, refund_to=None) -> None:
    order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged", refund_to=refund_to)
    order_item_return_approve(item_id=item.pk, actor=item.seller.user)
    with committing(execute=True):
        order_item_return_receive(item_id=item.pk, actor=item.seller.user, resellable=True)


def refund_settle(sandbox, refund: Refund, committing) -> None:
    sandbox.settle_refund(Refund.objects.get(pk=refund.pk).gateway_refund_id)
    with committing(execute=True):
        apply_refund_webhooks(sandbox)


# --- never two refunds of one item, never more than its amount ------------------------------------


class TestOneRefundPerItem:
    def test_a_cancelled_and_refunded_item_cannot_be_returned(self, online, buyer, django_capture_on_commit_callbacks):
        item = items_of(online)[0]
        with django_capture_on_commit_callbacks(execute=True):
            order_item_cancel(item_id=item.pk, actor=buyer, reason="Ordered by mistake")
        with pytest.raises(InvalidTransition):
            order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged")
        assert Refund.objects.filter(order_item=item).count() == 1

    def test_an_item_with_a_refund_already_gets_no_second_one_from_its_return(
        self, online, buyer, django_capture_on_commit_callbacks
    ):
        item = deliver(items_of(online)[0])
        with transaction.atomic():  # a refund of this item made some other way
            refund_initiate(
                payment=payment_lock(order_id=online.pk), amount=Decimal("100.00"), reason="Goodwill", order_item=item
            )
        order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged")
        order_item_return_approve(item_id=item.pk, actor=item.seller.user)
        stock = only_variant(item.product).stock

        with pytest.raises(ItemAlreadyRefunded):
            order_item_return_receive(item_id=item.pk, actor=item.seller.user, resellable=True)

        assert status_of(item) == S.RETURN_APPROVED  # the receipt rolled back whole: no restock either
        assert only_variant(item.product).stock == stock
        assert Refund.objects.filter(order_item=item).count() == 1
        payment = payment_of(online)
        assert payment.refunded_amount == committed(payment) == Decimal("100.00")

    def test_a_return_refunds_the_items_amount_beside_a_cancellation_and_not_a_paisa_more(
        self, online, buyer, django_capture_on_commit_callbacks
    ):
        returned, cancelled = items_of(online)
        deliver(returned)
        with django_capture_on_commit_callbacks(execute=True):
            order_item_cancel(item_id=cancelled.pk, actor=buyer, reason="Found it cheaper")
        received(returned, buyer, committing=django_capture_on_commit_callbacks)

        refund = Refund.objects.get(order_item=returned)
        cancellation = Refund.objects.get(order_item=cancelled)
        assert refund.amount == returned.line_total == Decimal("500.00")
        assert refund.reason == f"Return of {returned.name}"
        assert KEY.fullmatch(refund.idempotency_key) and KEY.fullmatch(cancellation.idempotency_key)
        assert refund.idempotency_key != cancellation.idempotency_key
        payment = payment_of(online)
        assert payment.refunded_amount == committed(payment) == payment.captured_amount == Decimal("1400.00")

    def test_the_gateway_is_asked_for_the_items_amount_under_the_refunds_key(
        self, sandbox, online, buyer, django_capture_on_commit_callbacks
    ):
        item = deliver(items_of(online)[0])
        received(item, buyer, committing=django_capture_on_commit_callbacks)
        refund = Refund.objects.get(order_item=item)
        [at_gateway] = [r for r in sandbox.refunds.values() if r["id"] == refund.gateway_refund_id]
        assert at_gateway["amount"] == 50_000
        assert at_gateway["notes"]["refund_key"] == refund.idempotency_key
        assert at_gateway["notes"]["item_id"] == str(item.pk)

    def test_a_cod_payout_is_the_items_amount_and_is_paid_once(self, buyer, django_capture_on_commit_callbacks):
        item = deliver(items_of(buy_now(buyer, ProductFactory(price=Decimal("349.50")), 3))[0])
        received(item, buyer, committing=django_capture_on_commit_callbacks, refund_to=UPI)
        payout = Payout.objects.get(order_item=item)
        assert payout.amount == item.line_total == Decimal("1048.50")
        staff = UserFactory(is_staff=True)
        payout_mark_paid(payout_id=payout.pk, utr="UTR0042", staff=staff)
        with pytest.raises(PayoutNotPending):
            payout_mark_paid(payout_id=payout.pk, utr="UTR0043", staff=staff)
        assert Payout.objects.get(pk=payout.pk).utr == "UTR0042"
        assert not Refund.objects.exists()


# --- the payments audit ----------------------------------------------------------------------------


def audited(order) -> tuple[list[str], str]:
    """(unaccounted lines, the detail of the capture that paid the order)."""
    report = payments_audit(period=AuditPeriod.last_days(1))
    [order_report] = [o for o in report.orders if o.order_number == order.number]
    [capture] = order_report.captures
    assert capture.standing == Standing.PLACED
    return report.unaccounted(), capture.detail


class TestAudit:
    def test_a_returned_items_refund_is_counted_and_accounted_for(
        self, sandbox, online, buyer, django_capture_on_commit_callbacks
    ):
        item = deliver(items_of(online)[0])
        received(item, buyer, committing=django_capture_on_commit_callbacks)
        refund = Refund.objects.get(order_item=item)
        unaccounted, detail = audited(online)
        assert unaccounted == []  # RETURN_RECEIVED with its refund on its way
        assert f"refund #{refund.pk} ₹500.00 PROCESSING" in detail

        refund_settle(sandbox, refund, django_capture_on_commit_callbacks)
        assert status_of(item) == S.RETURNED
        unaccounted, detail = audited(online)
        assert unaccounted == []
        assert f"refund #{refund.pk} ₹500.00 REFUNDED" in detail

        out, err = StringIO(), StringIO()
        call_command("payments_audit", stdout=out, stderr=err)  # exits 1 (SystemExit) if anything is unaccounted
        assert err.getvalue() == ""

    def test_a_received_online_item_with_no_refund_is_unaccounted_for(self, online):
        item = deliver(items_of(online)[0])
        OrderItem.objects.filter(pk=item.pk).update(status=S.RETURN_RECEIVED)  # a receipt that skipped the money
        unaccounted, _detail = audited(online)
        [line] = unaccounted
        assert f"item {item.pk} is RETURN_RECEIVED and nothing refunds its ₹500.00" in line

    def test_a_returned_item_whose_refund_is_not_final_is_unaccounted_for(
        self, online, buyer, django_capture_on_commit_callbacks
    ):
        item = deliver(items_of(online)[0])
        received(item, buyer, committing=django_capture_on_commit_callbacks)
        refund = Refund.objects.get(order_item=item)
        OrderItem.objects.filter(pk=item.pk).update(status=S.RETURNED)
        [line] = audited(online)[0]
        assert f"item {item.pk} is RETURNED but its refund #{refund.pk} is PROCESSING" in line

    def test_a_refund_of_an_item_neither_cancelled_nor_returned_is_still_unaccounted_for(
        self, online, buyer, django_capture_on_commit_callbacks
    ):
        item = deliver(items_of(online)[0])
        received(item, buyer, committing=django_capture_on_commit_callbacks)
        OrderItem.objects.filter(pk=item.pk).update(status=S.RETURN_APPROVED)
        [line] = audited(online)[0]
        assert f"item {item.pk} is RETURN_APPROVED but refund" in line


# --- the order's status and its Cash on Delivery payment -----------------------------------------


class TestOrderStatusAndPayment:
    @pytest.mark.parametrize("status", sorted(S.values))
    def test_an_order_of_items_all_past_delivery_is_completed(self, status):
        derived = order_status_derive([S.DELIVERED, status])
        if status in (S.PENDING_PAYMENT,):
            assert derived == OrderStatus.PENDING_PAYMENT
        elif status in (S.PLACED, S.CONFIRMED, S.SHIPPED):
            assert derived == OrderStatus.PLACED
        else:  # delivered, any return state, or cancelled beside a delivered item
            assert derived == OrderStatus.COMPLETED

    def test_returns_beside_a_cancellation_still_complete_the_order(self):
        assert order_status_derive([S.CANCELLED, S.RETURNED, S.RETURN_REJECTED]) == OrderStatus.COMPLETED
        assert order_status_derive([S.CANCELLED, S.RETURN_REQUESTED, S.SHIPPED]) == OrderStatus.PARTIALLY_CANCELLED
        assert order_status_derive([S.RETURNED]) == OrderStatus.COMPLETED

    def test_a_cod_payment_stays_collected_through_a_return(self, buyer, django_capture_on_commit_callbacks):
        kept, returned = items_of(order_of(buyer, {ProductFactory(price=Decimal("100.00")): 1, ProductFactory(): 2}))
        deliver(kept)
        deliver(returned)
        payment = Payment.objects.get(order=kept.order)
        assert (payment.status, payment.amount) == (PaymentStatus.COLLECTED, Decimal("1098.00"))
        collected_at = payment.collected_at

        order_item_return_request(item_id=returned.pk, buyer=buyer, reason="size_fit", refund_to=UPI)
        order_item_return_approve(item_id=returned.pk, actor=returned.seller.user)
        order_item_return_receive(item_id=returned.pk, actor=returned.seller.user, resellable=True)
        payout = Payout.objects.get(order_item=returned)
        payout_mark_paid(payout_id=payout.pk, utr="UTR9001", staff=UserFactory(is_staff=True))

        payment.refresh_from_db()
        assert (payment.status, payment.amount, payment.collected_at) == (
            PaymentStatus.COLLECTED,
            Decimal("1098.00"),  # what the courier collected; the payout pays the return back
            collected_at,
        )
        assert Order.objects.get(pk=kept.order_id).status == OrderStatus.COMPLETED
        assert payout.amount == Decimal("998.00")

    def test_an_online_order_is_completed_through_its_return(
        self, sandbox, online, buyer, django_capture_on_commit_callbacks
    ):
        items = [deliver(item) for item in items_of(online)]
        received(items[0], buyer, committing=django_capture_on_commit_callbacks)
        refund_settle(sandbox, Refund.objects.get(), django_capture_on_commit_callbacks)
        assert [status_of(item) for item in items] == [S.RETURNED, S.DELIVERED]
        assert Order.objects.get(pk=online.pk).status == OrderStatus.COMPLETED
        payment = payment_of(online)
        assert payment.status == PaymentStatus.CAPTURED and payment.refunded_amount == Decimal("500.00")
        assert Refund.objects.get().status == RefundStatus.REFUNDED
