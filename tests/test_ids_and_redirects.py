"""Ids and small numbers typed or forged into URLs, and the `next` a page may send a visitor to."""

import pytest
from django.test import Client

from joycart.ids import MAX_ID, parse_id
from joycart.numbers import bounded_int
from orders.models import OrderItemStatus
from tests.accounts.test_views import ADDRESS_FORM
from tests.factories import TEST_PASSWORD, ProductFactory, StoreFactory, UserFactory, only_variant
from tests.orders.helpers import buy_now, items_of, make_buyer

OPEN_REDIRECTS = [
    "//evil.example/",
    "https://evil.example/",
    "http://evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "javascript:alert(1)",
    " https://evil.example/",
]


class TestParseId:
    @pytest.mark.parametrize(("raw", "expected"), [("1", 1), ("42", 42), (str(MAX_ID), MAX_ID), (7, 7), ("007", 7)])
    def test_positive_ascii_digits_that_fit_a_bigint_are_ids(self, raw, expected):
        assert parse_id(raw) == expected

    @pytest.mark.parametrize(
        "raw",
        [
            "0",
            "-1",
            "+1",
            " 1",
            "1 ",
            "1.0",
            "1e3",
            "",
            "abc",
            "\uff11",
            "\u0661",
            str(MAX_ID + 1),
            "9" * 40,
            0,
            -3,
            MAX_ID + 1,
            True,
            None,
            1.0,
            ["1"],
        ],
    )
    def test_anything_else_is_none(self, raw):
        assert parse_id(raw) is None


class TestBoundedInt:
    @pytest.mark.parametrize(("raw", "expected"), [("3", 3), (" 5 ", 5), ("+2", 2), (1, 1), (10, 10)])
    def test_whole_numbers_in_range(self, raw, expected):
        assert bounded_int(raw, low=1, high=10) == expected

    @pytest.mark.parametrize("raw", ["0", "11", "-1", "2.5", 2.0, True, None, "", "\uff13", "1" * 7])
    def test_everything_else_is_none(self, raw):
        assert bounded_int(raw, low=1, high=10) is None


@pytest.fixture
def shopper(db) -> Client:
    client = Client()
    user = UserFactory()
    assert client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD}).status_code == 302
    return client


@pytest.mark.django_db
class TestNextIsRefusedWhenItLeavesTheSite:
    """Each page that takes `next` follows a path on this site and refuses every other target."""

    @pytest.mark.parametrize("target", OPEN_REDIRECTS)
    def test_login(self, client, target):
        user = UserFactory()
        response = client.post(
            f"/accounts/login/?next={target}", {"username": user.username, "password": TEST_PASSWORD, "next": target}
        )
        assert response.status_code == 302
        assert response.url == "/"

    def test_login_follows_a_path_on_this_site(self, client):
        user = UserFactory()
        response = client.post(
            "/accounts/login/", {"username": user.username, "password": TEST_PASSWORD, "next": "/cart/"}
        )
        assert response.url == "/cart/"

    @pytest.mark.parametrize("target", OPEN_REDIRECTS)
    def test_new_address(self, shopper, target):
        form = {**ADDRESS_FORM, "next": target}
        response = shopper.post("/accounts/addresses/new/", form)
        assert response.status_code == 302, response.content.decode()[:2000]
        assert response.url == "/accounts/addresses/"

    @pytest.mark.parametrize("target", OPEN_REDIRECTS)
    def test_cart_add(self, shopper, target):
        product = ProductFactory(stock=5)
        response = shopper.post("/cart/add/", {"product_id": product.pk, "quantity": "1", "next": target})
        assert response.url == "/cart/"

    @pytest.mark.parametrize("target", OPEN_REDIRECTS)
    def test_a_refused_cart_add(self, shopper, target):
        product = ProductFactory(stock=5)
        response = shopper.post("/cart/add/", {"product_id": product.pk, "quantity": "0", "next": target})
        assert response.url == f"/products/{product.slug}/?variant={only_variant(product).pk}"

    @pytest.mark.parametrize("target", [*OPEN_REDIRECTS, "/seller/orders/?status=PLACED"])
    def test_seller_order_action(self, target):
        store = StoreFactory()
        item = items_of(buy_now(make_buyer(), ProductFactory(store=store, stock=5)))[0]
        client = Client()
        assert (
            client.post("/accounts/login/", {"username": store.user.username, "password": TEST_PASSWORD}).status_code
            == 302
        )
        response = client.post(f"/seller/orders/items/{item.pk}/confirm/", {"next": target})
        item.refresh_from_db()
        assert item.status == OrderItemStatus.CONFIRMED
        assert response.url == (target if target.startswith("/seller/") else "/seller/orders/")


@pytest.mark.django_db
class TestIdsInUrls:
    @pytest.mark.parametrize("raw", ["abc", "0", "-1", str(MAX_ID + 1), "\uff11"])
    def test_a_forged_product_id_adds_nothing(self, shopper, raw):
        response = shopper.post("/cart/add/", {"product_id": raw, "quantity": "1"})
        assert response.url == "/"

    @pytest.mark.parametrize(("posted", "expected"), [("3", "3"), ("0", "1"), ("11", "1"), ("abc", "1")])
    def test_buy_now_carries_a_valid_quantity_and_otherwise_one(self, shopper, posted, expected):
        product = ProductFactory(stock=20)
        response = shopper.post("/checkout/buy-now/", {"product_id": product.pk, "quantity": posted})
        assert f"quantity={expected}" in response.url


@pytest.mark.django_db
class TestIdsInPaths:
    """A path's id past what a row can have matches no route: 404, never the database's overflow (a 500 on SQLite,
    where a foreign-key lookup with it cannot even be bound)."""

    @pytest.fixture
    def seller_client(self) -> tuple[Client, object]:
        store = StoreFactory()
        client = Client()
        login = client.post("/accounts/login/", {"username": store.user.username, "password": TEST_PASSWORD})
        assert login.status_code == 302
        return client, ProductFactory(store=store)

    @pytest.mark.parametrize("forged", [str(MAX_ID + 1), "9" * 19, "1" + "0" * 19])
    def test_the_seller_api_answers_404(self, seller_client, forged):
        client, product = seller_client
        paths = [
            f"/api/v1/seller/products/{forged}/images/1/",
            f"/api/v1/seller/products/{product.pk}/images/{forged}/",
            f"/api/v1/seller/products/{forged}/variants/",
            f"/api/v1/seller/products/{forged}/",
        ]
        for path in paths:
            assert client.delete(path).status_code == 404, path
            assert client.get(path).status_code in (404, 405), path

    def test_the_largest_id_still_routes(self, seller_client):
        client, product = seller_client
        response = client.delete(f"/api/v1/seller/products/{product.pk}/images/{MAX_ID}/")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
