from decimal import Decimal

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from cart.context_processors import cart_summary
from cart.guest import GUEST_CART_COOKIE, GUEST_CART_SALT, guest_cart_read
from cart.models import Cart, CartItem
from catalog.models import ProductImage
from tests.cart.helpers import (
    HIDDEN,
    cart_lines,
    cart_variant_lines,
    hide,
    page_login,
    product_in_sizes,
    product_with_image,
    put_in_cart,
    variant_id_of,
)
from tests.factories import TEST_PASSWORD, ProductFactory, as_variant, only_variant, variant_update

pytestmark = pytest.mark.django_db


def add(client, item, quantity="1", **extra):
    """Post the add form's `variant_id`: a variant's, a single-variant product's only variant's, or raw text."""
    variant_id = item if isinstance(item, (int, str)) else variant_id_of(item)
    return client.post("/cart/add/", {"variant_id": variant_id, "quantity": quantity, **extra})


def signed_cookie(value: str, *, salt: str) -> str:
    """The guest cookie's value as a response signs it under `salt`."""
    response = HttpResponse()
    response.set_signed_cookie(GUEST_CART_COOKIE, value, salt=salt)
    return response.cookies[GUEST_CART_COOKIE].value


def product_page(item) -> str:
    """Where a refused add of a buyable variant returns: its product's page with it chosen."""
    variant = as_variant(item)
    return f"/products/{variant.product.slug}/?variant={variant.pk}"


def page(client, url: str = "/cart/") -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def nav_count(html: str) -> str:
    marker = 'data-testid="nav-cart-count">'
    start = html.index(marker) + len(marker)
    return html[start : html.index("<", start)]


def guest_cookie_lines(client) -> dict[int, int]:
    """The guest cart as the app reads it back from the browser's cookie."""
    request = RequestFactory().get("/")
    request.COOKIES[GUEST_CART_COOKIE] = client.cookies[GUEST_CART_COOKIE].value
    return guest_cart_read(request)


@pytest.fixture
def shopper(client, user):
    page_login(client, user)
    return client


class TestCartPage:
    def test_an_empty_cart_says_what_to_do_next(self, shopper):
        html = page(shopper)
        assert "Your cart is empty" in html
        assert 'href="/"' in html
        assert 'data-testid="cart-line"' not in html

    def test_lines_show_title_link_prices_quantity_and_subtotal(self, shopper, user):
        product = product_with_image(title="Copper Bottle", price=Decimal("123456.00"), stock=5)
        item = put_in_cart(user, product, 2)
        html = page(shopper)
        assert f'href="/products/{product.slug}/"' in html
        assert "Copper Bottle" in html
        assert "₹1,23,456.00" in html  # unit price, Indian grouping
        assert "₹2,46,912.00" in html  # line total and subtotal
        assert f'/media/products/{product.pk}/front-thumb.webp"' in html
        assert f'action="/cart/items/{item.pk}/update/"' in html
        assert f'action="/cart/items/{item.pk}/remove/"' in html
        assert 'name="quantity" value="2"' in html
        assert 'min="1" max="10"' in html

    def test_the_cart_proceeds_to_checkout(self, shopper, user, product):
        put_in_cart(user, product)
        html = page(shopper)
        assert '<a class="button cart-checkout" href="/checkout/" data-testid="checkout-button">' in html

    def test_a_price_change_after_adding_shows_the_new_price(self, shopper, user, product):
        put_in_cart(user, product, 2)
        variant_update(only_variant(product), price=Decimal("599.00"))
        html = page(shopper)
        assert "₹1,198.00" in html
        assert "₹998.00" not in html

    def test_stock_below_the_quantity_is_shown_on_the_line(self, shopper, user):
        product = ProductFactory(stock=10)
        put_in_cart(user, product, 4)
        variant_update(only_variant(product), stock=1)
        html = page(shopper)
        assert "Only 1 left in stock. Lower the quantity to 1 or less." in html
        assert 'data-testid="cart-problems-note"' in html
        assert '<strong data-testid="cart-subtotal">₹0.00</strong>' in html

    @pytest.mark.parametrize("how", HIDDEN)
    def test_an_unavailable_product_is_shown_on_the_line(self, shopper, user, product, how):
        put_in_cart(user, product, 1)
        hide(product, how)
        html = page(shopper)
        assert "This product is no longer available. Remove it from your cart." in html

    def test_query_count_does_not_grow_with_lines(self, shopper, user, assert_flat_query_count):
        for _ in range(2):
            put_in_cart(user, product_with_image())

        def six_more():
            for _ in range(6):
                put_in_cart(user, product_with_image())

        # The user, then the lines with their variants, the images, the option names.
        assert_flat_query_count(lambda: shopper.get("/cart/"), six_more, max_queries=4)
        assert page(shopper).count('data-testid="cart-line"') == 8


