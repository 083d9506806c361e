"""The variants migrations on a database already holding a shop: forwards every product becomes a product with
one variant that keeps its SKU, price, MRP and stock, and every cart line and order item follows it; backwards
each product takes back its first variant's SKU and a cart keeps one line per product. Nothing else is lost."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import CategoryFactory, ProductFactory, StoreFactory, UserFactory, VariantFactory

pytestmark = pytest.mark.django_db(transaction=True)

# The three apps' schemas before and after variants; every other app stays at its latest migration, but
# payments, held where it was before returns (its payouts need the orders of returns).
PAYMENTS_BEFORE_RETURNS = ("payments", "0007_refund_capture_required")
BEFORE = [
    ("catalog", "0003_product_price_sku_validators"),
    ("cart", "0001_initial"),
    ("orders", "0001_initial"),
    PAYMENTS_BEFORE_RETURNS,
]
AFTER = [
    ("catalog", "0006_variants_finish"),
    ("cart", "0003_cartitem_variant_finish"),
    ("orders", "0003_orderitem_variant_finish"),
    PAYMENTS_BEFORE_RETURNS,
]
MIGRATED_APPS = {"catalog", "cart", "orders", "payments"}


@pytest.fixture
def migrate():
    """`migrate(targets)` moves the schema there and returns the models as they were at that point
    (the other apps' at their latest); the database is back at the latest migrations after the test."""

    def to(targets: list[tuple[str, str]]):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)
        others = [leaf for leaf in executor.loader.graph.leaf_nodes() if leaf[0] not in MIGRATED_APPS]
        return executor.loader.project_state(targets + others).apps

    yield to
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def rows(model, *fields) -> set[tuple]:
    return set(model.objects.values_list(*fields))


def order_create(apps, *, buyer, total: Decimal):
    """An order and its COD payment, written as rows."""
    order = apps.get_model("orders", "Order").objects.create(
        buyer_id=buyer.pk,
        number=f"JC-{buyer.pk:06d}",
        status="PLACED",
        payment_method="COD",
        total=total,
        idempotency_key=f"key-{buyer.pk}",
        request_fingerprint="f" * 64,
        ship_name="Asha Rao",
        ship_phone="9876543210",
        ship_line1="1 MG Road",
        ship_city="Pune",
        ship_state="MH",
        ship_pincode="411001",
    )
    apps.get_model("payments", "Payment").objects.create(order_id=order.pk, method="COD", amount=total)
    return order


def order_item_fields(product, *, sku: str, price: Decimal, quantity: int) -> dict:
    return {
        "product_id": product.pk,
        "seller_id": product.store_id,
        "title": product.title,
        "sku": sku,
        "unit_price": price,
        "quantity": quantity,
        "status": "PLACED",
    }


def test_forwards_every_product_gets_one_variant_and_carts_and_orders_follow_it(migrate):
    store, category = StoreFactory(), CategoryFactory()
    buyer, other_buyer = UserFactory(), UserFactory()
    old = migrate(BEFORE)
    Product = old.get_model("catalog", "Product")

    def product(sku, **fields):
        return Product.objects.create(
            store_id=store.pk, category_id=category.pk, title=f"Item {sku}", slug=sku.lower(), sku=sku, **fields
        )

    discounted = product("TEE-001", price=Decimal("499.00"), mrp=Decimal("799.00"), stock=12)
    sold_out = product("MUG-002", price=Decimal("250.00"), stock=0)
    hidden = product("Lamp-003", price=Decimal("1200.00"), mrp=Decimal("1500.00"), stock=3, is_active=False)
    old.get_model("catalog", "ProductImage").objects.create(
        product_id=discounted.pk, image="products/tee.jpg", thumbnail="products/tee-thumb.jpg", alt="Tee", position=0
    )
    Cart, CartItem = old.get_model("cart", "Cart"), old.get_model("cart", "CartItem")
    cart, other_cart = Cart.objects.create(user_id=buyer.pk), Cart.objects.create(user_id=other_buyer.pk)
    for line_cart, line_product, quantity in (
        (cart, discounted, 2),
        (cart, sold_out, 1),
        (other_cart, discounted, 1),
        (other_cart, hidden, 3),
    ):
        CartItem.objects.create(cart_id=line_cart.pk, product_id=line_product.pk, quantity=quantity)
    order = order_create(old, buyer=buyer, total=Decimal("2899.00"))
    for line_product, quantity in ((discounted, 1), (hidden, 2)):
        old.get_model("orders", "OrderItem").objects.create(
            order_id=order.pk,
            **order_item_fields(line_product, sku=line_product.sku, price=line_product.price, quantity=quantity),
        )
    old.get_model("reviews", "Review").objects.create(
        user_id=buyer.pk, product_id=discounted.pk, rating=4, comment="Soft"
    )
    product_fields = ("pk", "title", "price", "mrp", "stock", "is_active")
    products_before = rows(Product, *product_fields)
    lines_before = rows(CartItem, "pk", "cart_id", "product_id", "quantity")
    items_before = rows(old.get_model("orders", "OrderItem"), "pk", "order_id", "product_id", "sku", "unit_price")
    untouched = [
        ("catalog", "ProductImage", ("pk", "product_id", "image", "thumbnail")),
        ("reviews", "Review", ("pk", "user_id", "product_id", "rating", "comment")),
        ("orders", "Order", ("pk", "buyer_id", "number", "total", "status")),
        ("payments", "Payment", ("pk", "order_id", "amount", "status")),
    ]
    untouched_before = [rows(old.get_model(app, name), *fields) for app, name, fields in untouched]

    new = migrate(AFTER)

    Product, Variant = new.get_model("catalog", "Product"), new.get_model("catalog", "ProductVariant")
    assert rows(Product, *product_fields) == products_before
    assert set(Product.objects.values_list("pk", "price_max")) == {(pk, price) for pk, _, price, *_ in products_before}
    assert rows(
        Variant, "product_id", "sku", "price", "mrp", "stock", "is_active", "option1", "option2", "option3"
    ) == {
        (discounted.pk, "TEE-001", Decimal("499.00"), Decimal("799.00"), 12, True, "", "", ""),
        (sold_out.pk, "MUG-002", Decimal("250.00"), None, 0, True, "", "", ""),
        (hidden.pk, "Lamp-003", Decimal("1200.00"), Decimal("1500.00"), 3, True, "", "", ""),
    }
    assert not new.get_model("catalog", "ProductOption").objects.exists()
    assert rows(new.get_model("cart", "CartItem"), "pk", "cart_id", "variant__product_id", "quantity") == lines_before
    assert (
        rows(new.get_model("orders", "OrderItem"), "pk", "order_id", "variant__product_id", "sku", "unit_price")
        == items_before
    )
    OrderItem = new.get_model("orders", "OrderItem")
    assert all(item.product_id == item.variant.product_id and item.options == "" for item in OrderItem.objects.all())
    assert [rows(new.get_model(app, name), *fields) for app, name, fields in untouched] == untouched_before


