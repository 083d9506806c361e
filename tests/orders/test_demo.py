"""seed_demo's orders: placed through the real checkout, moved on by the right people, and placed once."""

from collections import Counter

import pytest
from django.core import mail
from django.core.management import call_command

from accounts.management.commands import seed_demo
from accounts.models import User
from analytics.demo import seed_sales_history
from cart.models import CartItem
from cart.services import cart_item_add
from catalog.demo import PRIYA, RAVI, demo_products
from catalog.models import Product, ProductVariant, variant_label
from orders.demo import DEMO_CARRIER, DEMO_ORDERS, MIN_PICK_STOCK, demo_picks
from orders.models import ActorRole, Order, OrderEvent, OrderItem, OrderItemStatus, OrderStatus
from payments.models import PaymentStatus

Status = OrderItemStatus


@pytest.fixture(autouse=True)
def _without_sales_history(monkeypatch):
    """These tests count the hand-written demo orders; the sales history has its own (tests/analytics)."""
    steps = [step for step in seed_demo.DEMO_STEPS if step is not seed_sales_history]
    monkeypatch.setattr(seed_demo, "DEMO_STEPS", steps)


def _snapshot() -> dict:
    return {
        "orders": list(Order.objects.order_by("pk").values_list("pk", "number", "idempotency_key", "status", "total")),
        "items": list(OrderItem.objects.order_by("pk").values_list("pk", "sku", "quantity", "status")),
        "events": OrderEvent.objects.count(),
        "stock": dict(ProductVariant.objects.values_list("sku", "stock")),
        "summary": dict(Product.objects.values_list("pk", "stock")),
    }


def _demo_order(number: int) -> Order:
    return Order.objects.select_related("payment", "buyer").get(idempotency_key=f"demo-order-{number}")