class TestAddingOnThePages:
    def test_adding_flashes_and_lands_on_the_cart(self, shopper, user, product):
        response = add(shopper, product, "3")
        assert response.status_code == 302
        assert response.url == "/cart/"
        html = page(shopper)
        assert f"Added 3 of {product.title} to your cart." in html
        assert nav_count(html) == "3"
        assert cart_lines(user) == {product.pk: 3}

    def test_quantity_defaults_to_one(self, shopper, user, product):
        shopper.post("/cart/add/", {"variant_id": variant_id_of(product)})
        assert cart_lines(user) == {product.pk: 1}

    def test_a_safe_next_is_followed_and_an_external_one_is_not(self, shopper, product):
        assert add(shopper, product, next="/products/x/").url == "/products/x/"
        assert add(shopper, product, next="https://evil.example/").url == "/cart/"

    def test_adding_again_raises_the_quantity(self, shopper, user, product):
        add(shopper, product, "2")
        add(shopper, product, "2")
        assert cart_lines(user) == {product.pk: 4}

    def test_raising_past_ten_is_refused_with_a_message(self, shopper, user):
        product = ProductFactory(stock=30)
        add(shopper, product, "9")
        response = add(shopper, product, "2")
        assert response.url == product_page(product)
        assert "you already have 9" in page(shopper)
        assert cart_lines(user) == {product.pk: 9}

    @pytest.mark.parametrize("quantity", ["0", "11", "-1", "abc", "2.5"])
    def test_a_bad_quantity_goes_back_to_the_product_with_an_error(self, shopper, user, product, quantity):
        response = add(shopper, product, quantity)
        assert response.url == product_page(product)
        assert "Choose a quantity from 1 to 10." in page(shopper)
        assert cart_lines(user) == {}

    def test_a_refusal_goes_back_to_a_safe_next(self, shopper, product):
        assert add(shopper, product, "0", next="/?search=lamp").url == "/?search=lamp"

    def test_more_than_the_stock_says_how_many_are_left(self, shopper, user):
        product = ProductFactory(stock=2, title="Clay Pot")
        add(shopper, product, "3")
        assert "Only 2 of Clay Pot left in stock." in page(shopper)
        assert cart_lines(user) == {}

    def test_a_seller_cannot_add_their_own_product(self, client, seller):
        page_login(client, seller)
        product = ProductFactory(store=seller.store, title="Own Shawl")
        add(client, product)
        assert "Own Shawl is sold by your store, so you cannot buy it." in page(client)
        assert cart_lines(seller) == {}

    @pytest.mark.parametrize("how", HIDDEN)
    def test_an_unavailable_product_goes_home_with_an_error(self, shopper, user, product, how):
        hide(product, how)
        response = add(shopper, product)
        assert response.url == "/"
        assert "This product is no longer available." in page(shopper)
        assert cart_lines(user) == {}

    def test_a_garbage_id_is_unavailable_not_a_crash(self, shopper, user):
        assert add(shopper, "nope").url == "/"
        assert add(shopper, "9" * 40).url == "/"
        assert shopper.post("/cart/add/", {"product_id": "nope", "quantity": "1"}).url == "/"
        assert "This product is no longer available." in page(shopper)
        assert cart_lines(user) == {}

    def test_adding_needs_post_and_the_csrf_token(self, product):
        browser = Client(enforce_csrf_checks=True)
        assert browser.get("/cart/add/").status_code == 405
        assert add(browser, product).status_code == 403
        assert GUEST_CART_COOKIE not in browser.cookies


