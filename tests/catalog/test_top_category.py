"""A top-level category's page lists its own products and its sub-categories', through each product's
`top_category`: it must name the right category after every write that moves a product or a category."""

import io
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.db.models import F
from django.db.models.functions import Coalesce
from django.test import Client

from catalog.models import Category, Product
from catalog.services.imports import products_import_csv
from catalog.services.products import product_update
from tests.factories import CategoryFactory, ProductFactory, StoreFactory

pytestmark = pytest.mark.django_db


def assert_every_top_category_exact() -> None:
    wrong = Product.objects.exclude(top_category_id=Coalesce("category__parent_id", "category_id"))
    assert not wrong.exists(), list(wrong.values_list("slug", "category__slug", "top_category__slug"))


def listed(client, slug: str, **params) -> list[str]:
    # Read from the database: a write's cache bump waits for a commit that the test's transaction never makes.
    for cache in caches.all():
        cache.clear()
    response = client.get(f"/categories/{slug}/", params)
    assert response.status_code == 200
    return [product.slug for product in response.context["products"]]


def api_listed(client, slug: str, **params) -> list[str]:
    for cache in caches.all():
        cache.clear()
    response = client.get("/api/v1/products/", {"category": slug, **params})
    assert response.status_code == 200, response.content
    return [row["slug"] for row in response.json()["results"]]


@pytest.fixture
def shelves():
    clothing = CategoryFactory(slug="clothing", name="Clothing")
    sarees = CategoryFactory(slug="sarees", name="Sarees", parent=clothing)
    kurtas = CategoryFactory(slug="kurtas", name="Kurtas", parent=clothing)
    home = CategoryFactory(slug="home", name="Home")
    lamps = CategoryFactory(slug="lamps", name="Lamps", parent=home)
    # Equal prices across shelves: the page breaks ties by the newest id, whichever shelf it is on.
    for slug, category, price in [
        ("shawl", clothing, "700"), ("silk", sarees, "900"), ("cotton", sarees, "300"), ("linen", kurtas, "300"),
        ("chikan", kurtas, "1200"), ("lamp", lamps, "300"), ("rug", home, "50"),
    ]:  # fmt: skip
        ProductFactory(slug=slug, category=category, price=Decimal(price))
    return {category.slug: category for category in (clothing, sarees, kurtas, home, lamps)}


def test_a_top_level_category_lists_its_own_and_its_sub_categories_products_in_price_order(client, shelves):
    assert listed(client, "clothing", ordering="price") == ["linen", "cotton", "shawl", "silk", "chikan"]
    assert listed(client, "clothing", ordering="-price") == ["chikan", "silk", "shawl", "linen", "cotton"]
    assert api_listed(client, "clothing", ordering="price") == ["linen", "cotton", "shawl", "silk", "chikan"]
    assert listed(client, "clothing") == ["chikan", "linen", "cotton", "silk", "shawl"]  # newest first
    assert listed(client, "sarees", ordering="price") == ["cotton", "silk"]
    assert listed(client, "home", ordering="price") == ["rug", "lamp"]
    assert api_listed(client, "no-such-shelf") == []
    assert list(client.get("/", {"category": "no-such-shelf"}).context["products"]) == []
    assert_every_top_category_exact()


def test_a_product_moved_to_another_category_moves_between_the_pages(client, shelves):
    product_update(product=Product.objects.get(slug="silk"), category=shelves["lamps"])
    assert "silk" not in listed(client, "clothing", ordering="price")
    assert listed(client, "home", ordering="price") == ["rug", "lamp", "silk"]
    product_update(product=Product.objects.get(slug="rug"), category=shelves["kurtas"])
    assert listed(client, "clothing", ordering="price") == ["rug", "linen", "cotton", "shawl", "chikan"]
    assert_every_top_category_exact()


def test_writes_in_bulk_keep_the_top_category(shelves):
    store = StoreFactory()
    Product.objects.bulk_create(
        [Product(store=store, title="Bulk", slug="bulk", category_id=shelves["lamps"].pk, price=1, price_max=1)]
    )
    moved = list(Product.objects.filter(slug__in=["bulk", "silk"]))
    for product in moved:
        product.category = shelves["kurtas"]
    Product.objects.bulk_update(moved, ["category"])
    assert_every_top_category_exact()
    Product.objects.filter(slug="shawl").update(category=shelves["lamps"].pk)
    Product.objects.filter(slug="rug").update(category=shelves["sarees"])
    assert_every_top_category_exact()


def test_a_csv_import_keeps_the_top_category(shelves):
    store = StoreFactory()
    products_import_csv(
        store=store,
        file=io.BytesIO(
            b"handle,title,category,sku,price\nnew-lamp,Brass lamp,lamps,BL-1,450\nnew-saree,Saree,sarees,SR-1,900\n"
        ),
    )
    assert set(Product.objects.filter(store=store).values_list("top_category__slug", flat=True)) == {
        "home", "clothing",
    }  # fmt: skip
    products_import_csv(
        store=store, file=io.BytesIO(b"handle,title,category,sku,price\nnew-lamp,Brass lamp,kurtas,BL-1,450\n")
    )
    assert Product.objects.get(slug="new-lamp").top_category.slug == "clothing"
    assert_every_top_category_exact()


@pytest.fixture
def admin_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def category_change(admin_client, category: Category, *, parent: Category | None):
    return admin_client.post(
        f"/admin/catalog/category/{category.pk}/change/",
        {"name": category.name, "slug": category.slug, "parent": parent.pk if parent else "", "description": ""},
    )


def test_a_category_re_parented_in_the_admin_takes_its_products_to_its_new_parents_page(client, admin_client, shelves):
    assert category_change(admin_client, shelves["lamps"], parent=shelves["clothing"]).status_code == 302
    assert listed(client, "clothing", ordering="price") == ["lamp", "linen", "cotton", "shawl", "silk", "chikan"]
    assert listed(client, "home", ordering="price") == ["rug"]
    assert category_change(admin_client, shelves["lamps"], parent=None).status_code == 302
    assert listed(client, "lamps", ordering="price") == ["lamp"]
    assert "lamp" not in listed(client, "clothing", ordering="price")
    assert_every_top_category_exact()


def test_the_admin_keeps_one_level_of_sub_categories(admin_client, shelves):
    response = category_change(admin_client, shelves["home"], parent=shelves["clothing"])
    assert response.status_code == 200
    assert "This category has sub-categories, so it must stay top-level." in response.content.decode()
    assert Category.objects.get(slug="home").parent_id is None
    assert_every_top_category_exact()


def test_a_sub_category_cannot_be_a_parent(shelves):
    with pytest.raises(ValidationError, match="sub-categories have no sub-categories"):
        Category(name="Silk", slug="silk-sarees", parent=shelves["sarees"]).full_clean()


def test_an_update_that_computes_the_category_in_sql_is_refused(shelves):
    with pytest.raises(ValueError, match="sets top_category too"):
        Product.objects.update(category=F("top_category"))
