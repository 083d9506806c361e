from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from cart.models import CartItem
from tests.cart.helpers import (
    HIDDEN,
    cart_lines,
    cart_variant_lines,
    hide,
    product_in_sizes,
    product_with_image,
    put_in_cart,
    variant_id_of,
)
from tests.conftest import api_login, csrf_token
from tests.factories import ProductFactory, only_variant, variant_update

pytestmark = pytest.mark.django_db

CART = "/api/v1/cart/"
ITEMS = "/api/v1/cart/items/"


def item_url(item_id: int) -> str:
    return f"/api/v1/cart/items/{item_id}/"


def add(client, item, quantity=1, **extra):
    """Post `variant_id`: a variant's, a single-variant product's only variant's, or a raw id."""
    variant_id = item if isinstance(item, int) else variant_id_of(item)
    return client.post(ITEMS, {"variant_id": variant_id, "quantity": quantity, **extra}, format="json")


def assert_refused(response, code: str) -> None:
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert response.json()["detail"]


class TestReadingTheCart:
    def test_an_empty_cart(self, logged_in_client):
        response = logged_in_client.get(CART)
        assert response.status_code == 200
        assert response.json() == {"lines": [], "subtotal": "0.00", "item_count": 0, "has_problems": False}

    def test_the_full_shape_with_money_as_strings(self, logged_in_client, user):
        product = product_with_image(price=Decimal("1249.50"))
        item = put_in_cart(user, product, 2)
        body = logged_in_client.get(CART).json()
        assert body == {
            "lines": [
                {
                    "id": item.pk,
                    "product": {
                        "id": product.pk,
                        "slug": product.slug,
                        "title": product.title,
                        "thumbnail_url": f"http://testserver/media/products/{product.pk}/front-thumb.webp",
                    },
                    "variant": {"id": variant_id_of(product), "sku": only_variant(product).sku, "options": ""},
                    "quantity": 2,
                    "unit_price": "1249.50",
                    "line_total": "2499.00",
                    "problem": None,
                }
            ],
            "subtotal": "2499.00",
            "item_count": 2,
            "has_problems": False,
        }

    def test_a_product_without_images_has_no_thumbnail(self, logged_in_client, user, product):
        put_in_cart(user, product)
        assert logged_in_client.get(CART).json()["lines"][0]["product"]["thumbnail_url"] is None

    def test_a_price_change_after_adding_shows_the_new_price(self, logged_in_client, user, product):
        put_in_cart(user, product, 2)
        variant_update(only_variant(product), price=Decimal("549.00"))
        body = logged_in_client.get(CART).json()
        assert body["lines"][0]["unit_price"] == "549.00"
        assert body["subtotal"] == "1098.00"

    def test_problem_lines_are_flagged_and_left_out_of_the_subtotal(self, logged_in_client, user):
        short, gone, fine = ProductFactory(), ProductFactory(), ProductFactory(price=Decimal("100.00"))
        put_in_cart(user, short, 5)
        put_in_cart(user, gone, 1)
        put_in_cart(user, fine, 1)
        variant_update(only_variant(short), stock=3)
        hide(gone, "blocked seller")
        body = logged_in_client.get(CART).json()
        assert [line["problem"] for line in body["lines"]] == [
            "Only 3 left in stock. Lower the quantity to 3 or less.",
            "This product is no longer available. Remove it from your cart.",
            None,
        ]
        assert body["has_problems"] is True
        assert body["subtotal"] == "100.00"
        assert body["item_count"] == 7

    def test_anonymous_callers_get_401(self, api_client):
        assert api_client.get(CART).status_code == 401
        assert add(api_client, 1).status_code == 401

    def test_query_count_does_not_grow_with_lines(self, logged_in_client, user, assert_flat_query_count):
        for _ in range(2):
            put_in_cart(user, product_with_image())

        def six_more():
            for _ in range(6):
                put_in_cart(user, product_with_image())

        # The user, then the lines with their variants, the images, the option names.
        assert_flat_query_count(lambda: logged_in_client.get(CART), six_more, max_queries=4)
        assert len(logged_in_client.get(CART).json()["lines"]) == 8


