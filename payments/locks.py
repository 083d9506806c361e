"""Row locks of the payments app, in one place so their order can be read in one file.

Everything that settles an order's money locks, in this order: the Order, its Payment, the order's
items (by primary key), the payment's captures (by primary key), then Refund rows. A capture, an
expiry, a staff action and a repeated webhook for one order therefore run one after another, and
each decides on what the one before it committed. (A cancellation locks the items before the
Payment; both hold the Order lock first, so they never wait on each other in opposite order.)
"""

from orders.models import Order, OrderItem
from payments.models import GatewayCapture, Payment


def order_payment_lock(*, order_id: int) -> tuple[Order, Payment, list[OrderItem]]:
    """Lock the order, its payment and its items; return them fresh. Call it inside a transaction."""
    order = Order.objects.select_for_update().get(pk=order_id)
    payment = Payment.objects.select_for_update().get(order_id=order_id)
    items = list(OrderItem.objects.select_for_update().filter(order_id=order_id).order_by("pk"))
    return order, payment, items


def payment_captures_lock(*, payment_id: int) -> list[GatewayCapture]:
    """Lock every capture of the payment (the caller holds the Payment lock), oldest first."""
    return list(GatewayCapture.objects.select_for_update().filter(payment_id=payment_id).order_by("pk"))


def capture_lock(*, capture_id: int) -> GatewayCapture:
    """Lock one capture (the caller holds its Payment lock)."""
    return GatewayCapture.objects.select_for_update().get(pk=capture_id)