class TestChangingLinesOnThePages:
    def test_update_sets_the_quantity(self, shopper, user, product):
        item = put_in_cart(user, product, 1)
        response = shopper.post(f"/cart/items/{item.pk}/update/", {"quantity": "4"})
        assert response.url == "/cart/"
        html = page(shopper)
        assert f"{product.title}: quantity set to 4." in html
        assert 'name="quantity" value="4"' in html
        assert cart_lines(user) == {product.pk: 4}

    @pytest.mark.parametrize("quantity", ["0", "11", "abc", ""])
    def test_update_with_a_bad_quantity_shows_an_error(self, shopper, user, product, quantity):
        item = put_in_cart(user, product, 2)
        shopper.post(f"/cart/items/{item.pk}/update/", {"quantity": quantity})
        assert "Choose a quantity from 1 to 10." in page(shopper)
        assert cart_lines(user) == {product.pk: 2}

    def test_update_above_the_stock_shows_an_error(self, shopper, user):
        product = ProductFactory(stock=3, title="Jute Bag")
        item = put_in_cart(user, product, 1)
        shopper.post(f"/cart/items/{item.pk}/update/", {"quantity": "5"})
        assert "Only 3 of Jute Bag left in stock." in page(shopper)
        assert cart_lines(user) == {product.pk: 1}

    def test_remove_deletes_the_line(self, shopper, user, product):
        item = put_in_cart(user, product, 1)
        shopper.post(f"/cart/items/{item.pk}/remove/")
        html = page(shopper)
        assert f"Removed {product.title} from your cart." in html
        assert "Your cart is empty" in html

    def test_another_users_line_is_404_on_both_forms(self, shopper, other_user, product):
        theirs = put_in_cart(other_user, product, 2)
        assert shopper.post(f"/cart/items/{theirs.pk}/update/", {"quantity": "5"}).status_code == 404
        assert shopper.post(f"/cart/items/{theirs.pk}/remove/").status_code == 404
        assert cart_lines(other_user) == {product.pk: 2}

    def test_anonymous_visitors_are_sent_to_log_in_for_account_lines(self, client, user, product):
        item = put_in_cart(user, product, 2)
        response = client.post(f"/cart/items/{item.pk}/remove/")
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")
        assert cart_lines(user) == {product.pk: 2}


class TestGuestCart:
    def test_a_guest_fills_a_cart_without_any_rows(self, client, product):
        add(client, product, "2")
        cookie = client.cookies[GUEST_CART_COOKIE]
        assert cookie["httponly"]
        assert cookie["secure"]  # tests run with DEBUG off, as production does
        assert cookie["samesite"] == "Lax"
        assert int(cookie["max-age"]) == 30 * 24 * 3600
        assert guest_cookie_lines(client) == {variant_id_of(product): 2}
        assert cookie.value.startswith(
            f"{variant_id_of(product)}:2:"
        )  # readable ids and quantities, then the signature
        assert not Cart.objects.exists()
        html = page(client)
        assert f"Added 2 of {product.title} to your cart." in html
        assert nav_count(html) == "2"
        assert f'action="/cart/guest-items/{variant_id_of(product)}/update/"' in html
        assert "₹998.00" in html

    def test_guest_adds_follow_the_same_rules(self, client):
        product = ProductFactory(stock=3, title="Glass Jar")
        add(client, product, "2")
        add(client, product, "2")
        assert "Only 3 of Glass Jar left in stock." in page(client)
        add(client, product, "abc")
        assert "Choose a quantity from 1 to 10." in page(client)
        assert guest_cookie_lines(client) == {variant_id_of(product): 2}

    @pytest.mark.parametrize("how", HIDDEN)
    def test_guests_cannot_add_unavailable_products(self, client, product, how):
        hide(product, how)
        add(client, product)
        assert "This product is no longer available." in page(client)
        assert GUEST_CART_COOKIE not in client.cookies

    def test_guest_update_and_remove(self, client):
        first, second = ProductFactory(stock=4), ProductFactory()
        add(client, first)
        add(client, second)
        assert client.post(f"/cart/guest-items/{variant_id_of(first)}/update/", {"quantity": "4"}).url == "/cart/"
        assert guest_cookie_lines(client) == {variant_id_of(first): 4, variant_id_of(second): 1}
        client.post(f"/cart/guest-items/{variant_id_of(first)}/update/", {"quantity": "5"})
        assert "Only 4 of" in page(client)
        client.post(f"/cart/guest-items/{variant_id_of(first)}/remove/")
        assert guest_cookie_lines(client) == {variant_id_of(second): 1}
        assert nav_count(page(client)) == "1"

    def test_a_guest_line_that_is_not_in_the_cookie_is_404(self, client, product):
        assert client.post(f"/cart/guest-items/{variant_id_of(product)}/remove/").status_code == 404
        assert client.post(f"/cart/guest-items/{variant_id_of(product)}/update/", {"quantity": "1"}).status_code == 404

    def test_the_guest_page_shows_problems_too(self, client, product):
        add(client, product, "5")
        variant_update(only_variant(product), stock=2)
        assert "Only 2 left in stock." in page(client)

    def test_a_forged_cookie_is_an_empty_cart(self, client, product):
        client.cookies[GUEST_CART_COOKIE] = f"{variant_id_of(product)}:5"
        html = page(client)
        assert "Your cart is empty" in html
        assert nav_count(html) == "0"

    def test_a_deleted_product_drops_out_of_the_cookie(self, client, product):
        kept = ProductFactory()
        add(client, product)
        add(client, kept)
        product.delete()
        page(client)
        assert guest_cookie_lines(client) == {variant_id_of(kept): 1}

    def test_a_guest_form_posted_after_logging_in_changes_nothing(self, client, user, product):
        page_login(client, user)
        response = client.post(f"/cart/guest-items/{variant_id_of(product)}/remove/")
        assert response.url == "/cart/"
        assert "Please try again." in page(client)


