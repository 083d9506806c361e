"""Checkout and order pages: the buyer's checkout and orders, and the seller portal's order items."""

import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from catalog.models import MAX_AMOUNT, ProductImage
from catalog.validators import MAX_PRICE
from orders.models import Order, OrderEvent, OrderItem, OrderItemStatus
from orders.services.lifecycle import order_item_cancel, order_item_confirm, order_item_deliver, order_item_ship
from orders.services.returns import (
    order_item_return_approve,
    order_item_return_receive,
    order_item_return_reject,
    order_item_return_request,
)
from payments.models import PaymentStatus, Payout
from payments.services.returns import payout_mark_paid
from tests.factories import (
    TEST_PASSWORD,
    AddressFactory,
    ProductFactory,
    StoreFactory,
    UserFactory,
    only_variant,
    variant_update,
)
from tests.orders.helpers import buy_now, items_of, make_buyer, order_of, put_in_cart, stock_of
from tests.returns.helpers import UPI

pytestmark = pytest.mark.django_db

S = OrderItemStatus
CHECKOUT = "/checkout/"


def login(client: Client, user) -> Client:
    response = client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.content.decode()
    return client


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def flashes(response) -> list[str]:
    """The flash messages a redirect carries, less the login's greeting that no page has shown yet."""
    return [str(m) for m in get_messages(response.wsgi_request) if not str(m).startswith("Welcome back")]


