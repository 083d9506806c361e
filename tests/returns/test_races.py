"""Real threads racing on PostgreSQL over returns: one winner per move, stock back once, money back once,
no deadlock with a cancellation of the same order, one UTR per payout."""

from decimal import Decimal

import pytest

from orders.errors import InvalidTransition
from orders.models import OrderEvent, OrderItem, OrderItemStatus
from orders.services.lifecycle import order_item_cancel
from orders.services.returns import (
    order_item_return_approve,
    order_item_return_escalate,
    order_item_return_receive,
    order_item_return_reject,
    order_item_return_request,
)
from payments.errors import DuplicateUtr, PayoutNotPending
from payments.models import Payout, PayoutStatus, Refund, RefundStatus
from payments.services.returns import payout_mark_paid
from tests.factories import ProductFactory, UserFactory, only_variant
from tests.orders.helpers import buy_now, items_of, make_buyer, order_of, run_concurrently
from tests.payments.refund_helpers import captured_online_order, committed, gateway_refunds_of, payment_of
from tests.returns.helpers import UPI, deliver

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
S = OrderItemStatus


@pytest.fixture
def sandbox(sandbox_gateway):
    sandbox_gateway.configure(refund_delay=None)  # refunds stay PROCESSING: the test reads what was asked
    return sandbox_gateway


def status_of(item) -> str:
    return OrderItem.objects.values_list("status", flat=True).get(pk=item.pk)


def stock_of(item) -> int:
    return only_variant(item.product).stock


def cod_item(quantity: int = 2) -> tuple[OrderItem, object]:
    buyer = make_buyer()
    product = ProductFactory(price=Decimal("650.00"), stock=10)
    return deliver(items_of(buy_now(buyer, product, quantity))[0]), buyer


def requested(item, buyer) -> None:
    order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged", refund_to=UPI)


def approved(item, buyer) -> None:
    requested(item, buyer)
    order_item_return_approve(item_id=item.pk, actor=item.seller.user)


def moves_of(item) -> list[str]:
    return list(OrderEvent.objects.filter(item=item).order_by("pk").values_list("to_status", flat=True))


# --- a receipt racing a decision --------------------------------------------------------------


@pytest.mark.parametrize("before", [S.RETURN_REQUESTED, S.RETURN_ESCALATED])
def test_a_receipt_racing_staffs_approval_lands_only_after_it(before):
    """The seller scans the parcel in while staff approve (or overturn a rejection): the receipt counts only
    if the approval came first; either way the stock and the payout follow the receipt, once."""
    item, buyer = cod_item()
    staff, seller = UserFactory(is_staff=True), item.seller.user
    requested(item, buyer)
    if before == S.RETURN_ESCALATED:
        order_item_return_reject(item_id=item.pk, actor=seller, reason="Looks worn")
        order_item_return_escalate(item_id=item.pk, buyer=buyer, comment="It was never worn")
    stock = stock_of(item)

    approve, receive = run_concurrently(
        lambda i: (
            order_item_return_approve(item_id=item.pk, actor=staff)
            if i == 0
            else order_item_return_receive(item_id=item.pk, actor=seller, resellable=True)
        ),
        2,
    )

    assert isinstance(approve, OrderItem), approve
    if isinstance(receive, OrderItem):
        assert status_of(item) == S.RETURN_RECEIVED
        assert moves_of(item)[-2:] == [S.RETURN_APPROVED, S.RETURN_RECEIVED]
        assert stock_of(item) == stock + 2
        assert Payout.objects.get(order_item=item).amount == Decimal("1300.00")
    else:
        assert isinstance(receive, InvalidTransition), receive
        assert status_of(item) == S.RETURN_APPROVED
        assert stock_of(item) == stock
        assert not Payout.objects.exists()


# --- two receipts of one item -------------------------------------------------------------------


def test_two_receipts_of_a_cod_item_restock_once_and_make_one_payout():
    item, buyer = cod_item()
    approved(item, buyer)
    staff, seller = UserFactory(is_staff=True), item.seller.user
    stock = stock_of(item)
    actors = [seller, staff, seller, staff]

    results = run_concurrently(
        lambda i: order_item_return_receive(item_id=item.pk, actor=actors[i], resellable=True), len(actors)
    )

    assert sum(isinstance(result, OrderItem) for result in results) == 1, results
    assert all(isinstance(result, (OrderItem, InvalidTransition)) for result in results), results
    assert status_of(item) == S.RETURN_RECEIVED
    assert stock_of(item) == stock + 2
    assert Payout.objects.filter(order_item=item).count() == 1
    assert moves_of(item).count(S.RETURN_RECEIVED) == 1


def test_two_receipts_of_an_online_item_restock_once_and_refund_once(sandbox):
    buyer = make_buyer()
    order = captured_online_order(sandbox, buyer, {ProductFactory(price=Decimal("750.00"), stock=10): 2})
    item = deliver(items_of(order)[0])
    order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged")
    order_item_return_approve(item_id=item.pk, actor=item.seller.user)
    staff, seller = UserFactory(is_staff=True), item.seller.user
    stock = stock_of(item)
    actors = [seller, staff, seller, staff]

    results = run_concurrently(
        lambda i: order_item_return_receive(item_id=item.pk, actor=actors[i], resellable=True), len(actors)
    )

    assert sum(isinstance(result, OrderItem) for result in results) == 1, results
    assert all(isinstance(result, (OrderItem, InvalidTransition)) for result in results), results
    assert stock_of(item) == stock + 2
    [refund] = Refund.objects.filter(payment__order=order)
    assert (refund.order_item_id, refund.amount) == (item.pk, Decimal("1500.00"))
    payment = payment_of(order)
    assert payment.refunded_amount == committed(payment) == Decimal("1500.00")
    assert [r["amount"] for r in gateway_refunds_of(sandbox, payment)] == [150_000]


