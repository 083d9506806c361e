"""E-mails about online payments, sent like the order e-mails (orders.notifications): a task
enqueued in the caller's transaction builds the mail from fresh rows after commit."""

from joycart.tasks import enqueue_with_transaction
from orders.models import Order
from orders.notifications import _send


def late_capture_refund_notify(*, order_id: int) -> None:
    from payments.tasks_online import late_capture_refund_email_send

    enqueue_with_transaction(late_capture_refund_email_send, order_id=order_id)


def late_capture_refund_send(*, order_id: int) -> None:
    """Tell the buyer the money came after the order was cancelled, and that all of it goes back."""
    order = Order.objects.select_related("buyer", "payment").filter(pk=order_id).first()
    if order is None:
        return
    _send(
        template="payment_late_refund",
        subject=f"Your payment for {order.number} is being refunded",
        to=order.buyer.email,
        context={"order": order, "payment": order.payment, "name": order.buyer.display_name},
    )
