"""The return flow end to end through the services: Cash on Delivery with a payout, online with a refund."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from catalog.models import Category
from orders.errors import (
    AlreadyEscalated,
    InvalidRefundAccount,
    InvalidTransition,
    NotReturnable,
    RefundAccountRequired,
    ReturnWindowClosed,
)
from orders.models import OrderItem, OrderItemStatus, ReturnRequest
from orders.services.returns import (
    order_item_return_approve,
    order_item_return_escalate,
    order_item_return_receive,
    order_item_return_reject,
    order_item_return_request,
    order_item_return_withdraw,
    return_complete,
    returns_auto_approve,
)
from payments.errors import DuplicateUtr
from payments.models import Payout, PayoutStatus, Refund, RefundStatus
from payments.services.returns import payout_account, payout_mark_failed, payout_mark_paid
from tests.factories import ProductFactory, UserFactory, only_variant
from tests.orders.helpers import buy_now, make_buyer
from tests.payments.refund_helpers import apply_refund_webhooks, captured_online_order
from tests.returns.helpers import BANK, UPI, deliver, delivered_ago, delivered_items

pytestmark = pytest.mark.django_db
S = OrderItemStatus


@pytest.fixture
def buyer():
    return make_buyer()


@pytest.fixture
def cod_item(buyer):
    product = ProductFactory(price=Decimal("499.00"), stock=10)
    return deliver(buyer_item(buy_now(buyer, product, 2)))


def buyer_item(order) -> OrderItem:
    return order.items.get()


def status_of(item) -> str:
    return OrderItem.objects.values_list("status", flat=True).get(pk=item.pk)


class TestCashOnDelivery:
    def test_request_approve_receive_pay_returns_the_item_and_restocks_it_once(self, buyer, cod_item):
        staff = UserFactory(is_staff=True)
        seller = cod_item.seller.user
        order_item_return_request(item_id=cod_item.pk, buyer=buyer, reason="size_fit", refund_to=UPI)
        request = ReturnRequest.objects.get(item=cod_item)
        assert request.refund_to_masked == "UPI ••••@okaxis"
        assert "meera.iyer" not in request.refund_to_encrypted  # encrypted at rest
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM orders_returnrequest")
            assert "meera.iyer" not in repr(cursor.fetchall())

        order_item_return_approve(item_id=cod_item.pk, actor=seller)
        order_item_return_receive(item_id=cod_item.pk, actor=seller, resellable=True)
        variant = only_variant(cod_item.product)
        assert variant.stock == 10  # 2 sold, 2 back
        payout = Payout.objects.get(order_item=cod_item)
        assert (payout.status, payout.amount) == (PayoutStatus.PENDING, Decimal("998.00"))
        assert payout_account(payout) == UPI
        assert status_of(cod_item) == S.RETURN_RECEIVED

        payout_mark_paid(payout_id=payout.pk, utr="UTR12345", staff=staff)
        assert status_of(cod_item) == S.RETURNED
        payout.refresh_from_db()
        assert (payout.status, payout.utr, payout.paid_by) == (PayoutStatus.PAID, "UTR12345", staff)
        assert only_variant(cod_item.product).stock == 10

    def test_a_cod_request_needs_an_account_of_the_right_shape(self, buyer, cod_item):
        with pytest.raises(RefundAccountRequired):
            order_item_return_request(item_id=cod_item.pk, buyer=buyer, reason="damaged")
        for bad in ({"upi_id": "no-handle"}, {**BANK, "ifsc": "HDFC1234"}, {**BANK, "account_number": "12ab"}, "x"):
            with pytest.raises(InvalidRefundAccount):
                order_item_return_request(item_id=cod_item.pk, buyer=buyer, reason="damaged", refund_to=bad)
        assert status_of(cod_item) == S.DELIVERED
        order_item_return_request(item_id=cod_item.pk, buyer=buyer, reason="damaged", refund_to=BANK)
        assert ReturnRequest.objects.get(item=cod_item).refund_to_masked == "A/c ••••6789 (HDFC0001234)"

    def test_a_duplicate_utr_is_refused_and_a_failed_payout_stays_to_fix(self, buyer, cod_item):
        staff, seller = UserFactory(is_staff=True), cod_item.seller.user
        other = deliver(buyer_item(buy_now(buyer, ProductFactory(), 1)))
        for item in (cod_item, other):
            order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged", refund_to=UPI)
            order_item_return_approve(item_id=item.pk, actor=item.seller.user)
            order_item_return_receive(item_id=item.pk, actor=item.seller.user, resellable=False)
        first, second = Payout.objects.order_by("pk")
        payout_mark_paid(payout_id=first.pk, utr="UTR1", staff=staff)
        with pytest.raises(DuplicateUtr):
            payout_mark_paid(payout_id=second.pk, utr="utr1", staff=staff)
        assert status_of(other) == S.RETURN_RECEIVED
        payout_mark_failed(payout_id=second.pk, reason="Account closed", staff=staff)
        assert Payout.objects.get(pk=second.pk).status == PayoutStatus.FAILED
        assert seller  # the seller of cod_item is unaffected


class TestWindowAndRules:
    def test_the_last_second_inside_and_the_first_outside(self, buyer, cod_item):
        delivered_ago(cod_item, timedelta(days=7) - timedelta(seconds=1))
        order_item_return_request(item_id=cod_item.pk, buyer=buyer, reason="other", refund_to=UPI)
        order_item_return_withdraw(item_id=cod_item.pk, buyer=buyer)
        assert not ReturnRequest.objects.filter(item=cod_item).exists()
        delivered_ago(cod_item, timedelta(days=7, seconds=1))
        with pytest.raises(ReturnWindowClosed):
            order_item_return_request(item_id=cod_item.pk, buyer=buyer, reason="other", refund_to=UPI)

    def test_a_category_with_no_window_is_not_returnable_and_a_child_inherits(self, buyer):
        parent = Category.objects.create(name="Perishables", slug="perishables", return_window_days=0)
        child = Category.objects.create(name="Fruit", slug="fruit", parent=parent)
        item = deliver(buyer_item(buy_now(buyer, ProductFactory(category=child), 1)))
        assert item.return_window_days == 0
        with pytest.raises(NotReturnable):
            order_item_return_request(item_id=item.pk, buyer=buyer, reason="other", refund_to=UPI)

    def test_only_a_delivered_item_can_be_returned(self, buyer):
        order = buy_now(buyer, ProductFactory(), 1)
        with pytest.raises(InvalidTransition):
            order_item_return_request(item_id=buyer_item(order).pk, buyer=buyer, reason="other", refund_to=UPI)

    def test_reject_escalate_once_and_staff_overturn(self, buyer, cod_item):
        staff, seller = UserFactory(is_staff=True), cod_item.seller.user
        order_item_return_request(item_id=cod_item.pk, buyer=buyer, reason="not_as_described", refund_to=UPI)
        order_item_return_reject(item_id=cod_item.pk, actor=seller, reason="Worn and washed")
        order_item_return_escalate(item_id=cod_item.pk, buyer=buyer, comment="It was never worn")
        order_item_return_reject(item_id=cod_item.pk, actor=staff, reason="Photos show wear")
        with pytest.raises(AlreadyEscalated):
            order_item_return_escalate(item_id=cod_item.pk, buyer=buyer)
        order_item_return_approve(item_id=cod_item.pk, actor=staff)
        assert status_of(cod_item) == S.RETURN_APPROVED

    def test_unanswered_requests_are_approved_after_the_sla_once(self, buyer, cod_item, settings):
        order_item_return_request(item_id=cod_item.pk, buyer=buyer, reason="other", refund_to=UPI)
        assert returns_auto_approve() == 0
        ReturnRequest.objects.update(requested_at=ReturnRequest.objects.get().requested_at - timedelta(days=3))
        assert returns_auto_approve() == 1
        assert returns_auto_approve() == 0
        assert status_of(cod_item) == S.RETURN_APPROVED


class TestOnline:
    def test_receipt_refunds_the_item_and_the_webhook_returns_it(
        self, sandbox_gateway, django_capture_on_commit_callbacks
    ):
        sandbox_gateway.configure(refund_delay=None)
        buyer = make_buyer()
        order = captured_online_order(sandbox_gateway, buyer, {ProductFactory(price=Decimal("250.00")): 2})
        [item] = delivered_items(order)
        seller = item.seller.user
        order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged")
        order_item_return_approve(item_id=item.pk, actor=seller)
        with django_capture_on_commit_callbacks(execute=True):
            order_item_return_receive(item_id=item.pk, actor=seller, resellable=False)
        refund = Refund.objects.get(order_item=item)
        assert refund.amount == Decimal("500.00")
        assert status_of(item) == S.RETURN_RECEIVED
        assert return_complete(item_id=item.pk) is None  # not before the gateway's word

        sandbox_gateway.settle_refund(refund.gateway_refund_id)
        with django_capture_on_commit_callbacks(execute=True):
            apply_refund_webhooks(sandbox_gateway)
        assert Refund.objects.get(pk=refund.pk).status == RefundStatus.REFUNDED
        assert status_of(item) == S.RETURNED
