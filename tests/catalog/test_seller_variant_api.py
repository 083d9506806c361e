"""The seller API's options and variants: own products only, every rule a 400, stock never overwrites sales."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.services.sessions import tokens_issue
from catalog.models import Product, ProductImage, ProductVariant
from catalog.services.variants import product_options_set, variant_create
from tests.catalog.test_seller_api import NEW_PRODUCT, bearer
from tests.factories import CategoryFactory, ProductFactory, StoreFactory, UserFactory, variant_update

SIZES = [{"name": "Size", "values": ["S", "M", "L"]}]


@pytest.fixture
def seller_store(db):
    return StoreFactory()


@pytest.fixture
def seller_api(seller_store):
    return bearer(seller_store.user)


def kurta_of(store) -> Product:
    """A kurta in S (stock 4) and M (stock 3)."""
    product = ProductFactory(store=store, title="Kurta", sku="KURTA-S", price=Decimal("500.00"), stock=4)
    product_options_set(product=product, options=SIZES)
    variant_create(product=product, sku="KURTA-M", price=Decimal("600.00"), stock=3, option_values=["M"])
    return product


@pytest.fixture
def kurta(seller_store):
    return kurta_of(seller_store)


def variants_url(product) -> str:
    return f"/api/v1/seller/products/{product.pk}/variants/"


def variant_url(variant) -> str:
    return f"/api/v1/seller/products/{variant.product_id}/variants/{variant.pk}/"


def stock_url(variant) -> str:
    return f"/api/v1/seller/variants/{variant.pk}/stock/"


@pytest.mark.django_db
class TestOptionsOnTheProduct:
    def test_create_with_options_gives_the_first_variant_the_first_values(self, seller_api):
        body = {**NEW_PRODUCT, "category": CategoryFactory().pk, "options": SIZES}
        response = seller_api.post("/api/v1/seller/products/", body, format="json")
        assert response.status_code == 201, response.content
        assert response.data["options"] == [{"name": "Size", "values": ["S", "M", "L"]}]
        [variant] = response.data["variants"]
        assert (variant["sku"], variant["option_values"], variant["stock"]) == ("MA-001", ["S"], 4)
        assert response.data["sku"] == "MA-001"

    def test_refused_options_leave_no_product_behind(self, seller_api):
        options = [{"name": "Size", "values": ["S", "s"]}]
        body = {**NEW_PRODUCT, "category": CategoryFactory().pk, "options": options}
        response = seller_api.post("/api/v1/seller/products/", body, format="json")
        assert response.status_code == 400 and response.data["code"] == "invalid_options"
        assert not Product.objects.exists()

    def test_patch_renames_a_value_on_its_variants(self, seller_api, kurta):
        options = [{"name": "Size", "values": ["Small", "M", "L"]}]
        response = seller_api.patch(f"/api/v1/seller/products/{kurta.pk}/", {"options": options}, format="json")
        assert response.status_code == 200, response.content
        assert [row["option_values"] for row in response.data["variants"]] == [["Small"], ["M"]]
        assert response.data["sku"] is None  # two variants, two SKUs
        assert (response.data["price"], response.data["price_max"], response.data["stock"]) == ("500.00", "600.00", 7)

    def test_patch_removing_a_value_in_use_is_400_and_changes_nothing(self, seller_api, kurta):
        body = {"title": "Renamed", "options": [{"name": "Size", "values": ["S", "L"]}]}
        response = seller_api.patch(f"/api/v1/seller/products/{kurta.pk}/", body, format="json")
        assert response.status_code == 400 and response.data["code"] == "invalid_options"
        assert "“M”" in response.data["detail"]
        kurta.refresh_from_db()
        assert kurta.title == "Kurta" and kurta.options.get().values == ["S", "M", "L"]

    def test_patch_of_a_variant_price_on_the_product_needs_a_variant(self, seller_api, kurta):
        response = seller_api.patch(f"/api/v1/seller/products/{kurta.pk}/", {"price": "1.00"}, format="json")
        assert response.status_code == 400 and response.data["code"] == "variant_required"

    def test_options_of_the_wrong_shape_are_field_errors(self, seller_api, kurta):
        body = {"options": [{"name": "Size", "values": []}]}
        response = seller_api.patch(f"/api/v1/seller/products/{kurta.pk}/", body, format="json")
        assert response.status_code == 400 and "options" in response.data


@pytest.mark.django_db
class TestVariants:
    def test_list(self, seller_api, kurta):
        response = seller_api.get(variants_url(kurta))
        assert response.status_code == 200
        assert [(row["sku"], row["option_values"], row["stock"]) for row in response.data] == [
            ("KURTA-S", ["S"], 4),
            ("KURTA-M", ["M"], 3),
        ]

    def test_create_then_the_product_summarises_it(self, seller_api, kurta):
        body = {"sku": "KURTA-L", "price": "450.00", "mrp": "900.00", "stock": 2, "option_values": ["L"]}
        response = seller_api.post(variants_url(kurta), body, format="json")
        assert response.status_code == 201, response.content
        assert (response.data["option_values"], response.data["stock"]) == (["L"], 2)
        product = seller_api.get(f"/api/v1/seller/products/{kurta.pk}/").data
        assert (product["price"], product["mrp"], product["stock"]) == ("450.00", "900.00", 9)

    @pytest.mark.parametrize(
        ("change", "code"),
        [
            ({"option_values": ["M"]}, "invalid_variant"),  # taken
            ({"option_values": ["XXL"]}, "invalid_variant"),
            ({"option_values": []}, "invalid_variant"),
            ({"sku": "kurta-s"}, "duplicate_sku"),
        ],
    )
    def test_refusals_are_400_with_a_code(self, seller_api, kurta, change, code):
        body = {"sku": "KURTA-L", "price": "450.00", "option_values": ["L"], **change}
        response = seller_api.post(variants_url(kurta), body, format="json")
        assert response.status_code == 400 and response.data["code"] == code
        assert kurta.variants.count() == 2

    @pytest.mark.parametrize(
        ("change", "field"),
        [({"price": "0"}, "price"), ({"mrp": "1.00"}, "mrp"), ({"stock": -1}, "stock"), ({"sku": "a b"}, "sku")],
    )
    def test_bad_fields_are_field_errors(self, seller_api, kurta, change, field):
        body = {"sku": "KURTA-L", "price": "450.00", "option_values": ["L"], **change}
        response = seller_api.post(variants_url(kurta), body, format="json")
        assert response.status_code == 400 and field in response.data

    def test_patch_edits_and_cannot_touch_stock(self, seller_api, kurta):
        medium = kurta.variants.get(sku="KURTA-M")
        response = seller_api.patch(variant_url(medium), {"price": "700.00", "option_values": ["L"]}, format="json")
        assert response.status_code == 200, response.content
        assert (response.data["price"], response.data["option_values"]) == ("700.00", ["L"])
        response = seller_api.patch(variant_url(medium), {"stock": 100}, format="json")
        assert response.status_code == 400 and "stock" in response.data
        medium.refresh_from_db()
        assert medium.stock == 3

    def test_an_image_of_another_product_is_refused(self, seller_api, kurta):
        mine = ProductImage.objects.create(product=kurta, image="products/a.jpg", thumbnail="products/a_t.jpg")
        other = ProductImage.objects.create(product=ProductFactory(store=kurta.store), image="b.jpg", thumbnail="c.jpg")
        medium = kurta.variants.get(sku="KURTA-M")
        assert seller_api.patch(variant_url(medium), {"image": other.pk}, format="json").status_code == 400
        response = seller_api.patch(variant_url(medium), {"image": mine.pk}, format="json")
        assert response.status_code == 200 and response.data["image"] == mine.pk

    def test_delete_deactivates_and_keeps_the_row(self, seller_api, kurta):
        medium = kurta.variants.get(sku="KURTA-M")
        response = seller_api.delete(variant_url(medium))
        assert response.status_code == 200 and response.data["is_active"] is False
        kurta.refresh_from_db()
        assert ProductVariant.objects.filter(pk=medium.pk).exists()
        assert (kurta.price_max, kurta.stock) == (Decimal("500.00"), 4)

    def test_a_variant_under_another_of_my_products_is_404(self, seller_api, kurta):
        medium = kurta.variants.get(sku="KURTA-M")
        other = ProductFactory(store=kurta.store)
        assert seller_api.get(f"/api/v1/seller/products/{other.pk}/variants/{medium.pk}/").status_code == 404


@pytest.mark.django_db
class TestIsolation:
    @pytest.mark.parametrize(
        ("method", "url", "body"),
        [
            ("get", variants_url, None),
            ("post", variants_url, {"sku": "NEW-1", "price": "1.00", "option_values": ["L"]}),
            ("get", variant_url, None),
            ("patch", variant_url, {"price": "1.00"}),
            ("delete", variant_url, None),
            ("post", stock_url, {"delta": 5}),
            ("post", stock_url, {"set": 50, "expected": 3}),
        ],
    )
    def test_another_sellers_product_or_variant_is_404(self, seller_api, method, url, body):
        theirs = kurta_of(StoreFactory())
        medium = theirs.variants.get(sku="KURTA-M")
        target = theirs if url is variants_url else medium
        response = getattr(seller_api, method)(url(target), body, format="json")
        assert response.status_code == 404
        medium.refresh_from_db()
        assert (medium.price, medium.stock, medium.is_active, theirs.variants.count()) == (
            Decimal("600.00"),
            3,
            True,
            2,
        )

    @pytest.mark.parametrize("url", [variants_url, variant_url, stock_url])
    def test_shoppers_are_403_and_anonymous_401(self, kurta, url):
        target = kurta if url is variants_url else kurta.variants.first()
        assert bearer(UserFactory()).post(url(target), {"delta": 1}, format="json").status_code == 403
        assert APIClient().post(url(target), {"delta": 1}, format="json").status_code == 401


@pytest.mark.django_db
class TestVariantStock:
    def test_delta_and_set(self, seller_api, kurta):
        medium = kurta.variants.get(sku="KURTA-M")
        assert seller_api.post(stock_url(medium), {"delta": 2}, format="json").data["stock"] == 5
        response = seller_api.post(stock_url(medium), {"set": 9, "expected": 5}, format="json")
        assert response.status_code == 200 and response.data == {"id": medium.pk, "stock": 9, "is_low_stock": False}
        kurta.refresh_from_db()
        assert kurta.stock == 13

    def test_set_after_a_sale_is_409_and_changes_nothing(self, seller_api, kurta):
        medium = kurta.variants.get(sku="KURTA-M")
        variant_update(medium, stock=2)  # a sale while the seller looked
        response = seller_api.post(stock_url(medium), {"set": 9, "expected": 3}, format="json")
        assert response.status_code == 409 and response.data["code"] == "stock_conflict"
        medium.refresh_from_db()
        assert medium.stock == 2

    def test_removing_more_than_there_is_is_409(self, seller_api, kurta):
        medium = kurta.variants.get(sku="KURTA-M")
        assert seller_api.post(stock_url(medium), {"delta": -4}, format="json").status_code == 409

    @pytest.mark.parametrize("body", [{}, {"set": 3}, {"delta": 0}, {"delta": "1"}])
    def test_malformed_changes_are_400(self, seller_api, kurta, body):
        assert seller_api.post(stock_url(kurta.variants.first()), body, format="json").status_code == 400

    def test_the_product_stock_endpoint_needs_a_variant_once_there_are_several(self, seller_api, kurta):
        response = seller_api.post(f"/api/v1/seller/products/{kurta.pk}/stock/", {"delta": 1}, format="json")
        assert response.status_code == 400 and response.data["code"] == "variant_required"
        kurta.refresh_from_db()
        assert kurta.stock == 7


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_plus_ones_on_a_variant_while_its_sibling_changes_add_exactly_twenty():
    store = StoreFactory()
    kurta = kurta_of(store)
    small, medium = kurta.variants.get(sku="KURTA-S"), kurta.variants.get(sku="KURTA-M")
    token = tokens_issue(user=store.user).access
    barrier = threading.Barrier(21)
    statuses: list[int] = []

    def call(url: str, body: dict) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            barrier.wait(timeout=10)
            statuses.append(client.post(url, body, format="json").status_code)
        finally:
            connection.close()

    calls = [(stock_url(small), {"delta": 1})] * 20 + [(stock_url(medium), {"set": 10, "expected": 3})]
    threads = [threading.Thread(target=call, args=arguments) for arguments in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * 21
    small.refresh_from_db()
    kurta.refresh_from_db()
    assert (small.stock, kurta.stock) == (24, 34)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["products/{huge}/variants/1/", "products/{pk}/variants/{huge}/", "variants/{huge}/stock/"]
)
def test_an_id_too_big_for_any_row_is_a_404_not_a_server_error(path):
    product = ProductFactory()
    url = "/api/v1/seller/" + path.format(pk=product.pk, huge=40348379027063800070144)
    api = bearer(product.store.user)
    response = api.post(url, {"delta": 1}, format="json") if "stock" in url else api.get(url)
    assert response.status_code == 404, response.content


@pytest.mark.django_db
def test_a_new_variant_may_say_its_position():
    product = ProductFactory()
    product_options_set(product=product, options=[{"name": "Size", "values": ["M", "L"]}])
    body = {"sku": "POS-L", "option_values": ["L"], "price": "10.00", "position": 7}
    response = bearer(product.store.user).post(f"/api/v1/seller/products/{product.pk}/variants/", body, format="json")
    assert response.status_code == 201, response.content
    assert ProductVariant.objects.get(sku="POS-L").position == 7
