"""Row locks of the payments app, in one place so their order can be read in one file.

Everything that settles an order's money locks, in this order: the Order, its Payment, the order's
items (by primary key), the payment's captures (by primary key), then Refund rows. A capture, an
expiry, a staff action and a repeated webhook for one order therefore run one after another, and
each decides on what the one before it committed. (A cancellation locks the items before the
Payment; both hold the Order lock first, so they never wait on each other in opposite order.)
A stored webhook event is locked before all of these: its handler takes them in its transaction.
The global order, across apps, is in docs/architecture.md.
"""

from orders.locks import order_items_lock, order_lock
from orders.models import Order, OrderItem
from payments.models import GatewayCapture, Payment, Payout, Refund, WebhookEvent, WebhookOutcome


def order_payment_lock(*, order_id: int) -> tuple[Order, Payment, list[OrderItem]]:
    """Lock the order, its payment and its items; return them fresh. Call it inside a transaction."""
    order = order_lock(order_id=order_id)
    if order is None:
        raise Order.DoesNotExist(f"No order {order_id}.")
    payment = payment_lock(order_id=order_id)
    return order, payment, order_items_lock(order_id=order_id)


def payment_lock(*, payment_id: int | None = None, order_id: int | None = None) -> Payment:
    """Lock one payment, by its id or by its order's, and return it fresh.

    Whoever also needs the order holds the Order lock first (`order_payment_lock`, an item's
    cancellation); the callers that lock only a payment (a refund, a failed attempt) lock nothing
    of the order after it.
    """
    if (payment_id is None) == (order_id is None):
        raise TypeError("Lock a payment by payment_id or by order_id.")
    payments = Payment.objects.select_for_update()
    return payments.get(pk=payment_id) if order_id is None else payments.get(order_id=order_id)


def payment_captures_lock(*, payment_id: int) -> list[GatewayCapture]:
    """Lock every capture of the payment (the caller holds the Payment lock), oldest first."""
    return list(GatewayCapture.objects.select_for_update().filter(payment_id=payment_id).order_by("pk"))


def capture_lock(*, capture_id: int) -> GatewayCapture:
    """Lock one capture (the caller holds its Payment lock)."""
    return GatewayCapture.objects.select_for_update().get(pk=capture_id)


def refund_lock(*, refund_id: int) -> Refund:
    """Lock one refund (the caller holds its Payment and capture locks)."""
    return Refund.objects.select_for_update().get(pk=refund_id)


def webhook_event_lock(*, event_pk: int) -> WebhookEvent:
    """Lock one stored event, so a replay and the drain never process it at the same time."""
    return WebhookEvent.objects.select_for_update().get(pk=event_pk)


def oldest_pending_webhook_event_lock() -> WebhookEvent | None:
    """Lock the oldest event still to process that no other drain holds; None when there is none."""
    pending = WebhookEvent.objects.filter(outcome=WebhookOutcome.PENDING).order_by("received_at", "pk")
    return pending.select_for_update(skip_locked=True).first()


def payout_lock(
    *, payout_id: int | None = None, item_id: int | None = None, buyer_id: int | None = None
) -> Payout | None:
    """Lock a payout, by its id or its item's (and, for a buyer, only their own); None if there is none.

    Taken under the item's order lock when the item moves with it (paid), else alone (failed, new account).
    """
    if payout_id is None and item_id is None:
        raise ValueError("payout_lock needs a payout or an item")
    payouts = Payout.objects.select_for_update(of=("self",))
    if payout_id is not None:
        payouts = payouts.filter(pk=payout_id)
    if item_id is not None:
        payouts = payouts.filter(order_item_id=item_id)
    if buyer_id is not None:
        payouts = payouts.filter(order_item__order__buyer_id=buyer_id)
    return payouts.first()
