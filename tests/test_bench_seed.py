"""The benchmark's catalogue (bench/seed.py's `bench_seed`), on whichever database the suite runs.

The seeder skips the services for speed (COPY on PostgreSQL, bulk inserts on SQLite) and writes
the products' summaries and search documents set-wise, so these tests hold what it stored
against what the services themselves would write.
"""

from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count, F

from bench.seed import BENCH_SELLERS, bench_seed
from catalog.demo import DEMO_CATEGORIES
from catalog.models import Category, Product, ProductImage, ProductOption, ProductVariant
from catalog.services.products import search_vector_refresh
from catalog.services.summary import product_summary_refresh

pytestmark = pytest.mark.django_db

SUMMARY = ("price", "price_max", "mrp", "stock", "search_vector")


def _stored() -> dict[int, tuple]:
    return {row[0]: row[1:] for row in Product.objects.values_list("pk", *SUMMARY)}


def _as_the_services_write_them() -> dict[int, tuple]:
    """What the services write from the same variants (this rewrites the rows: read `_stored()` first)."""
    product_summary_refresh(product_ids=list(Product.objects.values_list("pk", flat=True)))
    search_vector_refresh(Product.objects.all())
    return _stored()


def _rows() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Product, ProductVariant, ProductOption, ProductImage)}


@pytest.fixture
def seeded(capsys):
    report = bench_seed(products=200)
    capsys.readouterr()  # the JSON line for run.py
    return report


def test_every_product_has_its_variants_options_and_picture(seeded):
    counts = Counter(Product.objects.annotate(n=Count("variants")).values_list("n", flat=True))

    assert (seeded["products"], seeded["created"]) == (200, 200)
    assert seeded["variants"] == ProductVariant.objects.count() == sum(n * products for n, products in counts.items())
    assert set(counts) <= set(range(1, 7)), "one variant, or 2 to 6"
    assert 0.3 <= counts[1] / 200 <= 0.5, "about 40% have a single variant"
    assert 2.2 <= seeded["variants"] / 200 <= 2.9, "about 2.5 variants a product"
    assert ProductImage.objects.count() == 200
    for product in Product.objects.prefetch_related("options", "variants"):
        options, variants = list(product.options.all()), list(product.variants.all())
        assert len(options) <= 2
        # Each variant is one combination of the option values the product offers.
        combinations = {variant.option_values for variant in variants}
        expected = 1
        for option in options:
            expected *= len(option.values)
        assert len(combinations) == len(variants) == expected
        for variant in variants:
            assert len(variant.option_values) == len(options)
            assert all(value in option.values for value, option in zip(variant.option_values, options, strict=True))
    assert ProductOption.objects.values("product_id").annotate(n=Count("pk")).filter(n=2).exists(), "Size x Colour"


def test_products_spread_over_ten_sellers_and_every_demo_shelf(seeded):
    per_store = Counter(Product.objects.values_list("store__user__username", flat=True))
    parents = {category.parent for category in DEMO_CATEGORIES}
    leaves = {category.slug for category in DEMO_CATEGORIES if category.slug not in parents}

    assert set(per_store) == set(BENCH_SELLERS) and len(BENCH_SELLERS) == 10
    assert set(per_store.values()) == {20}
    assert set(Product.objects.values_list("category__slug", flat=True)) == leaves


def test_each_product_is_listed_under_the_top_level_category_a_save_would_give_it(seeded):
    stored = dict(Product.objects.values_list("pk", "top_category_id"))
    for product in Product.objects.select_related("category"):
        product.save(update_fields=["category"])

    assert dict(Product.objects.values_list("pk", "top_category_id")) == stored
    assert set(Product.objects.values_list("top_category__parent", flat=True)) == {None}
    assert Product.objects.exclude(top_category_id=F("category_id")).exists(), "shelves under a parent"


def test_summaries_and_search_documents_are_what_the_services_write(seeded):
    # Cases where the summary is not simply the first variant's, so a sloppy rewrite would show.
    active = ProductVariant.objects.filter(is_active=True)
    assert ProductVariant.objects.filter(is_active=False).exists()
    assert active.filter(stock=0).exists()
    assert Product.objects.exclude(price=F("price_max")).exists()

    stored = _stored()

    assert stored == _as_the_services_write_them()
    if connection.vendor == "postgresql":
        assert all(row[-1] for row in stored.values()), "every product has a search document"
        assert set(Product.objects.filter(search_vector="Zentra").values_list("brand", flat=True)) == {"Zentra"}


def test_seeding_again_at_the_same_size_creates_nothing_and_changes_nothing(seeded, capsys):
    before, rows = _stored(), _rows()

    again = bench_seed(products=200)

    assert (again["created"], again["products"]) == (0, 200)
    assert (_rows(), _stored()) == (rows, before)
    capsys.readouterr()


def test_a_smaller_size_hides_the_rest_and_a_bigger_one_adds_the_same_products_a_fresh_seed_makes(seeded, capsys):
    fewer = bench_seed(products=150)

    assert (fewer["products"], fewer["created"]) == (150, 0)
    hidden = ProductVariant.objects.filter(product__is_active=False, position=0).values_list("sku", flat=True)
    assert set(hidden) == {f"BENCH-{number:06d}" for number in range(151, 201)}

    more = bench_seed(products=230)

    assert (more["products"], more["created"]) == (230, 30)
    assert Product.objects.filter(is_active=True).count() == 230
    assert _stored() == _as_the_services_write_them()
    capsys.readouterr()


def test_product_n_is_the_same_however_many_came_before_it(capsys):
    bench_seed(products=5)
    by_sku = {
        sku: (title, price, option1)
        for sku, title, price, option1 in ProductVariant.objects.values_list(
            "sku", "product__title", "price", "option1"
        )
    }
    Product.objects.all().delete()

    bench_seed(products=8)

    after = {
        sku: (title, price, option1)
        for sku, title, price, option1 in ProductVariant.objects.values_list(
            "sku", "product__title", "price", "option1"
        )
    }
    assert by_sku.items() <= after.items()
    assert Category.objects.count() == len(DEMO_CATEGORIES)
    capsys.readouterr()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # VACUUM cannot run inside the test's transaction
def test_trimming_deletes_the_products_beyond_n_with_their_rows_and_keeps_the_rest_as_they_were(capsys):
    from bench.seed import bench_trim

    bench_seed(products=40)
    kept = ProductVariant.objects.filter(position=0, sku__lte="BENCH-000025").values_list("product_id", flat=True)
    before = {pk: row for pk, row in _stored().items() if pk in set(kept)}

    trimmed = bench_trim(products=25)

    assert trimmed["deleted"] == 15
    assert Product.objects.count() == ProductImage.objects.count() == 25
    assert set(ProductVariant.objects.values_list("product_id", flat=True)) == set(before)
    assert set(ProductOption.objects.values_list("product_id", flat=True)) <= set(before)
    assert _stored() == before
    assert bench_seed(products=25)["created"] == 0
    capsys.readouterr()