class TestAdding:
    def test_adding_answers_201_with_the_cart_priced_by_the_server(self, logged_in_client, user, product):
        response = add(logged_in_client, product, 2)
        assert response.status_code == 201
        assert response.json()["subtotal"] == "998.00"
        assert response.json()["lines"][0]["quantity"] == 2
        assert cart_lines(user) == {product.pk: 2}

    def test_a_price_sent_by_the_client_is_ignored(self, logged_in_client, product):
        response = add(logged_in_client, product, 2, price="1.00", unit_price="1.00", line_total="2.00")
        assert response.status_code == 201
        line = response.json()["lines"][0]
        assert line["unit_price"] == "499.00"
        assert response.json()["subtotal"] == "998.00"

    def test_quantity_defaults_to_one(self, logged_in_client, user, product):
        response = logged_in_client.post(ITEMS, {"variant_id": variant_id_of(product)}, format="json")
        assert response.status_code == 201
        assert cart_lines(user) == {product.pk: 1}

    def test_adding_again_raises_the_quantity(self, logged_in_client, user, product):
        add(logged_in_client, product, 2)
        response = add(logged_in_client, product, 3)
        assert response.status_code == 201
        assert [line["quantity"] for line in response.json()["lines"]] == [5]

    def test_raising_past_ten_is_invalid_quantity(self, logged_in_client, user):
        product = ProductFactory(stock=40)
        add(logged_in_client, product, 6)
        assert_refused(add(logged_in_client, product, 5), "invalid_quantity")
        assert cart_lines(user) == {product.pk: 6}

    @pytest.mark.parametrize("quantity", [0, 11, -1, "abc", 2.5, None, True])
    def test_a_bad_quantity_is_invalid_quantity(self, logged_in_client, user, product, quantity):
        assert_refused(add(logged_in_client, product, quantity), "invalid_quantity")
        assert cart_lines(user) == {}

    def test_more_than_the_stock_is_out_of_stock_with_what_is_left(self, logged_in_client):
        product = ProductFactory(stock=2, title="Silk Scarf")
        response = add(logged_in_client, product, 3)
        assert_refused(response, "out_of_stock")
        assert response.json()["detail"] == "Only 2 of Silk Scarf left in stock."

    def test_a_seller_adding_their_own_product_is_own_product(self, api_client, seller):
        api_login(api_client, seller)
        api_client.credentials(HTTP_X_CSRFTOKEN=csrf_token(api_client))
        product = ProductFactory(store=seller.store)
        assert_refused(add(api_client, product), "own_product")
        assert cart_lines(seller) == {}

    @pytest.mark.parametrize("how", HIDDEN)
    def test_a_hidden_product_is_product_unavailable(self, logged_in_client, user, product, how):
        hide(product, how)
        assert_refused(add(logged_in_client, product), "product_unavailable")
        assert cart_lines(user) == {}

    def test_an_unknown_product_is_product_unavailable(self, logged_in_client):
        assert_refused(add(logged_in_client, 987_654), "product_unavailable")

    def test_neither_a_variant_nor_a_product_is_a_field_error(self, logged_in_client, user):
        response = logged_in_client.post(ITEMS, {"quantity": 1}, format="json")
        assert response.status_code == 400
        assert "variant_id" in response.json()
        assert cart_lines(user) == {}

    def test_cookie_clients_need_the_csrf_token(self, api_client, user, product):
        api_login(api_client, user)
        response = add(api_client, product)
        assert response.status_code == 403
        assert cart_lines(user) == {}

    def test_bearer_clients_need_no_csrf_token(self, bearer_client, user, product):
        assert add(bearer_client, product).status_code == 201
        assert cart_lines(user) == {product.pk: 1}