def test_backwards_each_product_takes_its_first_variants_sku_and_a_cart_one_line_per_product(migrate):
    from catalog.models import ProductOption, ProductVariant
    from catalog.services.summary import product_summary_refresh

    buyer, other_buyer = UserFactory(), UserFactory()
    shirt = ProductFactory(sku="SHIRT-S", price=Decimal("599.00"), mrp=Decimal("899.00"), stock=4)
    ProductOption.objects.create(product=shirt, position=1, name="Size", values=["S", "M"])
    small = shirt.variants.get()
    ProductVariant.objects.filter(pk=small.pk).update(option1="S")
    medium = VariantFactory(product=shirt, sku="SHIRT-M", option1="M", price=Decimal("649.00"), stock=6, position=1)
    product_summary_refresh(product_ids=[shirt.pk])
    mug = ProductFactory(sku="MUG-1", price=Decimal("250.00"), stock=0, store=shirt.store)
    new = migrate(AFTER)
    Cart, CartItem = new.get_model("cart", "Cart"), new.get_model("cart", "CartItem")
    cart, other_cart = Cart.objects.create(user_id=buyer.pk), Cart.objects.create(user_id=other_buyer.pk)
    mug_variant = mug.variants.get()
    # Both sizes of the shirt in one cart: one line survives, the first one added.
    kept = CartItem.objects.create(cart_id=cart.pk, variant_id=small.pk, quantity=2)
    CartItem.objects.create(cart_id=cart.pk, variant_id=medium.pk, quantity=1)
    mug_line = CartItem.objects.create(cart_id=cart.pk, variant_id=mug_variant.pk, quantity=1)
    other_line = CartItem.objects.create(cart_id=other_cart.pk, variant_id=medium.pk, quantity=3)
    order = order_create(new, buyer=buyer, total=Decimal("649.00"))
    new.get_model("orders", "OrderItem").objects.create(
        order_id=order.pk,
        variant_id=medium.pk,
        options="Size: M",
        **order_item_fields(shirt, sku="SHIRT-M", price=Decimal("649.00"), quantity=1),
    )
    new.get_model("reviews", "Review").objects.create(user_id=buyer.pk, product_id=shirt.pk, rating=5)
    summary = rows(new.get_model("catalog", "Product"), "pk", "price", "mrp", "stock", "is_active")

    old = migrate(BEFORE)

    Product = old.get_model("catalog", "Product")
    assert rows(Product, "pk", "sku") == {(shirt.pk, "SHIRT-S"), (mug.pk, "MUG-1")}
    assert rows(Product, "pk", "price", "mrp", "stock", "is_active") == summary
    assert summary >= {(shirt.pk, Decimal("599.00"), Decimal("899.00"), 10, True)}
    assert rows(old.get_model("cart", "CartItem"), "pk", "cart_id", "product_id", "quantity") == {
        (kept.pk, cart.pk, shirt.pk, 2),
        (mug_line.pk, cart.pk, mug.pk, 1),
        (other_line.pk, other_cart.pk, shirt.pk, 3),
    }
    assert rows(old.get_model("orders", "OrderItem"), "order_id", "product_id", "sku", "unit_price") == {
        (order.pk, shirt.pk, "SHIRT-M", Decimal("649.00"))
    }
    assert rows(old.get_model("reviews", "Review"), "user_id", "product_id", "rating") == {(buyer.pk, shirt.pk, 5)}

    again = migrate(AFTER)

    Variant = again.get_model("catalog", "ProductVariant")
    assert rows(Variant, "product_id", "sku", "price", "stock") == {
        (shirt.pk, "SHIRT-S", Decimal("599.00"), 10),
        (mug.pk, "MUG-1", Decimal("250.00"), 0),
    }
    assert rows(again.get_model("cart", "CartItem"), "cart_id", "variant__sku", "quantity") == {
        (cart.pk, "SHIRT-S", 2),
        (cart.pk, "MUG-1", 1),
        (other_cart.pk, "SHIRT-S", 3),
    }
    assert rows(again.get_model("orders", "OrderItem"), "variant__sku", "sku") == {("SHIRT-S", "SHIRT-M")}
