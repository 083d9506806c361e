"""Checkout, the buyer's orders and the seller's order items over the API."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog.models import MAX_AMOUNT, Product
from catalog.validators import MAX_PRICE
from orders.models import MAX_QUANTITY, Order, OrderItem, OrderItemStatus
from orders.services.lifecycle import order_item_confirm
from payments.models import Payment, PaymentStatus
from tests.cart.helpers import product_in_sizes
from tests.conftest import api_login, csrf_token
from tests.factories import AddressFactory, ProductFactory, StoreFactory, UserFactory, as_variant, only_variant
from tests.orders.helpers import (
    bearer,
    buy_now,
    items_of,
    make_buyer,
    new_key,
    order_of,
    put_in_cart,
    stock_of,
)
from tests.returns.helpers import deliver, received_with_payout

pytestmark = pytest.mark.django_db

S = OrderItemStatus
CHECKOUT = "/api/v1/checkout/"
ORDERS = "/api/v1/orders/"
SELLER_ITEMS = "/api/v1/seller/order-items/"


def checkout(client, body: dict, key: str | None = "auto"):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": new_key() if key == "auto" else key}
    return client.post(CHECKOUT, body, format="json", **headers)


def buy_now_body(buyer, product, quantity=1, **extra) -> dict:
    return {
        "source": "buy_now",
        "variant_id": as_variant(product).pk,
        "quantity": quantity,
        "address_id": buyer.address.pk,
        "payment_method": "COD",
        **extra,
    }


def assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert response.json()["detail"]


def cancel_url(order_id, item_id) -> str:
    return f"{ORDERS}{order_id}/items/{item_id}/cancel/"


def seller_action(item_id, action: str) -> str:
    return f"{SELLER_ITEMS}{item_id}/{action}/"


@pytest.fixture
def buyer_api(buyer) -> APIClient:
    return bearer(buyer)


@pytest.fixture
def seller_api(store) -> APIClient:
    return bearer(store.user)


# --- Checkout ---------------------------------------------------------------------------


class TestCheckout:
    def test_buy_now_answers_201_with_the_order(self, buyer_api, buyer, product, store):
        response = checkout(buyer_api, buy_now_body(buyer, product, 2))
        assert response.status_code == 201, response.content
        body = response.json()
        order = Order.objects.get()
        item = OrderItem.objects.get()
        assert body["id"] == order.pk and body["number"] == order.number == f"JC-{order.pk:06d}"
        assert (body["status"], body["total"], body["payment_method"]) == ("PLACED", "998.00", "COD")
        assert body["payment"] == {
            "method": "COD",
            "status": "PENDING",
            "amount": "998.00",
            "currency": "INR",
            "collected_at": None,
        }
        assert body["items"] == [
            {
                "id": item.pk,
                "product_id": product.pk,
                "variant_id": only_variant(product).pk,
                "title": product.title,
                "sku": only_variant(product).sku,
                "options": "",
                "seller_name": store.name,
                "quantity": 2,
                "unit_price": "499.00",
                "line_total": "998.00",
                "status": "PLACED",
                "carrier": "",
                "tracking_number": "",
                "can_cancel": True,
                "can_withdraw_return": False,
                "can_escalate_return": False,
                "refund": None,
                "return_window_ends_at": None,
                "can_return": False,
                "return": None,
            }
        ]
        assert body["address"] == {
            "name": "Test Person",
            "phone": "9876543210",
            "line1": "1 Test Street",
            "line2": "",
            "city": "Mumbai",
            "state": "MH",
            "pincode": "400001",
        }
        assert [(e["from_status"], e["to_status"], e["actor_role"]) for e in body["events"]] == [
            ("", "PLACED", "BUYER")
        ]
        assert body["created_at"]
        assert stock_of(product) == 8

    def test_cart_checkout_orders_the_cart_and_empties_it(self, buyer_api, buyer, product):
        second = ProductFactory(price=Decimal("50.00"))
        put_in_cart(buyer, product, 1)
        put_in_cart(buyer, second, 3)
        body = {"source": "cart", "address_id": buyer.address.pk, "payment_method": "COD"}
        response = checkout(buyer_api, body)
        assert response.status_code == 201, response.content
        assert response.json()["total"] == "649.00"
        assert sorted(i["product_id"] for i in response.json()["items"]) == sorted([product.pk, second.pk])
        assert buyer_api.get("/api/v1/cart/").json()["lines"] == []

    def test_the_201_body_is_what_a_fresh_get_of_the_order_answers(self, buyer_api, buyer, product):
        """The 201 is built from the order just written; it must read exactly like the order read back."""
        _kurta, (_medium, large) = product_in_sizes("M", "L", title="Kurta")
        put_in_cart(buyer, product, 2)
        put_in_cart(buyer, large, 3)
        response = checkout(buyer_api, {"source": "cart", "address_id": buyer.address.pk, "payment_method": "COD"})
        assert response.status_code == 201, response.content
        body = response.json()
        assert [item["options"] for item in body["items"]] == ["", "Size: L"]
        assert len(body["events"]) == 2
        assert buyer_api.get(f"{ORDERS}{body['id']}/").json() == body

    def test_an_online_201_body_is_what_a_fresh_get_answers_gateway_order_included(
        self, buyer_api, buyer, product, sandbox_gateway
    ):
        response = checkout(buyer_api, buy_now_body(buyer, product, 2, payment_method="ONLINE"))
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["payment"]["razorpay"]["order_id"] == Payment.objects.get().gateway_order_id
        assert buyer_api.get(f"{ORDERS}{body['id']}/").json() == body

    def test_a_sale_lowers_the_products_shown_stock_by_the_units_sold(self, buyer_api, buyer):
        sized, (medium, large) = product_in_sizes("M", "L")
        checkout(buyer_api, buy_now_body(buyer, large, 4))
        for row in (sized, medium, large):
            row.refresh_from_db()
        assert (sized.stock, large.stock, medium.stock) == (16, 6, 10)

    def test_a_sent_price_is_ignored(self, buyer_api, buyer, product):
        response = checkout(buyer_api, buy_now_body(buyer, product, unit_price="1.00", total="1.00"))
        assert response.json()["total"] == "499.00"

    def test_a_retry_with_the_same_key_answers_200_with_the_same_order(self, buyer_api, buyer, product):
        key = new_key()
        first = checkout(buyer_api, buy_now_body(buyer, product), key=key)
        again = checkout(buyer_api, buy_now_body(buyer, product), key=key)
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["id"] == first.json()["id"]
        assert Order.objects.count() == 1 and stock_of(product) == 9

    def test_the_same_key_with_another_body_is_409(self, buyer_api, buyer, product):
        key = new_key()
        checkout(buyer_api, buy_now_body(buyer, product), key=key)
        assert_refused(checkout(buyer_api, buy_now_body(buyer, product, 2), key=key), 409, "idempotency_key_reused")
        assert Order.objects.count() == 1

    @pytest.mark.parametrize("key", [None, "", "k" * 101])
    def test_the_idempotency_key_is_required(self, buyer_api, buyer, product, key):
        assert_refused(checkout(buyer_api, buy_now_body(buyer, product), key=key), 400, "idempotency_key_required")
        assert not Order.objects.exists()

    def test_out_of_stock_names_the_product_and_what_is_left(self, buyer_api, buyer):
        product = ProductFactory(title="Jute bag", stock=2)
        response = checkout(buyer_api, buy_now_body(buyer, product, 3))
        assert response.status_code == 400
        assert response.json() == {"detail": "Only 2 of Jute bag left in stock.", "code": "out_of_stock"}

    @pytest.mark.parametrize(
        ("change", "code"),
        [
            ({"quantity": 0}, "invalid_quantity"),
            ({"quantity": 11}, "invalid_quantity"),
            ({"quantity": "x"}, "invalid_quantity"),
            ({"quantity": None}, "invalid_quantity"),
            ({"variant_id": 987_654}, "product_unavailable"),
        ],
    )
    def test_bad_input_is_a_400_with_a_code(self, buyer_api, buyer, product, change, code):
        assert_refused(checkout(buyer_api, {**buy_now_body(buyer, product), **change}), 400, code)
        assert not Order.objects.exists() and stock_of(product) == 10

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"variant_id": "abc"}, "variant_id"),
            ({"variant_id": None}, "variant_id"),
            ({"variant_id": 2**70}, "variant_id"),
            ({"product_id": "abc"}, "product_id"),
            ({"address_id": "home"}, "address_id"),
            ({"address_id": None}, "address_id"),
            ({"source": "wishlist"}, "source"),
            ({"payment_method": "CHEQUE"}, "payment_method"),
        ],
    )
    def test_malformed_fields_are_field_errors(self, buyer_api, buyer, product, change, field):
        response = checkout(buyer_api, {**buy_now_body(buyer, product), **change})
        assert response.status_code == 400, response.content
        assert field in response.json()
        assert not Order.objects.exists()

    @pytest.mark.parametrize("body", [{}, [], "text", {"source": "buy_now"}])
    def test_missing_fields_or_a_non_object_body_are_400(self, buyer_api, body):
        assert checkout(buyer_api, body).status_code == 400
        assert not Order.objects.exists()

    def test_another_users_address_is_invalid_address(self, buyer_api, buyer, product):
        theirs = AddressFactory()
        assert_refused(checkout(buyer_api, buy_now_body(buyer, product, address_id=theirs.pk)), 400, "invalid_address")
        assert not Order.objects.exists()

    def test_an_empty_cart_is_cart_empty(self, buyer_api, buyer):
        body = {"source": "cart", "address_id": buyer.address.pk, "payment_method": "COD"}
        assert_refused(checkout(buyer_api, body), 400, "cart_empty")

    def test_own_product_is_refused(self, store, product):
        seller = store.user
        seller.address = AddressFactory(user=seller)
        assert_refused(checkout(bearer(seller), buy_now_body(seller, product)), 400, "own_product")

    def test_anonymous_callers_get_401(self, api_client, buyer, product):
        assert checkout(api_client, buy_now_body(buyer, product)).status_code == 401

    def test_cookie_clients_need_the_csrf_token(self, api_client, buyer, product):
        api_login(api_client, buyer)
        assert checkout(api_client, buy_now_body(buyer, product)).status_code == 403
        api_client.credentials(HTTP_X_CSRFTOKEN=csrf_token(api_client))
        assert checkout(api_client, buy_now_body(buyer, product)).status_code == 201


# --- Amounts a money column cannot store ---------------------------------------------------

# The largest a price column holds: a price stored before prices were capped can be this high.
COLUMN_MAX_PRICE = MAX_AMOUNT


def nothing_written(products) -> None:
    assert not Order.objects.exists()
    assert not Payment.objects.exists()
    assert [stock_of(product) for product in products] == [product.stock for product in products]


class TestAmountsTooLarge:
    """An order whose amounts overflow the 12-digit money columns is refused before any write.

    On PostgreSQL these were 500s ("numeric field overflow") after the stock was already taken.
    """

    def test_buy_now_of_an_overpriced_product_past_the_order_column_is_400_and_takes_no_stock(self, buyer_api, buyer):
        legacy = ProductFactory(price=COLUMN_MAX_PRICE, stock=10)
        response = checkout(buyer_api, buy_now_body(buyer, legacy, 2))
        assert_refused(response, 400, "amount_too_large")
        assert "Buy fewer" in response.json()["detail"]
        nothing_written([legacy])

    def test_cart_checkout_whose_lines_add_up_past_the_order_column_is_400_and_writes_nothing(self, buyer_api, buyer):
        # Each line fits (10 of the dearest allowed price), but eleven of them do not.
        dearest = ProductFactory.create_batch(11, price=MAX_PRICE, stock=10)
        for product in dearest:
            put_in_cart(buyer, product, MAX_QUANTITY)
        body = {"source": "cart", "address_id": buyer.address.pk, "payment_method": "ONLINE"}

        response = checkout(buyer_api, body)

        assert_refused(response, 400, "amount_too_large")
        assert "Split it into smaller orders" in response.json()["detail"]
        nothing_written(dearest)
        assert len(buyer_api.get("/api/v1/cart/").json()["lines"]) == 11  # the cart is kept

    def test_ten_of_the_dearest_allowed_product_fit_one_order(self, buyer_api, buyer):
        dearest = ProductFactory(price=MAX_PRICE, stock=10)
        response = checkout(buyer_api, buy_now_body(buyer, dearest, MAX_QUANTITY))
        assert response.status_code == 201, response.content
        assert response.json()["total"] == str(MAX_PRICE * MAX_QUANTITY) == "999999999.90"
        assert Order.objects.get().payment.amount == MAX_PRICE * MAX_QUANTITY
        assert stock_of(dearest) == 0

    def test_an_order_of_exactly_the_column_maximum_is_placed(self, buyer_api, buyer):
        legacy = ProductFactory(price=COLUMN_MAX_PRICE, stock=10)
        response = checkout(buyer_api, buy_now_body(buyer, legacy, 1))
        assert response.status_code == 201, response.content
        assert Order.objects.get().total == MAX_AMOUNT


class TestOnlineBelowTheGatewayMinimum:
    """Finding 6: the gateway takes no order under ₹1.00, so an online order under it could never be paid
    and would only hold its stock until it expired. It is refused before anything is written."""

    def test_finding6_online_cart_checkout_under_one_rupee_is_400_and_reserves_nothing(
        self, buyer_api, buyer, sandbox_gateway
    ):
        cheap = [ProductFactory(price=Decimal("0.30")), ProductFactory(price=Decimal("0.40"))]
        for product in cheap:
            put_in_cart(buyer, product)
        body = {"source": "cart", "address_id": buyer.address.pk, "payment_method": "ONLINE"}

        response = checkout(buyer_api, body)

        assert_refused(response, 400, "amount_below_minimum")
        assert "₹0.70" in response.json()["detail"] and "Cash on Delivery" in response.json()["detail"]
        nothing_written(cheap)
        assert len(buyer_api.get("/api/v1/cart/").json()["lines"]) == 2  # the cart is kept
        assert sandbox_gateway.orders == {}  # the gateway was never asked

    def test_finding6_online_buy_now_under_one_rupee_is_400_and_reserves_nothing(
        self, buyer_api, buyer, sandbox_gateway
    ):
        cheap = ProductFactory(price=Decimal("0.99"))
        response = checkout(buyer_api, buy_now_body(buyer, cheap, 1, payment_method="ONLINE"))
        assert_refused(response, 400, "amount_below_minimum")
        nothing_written([cheap])
        assert sandbox_gateway.orders == {}

    def test_finding6_cash_on_delivery_under_one_rupee_is_still_placed(self, buyer_api, buyer):
        cheap = ProductFactory(price=Decimal("0.50"))
        response = checkout(buyer_api, buy_now_body(buyer, cheap, 1))
        assert response.status_code == 201, response.content
        assert response.json()["total"] == "0.50"
        assert stock_of(cheap) == 9

    def test_finding6_exactly_one_rupee_online_is_placed_with_its_gateway_order(
        self, buyer_api, buyer, sandbox_gateway
    ):
        cheap = ProductFactory(price=Decimal("0.50"))
        response = checkout(buyer_api, buy_now_body(buyer, cheap, 2, payment_method="ONLINE"))
        assert response.status_code == 201, response.content
        assert response.json()["payment"]["razorpay"]["amount"] == 100
        [gateway_order] = sandbox_gateway.orders.values()
        assert gateway_order["amount"] == 100
        assert stock_of(cheap) == 8


# --- The buyer's orders -------------------------------------------------------------------


class TestBuyerOrders:
    def test_the_list_is_mine_only_newest_first_and_paginated(self, buyer_api, buyer, product):
        first, second = buy_now(buyer, product), buy_now(buyer, product, 2)
        buy_now(make_buyer(), product)
        body = buyer_api.get(ORDERS).json()
        assert body["count"] == 2
        assert [order["id"] for order in body["results"]] == [second.pk, first.pk]
        assert body["results"][0]["items"][0]["quantity"] == 2
        assert "events" not in body["results"][0]
        assert buyer_api.get(ORDERS, {"page_size": 1}).json()["next"]

    def test_the_detail_has_items_payment_address_and_timeline(self, buyer_api, buyer, product, store):
        order = buy_now(buyer, product)
        order_item_confirm(item_id=items_of(order)[0].pk, actor=store.user)
        body = buyer_api.get(f"{ORDERS}{order.pk}/").json()
        assert body["number"] == order.number
        assert body["items"][0]["status"] == "CONFIRMED"
        assert body["payment"]["status"] == "PENDING"
        assert [(e["to_status"], e["actor_role"], e["actor_name"]) for e in body["events"]] == [
            ("PLACED", "BUYER", buyer.display_name),
            ("CONFIRMED", "SELLER", store.user.display_name),
        ]

    def test_another_users_order_is_404(self, buyer_api, product):
        theirs = buy_now(make_buyer(), product)
        response = buyer_api.get(f"{ORDERS}{theirs.pk}/")
        assert response.status_code == 404 and response.json()["code"] == "not_found"
        assert buyer_api.get(f"{ORDERS}{2**70}/").status_code == 404

    def test_anonymous_callers_get_401(self, api_client):
        assert api_client.get(ORDERS).status_code == 401


class TestBuyerCancel:
    def test_cancel_answers_200_with_the_order_and_restores_stock(self, buyer_api, buyer, product):
        order = buy_now(buyer, product, 4)
        item = items_of(order)[0]
        response = buyer_api.post(cancel_url(order.pk, item.pk), {"reason": "Ordered the wrong size"}, format="json")
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["status"], body["items"][0]["status"], body["items"][0]["can_cancel"]) == (
            "CANCELLED",
            "CANCELLED",
            False,
        )
        assert body["payment"]["status"] == PaymentStatus.NOT_REQUIRED
        assert body["events"][-1]["reason"] == "Ordered the wrong size"
        assert stock_of(product) == 10

    @pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}])
    def test_a_reason_is_required(self, buyer_api, buyer, product, body):
        order = buy_now(buyer, product)
        assert_refused(
            buyer_api.post(cancel_url(order.pk, items_of(order)[0].pk), body, format="json"), 400, "reason_required"
        )
        assert stock_of(product) == 9

    def test_a_shipped_item_is_409(self, buyer_api, buyer, product):
        order = buy_now(buyer, product)
        item = items_of(order)[0]
        OrderItem.objects.filter(pk=item.pk).update(status=S.SHIPPED)
        response = buyer_api.post(cancel_url(order.pk, item.pk), {"reason": "Too slow"}, format="json")
        assert_refused(response, 409, "invalid_transition")

    def test_another_buyers_item_or_a_mismatched_order_is_404(self, buyer_api, buyer, product):
        theirs = buy_now(make_buyer(), product)
        mine = buy_now(buyer, product)
        their_item, my_item = items_of(theirs)[0], items_of(mine)[0]
        for url in (
            cancel_url(theirs.pk, their_item.pk),
            cancel_url(mine.pk, their_item.pk),
            cancel_url(theirs.pk, my_item.pk),
        ):
            assert buyer_api.post(url, {"reason": "Not mine"}, format="json").status_code == 404
        assert OrderItem.objects.filter(status=S.CANCELLED).count() == 0


# --- The seller's order items -------------------------------------------------------------


class TestSellerOrderItems:
    def test_lists_only_my_items_with_buyer_address_amount_and_payment(self, seller_api, buyer, product, store):
        other_sellers = ProductFactory()
        order = order_of(buyer, {product: 2, other_sellers: 1})
        mine = next(item for item in items_of(order) if item.seller_id == store.pk)
        body = seller_api.get(SELLER_ITEMS).json()
        assert body["count"] == 1
        [row] = body["results"]
        assert row["id"] == mine.pk
        assert row["order"]["number"] == order.number
        assert (row["quantity"], row["amount"], row["status"]) == (2, "998.00", "PLACED")
        assert row["buyer_name"] == buyer.display_name
        assert row["shipping_address"]["city"] == "Mumbai"
        assert row["payment"] == {"method": "COD", "status": "PENDING"}
        assert row["actions"] == ["confirm", "cancel"]
        assert {event["item_id"] for event in row["events"]} == {mine.pk}

    def test_filters_by_status(self, seller_api, buyer, product, store):
        placed = items_of(buy_now(buyer, product))[0]
        confirmed = items_of(buy_now(buyer, product))[0]
        seller_api.post(seller_action(confirmed.pk, "confirm"))
        assert [row["id"] for row in seller_api.get(SELLER_ITEMS, {"status": "PLACED"}).json()["results"]] == [
            placed.pk
        ]
        assert [row["id"] for row in seller_api.get(SELLER_ITEMS, {"status": "confirmed"}).json()["results"]] == [
            confirmed.pk
        ]
        assert seller_api.get(SELLER_ITEMS, {"status": "LOST"}).status_code == 400

    def test_confirm_ship_deliver(self, seller_api, buyer, product):
        order = buy_now(buyer, product)
        item = items_of(order)[0]
        assert seller_api.post(seller_action(item.pk, "confirm")).json()["status"] == "CONFIRMED"
        shipped = seller_api.post(
            seller_action(item.pk, "ship"), {"carrier": "India Post", "tracking_number": "EE123456789IN"}, format="json"
        )
        assert shipped.status_code == 200
        assert (shipped.json()["carrier"], shipped.json()["tracking_number"]) == ("India Post", "EE123456789IN")
        delivered = seller_api.post(seller_action(item.pk, "deliver"))
        assert delivered.status_code == 200
        assert (delivered.json()["status"], delivered.json()["payment"]["status"], delivered.json()["actions"]) == (
            "DELIVERED",
            "COLLECTED",
            [],
        )
        assert bearer(buyer).get(f"{ORDERS}{order.pk}/").json()["status"] == "COMPLETED"

    def test_ship_without_a_body_is_fine_and_a_long_tracking_number_is_not(self, seller_api, buyer, product):
        item = items_of(buy_now(buyer, product))[0]
        seller_api.post(seller_action(item.pk, "confirm"))
        assert (
            seller_api.post(seller_action(item.pk, "ship"), {"tracking_number": "x" * 61}, format="json").status_code
            == 400
        )
        assert seller_api.post(seller_action(item.pk, "ship")).status_code == 200

    def test_cancel_needs_a_reason_and_restores_stock(self, seller_api, buyer, product):
        item = items_of(buy_now(buyer, product, 2))[0]
        assert_refused(seller_api.post(seller_action(item.pk, "cancel"), {}, format="json"), 400, "reason_required")
        response = seller_api.post(seller_action(item.pk, "cancel"), {"reason": "Out of stock"}, format="json")
        assert response.status_code == 200 and response.json()["status"] == "CANCELLED"
        assert stock_of(product) == 10

    def test_a_move_the_status_does_not_allow_is_409(self, seller_api, buyer, product):
        item = items_of(buy_now(buyer, product))[0]
        assert_refused(seller_api.post(seller_action(item.pk, "deliver")), 409, "invalid_transition")
        assert_refused(seller_api.post(seller_action(item.pk, "ship")), 409, "invalid_transition")

    def test_another_sellers_item_is_404(self, buyer, product):
        item = items_of(buy_now(buyer, product))[0]
        stranger = bearer(StoreFactory().user)
        for action in ("confirm", "ship", "deliver"):
            assert stranger.post(seller_action(item.pk, action)).status_code == 404
        assert stranger.post(seller_action(item.pk, "cancel"), {"reason": "x"}, format="json").status_code == 404
        assert stranger.get(SELLER_ITEMS).json()["count"] == 0
        item.refresh_from_db()
        assert item.status == S.PLACED

    def test_non_sellers_get_403(self, buyer_api, buyer, product):
        item = items_of(buy_now(buyer, product))[0]
        assert buyer_api.get(SELLER_ITEMS).status_code == 403
        assert buyer_api.post(seller_action(item.pk, "confirm")).status_code == 403
        assert bearer(UserFactory(is_staff=True)).get(SELLER_ITEMS).status_code == 403


def test_deleting_a_product_with_open_orders_is_409(seller_api, buyer, product):
    buy_now(buyer, product)
    response = seller_api.delete(f"/api/v1/seller/products/{product.pk}/")
    assert_refused(response, 409, "product_has_open_orders")
    assert Product.objects.get(pk=product.pk).is_active


# --- Query counts -------------------------------------------------------------------------


def test_the_order_list_query_count_does_not_grow(buyer_api, buyer, assert_flat_query_count):
    def grow():
        for _ in range(4):
            order = order_of(buyer, {ProductFactory(): 1, ProductFactory(): 2})
            received_with_payout(deliver(items_of(order)[0]), buyer)  # a return and its payout shown too

    order_of(buyer, {ProductFactory(): 1})
    assert_flat_query_count(lambda: buyer_api.get(ORDERS), grow, max_queries=4)


def test_the_order_detail_query_count_does_not_grow(buyer_api, buyer, assert_flat_query_count):
    order = order_of(buyer, {ProductFactory(): 1})

    def grow():
        # More items and more events on the same order.
        extra = order_of(buyer, {ProductFactory(): 1, ProductFactory(): 1, ProductFactory(): 1})
        OrderItem.objects.filter(order=extra).update(order=order)
        first, *others = items_of(order)
        received_with_payout(deliver(first), buyer)
        for item in others:
            order_item_confirm(item_id=item.pk, actor=item.seller.user)

    assert_flat_query_count(lambda: buyer_api.get(f"{ORDERS}{order.pk}/"), grow, max_queries=4)


def test_the_seller_item_list_query_count_does_not_grow(seller_api, store, assert_flat_query_count):
    def grow():
        for _ in range(4):
            buyer = make_buyer()
            order = order_of(buyer, {ProductFactory(store=store): 1, ProductFactory(store=store): 1})
            received_with_payout(deliver(items_of(order)[0]), buyer)

    order_of(make_buyer(), {ProductFactory(store=store): 1})
    assert_flat_query_count(lambda: seller_api.get(SELLER_ITEMS), grow, max_queries=4)


def test_the_schema_documents_the_order_endpoints(api_client):
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    checkout_op = paths["/api/v1/checkout/"]["post"]
    assert {"201", "200", "400", "409"} <= set(checkout_op["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in checkout_op["parameters"])
    for path in (
        "/api/v1/orders/",
        "/api/v1/orders/{order_id}/",
        "/api/v1/orders/{order_id}/items/{item_id}/cancel/",
        "/api/v1/seller/order-items/",
        "/api/v1/seller/order-items/{item_id}/confirm/",
        "/api/v1/seller/order-items/{item_id}/ship/",
        "/api/v1/seller/order-items/{item_id}/deliver/",
        "/api/v1/seller/order-items/{item_id}/cancel/",
    ):
        assert path in paths, path


def test_a_buy_now_checkout_answers_without_reading_the_order_back(buyer_api, buyer, product):
    """The caller and the key; then, in the transaction, the address, the locked product and variant, the stock
    taken, the order, its number, item, payment, event and mail task. The answer is built from those rows."""
    body = buy_now_body(buyer, product)
    with CaptureQueriesContext(connection) as queries:
        response = checkout(buyer_api, body)
    assert response.status_code == 201, response.content
    sqls = [query["sql"] for query in queries.captured_queries]
    last_write = max(index for index, sql in enumerate(sqls) if sql.startswith(("INSERT", "UPDATE")))
    assert not [sql for sql in sqls[last_write:] if sql.startswith("SELECT")]
    assert len(sqls) <= 14, sqls
