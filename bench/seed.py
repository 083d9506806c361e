"""The benchmark's fixtures, created fast and idempotently: N products with their variants over ten
"Bench Store" sellers for the read endpoints, and buyers with addresses and a "Bench Checkout Store"
for the checkout scenario.

Run inside Django by bench/run.py:
    manage.py shell --no-imports -c "from bench.seed import bench_seed; bench_seed(products=5000)"
It writes one JSON line (what it made, a product slug, a search term) for run.py to read.
`bench_checkout_seed` and `bench_checkout_count` work the same way for the checkout scenario,
and `bench_webhook_seed`, `bench_webhook_drain` and `bench_webhook_count` for the webhook one.

Unlike the demo catalog this skips the services: 100,000 products one by one would take hours,
so it loads the rows with COPY (PostgreSQL) or bulk inserts (SQLite) and then does set-wise what
the services do per product (the summary of the variants, the search document, a listing-cache
bump). That is acceptable for a benchmark fixture only; shop code creates products through the
services. tests/test_bench_seed.py checks the result against the services on both databases.
"""

import itertools
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import BigIntegerField, Count, JSONField, Max, Min, QuerySet, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.text import slugify
from django_tasks_db.models import DBTaskResult
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import Address, Store, User
from accounts.services.stores import store_create
from bench.webhooks import KIND_EVENTS, PLACING_KINDS, WARMUP_DELIVERIES, expected_counts, webhook_mix
from cart.models import CartItem
from cart.services import cart_item_add
from catalog.cache import bump_after_commit
from catalog.demo import (
    CATEGORY_COLOURS,
    COLOUR_GADGET,
    DEMO_SHELVES,
    PACK,
    DemoOption,
    DemoShelf,
    demo_categories_ensure,
    placeholder_image,
)
from catalog.images import image_process
from catalog.models import Product, ProductImage, ProductOption, ProductVariant
from catalog.services.products import search_vector_refresh
from catalog.services.summary import product_summary_refresh
from orders.models import Order, OrderEvent, OrderItem, OrderItemStatus, OrderStatus
from orders.services.checkout import checkout_place
from payments.gateway import get_gateway
from payments.models import CaptureOutcome, GatewayCapture, Payment, WebhookEvent, WebhookOutcome
from payments.sandbox import SandboxGateway
from payments.sandbox.webhooks import event_body, sign
from payments.services.webhooks import DRAIN_TASK_PATH

BENCH_SELLER = "bench_seller"
BENCH_STORE = "Bench Store"
# Product N belongs to seller (N - 1) mod 10: at 100,000 products, each store has 10,000.
BENCH_SELLERS = (BENCH_SELLER, *(f"{BENCH_SELLER}_{number:02d}" for number in range(2, 11)))
# The variant mix: about 40% of products have one variant; the others one or two options (Size x
# Colour) and 2 to 6 variants, about 2.5 a product overall. A few are sold out or switched off.
SINGLE_VARIANT_SHARE = 0.4
VARIANT_COUNTS = (2, 2, 2, 3, 3, 3, 4, 5, 6)
ONE_OPTION_SHARE = 0.5  # of the products whose first option alone could give an even count
SOLD_OUT_SHARE = 0.05  # of variants
INACTIVE_VARIANT_SHARE = 0.05  # of products with 3 variants or more: the last is switched off
CHUNK_SIZE = 10_000  # products generated and loaded at a time, so memory stays flat
CENT = Decimal("0.01")
CATALOGUE_MODELS = (Product, ProductOption, ProductVariant, ProductImage)
# A brand on two shelves (mobile accessories and audio): about one product in fifteen.
SEARCH_TERM = "Zentra"
BATCH_SIZE = 500
IMAGE_NAME = "products/bench/placeholder.jpg"
THUMBNAIL_NAME = "products/bench/placeholder-thumb.webp"

# The checkout scenario: its store's products are shown only while it runs.
CHECKOUT_SELLER = "bench_checkout_seller"
CHECKOUT_STORE = "Bench Checkout Store"
BUYER_PREFIX = "bench_buyer_"
HOT_SKU = "BENCH-HOT"
# Enough that no product of the distinct-products phase sells out, at any rate a run reaches.
CHECKOUT_STOCK = 10_000
CHECKOUT_PRICE = Decimal("499.00")
# What checkout queues in its transaction (orders/notifications.py): one task per order, which
# `manage.py db_worker` runs later to send the buyer's and the sellers' e-mails.
ORDER_PLACED_TASK = "orders.tasks.order_placed_email_send"
# The webhook scenario's store: like the checkout store, shown only while its scenario runs.
WEBHOOK_SELLER = "bench_webhook_seller"
# The mixed scenario's store (bench/mixed_seed.py): likewise shown only while it runs.
MIXED_SELLER = "bench_mixed_seller"
# The read endpoints' logged-in rows: one shopper, whose access cookie run.py sends with each request.
SHOPPER_PREFIX = "bench_shopper_"
SHOPPER_TOKEN_LIFETIME = timedelta(days=1)


