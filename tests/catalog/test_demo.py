import re
from io import BytesIO
from pathlib import Path

import pytest
from django.core.management import call_command
from PIL import Image

from accounts.models import Store
from catalog.demo import (
    DEMO_CATEGORIES,
    LOW_STOCK_COUNT,
    OUT_OF_STOCK_COUNT,
    demo_products,
    placeholder_image,
    seed_catalog,
)
from catalog.models import Category, Product, ProductImage


def _files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


@pytest.mark.django_db
def test_seed_demo_builds_the_demo_catalog_once_and_finishes_what_is_missing(media_root, capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out

    assert Category.objects.count() == len(DEMO_CATEGORIES)
    assert Category.objects.filter(parent__isnull=True).count() == 8
    assert not Category.objects.filter(parent__parent__isnull=False).exists(), "a parent never has a parent"
    assert Product.objects.count() == 120
    assert Product.objects.filter(stock=0).count() == OUT_OF_STOCK_COUNT
    assert Product.objects.filter(stock__gte=1, stock__lte=5).count() == LOW_STOCK_COUNT
    assert Product.objects.filter(mrp__gt=0).count() > 40
    for store in Store.objects.all():
        assert store.products.count() >= 40, store.name
    assert "Catalog: 8 categories (+4 sub-categories), 120 products, 8 out of stock" in out

    images = list(ProductImage.objects.all())
    assert len(images) == 120
    assert {image.product_id for image in images} == set(Product.objects.values_list("pk", flat=True))
    for image in images:
        assert Path(image.image.path).is_relative_to(media_root)
        assert Path(image.image.path).is_file() and Path(image.thumbnail.path).is_file()
    files = len(_files(media_root))
    assert files == 240

    snapshot = list(Product.objects.order_by("sku").values_list("sku", "title", "price", "stock"))
    call_command("seed_demo")

    assert Category.objects.count() == len(DEMO_CATEGORIES)
    assert list(Product.objects.order_by("sku").values_list("sku", "title", "price", "stock")) == snapshot
    assert ProductImage.objects.count() == 120
    assert len(_files(media_root)) == files

    # A run stopped between creating a product and adding its picture is finished next time.
    unfinished = Product.objects.get(sku="PH-SAR-001")
    unfinished.images.all().delete()
    seed_catalog()
    assert Product.objects.count() == 120
    assert unfinished.images.count() == 1


def test_demo_products_are_deterministic_and_plausible():
    products = demo_products()

    assert products == demo_products()
    assert len({product.sku for product in products}) == len(products) == 120
    assert all(re.fullmatch(r"(PH|RG)-[A-Z]{3}-\d{3}", product.sku) for product in products)
    assert all(product.mrp is None or product.mrp > product.price for product in products)
    assert all(product.price >= 149 and product.price <= 24999 for product in products)
    assert all(product.price == product.price.quantize(1) for product in products), "whole rupees"


def test_placeholder_image_is_a_600px_jpeg():
    data = placeholder_image(label="KS", brand="Kanchi Weaves", colour="#a4343a")

    with Image.open(BytesIO(data)) as picture:
        assert picture.format == "JPEG"
        assert picture.size == (600, 600)
        assert picture.getpixel((5, 5)) != picture.getpixel((300, 150)), "a disc on a coloured ground"
