"""Row locks of the orders app: an Order, then its OrderItems in primary-key order.

The Order row is the first lock of everything that changes an order after checkout (an item's
move, a capture, an expiry, a staff action), so all of them run one after another for one order.
Under it, an item move locks the items, may give stock back (product rows), then locks the
Payment; settling money locks the Payment before the items. Both hold the Order lock first, so
they never wait on each other in opposite order. The global order is in docs/architecture.md.
"""

from django.db.models import QuerySet

from orders.models import Order, OrderItem


def order_lock(*, order_id: int, among: QuerySet[Order] | None = None, skip_locked: bool = False) -> Order | None:
    """Lock the order and return it fresh, or None if it is not `among` those given (or gone).

    `skip_locked` returns None at once when another transaction holds the row: a sweep moves on
    to the next order rather than wait for one that is being settled right now.
    """
    orders = Order.objects.all() if among is None else among
    return orders.select_for_update(skip_locked=skip_locked).filter(pk=order_id).first()


def order_items_lock(*, order_id: int) -> list[OrderItem]:
    """Lock every item of the order (the caller holds the Order lock), with its seller, by primary key."""
    return list(
        OrderItem.objects.select_for_update(of=("self",))
        .select_related("seller")
        .filter(order_id=order_id)
        .order_by("pk")
    )