def _sku(number: int) -> str:
    # Zero-padded, so SKU order is number order and "beyond N" is a string comparison.
    return f"BENCH-{number:06d}"


def _bench_store(username: str = BENCH_SELLER, name: str = BENCH_STORE) -> Store:
    user = User.objects.filter(username=username).first()
    if user is None:
        # Nobody logs in as a bench seller: it has no usable password.
        user = User(username=username, email=f"{username}@joycart.local", first_name="Bench")
        user.set_unusable_password()
        user.save()
    store = Store.objects.filter(user=user).first()
    return store or store_create(user=user, name=name, description="Load-benchmark fixture.")


def _placeholder_files() -> tuple[str, str]:
    """One shared picture for every bench product, so listings render real image URLs."""
    if not (default_storage.exists(IMAGE_NAME) and default_storage.exists(THUMBNAIL_NAME)):
        picture = placeholder_image(label="JC", brand=BENCH_STORE, colour=CATEGORY_COLOURS["electronics"])
        processed = image_process(ContentFile(picture, name="placeholder.jpg"))
        for name, content in ((IMAGE_NAME, processed.original), (THUMBNAIL_NAME, processed.thumbnail)):
            if default_storage.exists(name):
                default_storage.delete(name)
            default_storage.save(name, content)
    return IMAGE_NAME, THUMBNAIL_NAME


def _products_with_variant_create(rows: list[tuple[Product, ProductVariant]]) -> list[Product]:
    """Insert the products, then their variants, a batch at a time."""
    created = Product.objects.bulk_create([product for product, _variant in rows], batch_size=BATCH_SIZE)
    for product, variant in rows:
        variant.product = product
    ProductVariant.objects.bulk_create([variant for _product, variant in rows], batch_size=BATCH_SIZE)
    return created


def _store_skus(store: Store) -> set[str]:
    return set(ProductVariant.objects.filter(product__store=store).values_list("sku", flat=True))


# --- The read endpoints' catalogue ----------------------------------------------------------


@dataclass
class _Planned:
    """One bench product as it will be stored: the columns (by attribute name) of the product, its
    options and its variants. Plain dicts, not model instances: building 600,000 of those took
    most of the load's time."""

    product: dict
    options: list[dict]
    variants: list[dict]


def _values_offered(rng: random.Random, option: DemoOption, count: int) -> tuple[str, ...]:
    """`count` of the option's values, in its order: a run of sizes, or any few colours."""
    count = min(count, len(option.values))
    if option.contiguous:
        start = rng.randint(0, len(option.values) - count)
        return option.values[start : start + count]
    chosen = set(rng.sample(option.values, count))
    return tuple(value for value in option.values if value in chosen)


