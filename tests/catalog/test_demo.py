import itertools
import re
from io import BytesIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import F
from PIL import Image

from accounts.management.commands import seed_demo
from accounts.models import Store
from catalog.demo import (
    DEMO_CATEGORIES,
    INACTIVE_VARIANT_COUNT,
    LOW_STOCK_COUNT,
    OUT_OF_STOCK_COUNT,
    SOLD_OUT_VARIANT_COUNT,
    demo_products,
    placeholder_image,
    seed_catalog,
)
from catalog.models import LOW_STOCK_THRESHOLD, Category, Product, ProductImage, ProductVariant


def _files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def _variants_snapshot() -> list[tuple]:
    return list(
        ProductVariant.objects.order_by("sku").values_list(
            "sku", "product__title", "option1", "option2", "price", "mrp", "stock", "is_active"
        )
    )


@pytest.mark.django_db
def test_seed_demo_builds_the_demo_catalog_once_and_finishes_what_is_missing(media_root, capsys):
    specs = demo_products()
    call_command("seed_demo")
    out = capsys.readouterr().out

    assert Category.objects.count() == len(DEMO_CATEGORIES)
    assert Category.objects.filter(parent__isnull=True).count() == 8
    assert not Category.objects.filter(parent__parent__isnull=False).exists(), "a parent never has a parent"
    variant_count = sum(len(spec.variants) for spec in specs)
    assert (Product.objects.count(), ProductVariant.objects.count()) == (len(specs), variant_count)
    assert Product.objects.filter(stock=0).count() == OUT_OF_STOCK_COUNT
    assert Product.objects.filter(stock__gte=1, stock__lte=5).count() == LOW_STOCK_COUNT
    assert Product.objects.filter(mrp__gt=0).count() > 25
    for store in Store.objects.all():
        assert store.products.count() >= 25, store.name
    assert (
        f"Catalog: 8 categories (+4 sub-categories), {len(specs)} products ({variant_count} variants), "
        f"{OUT_OF_STOCK_COUNT} out of stock" in out
    )

    images = list(ProductImage.objects.all())
    assert len(images) == len(specs)
    assert {image.product_id for image in images} == set(Product.objects.values_list("pk", flat=True))
    for image in images:
        assert Path(image.image.path).is_relative_to(media_root)
        assert Path(image.image.path).is_file() and Path(image.thumbnail.path).is_file()
    files = len(_files(media_root))
    assert files == 2 * len(specs)

    snapshot = _variants_snapshot()
    call_command("seed_demo")

    assert Category.objects.count() == len(DEMO_CATEGORIES)
    assert _variants_snapshot() == snapshot
    assert ProductImage.objects.count() == len(specs)
    assert len(_files(media_root)) == files

    # A run stopped between creating a product and adding its picture is finished next time.
    unfinished = ProductVariant.objects.get(sku=specs[0].sku).product
    unfinished.images.all().delete()
    seed_catalog()
    assert Product.objects.count() == len(specs)
    assert unfinished.images.count() == 1


def seed_catalog_after_users() -> None:
    """The catalog step alone, after the demo sellers it needs (no orders take stock)."""
    seed_demo.seed_users()
    seed_catalog()


@pytest.mark.django_db
def test_seed_demo_writes_each_product_with_its_options_variants_and_summary(media_root):
    seed_catalog_after_users()
    specs = {spec.sku: spec for spec in demo_products()}

    products = Product.objects.prefetch_related("options", "variants")
    assert len(products) == len(specs)
    for product in products:
        variants = list(product.variants.all())
        spec = specs[variants[0].sku]
        assert product.title == spec.title
        assert [(option.position, option.name, option.values) for option in product.options.all()] == [
            (position, name, list(values)) for position, (name, values) in enumerate(spec.options, start=1)
        ]
        assert [
            (variant.sku, variant.option_values, variant.price, variant.mrp, variant.stock, variant.is_active)
            for variant in variants
        ] == [
            (variant.sku, variant.values, variant.price, variant.mrp, variant.stock, variant.is_active)
            for variant in spec.variants
        ]
        active = [variant for variant in variants if variant.is_active]
        cheapest = min(active, key=lambda variant: (variant.price, variant.position))
        assert (product.price, product.mrp, product.price_max, product.stock) == (
            cheapest.price,
            cheapest.mrp,
            max(variant.price for variant in active),
            sum(variant.stock for variant in active),
        ), product.title
    assert ProductVariant.objects.filter(is_active=False).count() == INACTIVE_VARIANT_COUNT
    sold_out_inside = ProductVariant.objects.filter(stock=0, is_active=True, product__stock__gt=LOW_STOCK_THRESHOLD)
    assert sold_out_inside.count() == SOLD_OUT_VARIANT_COUNT
    assert Product.objects.filter(price_max__gt=F("price")).exists(), "sizes that cost more show a price range"


def test_demo_products_are_deterministic_and_plausible():
    products = demo_products()
    variants = [variant for product in products for variant in product.variants]

    assert products == demo_products()
    assert len({variant.sku.lower() for variant in variants}) == len(variants)
    assert all(re.fullmatch(r"(PH|RG)-[A-Z]{3}-\d{3}(-[A-Z0-9]+){0,2}", variant.sku) for variant in variants)
    assert all(variant.mrp is None or variant.mrp > variant.price for variant in variants)
    assert all(variant.price >= 149 and variant.price <= 24999 for variant in variants)
    assert all(variant.price == variant.price.quantize(1) for variant in variants), "whole rupees"
    for product in products:
        assert all(variant.sku.startswith(product.code) for variant in product.variants)
        combinations = list(itertools.product(*(values for _name, values in product.options)))
        assert [variant.values for variant in product.variants] == combinations, product.title
        assert any(variant.is_active for variant in product.variants)
        assert "(" not in product.title, "options are variants now, not words in the title"
    several = [product for product in products if len(product.variants) >= 2]
    assert len(several) >= 15
    assert sum(len(product.options) == 2 for product in products) >= 3
    assert any(len({variant.price for variant in product.variants}) > 1 for product in several)
    assert any(not product.options for product in products), "some products have no options"


def test_placeholder_image_is_a_600px_jpeg():
    data = placeholder_image(label="KS", brand="Kanchi Weaves", colour="#a4343a")

    with Image.open(BytesIO(data)) as picture:
        assert picture.format == "JPEG"
        assert picture.size == (600, 600)
        assert picture.getpixel((5, 5)) != picture.getpixel((300, 150)), "a disc on a coloured ground"
