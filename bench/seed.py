"""The benchmark's catalog: N products in a "Bench Store", created fast and idempotently.

Run inside Django by bench/run.py:
    manage.py shell --no-imports -c "from bench.seed import bench_seed; bench_seed(products=5000)"
It writes one JSON line (what it made, a product slug, a search term) for run.py to read.

Unlike the demo catalog this skips `product_create`: 5,000 rows one by one would take minutes,
so it bulk-inserts and then does in bulk what the service does per row (slugs, the search
vector, a listing-cache bump). That is acceptable for a benchmark fixture only; shop code
creates products through the service.
"""

import json
import random
import sys
import time
from decimal import Decimal

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.text import slugify

from accounts.models import Store, User
from accounts.services.stores import store_create
from catalog.cache import bump_after_commit
from catalog.demo import CATEGORY_COLOURS, DEMO_SHELVES, demo_categories_ensure, placeholder_image
from catalog.images import image_process
from catalog.models import Product, ProductImage
from catalog.services.products import search_vector_refresh

BENCH_SELLER = "bench_seller"
BENCH_STORE = "Bench Store"
# A brand on two shelves (mobile accessories and audio): about one product in fifteen.
SEARCH_TERM = "Zentra"
BATCH_SIZE = 500
IMAGE_NAME = "products/bench/placeholder.jpg"
THUMBNAIL_NAME = "products/bench/placeholder-thumb.webp"


def _sku(number: int) -> str:
    # Zero-padded, so SKU order is number order and "beyond N" is a string comparison.
    return f"BENCH-{number:06d}"


def _bench_store() -> Store:
    user = User.objects.filter(username=BENCH_SELLER).first()
    if user is None:
        # Nobody logs in as the bench seller: it has no usable password.
        user = User(username=BENCH_SELLER, email="bench_seller@joycart.local", first_name="Bench")
        user.set_unusable_password()
        user.save()
    store = Store.objects.filter(user=user).first()
    return store or store_create(user=user, name=BENCH_STORE, description="Load-benchmark fixture.")


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


def _product_rows(store: Store, numbers: list[int], categories: dict) -> list[Product]:
    rows = []
    for number in numbers:
        # Seeded per number: product N looks the same however many were seeded before it.
        rng = random.Random(f"bench-{number}")  # noqa: S311 - fixture data, not secrets
        shelf = rng.choice(DEMO_SHELVES)
        line = rng.choice(shelf.lines)
        variant = rng.choice(shelf.variants)
        brand = rng.choice(shelf.brands)
        title = f"{brand} {line.noun} ({variant})" if shelf.brand_in_title else f"{line.noun} ({variant})"
        price = Decimal(rng.randrange(line.low, line.high + 1)).quantize(Decimal("0.01"))
        mrp = (
            (price * Decimal(rng.choice(("1.20", "1.35", "1.50")))).quantize(Decimal("1"))
            if rng.random() < 0.6
            else None
        )
        rows.append(
            Product(
                store=store,
                title=title,
                slug=f"{slugify(title)[:150]}-{slugify(_sku(number))}",
                description=(
                    f"{line.blurb} Variant: {variant}. By {brand}. Dispatched within two working days; "
                    "easy seven-day returns. Sold by Bench Store."
                ),
                category=categories[shelf.category],
                brand=brand,
                sku=_sku(number),
                price=price,
                mrp=mrp,
                stock=rng.randint(0, 60),
                is_active=True,
            )
        )
    return rows


def bench_seed(*, products: int) -> dict:
    started = time.perf_counter()
    categories = demo_categories_ensure()
    store = _bench_store()
    existing = set(Product.objects.filter(store=store).values_list("sku", flat=True))
    missing = [number for number in range(1, products + 1) if _sku(number) not in existing]
    image_name, thumbnail_name = _placeholder_files()
    with transaction.atomic():
        for start in range(0, len(missing), BATCH_SIZE):
            created = Product.objects.bulk_create(
                _product_rows(store, missing[start : start + BATCH_SIZE], categories), batch_size=BATCH_SIZE
            )
            ProductImage.objects.bulk_create(
                [
                    ProductImage(product=product, image=image_name, thumbnail=thumbnail_name, alt=product.title)
                    for product in created
                ],
                batch_size=BATCH_SIZE,
            )
        # Exactly N visible: products beyond N (from an earlier, bigger run) are hidden, not deleted.
        mine = Product.objects.filter(store=store)
        mine.filter(sku__gt=_sku(products), is_active=True).update(is_active=False)
        mine.filter(sku__lte=_sku(products), is_active=False).update(is_active=True)
        if missing:
            search_vector_refresh(mine)
        bump_after_commit()
    first = Product.objects.filter(store=store, sku=_sku(1)).values_list("slug", flat=True).first()
    report = {
        "products": mine.filter(is_active=True).count(),
        "created": len(missing),
        "slug": first,
        "search": SEARCH_TERM,
        "search_matches": mine.filter(is_active=True, brand__iexact=SEARCH_TERM).count(),
        "seconds": round(time.perf_counter() - started, 2),
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return report