def _options_offered(rng: random.Random, shelf: DemoShelf) -> list[tuple[DemoOption, tuple[str, ...]]]:
    """What a product varies in: nothing (about 40%), or one or two options giving 2 to 6 variants."""
    if rng.random() < SINGLE_VARIANT_SHARE:
        return []
    own = shelf.options or (COLOUR_GADGET,)
    first, second = own[0], own[1] if len(own) > 1 else (PACK if own[0] != PACK else COLOUR_GADGET)
    wanted = rng.choice(VARIANT_COUNTS)
    if wanted <= len(first.values) and (wanted % 2 or rng.random() < ONE_OPTION_SHARE):
        return [(first, _values_offered(rng, first, wanted))]
    across = min(len(first.values), max(2, wanted // 2))
    down = min(len(second.values), max(2, round(wanted / across)))
    return [(first, _values_offered(rng, first, across)), (second, _values_offered(rng, second, down))]


def _product_plan(number: int, *, stores: list[Store], categories: dict, created_at: datetime) -> _Planned:
    """Bench product `number`, the same however many were seeded before it (its own seeded generator).

    Its first variant's SKU is `_sku(number)`; the others add their option codes. The summary
    columns are left at the first variant's values: `_summaries_write` computes them afterwards.
    """
    rng = random.Random(f"bench-{number}")  # noqa: S311 - fixture data, not secrets
    shelf = rng.choice(DEMO_SHELVES)
    line = rng.choice(shelf.lines)
    brand = rng.choice(shelf.brands)
    store = stores[(number - 1) % len(stores)]
    title = f"{brand} {line.noun}" if shelf.brand_in_title else line.noun
    base = rng.randrange(line.low, line.high + 1)
    markup = Decimal(rng.choice(("1.20", "1.35", "1.50"))) if rng.random() < 0.6 else None
    offered = _options_offered(rng, shelf)
    variants = []
    for position, values in enumerate(itertools.product(*(values for _option, values in offered))):
        factor, codes = 1.0, []
        for (option, _values), value in zip(offered, values, strict=True):
            factor *= option.factor(value)
            codes.append(option.codes[option.values.index(value)])
        price = Decimal(round(base * factor)).quantize(CENT)
        variants.append(
            {
                "sku": "-".join([_sku(number), *codes]) if position else _sku(number),
                "option1": values[0] if values else "",
                "option2": values[1] if len(values) > 1 else "",
                "price": price,
                "mrp": (price * markup).quantize(Decimal("1")) if markup else None,
                "stock": 0 if rng.random() < SOLD_OUT_SHARE else rng.randint(1, 60),
                "is_active": True,
                "position": position,
                "created_at": created_at,
                "updated_at": created_at,
            }
        )
    if len(variants) >= 3 and rng.random() < INACTIVE_VARIANT_SHARE:
        variants[-1]["is_active"] = False  # never the first: it names the product
    first = variants[0]
    product = {
        "store_id": store.pk,
        "title": title,
        "slug": f"{slugify(title)[:150]}-{slugify(_sku(number))}",
        "description": (
            f"{line.blurb} By {brand}. Dispatched within two working days; easy seven-day returns. "
            f"Sold by {store.name}."
        ),
        "category_id": categories[shelf.category].pk,
        "top_category_id": categories[shelf.category].top_category_id,
        "brand": brand,
        "price": first["price"],
        "price_max": first["price"],
        "mrp": first["mrp"],
        "stock": first["stock"],
        "is_active": True,
        "created_at": created_at,
        "updated_at": created_at,
    }
    options = [
        {"position": position, "name": option.name, "values": list(values)}
        for position, (option, values) in enumerate(offered, start=1)
    ]
    return _Planned(product, options, variants)


def _copy(cursor, model, rows: list[dict], *, with_pk: bool = False) -> None:
    """COPY `rows` into `model`'s table, PostgreSQL's fastest way in: one statement a table.

    A column a row does not give gets the field's default, as the model would; JSON is written as text."""
    fields = [field for field in model._meta.concrete_fields if with_pk or not field.primary_key]
    defaults = {field.attname: field.get_default() for field in fields}
    as_json = {field.attname for field in fields if isinstance(field, JSONField)}
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    with cursor.copy(f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
        for row in rows:
            values = [row.get(name, defaults[name]) for name in defaults]
            copy.write_row(
                [json.dumps(value) if name in as_json else value for name, value in zip(defaults, values, strict=True)]
            )


def _product_ids_reserve(count: int) -> list[int]:
    """Ids from the product table's own sequence, so the variants can point at products COPY has not written yet."""
    table = Product._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
        return [row[0] for row in cursor.fetchall()]


def _plans_insert(plans: list[_Planned], *, image_name: str, thumbnail_name: str) -> list[int]:
    """Store the planned products with their options, variants and picture; return their ids.

    PostgreSQL gets one COPY per table; SQLite, which has no COPY, bulk inserts."""
    products = [plan.product for plan in plans]
    if connection.vendor == "postgresql":
        ids = _product_ids_reserve(len(products))
        for product, product_id in zip(products, ids, strict=True):
            product["id"] = product_id
    else:
        created = Product.objects.bulk_create([Product(**product) for product in products], batch_size=BATCH_SIZE)
        ids = [product.pk for product in created]
    options, variants, images = [], [], []
    for plan, product_id in zip(plans, ids, strict=True):
        options += [{**option, "product_id": product_id} for option in plan.options]
        variants += [{**variant, "product_id": product_id} for variant in plan.variants]
        images.append(
            {
                "product_id": product_id,
                "image": image_name,
                "thumbnail": thumbnail_name,
                "alt": plan.product["title"],
                "position": 0,
                "created_at": plan.product["created_at"],
            }
        )
    children = ((ProductOption, options), (ProductVariant, variants), (ProductImage, images))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
            _copy(raw, Product, products, with_pk=True)
            for model, rows in children:
                _copy(raw, model, rows)
    else:
        for model, rows in children:
            model.objects.bulk_create([model(**row) for row in rows], batch_size=BATCH_SIZE)
    return ids


# The summary `catalog.services.summary.product_summary_refresh` writes, for many products in one
# statement: the cheapest active variant's price and MRP (ties: position, then id), the dearest
# one's price, the active variants' stock. Every bench product has an active variant (its first).
SUMMARIES_SQL = """
UPDATE {product} SET price = summary.price, price_max = summary.price_max, mrp = summary.mrp,
    stock = summary.stock
FROM (
    SELECT product_id, MIN(price) AS price, MAX(price) AS price_max, MAX(cheapest_mrp) AS mrp,
        SUM(stock) AS stock
    FROM (
        SELECT product_id, price, stock,
            FIRST_VALUE(mrp) OVER (PARTITION BY product_id ORDER BY price, position, id) AS cheapest_mrp
        FROM {variant}
        WHERE is_active AND product_id BETWEEN %s AND %s
    ) AS active
    GROUP BY product_id
) AS summary
WHERE {product}.id = summary.product_id
"""


def _summaries_write(first_id: int, last_id: int) -> None:
    """Each product's summary of its variants, set-wise over an id range (what the service writes per product)."""
    sql = SUMMARIES_SQL.format(
        product=connection.ops.quote_name(Product._meta.db_table),
        variant=connection.ops.quote_name(ProductVariant._meta.db_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [first_id, last_id])


def bench_stores() -> list[Store]:
    """The read endpoints' sellers: "Bench Store" and nine more, each selling every tenth product."""
    return [
        _bench_store(username, BENCH_STORE if number == 1 else f"{BENCH_STORE} {number:02d}")
        for number, username in enumerate(BENCH_SELLERS, start=1)
    ]


def bench_products() -> QuerySet:
    """Every product of the read endpoints' sellers, shown or hidden."""
    return Product.objects.filter(store__user__username__in=BENCH_SELLERS)


def _numbered_beyond(products: int) -> QuerySet:
    """The bench products numbered above `products` (their first variant's SKU says the number)."""
    return bench_products().filter(variants__position=0, variants__sku__gt=_sku(products))


def _numbers_present() -> set[int]:
    skus = ProductVariant.objects.filter(
        product__in=bench_products(), position=0, sku__regex=r"^BENCH-[0-9]{6}$"
    ).values_list("sku", flat=True)
    return {int(sku.removeprefix("BENCH-")) for sku in skus}


def _analyze() -> None:
    """Fresh planner statistics: a plan made for the empty tables would scan 100,000 rows as if 10.

    On PostgreSQL, outside a transaction (a bench run, not a test), VACUUM as well: the summaries and search
    documents are written after the COPY, which leaves two dead versions of every new product in the table and in
    each of its indexes until autovacuum comes, maybe in the middle of a measurement. Until then every index read
    that collects its matches before visiting the table (a search's bitmaps) reads three entries per product.
    """
    tables = [model._meta.db_table for model in CATALOGUE_MODELS]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
            cursor.execute(f"{command} " + ", ".join(connection.ops.quote_name(table) for table in tables))
        else:
            cursor.execute("ANALYZE")


def bench_seed(*, products: int) -> dict:
    """N products (with about 2.5 variants each) over the bench sellers; exactly N shown.

    Products a bigger earlier run made are hidden, not deleted; a rerun at a size already
    present only flips visibility. PostgreSQL loads with COPY, SQLite with bulk inserts; then
    the summaries and search documents are written set-wise, and the planner's statistics refreshed.
    """
    started = time.perf_counter()
    categories = demo_categories_ensure()
    stores = bench_stores()
    present = _numbers_present()
    missing = [number for number in range(1, products + 1) if number not in present]
    image_name, thumbnail_name = _placeholder_files()
    seconds = dict.fromkeys(("load", "summaries", "search", "analyze"), 0.0)
    # Product N was "created" N minutes after product 1, so newest-first is an order of real dates.
    epoch = timezone.now() - timedelta(minutes=products)
    with transaction.atomic():
        first_id = last_id = None
        for start in range(0, len(missing), CHUNK_SIZE):
            plans = [
                _product_plan(
                    number, stores=stores, categories=categories, created_at=epoch + timedelta(minutes=number)
                )
                for number in missing[start : start + CHUNK_SIZE]
            ]
            ids = _plans_insert(plans, image_name=image_name, thumbnail_name=thumbnail_name)
            first_id = min(ids) if first_id is None else min(first_id, *ids)
            last_id = max(ids) if last_id is None else max(last_id, *ids)
        seconds["load"] = time.perf_counter() - started
        if missing:
            mark = time.perf_counter()
            _summaries_write(first_id, last_id)
            seconds["summaries"] = time.perf_counter() - mark
            mark = time.perf_counter()
            search_vector_refresh(bench_products().filter(pk__range=(first_id, last_id)))
            seconds["search"] = time.perf_counter() - mark
        # Exactly N visible: products beyond N (from an earlier, bigger run) are hidden, not deleted.
        beyond = _numbered_beyond(products)
        bench_products().filter(pk__in=beyond.filter(is_active=True).values("pk")).update(is_active=False)
        bench_products().filter(is_active=False).exclude(pk__in=beyond.values("pk")).update(is_active=True)
        # The checkout, webhook and mixed scenarios' products are shown only while they run (their seeds).
        Product.objects.filter(
            store__user__username__in=[CHECKOUT_SELLER, WEBHOOK_SELLER, MIXED_SELLER], is_active=True
        ).update(is_active=False)
        bump_after_commit(structure=True)
    if missing:
        mark = time.perf_counter()
        _analyze()
        seconds["analyze"] = time.perf_counter() - mark
    visible = bench_products().filter(is_active=True)
    first = visible.filter(variants__sku=_sku(1)).values_list("slug", flat=True).first()
    report = {
        "products": visible.count(),
        "variants": ProductVariant.objects.filter(product__in=visible).count(),
        "stores": len(stores),
        "created": len(missing),
        "slug": first,
        "search": SEARCH_TERM,
        "search_matches": visible.filter(brand__iexact=SEARCH_TERM).count(),
        "seconds": round(time.perf_counter() - started, 2),
        "phase_seconds": {phase: round(value, 2) for phase, value in seconds.items()},
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return report


def bench_trim(*, products: int) -> dict:
    """Delete the bench products numbered above `products` with their rows (PostgreSQL only), so the
    tables hold what a shop of that size holds: hidden rows would still be scanned and indexed.

    Bench products are never ordered or reviewed; if one were, its order item protects it and this
    fails rather than delete a sale. Then VACUUM ANALYZE, so neither dead rows nor the statistics
    of the bigger catalogue stay behind.
    """
    started = time.perf_counter()
    doomed = list(_numbered_beyond(products).values_list("pk", flat=True))
    tables = {model: connection.ops.quote_name(model._meta.db_table) for model in (CartItem, *CATALOGUE_MODELS)}
    # Table names come from the models; the ids are bound parameters.
    with transaction.atomic(), connection.cursor() as cursor:
        variants = f"SELECT id FROM {tables[ProductVariant]} WHERE product_id = ANY(%s)"  # noqa: S608
        cursor.execute(f"DELETE FROM {tables[CartItem]} WHERE variant_id IN ({variants})", [doomed])  # noqa: S608
        for model in (ProductVariant, ProductOption, ProductImage):
            cursor.execute(f"DELETE FROM {tables[model]} WHERE product_id = ANY(%s)", [doomed])  # noqa: S608
        cursor.execute(f"DELETE FROM {tables[Product]} WHERE id = ANY(%s)", [doomed])  # noqa: S608
        bump_after_commit(structure=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE " + ", ".join(tables[model] for model in CATALOGUE_MODELS))
    report = {"deleted": len(doomed), "seconds": round(time.perf_counter() - started, 2)}
    sys.stdout.write(json.dumps(report) + "\n")
    return report


def _cookie_for(user: User) -> str:
    """The Cookie header of `user` logged in, minted rather than logged in (no login throttle).

    The token outlives any run, so it never expires mid-round; it dies with the run anyway,
    signed with the run's fresh secret key. It is never printed.
    """
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=SHOPPER_TOKEN_LIFETIME)
    return f"{settings.JWT_ACCESS_COOKIE}={token}"


def bench_shopper_cookie() -> str:
    """The logged-in rows' shopper, `bench_shopper_01`."""
    [shopper] = _buyers(1, prefix=SHOPPER_PREFIX)
    return _cookie_for(shopper)


def bench_seller_cookie() -> str:
    """The first bench seller's, for the seller portal's pages."""
    return _cookie_for(bench_stores()[0].user)


# --- The checkout scenario ----------------------------------------------------------------


def _checkout_sku(number: int) -> str:
    return f"BENCH-CO-{number:06d}"


def _buyers(count: int, prefix: str = BUYER_PREFIX) -> list[User]:
    """`bench_buyer_01`... with one default address each. They never log in: run.py mints their tokens."""
    names = [f"{prefix}{number:02d}" for number in range(1, count + 1)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    fresh = []
    for name in names:
        if name not in existing:
            user = User(username=name, email=f"{name}@joycart.local", first_name="Bench")
            user.set_unusable_password()
            fresh.append(user)
    User.objects.bulk_create(fresh)
    users = list(User.objects.filter(username__in=names).order_by("username"))
    with_address = set(Address.objects.filter(user__in=users).values_list("user_id", flat=True))
    Address.objects.bulk_create(
        Address(
            user=user,
            name=f"Bench Buyer {user.username[len(prefix) :]}",
            phone="9876543210",
            line1="1 Load Test Lane",
            city="Bengaluru",
            state="KA",
            pincode="560001",
            is_default=True,
        )
        for user in users
        if user.pk not in with_address
    )
    return users


def _checkout_products(store: Store, count: int, categories: dict) -> None:
    wanted = {_checkout_sku(number): f"Bench Checkout Item {number}" for number in range(1, count + 1)}
    wanted[HOT_SKU] = "Bench Hot Deal"
    _products_missing_create(store, wanted, category=categories["electronics"], is_active=False)


def _products_missing_create(store: Store, wanted: dict[str, str], *, category, is_active: bool) -> None:
    """Create the products of `wanted` (SKU -> title) that `store` lacks, each with one variant of that
    SKU, out of stock; a rerun adds nothing."""
    existing = _store_skus(store)
    _products_with_variant_create(
        [
            (
                Product(
                    store=store,
                    title=title,
                    slug=slugify(f"{title}-{sku}"),
                    category=category,
                    price=CHECKOUT_PRICE,
                    price_max=CHECKOUT_PRICE,
                    stock=0,
                    is_active=is_active,
                ),
                ProductVariant(sku=sku, price=CHECKOUT_PRICE, stock=0),
            )
            for sku, title in wanted.items()
            if sku not in existing
        ]
    )


def _variant_stock_set(products: QuerySet, *, stock: int) -> None:
    """Set the stock of these products' variants, and their summaries with it (no sale runs meanwhile)."""
    ProductVariant.objects.filter(product__in=products).update(stock=stock)
    product_summary_refresh(product_ids=products.values_list("pk", flat=True))


def _bench_orders() -> QuerySet:
    return Order.objects.filter(buyer__username__startswith=BUYER_PREFIX)


def _order_placed_tasks(orders: QuerySet) -> QuerySet:
    """The database queue's "order placed" mail tasks of `orders`, each with its `order_id`.

    The task's only argument is the order's id (`kwargs.order_id` in the row's JSON), so the
    rows are matched on it; no run of the bench starts a worker, so they are still there.
    """
    return (
        DBTaskResult.objects.filter(task_path=ORDER_PLACED_TASK)
        .annotate(order_id=Cast(KT("args_kwargs__kwargs__order_id"), BigIntegerField()))
        .filter(order_id__in=orders.values("pk"))
    )


def bench_checkout_seed(*, buyers: int, products: int, hot_stock: int) -> dict:
    """Buyers, their addresses and tokens; `products` products with ample stock; the hot product
    with exactly `hot_stock`. The previous run's bench orders are deleted, so every run starts
    from the same state and the hot product's orders are this run's alone. Their queued mail
    tasks go with them, so runs do not pile up rows in the task queue."""
    started = time.perf_counter()
    categories = demo_categories_ensure()
    store = _bench_store(CHECKOUT_SELLER, CHECKOUT_STORE)
    users = _buyers(buyers)
    with transaction.atomic():
        deleted_tasks, _ = _order_placed_tasks(_bench_orders()).delete()
        deleted = _bench_orders().count()
        GatewayCapture.objects.filter(payment__order__in=_bench_orders()).delete()  # the ledger protects payments
        _bench_orders().delete()
        _checkout_products(store, products, categories)
        mine = Product.objects.filter(store=store)
        mine.update(is_active=False)
        numbered = mine.filter(variants__sku__in=[_checkout_sku(number) for number in range(1, products + 1)])
        _variant_stock_set(numbered, stock=CHECKOUT_STOCK)
        numbered.update(is_active=True)
        hot = mine.filter(variants__sku=HOT_SKU)
        _variant_stock_set(hot, stock=hot_stock)
        hot.update(is_active=True)
        bump_after_commit(structure=True)
    addresses = dict(Address.objects.filter(user__in=users, is_default=True).values_list("user_id", "pk"))
    report = {
        "buyers": [
            {"username": user.username, "token": str(AccessToken.for_user(user)), "address_id": addresses[user.pk]}
            for user in users
        ],
        "product_ids": list(numbered.order_by("variants__sku").values_list("pk", flat=True)),
        "hot_product_id": hot.get().pk,
        "hot_stock": hot_stock,
        "deleted_orders": deleted,
        "deleted_mail_tasks": deleted_tasks,
        "seconds": round(time.perf_counter() - started, 2),
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return report


def bench_checkout_count(*, hot_product_id: int) -> dict:
    """What the database says was sold: the bench buyers' orders, and the hot product's units.

    Also how many "order placed" mail tasks each bench order queued, as {tasks: orders}: a
    run where every order queued exactly one has {1: orders}. One query counts them per order;
    orders it does not list queued none.
    """
    orders = _bench_orders()
    hot_items = OrderItem.objects.filter(order__in=orders, product_id=hot_product_id).exclude(
        status=OrderItemStatus.CANCELLED
    )
    order_count = orders.count()
    per_order = (
        _order_placed_tasks(orders).values("order_id").annotate(tasks=Count("pk")).values_list("tasks", flat=True)
    )
    tasks_per_order = Counter(per_order)  # {tasks: orders}, over the orders that queued any
    if order_count > tasks_per_order.total():
        tasks_per_order[0] = order_count - tasks_per_order.total()
    report = {
        "orders": order_count,
        "mail_tasks": sum(tasks * count for tasks, count in tasks_per_order.items()),
        "mail_tasks_per_order": {str(tasks): tasks_per_order[tasks] for tasks in sorted(tasks_per_order)},
        "hot_orders": hot_items.values("order_id").distinct().count(),
        "hot_sold": hot_items.aggregate(units=Sum("quantity"))["units"] or 0,
        # The variant's own stock, not the product's summary: the count must not trust what it checks.
        "hot_stock_left": ProductVariant.objects.filter(product_id=hot_product_id).aggregate(left=Sum("stock"))["left"],
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return report


# --- The webhook scenario -----------------------------------------------------------------

PAYER_PREFIX = "bench_payer_"  # not BUYER_PREFIX: the checkout scenario deletes and counts its own
WEBHOOK_STORE = "Bench Webhook Store"
WEBHOOK_PRODUCTS = 40
WEBHOOK_PRODUCT_STOCK = 1_000_000
ITEMS_PER_ORDER = (1, 1, 2, 3)  # drawn per order: most orders hold one item, some several
# The warm-up's deliveries: an event Razorpay sends and JoyCart has no handler for, so each is
# stored and ignored, through the same code as the measured ones, about no bench order.
WARMUP_EVENT = "payment.authorized"
WARMUP_ID_PREFIX = "evt_benchwarmup_"


def _webhook_orders() -> QuerySet:
    return Order.objects.filter(buyer__username__startswith=PAYER_PREFIX)


def _webhook_events_of(orders: QuerySet) -> QuerySet:
    """The stored webhook events about `orders`' payments (matched on the gateway order id)."""
    gateway_orders = Payment.objects.filter(order__in=orders, gateway_order_id__isnull=False)
    return WebhookEvent.objects.annotate(gateway_order_id=KT("payload__payload__payment__entity__order_id")).filter(
        gateway_order_id__in=gateway_orders.values("gateway_order_id")
    )


def _tasks_about_orders(orders: QuerySet) -> QuerySet:
    """Queued tasks whose argument is one of `orders` (mails, the payment deadline)."""
    return DBTaskResult.objects.annotate(order_id=Cast(KT("args_kwargs__kwargs__order_id"), BigIntegerField())).filter(
        order_id__in=orders.values("pk")
    )


def _webhook_cleanup() -> dict:
    """Delete the last webhook run: its orders, their events, every task about them and the drains.

    The checkout scenario's order mails are deleted too if still queued: that scenario runs no
    worker and has counted them already, and this scenario's worker would otherwise send them
    and count their time in its drain.
    """
    with transaction.atomic():
        events = _webhook_events_of(_webhook_orders())
        event_pks = list(events.values_list("pk", flat=True))
        deleted_tasks, _ = DBTaskResult.objects.filter(task_path=DRAIN_TASK_PATH).exclude(status="RUNNING").delete()
        deleted_tasks += _tasks_about_orders(_webhook_orders()).delete()[0]
        deleted_checkout_mails, _ = _order_placed_tasks(_bench_orders()).filter(status="READY").delete()
        deleted_events, _ = WebhookEvent.objects.filter(pk__in=event_pks).delete()
        WebhookEvent.objects.filter(event_id__startswith=WARMUP_ID_PREFIX).delete()
        deleted_orders = _webhook_orders().count()
        GatewayCapture.objects.filter(payment__order__in=_webhook_orders()).delete()  # the ledger protects payments
        _webhook_orders().delete()
    return {
        "deleted_orders": deleted_orders,
        "deleted_events": deleted_events,
        "deleted_tasks": deleted_tasks,
        "deleted_checkout_mails": deleted_checkout_mails,
    }


def _webhook_variants() -> list[int]:
    """The webhook store's products, shown and stocked; returns their variants' ids, in SKU order."""
    store = _bench_store(WEBHOOK_SELLER, WEBHOOK_STORE)
    categories = demo_categories_ensure()
    wanted = {f"BENCH-WH-{number:03d}": f"Bench Webhook Item {number}" for number in range(1, WEBHOOK_PRODUCTS + 1)}
    _products_missing_create(store, wanted, category=categories["electronics"], is_active=True)
    mine = Product.objects.filter(store=store, variants__sku__in=wanted)
    with transaction.atomic():
        _variant_stock_set(mine, stock=WEBHOOK_PRODUCT_STOCK)
        mine.update(is_active=True)
        bump_after_commit(structure=True)
    return list(ProductVariant.objects.filter(product__in=mine).order_by("sku").values_list("pk", flat=True))


def _warmup_events(count: int, *, run: str) -> list[dict]:
    """Signed `payment.authorized` deliveries about no order, for the warm-up before the timed load."""
    events = []
    for number in range(count):
        payment = {
            "id": f"pay_bw{run}{number}",
            "entity": "payment",
            "amount": 49_900,
            "currency": "INR",
            "status": "authorized",
            "method": "upi",
        }
        body = event_body(WARMUP_EVENT, {"payment": payment}, account_id="acc_bench")
        events.append(
            {
                "id": f"{WARMUP_ID_PREFIX}{run}_{number}",
                "name": WARMUP_EVENT,
                "body": body.decode(),
                "signature": sign(body, settings.RAZORPAY_WEBHOOK_SECRET),
            }
        )
    return events


def bench_webhook_seed(
    *, distinct_events: int, payers: int = 16, seed: int = 5, warmup: int = WARMUP_DELIVERIES
) -> dict:
    """Online orders awaiting payment, placed through the real cart and checkout, and the gateway's
    signed events about them in the mix of bench/webhooks.py.

    The gateway is a sandbox started in this process (its webhooks held, never sent), signing
    with the settings' webhook secret: the one the bench's gunicorn verifies with. Returns the
    events ({"id", "name", "body", "signature"}) in the order they happened, the mix, and the
    counts the database must reach once they are all processed; and `warmup` deliveries for the
    warm-up (`_warmup_events`), which no count includes.
    """
    started = time.perf_counter()
    cleaned = _webhook_cleanup()
    users = _buyers(payers, prefix=PAYER_PREFIX)
    addresses = dict(Address.objects.filter(user__in=users, is_default=True).values_list("user_id", "pk"))
    variant_ids = _webhook_variants()
    mix = webhook_mix(distinct_events)
    kinds = [kind for kind, count in mix.items() for _ in range(count)]
    rng = random.Random(seed)  # noqa: S311 - fixture data, not secrets
    rng.shuffle(kinds)
    sandbox = SandboxGateway(settings.RAZORPAY_KEY_ID, settings.RAZORPAY_KEY_SECRET, settings.RAZORPAY_WEBHOOK_SECRET)
    sandbox.webhook_mode("never")
    base_url, settings.RAZORPAY_BASE_URL = settings.RAZORPAY_BASE_URL, sandbox.start().base_url
    get_gateway.cache_clear()
    events, items_placing, run = [], 0, f"{time.time_ns():x}"
    try:
        for number, kind in enumerate(kinds):
            buyer = users[number % len(users)]
            lines = rng.sample(variant_ids, rng.choice(ITEMS_PER_ORDER))
            for variant_id in lines:
                cart_item_add(user=buyer, variant_id=variant_id, quantity=1)
            order, _created = checkout_place(
                buyer=buyer,
                source="cart",
                address_id=addresses[buyer.pk],
                payment_method="ONLINE",
                idempotency_key=f"bench-webhook-{run}-{number}",
            )
            gateway_order_id = Payment.objects.values_list("gateway_order_id", flat=True).get(order=order)
            if kind in PLACING_KINDS:
                sandbox.pay(gateway_order_id)
                items_placing += len(lines)
                emitted = sandbox.events[-2:]
            else:
                sandbox.fail(gateway_order_id)
                emitted = sandbox.events[-1:]
            events += [
                {
                    "id": event.id,
                    "name": event.name,
                    "body": event.body.decode(),
                    "signature": event.headers["X-Razorpay-Signature"],
                }
                for event in emitted
                if event.name in KIND_EVENTS[kind]
            ]
    finally:
        sandbox.stop()
        settings.RAZORPAY_BASE_URL = base_url
        get_gateway.cache_clear()
    report = {
        **cleaned,
        "orders": len(kinds),
        "mix": mix,
        "expected": expected_counts(mix=mix, items_placing=items_placing),
        "events": events,
        "warmup": _warmup_events(warmup, run=run),
        # Tasks another scenario left due in the queue: this scenario's worker runs them too.
        "backlog_tasks": DBTaskResult.objects.ready().exclude(task_path=DRAIN_TASK_PATH).count(),
        "seconds": round(time.perf_counter() - started, 2),
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return report


def _webhooks_outstanding() -> int:
    """Events not processed yet, and drain tasks still waiting or running."""
    pending = WebhookEvent.objects.filter(outcome=WebhookOutcome.PENDING).count()
    return pending + DBTaskResult.objects.filter(task_path=DRAIN_TASK_PATH, status__in=["READY", "RUNNING"]).count()


def bench_webhook_drain(*, load_ended_at: float, timeout: float, poll: float = 0.1) -> dict:
    """Wait until the worker has processed every stored event (or `timeout` seconds since the load
    ended, a Unix time), then say when the last one was processed, from the events' own times."""
    deadline = load_ended_at + timeout
    left = _webhooks_outstanding()
    while left and time.time() < deadline:
        time.sleep(poll)
        left = _webhooks_outstanding()
    times = _webhook_events_of(_webhook_orders()).aggregate(first=Min("received_at"), last=Max("processed_at"))
    report = {"drained": left == 0, "left": left, "drain_s": None, "end_to_end_s": None}
    if left == 0 and times["last"] is not None:
        last = times["last"].timestamp()
        report["drain_s"] = round(max(last - load_ended_at, 0.0), 2)
        report["end_to_end_s"] = round(last - times["first"].timestamp(), 2)
    sys.stdout.write(json.dumps(report) + "\n")
    return report


def bench_webhook_count() -> dict:
    """What the database holds about the webhook run's orders, in bench/webhooks.py's CHECKED terms."""
    orders = _webhook_orders()
    payments = Payment.objects.filter(order__in=orders)
    outcomes = Counter(_webhook_events_of(orders).values_list("outcome", flat=True))
    report = {
        "orders": orders.count(),
        "orders_placed": orders.filter(status=OrderStatus.PLACED).count(),
        "items_placed": OrderItem.objects.filter(order__in=orders, status=OrderItemStatus.PLACED).count(),
        "placements": OrderEvent.objects.filter(
            order__in=orders, from_status=OrderItemStatus.PENDING_PAYMENT, to_status=OrderItemStatus.PLACED
        ).count(),
        "orders_still_awaiting": orders.filter(status=OrderStatus.PENDING_PAYMENT).count(),
        "failures_recorded": payments.filter(failed_at__isnull=False).count(),
        "events_stored": outcomes.total(),
        "events_processed": outcomes[WebhookOutcome.PROCESSED],
        "events_ignored": outcomes[WebhookOutcome.IGNORED],
        "events_failed": outcomes[WebhookOutcome.FAILED],
        "events_pending": outcomes[WebhookOutcome.PENDING],
        "flagged": GatewayCapture.objects.filter(payment__in=payments, outcome=CaptureOutcome.FLAGGED).count(),
        "mail_tasks": _order_placed_tasks(orders).count(),
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return report
