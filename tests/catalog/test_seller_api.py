"""The seller API: own products only, duplicate SKUs refused, stock never overwrites sales."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.services.sessions import tokens_issue
from catalog.models import Product
from catalog.validators import MAX_PRICE
from tests.factories import CategoryFactory, ProductFactory, StoreFactory, UserFactory, only_variant, variant_update

NEW_PRODUCT = {
    "title": "Madhubani painting",
    "description": "Hand-painted on handmade paper",
    "brand": "Mithila Arts",
    "sku": "MA-001",
    "price": "2499.00",
    "mrp": "2999.00",
    "stock": 4,
}


def bearer(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=user).access}")
    return client


@pytest.fixture
def seller_store(db):
    return StoreFactory()


@pytest.fixture
def seller_api(seller_store):
    return bearer(seller_store.user)


@pytest.fixture
def category(db):
    return CategoryFactory()


@pytest.mark.django_db
class TestSellerProducts:
    def test_create_then_it_is_in_the_shop(self, seller_api, category, client):
        response = seller_api.post("/api/v1/seller/products/", {**NEW_PRODUCT, "category": category.pk}, format="json")
        assert response.status_code == 201, response.content
        assert response.data["stock"] == 4 and response.data["discount_percent"] == 16
        assert client.get(f"/products/{response.data['slug']}/").status_code == 200

    def test_a_client_sent_rating_or_store_is_ignored(self, seller_api, category):
        other_store = StoreFactory()
        body = {**NEW_PRODUCT, "category": category.pk, "rating_avg": "5.00", "store": other_store.pk}
        response = seller_api.post("/api/v1/seller/products/", body, format="json")
        product = Product.objects.get(pk=response.data["id"])
        assert product.rating_avg == 0 and product.store != other_store

    def test_duplicate_sku_even_another_sellers_in_another_case_is_400(self, seller_api, category):
        ProductFactory(sku="ma-001")  # someone else's
        response = seller_api.post("/api/v1/seller/products/", {**NEW_PRODUCT, "category": category.pk}, format="json")
        assert response.status_code == 400
        assert response.data["code"] == "duplicate_sku"
        assert "SKU" in response.data["detail"]

    @pytest.mark.parametrize(
        ("change", "field"),
        [({"price": "0"}, "price"), ({"price": "-5"}, "price"), ({"mrp": "100.00"}, "mrp"), ({"stock": -1}, "stock")],
    )
    def test_bad_prices_and_stock_are_400(self, seller_api, category, change, field):
        response = seller_api.post(
            "/api/v1/seller/products/", {**NEW_PRODUCT, "category": category.pk, **change}, format="json"
        )
        assert response.status_code == 400
        assert field in response.data

    def test_list_and_patch_own_products(self, seller_api, seller_store):
        mine = ProductFactory(store=seller_store, title="Mine")
        ProductFactory(title="Theirs")
        listed = seller_api.get("/api/v1/seller/products/").data["results"]
        assert [row["title"] for row in listed] == ["Mine"]
        response = seller_api.patch(f"/api/v1/seller/products/{mine.pk}/", {"price": "350.50"}, format="json")
        assert response.status_code == 200 and response.data["price"] == "350.50"

    def test_patch_cannot_overwrite_stock(self, seller_api, seller_store):
        mine = ProductFactory(store=seller_store, stock=7)
        response = seller_api.patch(f"/api/v1/seller/products/{mine.pk}/", {"stock": 100}, format="json")
        assert response.status_code == 400
        mine.refresh_from_db()
        assert mine.stock == 7

    def test_delete_unsold_product(self, seller_api, seller_store):
        mine = ProductFactory(store=seller_store)
        assert seller_api.delete(f"/api/v1/seller/products/{mine.pk}/").status_code == 204
        assert not Product.objects.filter(pk=mine.pk).exists()

    @pytest.mark.parametrize(
        ("method", "suffix", "body"),
        [
            ("get", "", None),
            ("patch", "", {"price": "1.00"}),
            ("delete", "", None),
            ("post", "stock/", {"delta": 5}),
        ],
    )
    def test_another_sellers_product_is_404(self, seller_api, method, suffix, body):
        theirs = ProductFactory(stock=3, price=Decimal("10.00"))
        response = getattr(seller_api, method)(f"/api/v1/seller/products/{theirs.pk}/{suffix}", body, format="json")
        assert response.status_code == 404
        theirs.refresh_from_db()
        assert (theirs.stock, theirs.price) == (3, Decimal("10.00"))

    def test_shoppers_and_anonymous_are_refused(self, category):
        assert bearer(UserFactory()).get("/api/v1/seller/products/").status_code == 403
        assert APIClient().get("/api/v1/seller/products/").status_code == 401


ABOVE_CAP = str(MAX_PRICE + Decimal("0.01"))  # 10 of it would no longer fit an order


@pytest.mark.django_db
class TestPriceCap:
    """Ten of the dearest product must fit an order's 12-digit total, so prices stop at MAX_PRICE."""

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"price": ABOVE_CAP, "mrp": None}, "price"),
            ({"price": "9999999999.99", "mrp": None}, "price"),  # the column's own maximum
            ({"mrp": ABOVE_CAP}, "mrp"),
        ],
    )
    def test_creating_a_product_priced_above_the_cap_is_a_400_field_error(self, seller_api, category, change, field):
        response = seller_api.post(
            "/api/v1/seller/products/", {**NEW_PRODUCT, "category": category.pk, **change}, format="json"
        )
        assert response.status_code == 400, response.content
        assert "₹9,99,99,999.99" in response.data[field][0]
        assert not Product.objects.exists()

    def test_exactly_the_cap_is_accepted(self, seller_api, category):
        body = {**NEW_PRODUCT, "category": category.pk, "price": str(MAX_PRICE), "mrp": str(MAX_PRICE)}
        response = seller_api.post("/api/v1/seller/products/", body, format="json")
        assert response.status_code == 201, response.content
        assert Product.objects.get().price == MAX_PRICE

    def test_raising_a_price_above_the_cap_is_a_400_and_changes_nothing(self, seller_api, seller_store):
        mine = ProductFactory(store=seller_store, price=Decimal("100.00"))
        response = seller_api.patch(f"/api/v1/seller/products/{mine.pk}/", {"price": ABOVE_CAP}, format="json")
        assert response.status_code == 400
        assert "price" in response.data
        mine.refresh_from_db()
        assert mine.price == Decimal("100.00")

    @pytest.mark.parametrize("sku", ["=HYPERLINK(1)", "-5", "two words", "ünï", "ok\nnext"])
    def test_a_sku_outside_the_pattern_is_a_400_field_error(self, seller_api, category, sku):
        body = {**NEW_PRODUCT, "category": category.pk, "sku": sku}
        response = seller_api.post("/api/v1/seller/products/", body, format="json")
        assert response.status_code == 400
        assert "letters, digits" in response.data["sku"][0]


