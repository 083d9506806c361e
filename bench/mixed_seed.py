"""The mixed scenario's fixture and its books, run inside Django by bench/run.py (like bench/seed.py).

`bench_mixed_seed` makes a "Bench Mixed Store" whose products shoppers browse, put in their
carts and buy while anonymous visitors browse the read endpoints' catalog: some products with
three sizes (a variant each), the rest with one variant, and a share of the variants with only a
few units, so they sell out during the run and oversell would show. Every run first deletes the
last run's orders (with their queued mail tasks) and carts, and resets the stock, so runs compare.

`bench_mixed_count` reads back, per variant of that store, the units its orders hold and the
stock left; bench/mixed.py's `stock_verdict` checks them against the starting stock.
"""

import json
import sys
import time
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils.text import slugify
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import Address
from bench.seed import (
    BENCH_SELLER,
    CHECKOUT_SELLER,
    MIXED_SELLER,
    WEBHOOK_SELLER,
    _bench_store,
    _buyers,
    _order_placed_tasks,
)
from cart.models import CartItem
from catalog.cache import bump_after_commit
from catalog.demo import demo_categories_ensure
from catalog.models import Category, Product, ProductOption, ProductVariant
from catalog.services.products import search_vector_refresh
from catalog.services.summary import product_summary_refresh
from orders.models import Order, OrderItem, OrderItemStatus
from payments.models import GatewayCapture

MIXED_STORE = "Bench Mixed Store"
MIXED_BRAND = "Mixwell"
SHOPPER_PREFIX = "bench_mixer_"  # neither the checkout's buyers nor the webhook's payers: each scenario counts its own
SIZES = ("S", "M", "L")
SIZED_EVERY = 3  # product n has three sizes when n % SIZED_EVERY == 0
LOW_STOCK_EVERY = 4  # variant n (counted over the store) has LOW_STOCK units when n % LOW_STOCK_EVERY == 0
LOW_STOCK = 6
AMPLE_STOCK = 2_000
PRICE = Decimal("799.00")
# A run is a minute or two; the token must not expire meanwhile. It dies with the run's secret key.
TOKEN_LIFETIME = timedelta(hours=2)
BROWSED_BENCH_PRODUCTS = 200  # the read catalog's products whose pages anonymous visitors open


def _mixed_sku(number: int, size: str = "") -> str:
    return f"BENCH-MX-{number:04d}{'-' + size if size else ''}"


def _mixed_orders():
    return Order.objects.filter(buyer__username__startswith=SHOPPER_PREFIX)


def _mixed_products_create(store, count: int) -> None:
    """The store's missing products: every SIZED_EVERY-th with a Size option and three variants."""
    existing = set(Product.objects.filter(store=store).values_list("variants__sku", flat=True))
    categories = sorted(demo_categories_ensure().values(), key=lambda category: category.slug)
    leaves = [category for category in categories if not Category.objects.filter(parent=category).exists()]
    products, rows, sized = [], [], []
    for number in range(1, count + 1):
        sizes = SIZES if number % SIZED_EVERY == 0 else ("",)
        if _mixed_sku(number, sizes[0]) in existing:
            continue
        title = f"{MIXED_BRAND} Tee {number}" if sizes[0] else f"{MIXED_BRAND} Mug {number}"
        product = Product(
            store=store,
            title=title,
            slug=slugify(f"{title}-{_mixed_sku(number)}"),
            description=f"{title}: a product of the mixed benchmark.",
            category=leaves[number % len(leaves)],
            brand=MIXED_BRAND,
            price=PRICE,
            price_max=PRICE,
            stock=0,
            is_active=False,
        )
        products.append(product)
        for position, size in enumerate(sizes):
            rows.append(
                (product, ProductVariant(sku=_mixed_sku(number, size), option1=size, position=position, price=PRICE))
            )
        if sizes[0]:
            sized.append(product)
    Product.objects.bulk_create(products)
    for product, variant in rows:
        variant.product = product
    ProductVariant.objects.bulk_create([variant for _product, variant in rows])
    ProductOption.objects.bulk_create(
        ProductOption(product=product, position=1, name="Size", values=list(SIZES)) for product in sized
    )
    if products:
        search_vector_refresh(Product.objects.filter(pk__in=[product.pk for product in products]))