def hidden_value(html: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}"( value="([^"]*)")?', html)
    assert match, f"no hidden {name}"
    return match.group(2) or ""


def checkout_form(html: str, **overrides) -> dict:
    """What the browser would post from the rendered checkout page, with the default choices."""
    checked = re.search(r'name="address" value="(\d+)"\s+required\s+checked', html)
    data = {
        name: hidden_value(html, name)
        for name in ("csrfmiddlewaretoken", "source", "variant", "quantity", "idempotency_key")
        if f'name="{name}"' in html
    }
    data.update(address=checked.group(1) if checked else "", payment_method="COD")
    data.update(overrides)
    return data


@pytest.fixture
def shopper(client, buyer) -> Client:
    return login(client, buyer)


def seller_client(store) -> Client:
    return login(Client(), store.user)


def strict(client: Client) -> Client:
    """From now on the client checks CSRF tokens like a browser session would."""
    client.handler.enforce_csrf_checks = True
    return client


# --- Entry points -------------------------------------------------------------------------


class TestEntryPoints:
    def test_the_cart_links_to_checkout(self, shopper, buyer, product):
        put_in_cart(buyer, product)
        html = html_of(shopper.get("/cart/"))
        assert f'href="{CHECKOUT}" data-testid="checkout-button"' in html
        assert "Proceed to checkout" in html

    def test_a_cart_with_a_problem_cannot_proceed(self, shopper, buyer, product):
        put_in_cart(buyer, product, 3)
        variant_update(only_variant(product), stock=2)
        html = html_of(shopper.get("/cart/"))
        start = html.index('data-testid="checkout-button"')
        assert "disabled" in html[html.rindex("<button", 0, start) : start]

    def test_buy_now_is_offered_only_where_add_to_cart_is(self, shopper, buyer, store, product):
        assert 'data-testid="buy-now"' in html_of(shopper.get(f"/products/{product.slug}/"))
        sold_out = ProductFactory(store=store, stock=0)
        assert 'data-testid="buy-now"' not in html_of(shopper.get(f"/products/{sold_out.slug}/"))
        own = ProductFactory(store=StoreFactory(user=buyer))
        assert 'data-testid="buy-now"' not in html_of(shopper.get(f"/products/{own.slug}/"))

    def test_buy_now_goes_to_checkout_for_that_product_and_quantity(self, shopper, product):
        variant_id = only_variant(product).pk
        response = shopper.post("/checkout/buy-now/", {"variant_id": variant_id, "quantity": "3"})
        assert response.status_code == 302
        url = urlsplit(response["Location"])
        assert url.path == CHECKOUT
        assert parse_qs(url.query) == {"source": ["buy_now"], "variant": [str(variant_id)], "quantity": ["3"]}

    def test_a_visitor_logs_in_first_and_comes_back(self, client, product):
        response = client.post("/checkout/buy-now/", {"variant_id": only_variant(product).pk, "quantity": "2"})
        response = client.get(response["Location"])
        assert response.status_code == 302
        url = urlsplit(response["Location"])
        assert url.path == "/accounts/login/"
        assert parse_qs(url.query)["next"] == [
            f"{CHECKOUT}?source=buy_now&variant={only_variant(product).pk}&quantity=2"
        ]


# --- The checkout page ----------------------------------------------------------------------


class TestCheckoutPage:
    def test_lines_are_grouped_by_seller_with_server_totals(self, shopper, buyer):
        kanchi, taal = StoreFactory(name="Kanchi Looms"), StoreFactory(name="Taal Instruments")
        saree = ProductFactory(store=kanchi, title="Silk saree", price=Decimal("1234.50"))
        stole = ProductFactory(store=kanchi, title="Cotton stole", price=Decimal("100000.00"))
        tabla = ProductFactory(store=taal, title="Tabla", price=Decimal("7499.00"))
        put_in_cart(buyer, saree, 2)
        put_in_cart(buyer, tabla, 1)
        put_in_cart(buyer, stole, 1)
        html = html_of(shopper.get(CHECKOUT))
        assert html.count('data-testid="checkout-seller-group"') == 2
        assert html.index("Sold by Kanchi Looms") < html.index("Silk saree") < html.index("Cotton stole")
        assert html.index("Cotton stole") < html.index("Sold by Taal Instruments") < html.index("Tabla")
        assert "₹2,469.00" in html  # 2 at 1,234.50
        assert "₹1,02,469.00" in html  # Kanchi's subtotal
        assert 'data-testid="checkout-total">₹1,09,968.00<' in html
        assert 'data-testid="place-order">Place order' in html  # enabled

    def test_the_default_address_is_chosen_and_a_fresh_key_rendered(self, shopper, buyer, product):
        other = AddressFactory(user=buyer, name="Office")
        put_in_cart(buyer, product)
        html = html_of(shopper.get(CHECKOUT))
        assert re.search(rf'value="{buyer.address.pk}"\s+required\s+checked', html)
        assert not re.search(rf'value="{other.pk}"\s+required\s+checked', html)
        key = hidden_value(html, "idempotency_key")
        assert len(key) == 32
        assert hidden_value(html_of(shopper.get(CHECKOUT)), "idempotency_key") != key

    def test_cash_on_delivery_and_online_can_be_chosen(self, shopper, buyer, product):
        put_in_cart(buyer, product)
        html = html_of(shopper.get(CHECKOUT))
        assert re.search(r'name="payment_method" value="COD"[^>]*checked', html)
        assert 'name="payment_method" value="ONLINE"' in html
        assert "reserved for 15 minutes" in html
        assert "Coming soon" not in html

    @pytest.mark.parametrize(
        ("arrange", "problem"),
        [
            ("short", "Only 1 of"),
            ("inactive", "is no longer available. Remove it from your cart."),
            ("own", "is sold by your store, so you cannot buy it."),
        ],
    )
    def test_a_problem_is_shown_beside_its_line_and_placing_is_disabled(self, shopper, buyer, arrange, problem):
        fine = ProductFactory()
        product = ProductFactory(store=StoreFactory(user=buyer)) if arrange == "own" else ProductFactory()
        put_in_cart(buyer, fine)
        put_in_cart(buyer, product, 2)
        if arrange == "short":
            variant_update(only_variant(product), stock=1)
        if arrange == "inactive":
            product.is_active = False
            product.save(update_fields=["is_active"])
        html = html_of(shopper.get(CHECKOUT))
        assert html.count('data-testid="checkout-line-problem"') == 1
        assert problem in html
        assert 'data-testid="place-order" disabled' in html
        assert 'data-testid="checkout-total">₹499.00<' in html  # the problem line is not counted

    def test_an_empty_cart_says_what_to_do(self, shopper):
        html = html_of(shopper.get(CHECKOUT))
        assert "Your cart is empty" in html
        assert 'data-testid="checkout-form"' not in html
        assert 'href="/"' in html

    def test_without_an_address_the_page_offers_to_add_one(self, client, product):
        buyer = UserFactory()
        login(client, buyer)
        put_in_cart(buyer, product)
        html = html_of(client.get(CHECKOUT))
        assert 'data-testid="no-addresses"' in html
        assert 'data-testid="place-order" disabled' in html

    def test_adding_an_address_comes_back_with_it_chosen(self, shopper, buyer, product):
        response = shopper.get(f"{CHECKOUT}?source=buy_now&variant={only_variant(product).pk}&quantity=2")
        link = re.search(r'href="([^"]+)" data-testid="add-address"', html_of(response)).group(1).replace("&amp;", "&")
        assert urlsplit(link).path == "/accounts/addresses/new/"
        back = parse_qs(urlsplit(link).query)["next"][0]
        assert back == f"{CHECKOUT}?source=buy_now&variant={only_variant(product).pk}&quantity=2&address=newest"
        html = html_of(shopper.get(link))
        assert f'href="{back.replace("&", "&amp;")}">Cancel' in html  # cancelling goes back too
        address = {
            "name": "Meera Iyer", "phone": "9876543210", "line1": "12 Temple Road", "line2": "",
            "city": "Chennai", "state": "TN", "pincode": "600004",
        }  # fmt: skip
        response = shopper.post(link, address)
        assert response.status_code == 302
        assert response["Location"] == back
        new = buyer.addresses.get(line1="12 Temple Road")
        html = html_of(shopper.get(back))
        assert re.search(rf'value="{new.pk}"\s+required\s+checked', html)

    def test_an_offsite_next_is_ignored_by_the_address_form(self, shopper):
        html = html_of(shopper.get("/accounts/addresses/new/?next=https://evil.example/"))
        assert "evil.example" not in html

    def test_buy_now_shows_one_product_and_says_the_cart_stays(self, shopper, buyer, product):
        put_in_cart(buyer, ProductFactory(title="Something else"))
        html = html_of(shopper.get(f"{CHECKOUT}?source=buy_now&variant={only_variant(product).pk}&quantity=3"))
        assert html.count('data-testid="checkout-line"') == 1
        assert "Something else" not in html
        assert "your cart stays as it is" in html
        assert 'data-testid="checkout-total">₹1,497.00<' in html

    @pytest.mark.parametrize("query", ["variant=999999&quantity=1", "variant=abc", "variant={pk}&quantity=11"])
    def test_a_bad_buy_now_link_explains_itself(self, shopper, product, query):
        html = html_of(shopper.get(f"{CHECKOUT}?source=buy_now&{query.format(pk=only_variant(product).pk)}"))
        assert 'data-testid="checkout-problem"' in html
        assert 'data-testid="checkout-form"' not in html

    def test_the_page_is_not_cached(self, shopper, buyer, product):
        put_in_cart(buyer, product)
        assert "no-cache" in shopper.get(CHECKOUT)["Cache-Control"]

    def test_query_count_does_not_grow_with_lines(self, shopper, buyer, assert_flat_query_count):
        def grow():
            for _ in range(6):
                product = ProductFactory(store=StoreFactory())
                put_in_cart(buyer, product)
                ProductImage.objects.create(product=product, image="a.jpg", thumbnail="a-thumb.webp", alt="")

        put_in_cart(buyer, ProductFactory())
        assert_flat_query_count(lambda: shopper.get(CHECKOUT), grow, max_queries=6)  # with the products' option names


# --- Placing the order ----------------------------------------------------------------------


class TestPlacing:
    def test_placing_from_the_cart(self, shopper, buyer, product):
        put_in_cart(buyer, product, 2)
        form = checkout_form(html_of(shopper.get(CHECKOUT)))
        response = shopper.post(CHECKOUT, form)
        order = Order.objects.get(buyer=buyer)
        assert response.status_code == 302
        assert response["Location"] == f"/orders/{order.number}/"
        assert flashes(response) == [f"Thank you! Order {order.number} is placed. Pay ₹998.00 in cash on delivery."]
        assert order.total == Decimal("998.00")
        assert (order.ship_line1, order.idempotency_key) == (buyer.address.line1, form["idempotency_key"])
        assert stock_of(product) == 8
        assert not buyer.cart.items.exists()

    def test_resubmitting_the_same_page_makes_one_order(self, shopper, buyer, product):
        put_in_cart(buyer, product, 1)
        form = checkout_form(html_of(shopper.get(CHECKOUT)))
        first, second = shopper.post(CHECKOUT, form), shopper.post(CHECKOUT, form)
        assert Order.objects.filter(buyer=buyer).count() == 1
        assert first["Location"] == second["Location"] == f"/orders/{Order.objects.get().number}/"
        assert stock_of(product) == 9

    def test_the_same_page_with_other_choices_is_not_a_second_order_by_accident(self, shopper, buyer, product):
        office = AddressFactory(user=buyer, name="Office")
        put_in_cart(buyer, product, 1)
        form = checkout_form(html_of(shopper.get(CHECKOUT)))
        shopper.post(CHECKOUT, form)
        put_in_cart(buyer, product, 1)
        html = html_of(shopper.post(CHECKOUT, {**form, "address": office.pk}))
        assert "This page already placed an order" in html
        assert hidden_value(html, "idempotency_key") != form["idempotency_key"]
        assert Order.objects.filter(buyer=buyer).count() == 1

    def test_buy_now_leaves_the_cart_alone(self, shopper, buyer, product):
        in_cart = put_in_cart(buyer, ProductFactory(), 2)
        html = html_of(shopper.get(f"{CHECKOUT}?source=buy_now&variant={only_variant(product).pk}&quantity=3"))
        response = shopper.post(CHECKOUT, checkout_form(html))
        order = Order.objects.get(buyer=buyer)
        assert response["Location"] == f"/orders/{order.number}/"
        assert [(i.product_id, i.quantity) for i in items_of(order)] == [(product.pk, 3)]
        assert list(buyer.cart.items.values_list("pk", "quantity")) == [(in_cart.pk, 2)]

    def test_a_refusal_is_a_form_error_on_the_page_and_places_nothing(self, shopper, buyer, product):
        put_in_cart(buyer, product, 3)
        form = checkout_form(html_of(shopper.get(CHECKOUT)))
        variant_update(only_variant(product), stock=2)  # sold elsewhere meanwhile
        html = html_of(shopper.post(CHECKOUT, form))
        assert 'data-testid="checkout-errors"' in html
        assert f"Only 2 of {product.title} left in stock." in html
        assert not Order.objects.exists()
        assert stock_of(product) == 2

    def test_another_buyers_address_is_refused_beside_the_field(self, shopper, buyer, product):
        put_in_cart(buyer, product)
        form = checkout_form(html_of(shopper.get(CHECKOUT)), address=make_buyer().address.pk)
        html = html_of(shopper.post(CHECKOUT, form))
        assert "Choose one of your saved delivery addresses." in html
        assert not Order.objects.exists()

    @pytest.mark.parametrize(
        "tamper",
        [{"payment_method": "UPI"}, {"source": "wishlist"}, {"idempotency_key": ""}, {"quantity": "99"}],
    )
    def test_tampered_fields_never_place_an_order_or_fail(self, shopper, buyer, product, tamper):
        html = html_of(shopper.get(f"{CHECKOUT}?source=buy_now&variant={only_variant(product).pk}&quantity=1"))
        response = shopper.post(CHECKOUT, checkout_form(html, **tamper))
        assert response.status_code == 200
        assert not Order.objects.exists()

    def test_the_form_needs_the_csrf_token(self, buyer, product):
        client = strict(login(Client(), buyer))
        put_in_cart(buyer, product)
        form = checkout_form(html_of(client.get(CHECKOUT)))
        token = form.pop("csrfmiddlewaretoken")
        assert client.post(CHECKOUT, form).status_code == 403
        assert not Order.objects.exists()
        assert client.post(CHECKOUT, {**form, "csrfmiddlewaretoken": token}).status_code == 302
        assert Order.objects.count() == 1


class TestAmountsTooLarge:
    """An order past the 12-digit money columns: a message on the page, never a 500, nothing written."""

    def test_buy_now_of_an_overpriced_product_past_the_order_column_is_a_form_error(self, shopper, buyer):
        legacy = ProductFactory(price=MAX_AMOUNT, stock=10)  # stored before prices were capped
        html = html_of(shopper.get(f"{CHECKOUT}?source=buy_now&variant={only_variant(legacy).pk}&quantity=2"))
        html = html_of(shopper.post(CHECKOUT, checkout_form(html)))
        assert 'data-testid="checkout-errors"' in html
        assert "the most one order can hold" in html
        assert not Order.objects.exists()
        assert stock_of(legacy) == 10

    def test_a_cart_adding_up_past_the_order_column_is_a_form_error(self, shopper, buyer):
        dearest = ProductFactory.create_batch(11, price=MAX_PRICE, stock=10)
        for product in dearest:
            put_in_cart(buyer, product, 10)
        html = html_of(shopper.post(CHECKOUT, checkout_form(html_of(shopper.get(CHECKOUT)))))
        assert "Split it into smaller orders" in html
        assert not Order.objects.exists()
        assert [stock_of(product) for product in dearest] == [10] * 11
        assert buyer.cart.items.count() == 11


class TestOnlineBelowTheGatewayMinimum:
    """Finding 6: an order under ₹1.00, the gateway's minimum, is offered Cash on Delivery only."""

    def test_finding6_the_page_offers_cash_on_delivery_only_under_one_rupee(self, shopper, buyer):
        cheap = ProductFactory(price=Decimal("0.50"))
        html = html_of(shopper.get(f"{CHECKOUT}?source=buy_now&variant={only_variant(cheap).pk}&quantity=1"))
        assert re.search(r'name="payment_method" value="COD"[^>]*checked', html)
        assert 'name="payment_method" value="ONLINE"' not in html
        assert 'data-testid="online-unavailable"' in html
        assert "online payment needs at least ₹1.00" in html
        assert not re.search(r'data-testid="place-order"[^>]*disabled', html)

    def test_finding6_exactly_one_rupee_may_be_paid_online(self, shopper, buyer):
        cheap = ProductFactory(price=Decimal("0.50"))
        html = html_of(shopper.get(f"{CHECKOUT}?source=buy_now&variant={only_variant(cheap).pk}&quantity=2"))
        assert 'name="payment_method" value="ONLINE"' in html
        assert 'data-testid="online-unavailable"' not in html

    def test_finding6_a_forged_online_post_under_one_rupee_is_a_form_error_and_reserves_nothing(
        self, shopper, buyer, sandbox_gateway
    ):
        cheap = ProductFactory(price=Decimal("0.40"))
        put_in_cart(buyer, cheap, 2)
        form = checkout_form(html_of(shopper.get(CHECKOUT)), payment_method="ONLINE")
        html = html_of(shopper.post(CHECKOUT, form))
        assert 'data-testid="checkout-errors"' in html
        assert "This order comes to ₹0.80; online payment needs at least ₹1.00." in html
        assert not Order.objects.exists()
        assert stock_of(cheap) == 10
        assert buyer.cart.items.count() == 1
        assert sandbox_gateway.orders == {}

    def test_finding6_cash_on_delivery_under_one_rupee_is_placed_from_the_page(self, shopper, buyer):
        cheap = ProductFactory(price=Decimal("0.40"))
        put_in_cart(buyer, cheap, 2)
        response = shopper.post(CHECKOUT, checkout_form(html_of(shopper.get(CHECKOUT))))
        order = Order.objects.get()
        assert response["Location"] == f"/orders/{order.number}/"
        assert order.total == Decimal("0.80") and stock_of(cheap) == 8


# --- The buyer's orders ---------------------------------------------------------------------


class TestBuyerOrders:
    def test_no_orders_says_what_to_do_next(self, shopper):
        html = html_of(shopper.get("/orders/"))
        assert "You have not placed any orders yet." in html
        assert 'href="/"' in html

    def test_the_nav_links_to_my_orders(self, shopper):
        assert 'href="/orders/" data-testid="nav-orders"' in html_of(shopper.get("/"))

    def test_orders_are_listed_newest_first_and_paginated(self, shopper, buyer, product):
        variant_update(only_variant(product), stock=20)
        orders = [buy_now(buyer, product) for _ in range(11)]
        buy_now(make_buyer(), product)
        html = html_of(shopper.get("/orders/"))
        numbers = re.findall(r'data-testid="order-link">Order (JC-\d+)<', html)
        assert numbers == [order.number for order in reversed(orders)][:10]
        assert "Page 1 of 2" in html
        assert re.findall(r'data-testid="order-link">Order (JC-\d+)<', html_of(shopper.get("/orders/?page=2"))) == [
            orders[0].number
        ]

    def test_the_order_page_shows_items_timeline_address_and_payment(self, shopper, buyer, product):
        order = buy_now(buyer, product, 2)
        item = items_of(order)[0]
        order_item_confirm(item_id=item.pk, actor=product.store.user)
        order_item_ship(item_id=item.pk, actor=product.store.user, carrier="India Post", tracking_number="EE123IN")
        html = html_of(shopper.get(f"/orders/{order.number}/"))
        assert f"Order {order.number}" in html
        assert product.title in html
        assert "India Post" in html and "EE123IN" in html
        assert html.count('data-testid="timeline-entry"') == 3
        assert f"by {product.store.name}" in html and "by You" in html
        assert buyer.address.line1 in html
        assert 'data-testid="payment-status">Pending<' in html
        assert 'data-testid="payment-due">₹998.00<' in html
        assert 'data-testid="cancel-form"' not in html  # shipped: too late

    def test_only_a_delivered_item_invites_a_review_of_its_product(self, shopper, buyer, product):
        order = order_of(buyer, {product: 1, ProductFactory(): 1})
        delivered, shipped = items_of(order)
        for item in (delivered, shipped):
            order_item_confirm(item_id=item.pk, actor=item.seller.user)
            order_item_ship(item_id=item.pk, actor=item.seller.user, carrier="India Post", tracking_number="EE1IN")
        order_item_deliver(item_id=delivered.pk, actor=delivered.seller.user)
        html = html_of(shopper.get(f"/orders/{order.number}/"))
        links = re.findall(r'<a href="([^"]+)" data-testid="order-item-review-link">', html)
        assert links == [f"/products/{product.slug}/#reviews"]

    def test_another_buyers_order_is_not_found(self, client, buyer, product):
        order = buy_now(buyer, product)
        login(client, make_buyer())
        assert client.get(f"/orders/{order.number}/").status_code == 404
        assert client.get("/orders/JC-999999/").status_code == 404

    def test_a_visitor_is_sent_to_log_in(self, client, buyer, product):
        order = buy_now(buyer, product)
        for url in ("/orders/", f"/orders/{order.number}/", CHECKOUT):
            response = client.get(url)
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/?next=")


class TestBuyerCancel:
    def test_cancelling_restores_stock_and_updates_the_page(self, shopper, buyer, product):
        order = buy_now(buyer, product, 3)
        item = items_of(order)[0]
        assert stock_of(product) == 7
        html = html_of(shopper.get(f"/orders/{order.number}/"))
        assert 'data-testid="cancel-form"' in html
        response = shopper.post(f"/orders/{order.number}/items/{item.pk}/cancel/", {"reason": "Ordered by mistake"})
        assert response.status_code == 302 and response["Location"] == f"/orders/{order.number}/"
        assert flashes(response) == [f"Cancelled “{product.title}”. You will not pay for it."]
        assert stock_of(product) == 10
        item.refresh_from_db()
        assert item.status == S.CANCELLED
        html = html_of(shopper.get(f"/orders/{order.number}/"))
        assert "Reason: Ordered by mistake" in html
        assert 'data-testid="payment-status">Not required<' in html
        assert 'data-testid="cancel-form"' not in html

    def test_a_reason_is_required_and_asked_for_beside_the_field(self, shopper, buyer, product):
        order = buy_now(buyer, product)
        item = items_of(order)[0]
        response = shopper.post(f"/orders/{order.number}/items/{item.pk}/cancel/", {"reason": "   "})
        html = html_of(response)
        assert "Give a reason for cancelling" in html
        assert re.search(r"<details class=\"cancel-box\" open>", html)
        item.refresh_from_db()
        assert item.status == S.PLACED and stock_of(product) == 9

    def test_a_shipped_item_cannot_be_cancelled(self, shopper, buyer, product):
        order = buy_now(buyer, product)
        item = items_of(order)[0]
        order_item_confirm(item_id=item.pk, actor=product.store.user)
        order_item_ship(item_id=item.pk, actor=product.store.user)
        response = shopper.post(f"/orders/{order.number}/items/{item.pk}/cancel/", {"reason": "Too slow"})
        assert response.status_code == 302
        assert "cannot be cancelled now" in flashes(response)[0]
        item.refresh_from_db()
        assert item.status == S.SHIPPED

    def test_another_buyers_item_is_not_found(self, client, buyer, product):
        order = buy_now(buyer, product)
        item = items_of(order)[0]
        login(client, make_buyer())
        response = client.post(f"/orders/{order.number}/items/{item.pk}/cancel/", {"reason": "mine now"})
        assert response.status_code == 404
        mine = buy_now(make_buyer(), product)
        assert client.post(f"/orders/{mine.number}/items/{item.pk}/cancel/", {"reason": "x"}).status_code == 404
        item.refresh_from_db()
        assert item.status == S.PLACED

    def test_the_cancel_form_needs_the_csrf_token(self, buyer, product):
        order = buy_now(buyer, product)
        item = items_of(order)[0]
        client = strict(login(Client(), buyer))
        assert client.post(f"/orders/{order.number}/items/{item.pk}/cancel/", {"reason": "x"}).status_code == 403
        item.refresh_from_db()
        assert item.status == S.PLACED

    def test_a_reason_with_markup_is_escaped_for_buyer_and_seller(self, shopper, buyer, store, product):
        order = buy_now(buyer, product)
        item = items_of(order)[0]
        shopper.post(f"/orders/{order.number}/items/{item.pk}/cancel/", {"reason": "<script>alert(1)</script>"})
        escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
        html = html_of(shopper.get(f"/orders/{order.number}/"))
        assert escaped in html and "<script>alert(1)" not in html
        html = html_of(seller_client(store).get("/seller/orders/"))
        assert escaped in html and "<script>alert(1)" not in html


class TestBuyerQueryCounts:
    def test_order_list(self, shopper, buyer, assert_flat_query_count):
        def grow():
            for _ in range(5):
                order_of(buyer, {ProductFactory(): 1, ProductFactory(): 2})

        order_of(buyer, {ProductFactory(): 1})
        assert_flat_query_count(lambda: shopper.get("/orders/"), grow, max_queries=5)

    def test_order_detail(self, shopper, buyer, assert_flat_query_count):
        url = [f"/orders/{order_of(buyer, {ProductFactory(): 1}).number}/"]

        def grow():
            order = order_of(buyer, {ProductFactory(): 1 for _ in range(8)})
            items = items_of(order)
            for item in items[:5]:
                order_item_confirm(item_id=item.pk, actor=item.seller.user)
                order_item_ship(item_id=item.pk, actor=item.seller.user, carrier="India Post", tracking_number="EE1IN")
                order_item_deliver(item_id=item.pk, actor=item.seller.user)
            # Returns at every stage: asked, refused, received with a payout, paid.
            for item in items[1:5]:
                order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged", refund_to=UPI)
            order_item_return_reject(item_id=items[2].pk, actor=items[2].seller.user, reason="Worn")
            for item in items[3:5]:
                order_item_return_approve(item_id=item.pk, actor=item.seller.user)
                order_item_return_receive(item_id=item.pk, actor=item.seller.user, resellable=True)
            staff = UserFactory(is_staff=True)
            payout_mark_paid(payout_id=Payout.objects.get(order_item=items[4]).pk, utr="UTR42", staff=staff)
            url[0] = f"/orders/{order.number}/"

        assert_flat_query_count(lambda: shopper.get(url[0]), grow, max_queries=6)


# --- The seller portal ----------------------------------------------------------------------


@pytest.fixture
def seller_page(store) -> Client:
    return seller_client(store)


def seller_post(client, item, action: str, **data):
    return client.post(f"/seller/orders/items/{item.pk}/{action}/", data)


class TestSellerOrders:
    def test_non_sellers_are_sent_to_open_a_store(self, shopper):
        response = shopper.get("/seller/orders/")
        assert response.status_code == 302
        assert response["Location"] == "/accounts/become-a-seller/"

    def test_the_portal_links_to_orders(self, seller_page):
        html = html_of(seller_page.get("/seller/"))
        assert 'href="/seller/orders/" data-testid="portal-orders"' in html
        assert 'data-testid="dashboard-orders"' in html

    def test_lists_only_this_sellers_items_with_what_is_needed_to_ship(self, seller_page, store, product):
        buyer = make_buyer(first_name="Meera", last_name="Iyer")
        order = order_of(buyer, {product: 2, ProductFactory(title="Someone else's"): 1})
        html = html_of(seller_page.get("/seller/orders/"))
        assert html.count('data-testid="seller-order-item"') == 1
        assert "Someone else&#x27;s" not in html
        assert order.number in html and product.title in html
        assert 'data-testid="seller-item-buyer">Meera Iyer<' in html
        assert buyer.address.line1 in html and buyer.address.pincode in html
        assert 'data-testid="seller-item-amount">₹998.00<' in html
        assert "Cash on Delivery · Pending" in html
        assert 'data-testid="confirm-item"' in html and 'data-testid="cancel-item"' in html
        assert 'data-testid="ship-item"' not in html

    def test_filters_by_status(self, seller_page, store, product):
        placed, confirmed = buy_now(make_buyer(), product), buy_now(make_buyer(), product)
        order_item_confirm(item_id=items_of(confirmed)[0].pk, actor=store.user)
        html = html_of(seller_page.get("/seller/orders/?status=CONFIRMED"))
        assert confirmed.number in html and placed.number not in html
        assert 'aria-current="page">\n            Confirmed <span class="badge">1</span>' in html
        html = html_of(seller_page.get("/seller/orders/?status=DELIVERED"))
        assert "No items are delivered right now." in html
        html = html_of(seller_page.get("/seller/orders/?status=bogus"))
        assert confirmed.number in html and placed.number in html

    def test_empty_portal_says_what_happens_next(self, seller_page):
        assert 'data-testid="seller-orders-empty"' in html_of(seller_page.get("/seller/orders/"))

    def test_confirm_ship_deliver(self, seller_page, store, product):
        order = buy_now(make_buyer(), product, 2)
        item = items_of(order)[0]
        response = seller_post(seller_page, item, "confirm", next="/seller/orders/?status=PLACED")
        assert response["Location"] == "/seller/orders/?status=PLACED"
        assert flashes(response) == [f"{order.number}: “{product.title}” confirmed: ship it when it is packed."]
        html = html_of(seller_page.get("/seller/orders/"))
        assert 'data-testid="ship-item"' in html and 'data-testid="confirm-item"' not in html
        seller_post(seller_page, item, "ship", carrier="Delhivery", tracking_number="DL-42")
        item.refresh_from_db()
        assert (item.status, item.carrier, item.tracking_number) == (S.SHIPPED, "Delhivery", "DL-42")
        response = seller_post(seller_page, item, "deliver", next="https://evil.example/")
        assert response["Location"] == "/seller/orders/"
        item.refresh_from_db()
        assert item.status == S.DELIVERED
        assert item.order.payment.status == PaymentStatus.COLLECTED
        assert list(OrderEvent.objects.filter(item=item).values_list("actor_role", flat=True)) == [
            "BUYER", "SELLER", "SELLER", "SELLER",
        ]  # fmt: skip

    def test_a_move_the_status_does_not_allow_is_a_flash_message(self, seller_page, product):
        item = items_of(buy_now(make_buyer(), product))[0]
        response = seller_post(seller_page, item, "deliver")
        assert response.status_code == 302
        assert "cannot be marked delivered now" in flashes(response)[0]
        item.refresh_from_db()
        assert item.status == S.PLACED

    def test_a_shipment_field_too_long_is_refused(self, seller_page, store, product):
        item = items_of(buy_now(make_buyer(), product))[0]
        order_item_confirm(item_id=item.pk, actor=store.user)
        response = seller_post(seller_page, item, "ship", carrier="x" * 61)
        assert "was not shipped" in flashes(response)[0]
        item.refresh_from_db()
        assert item.status == S.CONFIRMED

    def test_cancel_needs_a_reason_and_restores_stock(self, seller_page, product):
        item = items_of(buy_now(make_buyer(), product, 4))[0]
        response = seller_post(seller_page, item, "cancel", reason="")
        assert "was not cancelled" in flashes(response)[0]
        assert stock_of(product) == 6
        response = seller_post(seller_page, item, "cancel", reason="Damaged in the warehouse")
        assert flashes(response)[-1] == f"{item.order.number}: “{product.title}” cancelled: its stock is back on sale."
        assert stock_of(product) == 10
        html = html_of(seller_page.get("/seller/orders/?status=CANCELLED"))
        assert 'data-testid="seller-item-cancel-reason">Damaged in the warehouse<' in html

    @pytest.mark.parametrize("action", ["confirm", "ship", "deliver", "cancel"])
    def test_another_sellers_item_is_not_found(self, seller_page, action):
        item = items_of(buy_now(make_buyer(), ProductFactory()))[0]
        assert seller_post(seller_page, item, action, reason="x").status_code == 404
        item.refresh_from_db()
        assert item.status == S.PLACED

    def test_actions_need_post_and_the_csrf_token(self, store, product):
        item = items_of(buy_now(make_buyer(), product))[0]
        client = strict(seller_client(store))
        assert client.get(f"/seller/orders/items/{item.pk}/confirm/").status_code == 405
        assert client.post(f"/seller/orders/items/{item.pk}/confirm/").status_code == 403
        item.refresh_from_db()
        assert item.status == S.PLACED

    def test_query_count_does_not_grow_with_items(self, seller_page, store, assert_flat_query_count):
        def grow():
            for _ in range(5):
                order = buy_now(make_buyer(), ProductFactory(store=store))
                order_item_cancel(item_id=items_of(order)[0].pk, actor=store.user, reason="gone")
                buy_now(make_buyer(), ProductFactory(store=store))

        buy_now(make_buyer(), ProductFactory(store=store))
        assert_flat_query_count(lambda: seller_page.get("/seller/orders/"), grow, max_queries=6)


def test_an_item_title_with_markup_is_escaped_everywhere(shopper, buyer, store):
    product = ProductFactory(store=store, title="<b>Bold</b> saree")
    order = buy_now(buyer, product)
    escaped = "&lt;b&gt;Bold&lt;/b&gt; saree"
    for client, url in (
        (shopper, f"/orders/{order.number}/"),
        (shopper, "/orders/"),
        (seller_client(store), "/seller/orders/"),
    ):
        html = html_of(client.get(url))
        assert escaped in html and "<b>Bold</b>" not in html
    assert OrderItem.objects.get().title == "<b>Bold</b> saree"