@pytest.mark.django_db
class TestStockEndpoint:
    def test_delta_up_and_down(self, seller_api, seller_store):
        mine = ProductFactory(store=seller_store, stock=5)
        assert (
            seller_api.post(f"/api/v1/seller/products/{mine.pk}/stock/", {"delta": 3}, format="json").data["stock"] == 8
        )
        assert (
            seller_api.post(f"/api/v1/seller/products/{mine.pk}/stock/", {"delta": -8}, format="json").data["stock"]
            == 0
        )

    def test_delta_below_zero_is_409_and_changes_nothing(self, seller_api, seller_store):
        mine = ProductFactory(store=seller_store, stock=2)
        response = seller_api.post(f"/api/v1/seller/products/{mine.pk}/stock/", {"delta": -3}, format="json")
        assert response.status_code == 409
        assert response.data["code"] == "stock_conflict"
        mine.refresh_from_db()
        assert mine.stock == 2

    def test_set_with_the_expected_value(self, seller_api, seller_store):
        mine = ProductFactory(store=seller_store, stock=5)
        response = seller_api.post(
            f"/api/v1/seller/products/{mine.pk}/stock/", {"set": 12, "expected": 5}, format="json"
        )
        assert response.status_code == 200 and response.data["stock"] == 12

    def test_set_after_a_sale_is_409(self, seller_api, seller_store):
        mine = ProductFactory(store=seller_store, stock=5)
        variant_update(only_variant(mine), stock=4)  # a sale happened meanwhile
        response = seller_api.post(
            f"/api/v1/seller/products/{mine.pk}/stock/", {"set": 12, "expected": 5}, format="json"
        )
        assert response.status_code == 409
        mine.refresh_from_db()
        assert mine.stock == 4

    @pytest.mark.parametrize(
        "body", [{}, {"delta": 1, "set": 3, "expected": 1}, {"set": 3}, {"delta": 0}, {"delta": "lots"}]
    )
    def test_malformed_changes_are_400(self, seller_api, seller_store, body):
        mine = ProductFactory(store=seller_store)
        assert seller_api.post(f"/api/v1/seller/products/{mine.pk}/stock/", body, format="json").status_code == 400


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_plus_one_deltas_add_exactly_twenty():
    store = StoreFactory()
    product = ProductFactory(store=store, stock=10)
    token = tokens_issue(user=store.user).access
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def add_one() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            barrier.wait(timeout=10)
            statuses.append(
                client.post(f"/api/v1/seller/products/{product.pk}/stock/", {"delta": 1}, format="json").status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=add_one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * 20
    product.refresh_from_db()
    assert product.stock == 30


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_removals_never_go_below_zero():
    product = ProductFactory(stock=5)
    from catalog.errors import StockConflict
    from catalog.services.stock import product_stock_adjust

    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def remove_one() -> None:
        try:
            barrier.wait(timeout=10)
            product_stock_adjust(product=Product.objects.get(pk=product.pk), delta=-1)
            outcomes.append("ok")
        except StockConflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=remove_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    product.refresh_from_db()
    assert product.stock == 0
    assert outcomes.count("ok") == 5 and outcomes.count("conflict") == 3