def bench_mixed_seed(*, products: int, shoppers: int) -> dict:
    """Shoppers with an address, an empty cart and a token; the mixed store's variants, stocked afresh.

    Returns what bench/mixed.py needs: the shoppers, every variant with its starting stock (the
    low-stock ones marked), and what anonymous visitors browse: category slugs, product slugs of
    both stores, brands to search for. The checkout and webhook stores are hidden again.
    """
    started = time.perf_counter()
    store = _bench_store(MIXED_SELLER, MIXED_STORE)
    users = _buyers(shoppers, prefix=SHOPPER_PREFIX)
    with transaction.atomic():
        deleted_tasks, _ = _order_placed_tasks(_mixed_orders()).delete()
        deleted = _mixed_orders().count()
        GatewayCapture.objects.filter(payment__order__in=_mixed_orders()).delete()  # the ledger protects payments
        _mixed_orders().delete()
        CartItem.objects.filter(cart__user__in=users).delete()
        _mixed_products_create(store, products)
        mine = Product.objects.filter(store=store)
        mine.update(is_active=False)
        skus = [_mixed_sku(number, size) for number in range(1, products + 1) for size in ("", *SIZES)]
        wanted = mine.filter(pk__in=ProductVariant.objects.filter(sku__in=skus).values("product_id"))
        variants = list(ProductVariant.objects.filter(product__in=wanted).order_by("sku"))
        for number, variant in enumerate(variants):
            variant.stock = LOW_STOCK if number % LOW_STOCK_EVERY == 0 else AMPLE_STOCK
        ProductVariant.objects.bulk_update(variants, ["stock"])
        product_summary_refresh(product_ids=wanted.values_list("pk", flat=True))
        wanted.update(is_active=True)
        Product.objects.filter(store__user__username__in=[CHECKOUT_SELLER, WEBHOOK_SELLER], is_active=True).update(
            is_active=False
        )
        bump_after_commit(structure=True)
    addresses = dict(Address.objects.filter(user__in=users, is_default=True).values_list("user_id", "pk"))
    visible = Product.objects.filter(is_active=True)
    bench_products = visible.filter(store__user__username=BENCH_SELLER).order_by("pk")
    report = {
        "shoppers": [{"token": _token(user), "address_id": addresses[user.pk]} for user in users],
        "variants": [
            {
                "id": variant.pk,
                "product_id": variant.product_id,
                "stock": variant.stock,
                "low": variant.stock == LOW_STOCK,
            }
            for variant in variants
        ],
        "categories": sorted(set(visible.values_list("category__slug", flat=True))),
        "product_slugs": [
            *wanted.order_by("pk").values_list("slug", flat=True),
            *bench_products.values_list("slug", flat=True)[:BROWSED_BENCH_PRODUCTS],
        ],
        "brands": sorted(set(visible.exclude(brand="").values_list("brand", flat=True))),
        "deleted_orders": deleted,
        "deleted_mail_tasks": deleted_tasks,
        "seconds": round(time.perf_counter() - started, 2),
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return report


def _token(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=TOKEN_LIFETIME)
    return str(token)


def bench_mixed_mail_drop() -> int:
    """Delete the mail tasks the shoppers' orders queued and nobody ran (the bench runs no worker for
    this scenario): the next run's webhook scenario runs a worker, which would send them and count
    their time in its drain."""
    dropped, _ = _order_placed_tasks(_mixed_orders()).filter(status="READY").delete()
    return dropped


def bench_mixed_count(*, variant_ids: list[int]) -> dict:
    """Per variant: units in the shoppers' orders (cancelled items excluded) and the stock left;
    per product: the stock its summary shows. Also the shoppers' orders. Read from the rows
    themselves, not from any cache: the count must not trust what it checks."""
    sold = dict(
        OrderItem.objects.filter(order__in=_mixed_orders(), variant_id__in=variant_ids)
        .exclude(status=OrderItemStatus.CANCELLED)
        .values("variant_id")
        .annotate(units=Sum("quantity"))
        .values_list("variant_id", "units")
    )
    variants = ProductVariant.objects.filter(pk__in=variant_ids)
    left = dict(variants.values_list("pk", "stock"))
    products = dict(Product.objects.filter(variants__in=variants).distinct().values_list("pk", "stock"))
    report = {
        "orders": _mixed_orders().count(),
        "sold": {str(pk): sold.get(pk, 0) for pk in variant_ids},
        "left": {str(pk): left.get(pk) for pk in variant_ids},
        "product_stock": {str(pk): stock for pk, stock in products.items()},
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return report
