"""E-mails about online payments and return payouts, sent like the order e-mails (orders.notifications):
a task enqueued in the caller's transaction builds the mail from fresh rows after commit."""

from joycart.money import format_inr
from joycart.tasks import enqueue_with_transaction
from orders.notifications import _send
from payments.models import GatewayCapture, Payout, PayoutStatus


def capture_refund_notify(*, capture_id: int) -> None:
    from payments.tasks_online import capture_refund_email_send

    enqueue_with_transaction(capture_refund_email_send, capture_id=capture_id)


def capture_refund_send(*, capture_id: int) -> None:
    """Tell the buyer that a payment of theirs is refunded in full, and why (the capture's reason)."""
    capture = GatewayCapture.objects.select_related("payment__order__buyer").filter(pk=capture_id).first()
    if capture is None:
        return
    order = capture.payment.order
    _send(
        template="payment_capture_refund",
        subject=f"Your payment for {order.number} is being refunded",
        to=order.buyer.email,
        context={"order": order, "capture": capture, "paid": _paid(capture), "name": order.buyer.display_name},
    )


def _paid(capture: GatewayCapture) -> str:
    """The captured amount as the buyer paid it: in rupees, or (a currency mismatch) in its own currency."""
    return format_inr(capture.amount) if capture.currency == "INR" else f"{capture.currency} {capture.amount}"


def payout_failed_notify(*, payout_id: int) -> None:
    from payments.tasks import payout_failed_email_send

    enqueue_with_transaction(payout_failed_email_send, payout_id=payout_id)


def payout_failed_send(*, payout_id: int) -> None:
    """Ask the buyer for new account details: the bank refused the one they gave, for the reason staff wrote.

    Nothing is sent if the buyer already replaced the account (the payout is no longer FAILED).
    """
    payout = (
        Payout.objects.select_related("order_item__order__buyer")
        .filter(pk=payout_id, status=PayoutStatus.FAILED)
        .first()
    )
    if payout is None:
        return
    item = payout.order_item
    order = item.order
    _send(
        template="payout_failed",
        subject=f"We could not pay your refund for {order.number}: new account details needed",
        to=order.buyer.email,
        context={"order": order, "item": item, "payout": payout, "name": order.buyer.display_name},
    )