class TestMergeAtLogin:
    def test_logging_in_moves_the_guest_cart_into_the_account(self, client, user):
        first, second = ProductFactory(), ProductFactory()
        add(client, first, "2")
        add(client, second, "1")
        response = page_login(client, user)
        assert response.cookies[GUEST_CART_COOKIE]["max-age"] == 0
        assert GUEST_CART_COOKIE not in client.cookies or client.cookies[GUEST_CART_COOKIE].value == ""
        assert cart_lines(user) == {first.pk: 2, second.pk: 1}
        html = page(client)
        assert nav_count(html) == "3"
        assert html.count('data-testid="cart-line"') == 2

    def test_the_merge_clamps_to_stock_and_skips_own_products(self, client, seller):
        scarce = ProductFactory(stock=3, title="Rare Tea")
        own = ProductFactory(store=seller.store, title="My Own Tea")
        put_in_cart(seller, scarce, 2)
        add(client, scarce, "3")
        add(client, own, "1")
        page_login(client, seller)
        assert cart_lines(seller) == {scarce.pk: 3}
        html = page(client)
        assert "Rare Tea: your cart now has 3, not 5 (only 3 left in stock)." in html
        assert "My Own Tea is sold by your store, so it was not added to your cart." in html

    def test_a_login_with_next_keeps_the_merge(self, client, user, product):
        add(client, product)
        response = page_login(client, user, next="/cart/")
        assert response.url == "/cart/"
        assert cart_lines(user) == {product.pk: 1}

    def test_a_failed_login_keeps_the_guest_cart(self, client, user, product):
        add(client, product)
        client.post("/accounts/login/", {"username": user.username, "password": "wrong"})
        assert guest_cookie_lines(client) == {variant_id_of(product): 1}
        assert cart_lines(user) == {}

    def test_registering_moves_the_guest_cart_too(self, client, product):
        add(client, product, "2")
        response = client.post(
            "/accounts/register/",
            {"username": "meera", "email": "meera@example.com", "password1": TEST_PASSWORD, "password2": TEST_PASSWORD},
        )
        assert response.status_code == 302
        assert response.cookies[GUEST_CART_COOKIE]["max-age"] == 0
        assert cart_lines(User.objects.get(username="meera")) == {product.pk: 2}


class TestNavCount:
    def test_a_guest_badge_costs_no_query(self, client, product, django_assert_num_queries):
        add(client, product, "3")
        with django_assert_num_queries(0):
            html = page(client, "/accounts/login/")
        assert nav_count(html) == "3"

    def test_a_shoppers_badge_costs_one_query(self, shopper, user, product):
        put_in_cart(user, product, 2)
        put_in_cart(user, ProductFactory(), 3)
        with CaptureQueriesContext(connection) as queries:
            html = page(shopper, "/accounts/profile/")
        assert nav_count(html) == "5"
        assert len([q for q in queries if "cart_cartitem" in q["sql"]]) == 1

    def test_the_context_processor_is_lazy_and_costs_one_query(self, user, product, django_assert_num_queries):
        put_in_cart(user, product, 4)
        request = RequestFactory().get("/")
        request.user = user
        with django_assert_num_queries(0):
            context = cart_summary(request)
        with django_assert_num_queries(1):
            assert str(context["cart_item_count"]) == "4"
            assert str(context["cart_item_count"]) == "4"

    def test_the_badge_links_to_the_cart(self, client):
        html = page(client, "/accounts/login/")
        assert '<a href="/cart/" data-testid="nav-cart">Cart' in html
        assert nav_count(html) == "0"