@pytest.mark.django_db
def test_seed_demo_places_the_demo_orders_once_in_every_state(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    first = _snapshot()

    call_command("seed_demo")

    assert _snapshot() == first, "a second run places and moves nothing"
    assert Order.objects.count() == len(DEMO_ORDERS) == 7
    assert "Orders: 7 orders; items 1 placed, 2 confirmed, 1 shipped, 2 delivered, 2 cancelled" in out
    assert "Skipped" not in out
    # Every demo shopper has orders; every demo seller has items.
    assert set(Order.objects.values_list("buyer__username", flat=True)) == {"meera", "arjun"}
    assert set(OrderItem.objects.values_list("seller__user__username", flat=True)) == {PRIYA, RAVI}

    picks = demo_picks()
    for spec in DEMO_ORDERS:
        order = _demo_order(spec.number)
        assert order.buyer.username == spec.buyer
        assert order.payment_method == "COD"
        items = {item.sku: item for item in order.items.select_related("seller__user", "variant__product")}
        assert len(items) == len(spec.lines)
        for line in spec.lines:
            item = items[picks[line.seller][line.pick]]
            assert item.seller.user.username == line.seller
            # The item keeps the variant it sold, and a snapshot of its options and price.
            names = [option.name for option in item.variant.product.options.all()]
            assert (item.variant.sku, item.product_id, item.unit_price) == (
                item.sku,
                item.variant.product_id,
                item.variant.price,
            )
            assert item.options == variant_label(option_names=names, variant=item.variant)
            assert (item.quantity, item.status) == (line.quantity, line.outcome), spec
            shipped = line.outcome in (Status.SHIPPED, Status.DELIVERED)
            assert (item.carrier, item.tracking_number) == (
                (DEMO_CARRIER, spec.tracking_number) if shipped else ("", "")
            )
            # The seller made every fulfilment move; the timeline starts with the buyer's order.
            events = list(item.events.order_by("pk"))
            assert events[0].actor == order.buyer and events[0].to_status == Status.PLACED
            for event in events[1:]:
                if event.to_status == Status.CANCELLED:
                    assert event.reason == line.reason
                    expected = ActorRole.SELLER if line.cancelled_by == "seller" else ActorRole.BUYER
                    assert event.actor_role == expected
                else:
                    assert (event.actor, event.actor_role) == (item.seller.user, ActorRole.SELLER)
            assert [event.to_status for event in events][-1] == line.outcome

    placed, delivered, cancelled, partial = (_demo_order(n) for n in (1, 4, 6, 7))
    assert (placed.status, placed.payment.status) == (OrderStatus.PLACED, PaymentStatus.PENDING)
    assert (delivered.status, delivered.payment.status) == (OrderStatus.COMPLETED, PaymentStatus.COLLECTED)
    assert delivered.payment.collected_at is not None
    assert (cancelled.status, cancelled.payment.status) == (OrderStatus.CANCELLED, PaymentStatus.NOT_REQUIRED)
    assert cancelled.events.get(to_status=Status.CANCELLED).actor.username == "arjun"
    assert partial.status == OrderStatus.PARTIALLY_CANCELLED
    assert len({item.seller_id for item in partial.items.all()}) == 2, "a multi-seller cart order"
    live = partial.items.exclude(status=Status.CANCELLED).get()
    assert (partial.payment.status, partial.payment.amount) == (PaymentStatus.PENDING, live.line_total)
    assert any(", " in item.options for item in OrderItem.objects.all()), "an item of a product with two options"
    assert not CartItem.objects.filter(cart__user__username="meera").exists(), "the cart order emptied the cart"


@pytest.mark.django_db
def test_demo_orders_take_stock_and_cancellations_give_it_back():
    call_command("seed_demo")

    picks = demo_picks()
    sold = Counter()
    for spec in DEMO_ORDERS:
        for line in spec.lines:
            if line.outcome != Status.CANCELLED:
                sold[picks[line.seller][line.pick]] += line.quantity
    specified = {variant.sku: variant.stock for product in demo_products() for variant in product.variants}
    stock = dict(ProductVariant.objects.values_list("sku", "stock"))
    assert len(sold) == 6, "8 lines, 2 of them cancelled"
    assert {sku: specified[sku] - stock[sku] for sku in stock if stock[sku] != specified[sku]} == dict(sold)
    # Each product still shows the stock of its active variants.
    for product in Product.objects.prefetch_related("variants"):
        assert product.stock == sum(variant.stock for variant in product.variants.all() if variant.is_active)


def test_demo_picks_are_fixed_distinct_and_well_stocked():
    picks = demo_picks()
    stock = {
        variant.sku: (product.seller, product.category, variant.stock, variant.is_active, product.code)
        for product in demo_products()
        for variant in product.variants
    }

    assert picks == demo_picks()
    used = [picks[line.seller][line.pick] for spec in DEMO_ORDERS for line in spec.lines]
    assert len({stock[sku][4] for sku in used}) == len(used), "each demo line sells a different product"
    for seller, skus in picks.items():
        assert all(stock[sku][0] == seller and stock[sku][2] >= MIN_PICK_STOCK and stock[sku][3] for sku in skus)
        first_four = [stock[sku][1] for sku in skus[:4]]
        assert len(set(first_four)) == 4, "picks take one shelf after another"


@pytest.mark.django_db
def test_a_demo_order_that_cannot_take_every_lines_stock_is_skipped_and_takes_none(capsys):
    call_command("seed_demo")
    Order.objects.filter(idempotency_key="demo-order-7").delete()  # as if never placed
    picks = demo_picks()
    first, second = (picks[line.seller][line.pick] for line in DEMO_ORDERS[6].lines)
    ProductVariant.objects.filter(sku=second).update(stock=0)
    before = dict(ProductVariant.objects.filter(sku__in=[first, second]).values_list("sku", "stock"))
    capsys.readouterr()

    call_command("seed_demo")

    assert "Skipped demo order 7: " in capsys.readouterr().out
    assert not Order.objects.filter(idempotency_key="demo-order-7").exists()
    assert dict(ProductVariant.objects.filter(sku__in=[first, second]).values_list("sku", "stock")) == before
    assert not CartItem.objects.exists(), "the refused checkout left no demo lines in the cart"


@pytest.mark.django_db
def test_a_shoppers_own_cart_is_never_swept_into_a_demo_order(capsys):
    call_command("seed_demo")
    meera = User.objects.get(username="meera")
    Order.objects.filter(idempotency_key="demo-order-7").delete()  # as if never placed
    own = ProductVariant.objects.filter(is_active=True, stock__gt=0).exclude(product__store__user=meera).first()
    cart_item_add(user=meera, variant_id=own.pk, quantity=1)
    capsys.readouterr()

    call_command("seed_demo")

    assert "Skipped demo order 7: meera's cart is not empty" in capsys.readouterr().out
    assert not Order.objects.filter(idempotency_key="demo-order-7").exists()
    assert list(CartItem.objects.filter(cart__user=meera).values_list("variant_id", "quantity")) == [(own.pk, 1)]


@pytest.mark.django_db(transaction=True)
def test_the_demo_mails_nobody():
    """Committed for real (transaction=True), so every after-commit mail would really go out."""
    call_command("seed_demo")

    assert Order.objects.count() == len(DEMO_ORDERS)
    assert mail.outbox == []
