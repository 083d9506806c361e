"""Arrangement helpers for the order tests: orders are placed through the real checkout."""

import threading
import uuid
from decimal import Decimal

from django.db import connection
from rest_framework.test import APIClient

from accounts.services.sessions import tokens_issue
from cart.models import Cart, CartItem
from catalog.models import Product
from orders.models import Order, OrderItem
from orders.services.checkout import checkout_place
from tests.factories import AddressFactory, UserFactory, as_variant


def new_key() -> str:
    return uuid.uuid4().hex


def make_buyer(**kwargs):
    """A shopper with one (default) delivery address, which is returned as `buyer.address`."""
    buyer = UserFactory(**kwargs)
    buyer.address = AddressFactory(user=buyer, is_default=True)
    return buyer


def put_in_cart(buyer, product, quantity: int = 1) -> CartItem:
    """`product`: a variant, or a product with one variant."""
    cart, _ = Cart.objects.get_or_create(user=buyer)
    return CartItem.objects.create(cart=cart, variant=as_variant(product), quantity=quantity)


def buy_now(buyer, product, quantity: int = 1, *, key: str | None = None) -> Order:
    order, _created = checkout_place(
        buyer=buyer,
        source="buy_now",
        variant_id=as_variant(product).pk,
        quantity=quantity,
        address_id=buyer.address.pk,
        payment_method="COD",
        idempotency_key=key or new_key(),
    )
    return order


def checkout_cart(buyer, *, key: str | None = None) -> Order:
    order, _created = checkout_place(
        buyer=buyer, source="cart", address_id=buyer.address.pk, payment_method="COD", idempotency_key=key or new_key()
    )
    return order


def order_of(buyer, lines: dict[Product, int]) -> Order:
    """One order with a line per product (through the cart)."""
    for product, quantity in lines.items():
        put_in_cart(buyer, product, quantity)
    return checkout_cart(buyer)


def items_of(order: Order) -> list[OrderItem]:
    return list(OrderItem.objects.filter(order=order).order_by("pk"))


def stock_of(product: Product) -> int:
    return Product.objects.values_list("stock", flat=True).get(pk=product.pk)


def bearer(user) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=user).access}")
    return client


def run_concurrently(target, count: int, *, timeout: float = 60) -> list:
    """Run `target(i)` in `count` threads released together by a barrier; return results or errors.

    Each thread closes its own database connection, so the test database can be dropped.
    """
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = target(index)
        except Exception as exc:  # noqa: BLE001 - the test inspects every outcome
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung: deadlock or lock wait?"
    return results


PRICE = Decimal("499.00")