class TestVariantsOnThePages:
    def test_adding_a_variant_names_it_and_the_cart_shows_its_options_and_price(self, shopper, user):
        _, (_small, large) = product_in_sizes("S", "XL", title="Cotton Tee")
        variant_update(large, price=Decimal("1249.00"))
        response = add(shopper, large, "2")
        assert response.url == "/cart/"
        html = page(shopper)
        assert "Added 2 of Cotton Tee (XL) to your cart." in html
        assert '<p class="small" data-testid="cart-line-options">Size: XL</p>' in html
        assert '<span data-testid="cart-line-unit-price">₹1,249.00</span>' in html
        assert '<strong data-testid="cart-subtotal">₹2,498.00</strong>' in html
        assert cart_variant_lines(user) == {large.pk: 2}

    def test_two_variants_of_one_product_are_two_lines(self, shopper, user):
        _, (small, large) = product_in_sizes("S", "L", title="Cotton Tee")
        add(shopper, small, "1")
        add(shopper, large, "2")
        html = page(shopper)
        assert html.count('data-testid="cart-line"') == 2
        assert html.index(">Size: S</p>") < html.index(">Size: L</p>")
        assert cart_variant_lines(user) == {small.pk: 1, large.pk: 2}
        item = CartItem.objects.get(variant=large)
        shopper.post(f"/cart/items/{item.pk}/update/", {"quantity": "3"})
        assert "Cotton Tee (L): quantity set to 3." in page(shopper)
        assert cart_variant_lines(user) == {small.pk: 1, large.pk: 3}

    def test_the_product_forms_product_id_adds_a_single_variant_product(self, shopper, user, product):
        response = shopper.post("/cart/add/", {"product_id": product.pk, "quantity": "2"})
        assert response.url == "/cart/"
        assert f"Added 2 of {product.title} to your cart." in page(shopper)
        assert cart_lines(user) == {product.pk: 2}

    @pytest.mark.parametrize("blank_variant", [{}, {"variant_id": ""}], ids=["no variant_id", "blank variant_id"])
    def test_a_product_in_several_variants_asks_for_one_on_its_page(self, shopper, user, blank_variant):
        product, _ = product_in_sizes("S", "L")
        response = shopper.post("/cart/add/", {"product_id": product.pk, "quantity": "1", **blank_variant})
        assert response.url == f"/products/{product.slug}/"
        html = page(shopper, response.url)
        assert "This product comes in several variants. Choose one." in html
        assert cart_variant_lines(user) == {}

    def test_a_guest_is_asked_for_a_variant_too(self, client):
        product, _ = product_in_sizes("S", "L")
        response = client.post("/cart/add/", {"product_id": product.pk, "quantity": "1"})
        assert response.url == f"/products/{product.slug}/"
        assert "This product comes in several variants. Choose one." in page(client, response.url)
        assert GUEST_CART_COOKIE not in client.cookies

    def test_ten_of_each_variant(self, shopper, user):
        _, (small, large) = product_in_sizes("S", "L", title="Tee")
        add(shopper, small, "10")
        add(shopper, large, "10")
        response = add(shopper, small, "1")
        assert response.url == product_page(small)
        assert "You can have at most 10 of Tee (S) in your cart; you already have 10." in page(shopper)
        assert cart_variant_lines(user) == {small.pk: 10, large.pk: 10}

    def test_the_stock_is_that_variants(self, shopper, user):
        _, (small, large) = product_in_sizes("S", "L", title="Tee")
        variant_update(small, stock=2)
        response = add(shopper, small, "3")
        assert response.url == product_page(small)
        assert "Only 2 of Tee (S) left in stock." in page(shopper)
        add(shopper, large, "3")
        assert cart_variant_lines(user) == {large.pk: 3}

    def test_a_variant_of_your_own_product_is_refused(self, client, seller):
        page_login(client, seller)
        _, (small, _large) = product_in_sizes("S", "L", store=seller.store, title="Own Shawl")
        add(client, small)
        assert "Own Shawl is sold by your store, so you cannot buy it." in page(client)
        assert cart_variant_lines(seller) == {}

    def test_an_inactive_variant_goes_back_to_its_product_to_choose_another(self, shopper, user):
        product, (small, _large) = product_in_sizes("S", "L")
        variant_update(small, is_active=False)
        response = add(shopper, small)
        assert response.url == f"/products/{product.slug}/"
        assert "This product is no longer available." in page(shopper)
        assert cart_variant_lines(user) == {}

    @pytest.mark.parametrize("how", HIDDEN)
    def test_a_variant_of_a_hidden_product_goes_home(self, shopper, user, how):
        product, (small, _large) = product_in_sizes("S", "L")
        hide(product, how)
        assert add(shopper, small).url == "/"
        assert "This product is no longer available." in page(shopper)
        assert cart_variant_lines(user) == {}

    def test_a_line_whose_variant_ran_short_shows_it(self, shopper, user):
        _, (small, large) = product_in_sizes("S", "L")
        put_in_cart(user, small, 4)
        put_in_cart(user, large, 4)
        variant_update(small, stock=1)
        html = page(shopper)
        assert html.count("Only 1 left in stock. Lower the quantity to 1 or less.") == 1
        assert '<strong data-testid="cart-subtotal">₹1,996.00</strong>' in html

    def test_query_count_stays_flat_with_lines_of_products_in_several_variants(
        self, shopper, user, assert_flat_query_count
    ):
        put_in_cart(user, product_in_sizes("S", "L")[1][0])

        def more():
            for _ in range(3):
                product, variants = product_in_sizes("S", "M", "L")
                image = ProductImage.objects.create(product=product, image="b.jpg", thumbnail="b-thumb.webp")
                variant_update(variants[1], image=image)
                for variant in variants:
                    put_in_cart(user, variant)

        assert_flat_query_count(lambda: shopper.get("/cart/"), more, max_queries=4)
        html = page(shopper)
        assert html.count('data-testid="cart-line"') == 10
        assert html.count('data-testid="cart-line-options">Size: M</p>') == 3