class TestChangingALine:
    def test_patch_sets_the_quantity(self, logged_in_client, user, product):
        item = put_in_cart(user, product, 1)
        response = logged_in_client.patch(item_url(item.pk), {"quantity": 4}, format="json")
        assert response.status_code == 200
        assert response.json()["lines"][0]["quantity"] == 4
        assert response.json()["subtotal"] == "1996.00"

    @pytest.mark.parametrize("quantity", [0, 11, -1, "abc", 2.5])
    def test_patch_refuses_a_bad_quantity(self, logged_in_client, user, product, quantity):
        item = put_in_cart(user, product, 1)
        response = logged_in_client.patch(item_url(item.pk), {"quantity": quantity}, format="json")
        assert_refused(response, "invalid_quantity")
        assert cart_lines(user) == {product.pk: 1}

    def test_patch_above_the_stock_is_out_of_stock(self, logged_in_client, user):
        product = ProductFactory(stock=3)
        item = put_in_cart(user, product, 1)
        assert_refused(logged_in_client.patch(item_url(item.pk), {"quantity": 4}, format="json"), "out_of_stock")

    def test_patch_of_a_hidden_product_is_product_unavailable(self, logged_in_client, user, product):
        item = put_in_cart(user, product, 1)
        hide(product, "inactive product")
        response = logged_in_client.patch(item_url(item.pk), {"quantity": 2}, format="json")
        assert_refused(response, "product_unavailable")

    def test_delete_answers_204_and_the_line_is_gone(self, logged_in_client, user, product):
        item = put_in_cart(user, product, 1)
        assert logged_in_client.delete(item_url(item.pk)).status_code == 204
        assert logged_in_client.get(CART).json()["lines"] == []

    def test_another_users_line_is_404_for_patch_and_delete(self, logged_in_client, other_user, product):
        theirs = put_in_cart(other_user, product, 2)
        patch = logged_in_client.patch(item_url(theirs.pk), {"quantity": 5}, format="json")
        assert patch.status_code == 404
        assert patch.json()["code"] == "not_found"
        assert logged_in_client.delete(item_url(theirs.pk)).status_code == 404
        assert CartItem.objects.get(pk=theirs.pk).quantity == 2

    def test_a_huge_id_is_404_not_a_crash(self, logged_in_client):
        assert logged_in_client.delete(item_url(2**70)).status_code == 404

    def test_there_is_no_put(self, logged_in_client, user, product):
        item = put_in_cart(user, product, 1)
        assert logged_in_client.put(item_url(item.pk), {"quantity": 4}, format="json").status_code == 405


