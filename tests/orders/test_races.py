"""Real threads racing on PostgreSQL: no oversell, no deadlock, one order per key, one winner per move."""

from decimal import Decimal

import pytest
from django.db.models import Sum
from django.db.utils import OperationalError

from cart.errors import OutOfStock
from cart.models import CartItem
from catalog.models import ProductOption, ProductVariant
from catalog.services.summary import product_summary_refresh
from orders.errors import InvalidTransition
from orders.models import Order, OrderEvent, OrderItem, OrderItemStatus, OrderStatus
from orders.services.lifecycle import order_item_cancel, order_item_confirm, order_item_deliver, order_item_ship
from payments.models import Payment, PaymentStatus
from tests.factories import ProductFactory, StoreFactory, UserFactory, VariantFactory, only_variant
from tests.orders.helpers import (
    bearer,
    buy_now,
    checkout_cart,
    items_of,
    make_buyer,
    new_key,
    order_of,
    put_in_cart,
    run_concurrently,
    stock_of,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

S = OrderItemStatus


def placed_orders(results) -> list[Order]:
    return [result for result in results if isinstance(result, Order)]


# --- Stock ----------------------------------------------------------------------------------


def test_thirty_buyers_racing_for_the_last_seven_units_make_exactly_seven_orders():
    product = ProductFactory(title="Last few lamps", stock=7)
    buyers = [make_buyer() for _ in range(30)]

    results = run_concurrently(lambda i: buy_now(buyers[i], product, 1), 30)

    orders = placed_orders(results)
    refusals = [result for result in results if isinstance(result, OutOfStock)]
    assert len(orders) == 7, results
    assert len(refusals) == 23, results
    assert all(result.code == "out_of_stock" for result in refusals)
    assert stock_of(product) == 0
    assert sum(OrderItem.objects.filter(product=product).values_list("quantity", flat=True)) == 7
    assert Order.objects.count() == 7 and Payment.objects.count() == 7


def test_thirty_buyers_racing_for_the_last_five_of_one_size_while_another_size_sells_normally():
    """The no-oversell guarantee holds per variant, and a sold-out size does not stop its sibling."""
    kurta = ProductFactory(title="Cotton kurta", sku="KURTA-M", stock=5)
    ProductOption.objects.create(product=kurta, position=1, name="Size", values=["M", "L"])
    ProductVariant.objects.filter(product=kurta).update(option1="M")
    medium = only_variant(kurta)
    large = VariantFactory(product=kurta, sku="KURTA-L", option1="L", stock=40)
    product_summary_refresh(product_ids=[kurta.pk])
    buyers = [make_buyer() for _ in range(40)]

    # 30 want the last 5 mediums; 10 others buy a large each, at the same moment.
    results = run_concurrently(lambda i: buy_now(buyers[i], medium if i < 30 else large, 1), 40)

    medium_results, large_results = results[:30], results[30:]
    assert len(placed_orders(medium_results)) == 5, medium_results
    assert all(isinstance(result, OutOfStock) for result in medium_results if not isinstance(result, Order))
    assert len(placed_orders(large_results)) == 10, large_results
    medium.refresh_from_db()
    large.refresh_from_db()
    assert (medium.stock, large.stock) == (0, 30)
    sold = dict(
        OrderItem.objects.filter(product=kurta)
        .values_list("variant_id")
        .annotate(total=Sum("quantity"))
        .values_list("variant_id", "total")
    )
    assert sold == {medium.pk: 5, large.pk: 10}
    assert set(OrderItem.objects.filter(variant=medium).values_list("options", flat=True)) == {"Size: M"}
    kurta.refresh_from_db()
    assert kurta.stock == 30  # the product's summary is the sum of its variants, not a stale count


def test_multi_line_checkouts_under_contention_are_all_or_nothing():
    lamp, rug = ProductFactory(stock=6), ProductFactory(stock=4)
    buyers = []
    for index in range(12):
        buyer = make_buyer()
        put_in_cart(buyer, lamp, 2 if index % 2 else 1)
        put_in_cart(buyer, rug, 1)
        buyers.append(buyer)

    results = run_concurrently(lambda i: checkout_cart(buyers[i]), 12)

    orders = placed_orders(results)
    assert orders, results
    assert all(isinstance(result, (Order, OutOfStock)) for result in results), results
    for order in orders:
        assert OrderItem.objects.filter(order=order).count() == 2
    sold = {
        product.pk: sum(OrderItem.objects.filter(product=product).values_list("quantity", flat=True))
        for product in (lamp, rug)
    }
    assert stock_of(lamp) == 6 - sold[lamp.pk] >= 0
    assert stock_of(rug) == 4 - sold[rug.pk] >= 0
    for buyer, result in zip(buyers, results, strict=True):
        remaining = CartItem.objects.filter(cart__user=buyer).count()
        assert remaining == (0 if isinstance(result, Order) else 2)


def test_carts_with_the_same_products_in_opposite_order_do_not_deadlock():
    first, second = ProductFactory(stock=100), ProductFactory(stock=100)
    buyers = []
    for index in range(16):
        buyer = make_buyer()
        for product in (first, second) if index % 2 else (second, first):
            put_in_cart(buyer, product, 1)
        buyers.append(buyer)

    results = run_concurrently(lambda i: checkout_cart(buyers[i]), 16)

    assert not [result for result in results if isinstance(result, OperationalError)], results
    assert len(placed_orders(results)) == 16, results
    assert (stock_of(first), stock_of(second)) == (84, 84)


# --- Idempotency ----------------------------------------------------------------------------


def test_concurrent_double_submits_over_the_api_make_one_order():
    buyer = make_buyer()
    product = ProductFactory(stock=10)
    clients = [bearer(buyer) for _ in range(8)]
    key = new_key()
    body = {
        "source": "buy_now",
        "product_id": product.pk,
        "quantity": 2,
        "address_id": buyer.address.pk,
        "payment_method": "COD",
    }

    responses = run_concurrently(
        lambda i: clients[i].post("/api/v1/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY=key), 8
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 7 + [201], [getattr(r, "content", r) for r in responses]
    assert len({response.json()["id"] for response in responses}) == 1
    assert Order.objects.count() == 1 and stock_of(product) == 8


def test_concurrent_retries_for_the_last_unit_all_get_the_order_not_out_of_stock():
    """The losers wait on the winner's row lock and then find no stock; the key still wins."""
    buyer = make_buyer()
    product = ProductFactory(stock=1)
    key = new_key()

    results = run_concurrently(lambda i: buy_now(buyer, product, 1, key=key), 6)

    assert all(isinstance(result, Order) for result in results), results
    assert len({order.pk for order in results}) == 1
    assert Order.objects.count() == 1 and stock_of(product) == 0


def test_concurrent_retries_of_a_cart_checkout_make_one_order():
    buyer = make_buyer()
    lamp, rug = ProductFactory(stock=5), ProductFactory(stock=5)
    put_in_cart(buyer, lamp, 2)
    put_in_cart(buyer, rug, 1)
    key = new_key()

    results = run_concurrently(lambda i: checkout_cart(buyer, key=key), 6)

    assert all(isinstance(result, Order) for result in results), results
    assert len({order.pk for order in results}) == 1
    assert Order.objects.count() == 1
    assert (stock_of(lamp), stock_of(rug)) == (3, 4)


# --- Lifecycle ------------------------------------------------------------------------------


def test_concurrent_cancels_restore_stock_exactly_once():
    store = StoreFactory()
    product = ProductFactory(store=store, stock=10)
    buyer = make_buyer()
    item = items_of(buy_now(buyer, product, 3))[0]
    staff = UserFactory(is_staff=True)
    actors = [buyer, store.user, staff] * 2

    results = run_concurrently(
        lambda i: order_item_cancel(item_id=item.pk, actor=actors[i], reason=f"Cancel #{i}"), len(actors)
    )

    winners = [result for result in results if isinstance(result, OrderItem)]
    losers = [result for result in results if isinstance(result, InvalidTransition)]
    assert (len(winners), len(losers)) == (1, 5), results
    assert stock_of(product) == 10
    assert OrderEvent.objects.filter(item=item, to_status=S.CANCELLED).count() == 1


def test_a_cancel_racing_a_ship_has_exactly_one_winner():
    store = StoreFactory()
    products = [ProductFactory(store=store, stock=5) for _ in range(6)]
    buyer = make_buyer()
    items = []
    for product in products:
        item = items_of(buy_now(buyer, product, 2))[0]
        order_item_confirm(item_id=item.pk, actor=store.user)
        items.append(item)

    for item, product in zip(items, products, strict=True):

        def move(i, item=item):
            if i == 0:
                return order_item_cancel(item_id=item.pk, actor=buyer, reason="Changed my mind")
            return order_item_ship(item_id=item.pk, actor=store.user, tracking_number="T1")

        results = run_concurrently(move, 2)
        winners = [result for result in results if isinstance(result, OrderItem)]
        assert len(winners) == 1, results
        assert [type(result) for result in results if not isinstance(result, OrderItem)] == [InvalidTransition]
        item.refresh_from_db()
        assert item.status == winners[0].status
        assert stock_of(product) == (5 if item.status == S.CANCELLED else 3)


def test_concurrent_moves_on_one_order_keep_its_status_and_payment_right():
    """Each item of the order moves in its own thread; the order lock serialises the totals."""
    buyer = make_buyer()
    store = StoreFactory()
    products = [ProductFactory(store=store, price=Decimal("100.00"), stock=5) for _ in range(6)]
    order = order_of(buyer, dict.fromkeys(products, 1))
    items = items_of(order)
    for item in items[3:]:
        order_item_confirm(item_id=item.pk, actor=store.user)
        order_item_ship(item_id=item.pk, actor=store.user)

    def move(i):
        if i < 3:
            return order_item_cancel(item_id=items[i].pk, actor=buyer, reason="Not needed")
        return order_item_deliver(item_id=items[i].pk, actor=store.user)

    results = run_concurrently(move, 6)

    assert all(isinstance(result, OrderItem) for result in results), results
    order.refresh_from_db()
    payment = Payment.objects.get(order=order)
    assert order.status == OrderStatus.COMPLETED
    assert (payment.status, payment.amount) == (PaymentStatus.COLLECTED, Decimal("300.00"))
    assert [stock_of(product) for product in products] == [5, 5, 5, 4, 4, 4]