class TestGuestVariants:
    def test_a_guest_cart_with_two_variants_of_one_product(self, client):
        _, (small, large) = product_in_sizes("S", "L", title="Tee")
        add(client, small, "2")
        add(client, large, "1")
        assert guest_cookie_lines(client) == {small.pk: 2, large.pk: 1}
        html = page(client)
        assert html.count('data-testid="cart-line"') == 2
        assert "Size: S" in html
        assert "Size: L" in html
        assert f'action="/cart/guest-items/{large.pk}/update/"' in html
        client.post(f"/cart/guest-items/{large.pk}/update/", {"quantity": "3"})
        assert "Tee (L): quantity set to 3." in page(client)
        client.post(f"/cart/guest-items/{small.pk}/remove/")
        assert guest_cookie_lines(client) == {large.pk: 3}

    def test_both_variants_are_merged_at_login(self, client, user):
        _, (small, large) = product_in_sizes("S", "L")
        put_in_cart(user, large, 1)
        add(client, small, "2")
        add(client, large, "3")
        page_login(client, user)
        assert cart_variant_lines(user) == {small.pk: 2, large.pk: 4}
        html = page(client)
        assert html.count('data-testid="cart-line"') == 2
        assert nav_count(html) == "6"

    def test_a_cookie_from_before_variants_reads_as_an_empty_cart(self, client, product):
        # The old cookie named products. Even where its id is also a variant's, the old salt keeps it
        # from being read as one.
        value = f"{variant_id_of(product)}:2"
        client.cookies[GUEST_CART_COOKIE] = signed_cookie(value, salt="joycart.guest-cart")
        html = page(client)
        assert "Your cart is empty" in html
        assert nav_count(html) == "0"
        client.cookies[GUEST_CART_COOKIE] = signed_cookie(value, salt=GUEST_CART_SALT)
        assert nav_count(page(client)) == "2"  # the same lines under today's salt do read