def test_the_schema_documents_the_cart(api_client: APIClient):
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert set(paths["/api/v1/cart/"]) >= {"get"}
    assert set(paths["/api/v1/cart/items/"]) >= {"post"}
    assert set(paths["/api/v1/cart/items/{item_id}/"]) >= {"patch", "delete"}
    add_input = schema["components"]["schemas"]["CartItemAddInputRequest"]
    assert set(add_input["properties"]) == {"variant_id", "product_id", "quantity"}
    assert add_input["properties"]["quantity"] == {"type": "integer", "minimum": 1, "maximum": 10, "default": 1}
    patch_body = paths["/api/v1/cart/items/{item_id}/"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    assert patch_body["required"] == ["quantity"]


class TestVariants:
    def test_a_line_names_its_variant_options_and_price(self, logged_in_client, user):
        product, (_small, large) = product_in_sizes("S", "XL", title="Tee")
        variant_update(large, price=Decimal("649.00"))
        response = add(logged_in_client, large, 2)
        assert response.status_code == 201
        [line] = response.json()["lines"]
        assert line["product"]["id"] == product.pk
        assert line["variant"] == {"id": large.pk, "sku": large.sku, "options": "Size: XL"}
        assert (line["unit_price"], line["line_total"]) == ("649.00", "1298.00")
        assert logged_in_client.get(CART).json()["lines"] == [line]

    def test_two_variants_of_one_product_are_two_lines(self, logged_in_client, user):
        _, (small, large) = product_in_sizes("S", "L")
        add(logged_in_client, small, 1)
        response = add(logged_in_client, large, 2)
        assert [(ln["variant"]["id"], ln["quantity"]) for ln in response.json()["lines"]] == [
            (small.pk, 1),
            (large.pk, 2),
        ]
        assert cart_variant_lines(user) == {small.pk: 1, large.pk: 2}

    def test_a_product_id_adds_a_single_variant_products_only_variant(self, logged_in_client, user, product):
        response = logged_in_client.post(ITEMS, {"product_id": product.pk, "quantity": 2}, format="json")
        assert response.status_code == 201
        assert response.json()["lines"][0]["variant"]["id"] == variant_id_of(product)
        assert cart_variant_lines(user) == {variant_id_of(product): 2}

    def test_a_product_id_of_a_product_in_several_variants_is_variant_required(self, logged_in_client, user):
        product, _ = product_in_sizes("S", "L")
        response = logged_in_client.post(ITEMS, {"product_id": product.pk}, format="json")
        assert_refused(response, "variant_required")
        assert cart_variant_lines(user) == {}

    @pytest.mark.parametrize("how", HIDDEN)
    def test_a_product_id_of_a_hidden_product_is_product_unavailable(self, logged_in_client, user, product, how):
        hide(product, how)
        response = logged_in_client.post(ITEMS, {"product_id": product.pk}, format="json")
        assert_refused(response, "product_unavailable")
        assert cart_variant_lines(user) == {}

    def test_ten_of_each_variant(self, logged_in_client, user):
        _, (small, large) = product_in_sizes("S", "L")
        add(logged_in_client, small, 10)
        assert add(logged_in_client, large, 10).status_code == 201
        assert_refused(add(logged_in_client, small, 1), "invalid_quantity")
        assert cart_variant_lines(user) == {small.pk: 10, large.pk: 10}

    def test_the_stock_is_that_variants(self, logged_in_client, user):
        _, (small, large) = product_in_sizes("S", "L", title="Tee")
        variant_update(small, stock=2)
        response = add(logged_in_client, small, 3)
        assert_refused(response, "out_of_stock")
        assert response.json()["detail"] == "Only 2 of Tee (S) left in stock."
        assert add(logged_in_client, large, 3).status_code == 201
        assert cart_variant_lines(user) == {large.pk: 3}

    def test_a_variant_of_your_own_product_is_own_product(self, api_client, seller):
        api_login(api_client, seller)
        api_client.credentials(HTTP_X_CSRFTOKEN=csrf_token(api_client))
        _, (small, _large) = product_in_sizes("S", "L", store=seller.store)
        assert_refused(add(api_client, small), "own_product")
        assert cart_variant_lines(seller) == {}

    def test_an_inactive_variant_is_product_unavailable(self, logged_in_client, user):
        _, (small, large) = product_in_sizes("S", "L")
        variant_update(small, is_active=False)
        assert_refused(add(logged_in_client, small), "product_unavailable")
        assert add(logged_in_client, large).status_code == 201
        assert cart_variant_lines(user) == {large.pk: 1}

    @pytest.mark.parametrize("how", HIDDEN)
    def test_a_variant_of_a_hidden_product_is_product_unavailable(self, logged_in_client, user, how):
        product, (small, _large) = product_in_sizes("S", "L")
        hide(product, how)
        assert_refused(add(logged_in_client, small), "product_unavailable")
        assert cart_variant_lines(user) == {}

    def test_patching_a_line_checks_that_variants_stock(self, logged_in_client, user):
        _, (small, large) = product_in_sizes("S", "L")
        variant_update(small, stock=3)
        item = put_in_cart(user, small, 1)
        put_in_cart(user, large, 1)
        assert_refused(logged_in_client.patch(item_url(item.pk), {"quantity": 4}, format="json"), "out_of_stock")
        assert cart_variant_lines(user) == {small.pk: 1, large.pk: 1}

    def test_query_count_stays_flat_with_lines_of_products_in_several_variants(
        self, logged_in_client, user, assert_flat_query_count
    ):
        put_in_cart(user, product_in_sizes("S", "L")[1][0])

        def more():
            for _ in range(3):
                _, variants = product_in_sizes("S", "M", "L")
                for variant in variants:
                    put_in_cart(user, variant)

        assert_flat_query_count(lambda: logged_in_client.get(CART), more, max_queries=4)
        assert len(logged_in_client.get(CART).json()["lines"]) == 10