# --- a receipt and a cancellation in one order ---------------------------------------------------


def test_a_receipt_and_a_cancel_of_another_item_of_the_order_both_refund_without_deadlock(sandbox):
    buyer = make_buyer()
    returned_product, cancelled_product = (
        ProductFactory(price=Decimal("400.00")),
        ProductFactory(price=Decimal("900.00")),
    )
    order = captured_online_order(sandbox, buyer, {returned_product: 1, cancelled_product: 1})
    returned, cancelled = items_of(order)
    deliver(returned)
    order_item_return_request(item_id=returned.pk, buyer=buyer, reason="wrong_item")
    order_item_return_approve(item_id=returned.pk, actor=returned.seller.user)

    results = run_concurrently(
        lambda i: (
            order_item_return_receive(item_id=returned.pk, actor=returned.seller.user, resellable=True)
            if i == 0
            else order_item_cancel(item_id=cancelled.pk, actor=buyer, reason="Found it cheaper")
        ),
        2,
    )

    assert all(isinstance(result, OrderItem) for result in results), results
    assert (status_of(returned), status_of(cancelled)) == (S.RETURN_RECEIVED, S.CANCELLED)
    refunds = {r.order_item_id: r.amount for r in Refund.objects.filter(payment__order=order)}
    assert refunds == {returned.pk: Decimal("400.00"), cancelled.pk: Decimal("900.00")}
    payment = payment_of(order)
    assert payment.refunded_amount == committed(payment) == payment.captured_amount
    assert sorted(r["amount"] for r in gateway_refunds_of(sandbox, payment)) == [40_000, 90_000]


def test_a_cod_receipt_and_a_cancel_of_another_item_of_the_order_both_land():
    buyer = make_buyer()
    products = [ProductFactory(price=Decimal("300.00"), stock=5), ProductFactory(price=Decimal("200.00"), stock=5)]
    returned, cancelled = items_of(order_of(buyer, dict.fromkeys(products, 1)))
    deliver(returned)
    approved(returned, buyer)

    results = run_concurrently(
        lambda i: (
            order_item_return_receive(item_id=returned.pk, actor=returned.seller.user, resellable=True)
            if i == 0
            else order_item_cancel(item_id=cancelled.pk, actor=buyer, reason="Not needed")
        ),
        2,
    )

    assert all(isinstance(result, OrderItem) for result in results), results
    assert (stock_of(returned), stock_of(cancelled)) == (5, 5)
    assert Payout.objects.get().amount == Decimal("300.00")


# --- payouts marked paid at once -----------------------------------------------------------------


def received_cod_items(count: int, *, same_order: bool) -> list[OrderItem]:
    buyer = make_buyer()
    if same_order:
        items = [deliver(item) for item in items_of(order_of(buyer, {ProductFactory(): 1 for _ in range(count)}))]
    else:
        items = [deliver(items_of(buy_now(buyer, ProductFactory(), 1))[0]) for _ in range(count)]
    for item in items:
        approved(item, buyer)
        order_item_return_receive(item_id=item.pk, actor=item.seller.user, resellable=False)
    return items


def test_one_payout_marked_paid_twice_at_once_is_paid_once():
    [item] = received_cod_items(1, same_order=False)
    payout = Payout.objects.get(order_item=item)
    staff = [UserFactory(is_staff=True), UserFactory(is_staff=True)]

    results = run_concurrently(lambda i: payout_mark_paid(payout_id=payout.pk, utr="UTR7788", staff=staff[i]), 2)

    paid = [result for result in results if isinstance(result, Payout)]
    refused = [result for result in results if isinstance(result, PayoutNotPending)]
    assert (len(paid), len(refused)) == (1, 1), results
    payout.refresh_from_db()
    assert (payout.status, payout.utr, payout.paid_by) == (PayoutStatus.PAID, "UTR7788", paid[0].paid_by)
    assert status_of(item) == S.RETURNED
    assert moves_of(item).count(S.RETURNED) == 1


@pytest.mark.parametrize("same_order", [False, True], ids=["two orders", "one order"])
def test_two_payouts_given_one_utr_at_once_only_one_takes_it(same_order):
    items = received_cod_items(2, same_order=same_order)
    payouts = [Payout.objects.get(order_item=item) for item in items]
    staff = UserFactory(is_staff=True)

    results = run_concurrently(lambda i: payout_mark_paid(payout_id=payouts[i].pk, utr="UTR5555", staff=staff), 2)

    assert sorted(type(result).__name__ for result in results) == ["DuplicateUtr", "Payout"], results
    winner = next(i for i, result in enumerate(results) if isinstance(result, Payout))
    loser = 1 - winner
    assert isinstance(results[loser], DuplicateUtr)
    assert Payout.objects.get(pk=payouts[winner].pk).status == PayoutStatus.PAID
    assert Payout.objects.get(pk=payouts[loser].pk).status == PayoutStatus.PENDING
    assert Payout.objects.get(pk=payouts[loser].pk).utr is None
    assert (status_of(items[winner]), status_of(items[loser])) == (S.RETURNED, S.RETURN_RECEIVED)
    assert Refund.objects.filter(status=RefundStatus.REFUNDED).count() == 0  # COD money never goes by refund
