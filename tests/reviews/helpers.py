"""Arrangement helpers for the review tests: items reach each status through the real lifecycle."""

from orders.models import OrderItem, OrderItemStatus
from orders.services.lifecycle import order_item_confirm, order_item_deliver, order_item_ship
from reviews.models import Review
from tests.factories import AddressFactory
from tests.orders.helpers import buy_now, items_of

S = OrderItemStatus
_MOVES = {
    S.CONFIRMED: (order_item_confirm,),
    S.SHIPPED: (order_item_confirm, order_item_ship),
    S.DELIVERED: (order_item_confirm, order_item_ship, order_item_deliver),
}


def item_at(buyer, product, status: str = S.DELIVERED) -> OrderItem:
    """The buyer buys one of the product (COD, so it starts PLACED); its seller moves it to `status`."""
    if not hasattr(buyer, "address"):
        buyer.address = AddressFactory(user=buyer, is_default=True)
    item = items_of(buy_now(buyer, product))[0]
    for move in _MOVES.get(status, ()):
        item = move(item_id=item.pk, actor=product.store.user)
    assert item.status == status
    return item


def review_of(user, product) -> Review | None:
    return Review.objects.filter(user=user, product=product).first()


def product_rating(product) -> tuple[str, int]:
    """(rating_avg as a string, rating_count), read from the database."""
    product.refresh_from_db(fields=["rating_avg", "rating_count"])
    return str(product.rating_avg), product.rating_count
