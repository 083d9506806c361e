"""Reads of orders, always scoped to who asks: a buyer sees their orders, a seller the items
ordered from their store, staff everything. Another owner's order or item answers 404.

Each read fetches its relations in a fixed number of queries, however many rows it shows.
"""

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from accounts.models import Store, User
from cart.selectors import is_valid_id
from orders.models import Order, OrderEvent, OrderItem, OrderItemStatus


def _events() -> QuerySet[OrderEvent]:
    return OrderEvent.objects.select_related("actor").order_by("created_at", "id")


def buyer_orders(*, buyer: User) -> QuerySet[Order]:
    """Newest first, with the payment and the items (three queries for a page of any size)."""
    return (
        Order.objects.filter(buyer=buyer)
        .select_related("payment")
        .prefetch_related(Prefetch("items", queryset=OrderItem.objects.select_related("seller").order_by("id")))
        .order_by("-created_at", "-id")
    )


def buyer_order_get(*, buyer: User, order_id: int | None = None, number: str | None = None) -> Order:
    """One of the buyer's orders by id or number, with items, payment and the whole timeline."""
    if order_id is not None:
        if not is_valid_id(order_id):
            raise Http404("No such order.")
        lookup = Q(pk=order_id)
    elif isinstance(number, str) and number:
        lookup = Q(number=number)
    else:
        raise Http404("No such order.")
    order = buyer_orders(buyer=buyer).prefetch_related(Prefetch("events", queryset=_events())).filter(lookup).first()
    if order is None:
        raise Http404("No such order.")
    return order


def buyer_order_item_get(*, buyer: User, order_id: int, item_id: int) -> OrderItem:
    """An item of one of the buyer's orders: both ids must match, or 404."""
    if not (is_valid_id(order_id) and is_valid_id(item_id)):
        raise Http404("No such order item.")
    item = OrderItem.objects.filter(pk=item_id, order_id=order_id, order__buyer=buyer).first()
    if item is None:
        raise Http404("No such order item.")
    return item


def seller_order_items(*, store: Store, status: str | None = None) -> QuerySet[OrderItem]:
    """Items ordered from this store, newest first, with order, buyer, payment and the item's own events."""
    items = (
        OrderItem.objects.filter(seller=store)
        .select_related("order__buyer", "order__payment")
        .prefetch_related(Prefetch("events", queryset=_events()))
        .order_by("-created_at", "-id")
    )
    if status:
        if status not in OrderItemStatus.values:
            return items.none()
        items = items.filter(status=status)
    return items


def seller_order_item_get(*, store: Store, item_id: int) -> OrderItem:
    """Another seller's item answers 404."""
    if not is_valid_id(item_id):
        raise Http404("No such order item.")
    item = seller_order_items(store=store).filter(pk=item_id).first()
    if item is None:
        raise Http404("No such order item.")
    return item


def order_events_visible(*, order: Order, viewer: User) -> QuerySet[OrderEvent]:
    """The timeline a viewer may see: the buyer and staff see all of it, a seller only their items' events."""
    events = _events().filter(order=order)
    if viewer.is_staff or order.buyer_id == viewer.pk:
        return events
    store = viewer.active_store if viewer.is_authenticated else None
    if store is None:
        return events.none()
    return events.filter(item__seller=store)
