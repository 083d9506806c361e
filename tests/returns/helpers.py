"""Arrangement for the returns tests: delivered items, COD and online, through the real services."""

from datetime import timedelta

from django.utils import timezone

from orders.models import OrderItem
from orders.services.lifecycle import order_item_confirm, order_item_deliver, order_item_ship
from orders.services.returns import order_item_return_approve, order_item_return_receive, order_item_return_request
from tests.orders.helpers import items_of

UPI = {"upi_id": "meera.iyer@okaxis"}
BANK = {"account_name": "Meera Iyer", "account_number": "50100123456789", "ifsc": "HDFC0001234"}


def deliver(item: OrderItem) -> OrderItem:
    """Confirm, ship and deliver the item as its seller."""
    seller = item.seller.user
    order_item_confirm(item_id=item.pk, actor=seller)
    order_item_ship(item_id=item.pk, actor=seller)
    return order_item_deliver(item_id=item.pk, actor=seller)


def delivered_items(order) -> list[OrderItem]:
    return [deliver(item) for item in items_of(order)]


def delivered_ago(item: OrderItem, delta: timedelta) -> None:
    """As if the item had been delivered `delta` ago."""
    OrderItem.objects.filter(pk=item.pk).update(delivered_at=timezone.now() - delta)


def received_with_payout(item: OrderItem, buyer) -> OrderItem:
    """A delivered Cash on Delivery item returned to UPI, approved and received (not resellable): its payout waits."""
    seller = item.seller.user
    order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged", refund_to=UPI)
    order_item_return_approve(item_id=item.pk, actor=seller)
    return order_item_return_receive(item_id=item.pk, actor=seller, resellable=False)
