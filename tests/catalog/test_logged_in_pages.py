"""Logged-in shoppers share the catalog's cached fragments (listing, product details, reviews),
with everything personal rendered around them on each request."""

from decimal import Decimal

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.auth import set_auth_cookies
from accounts.services.sessions import tokens_issue
from catalog.services.products import product_create, product_update
from catalog.services.stock import product_stock_set
from reviews.models import Review
from tests.factories import CategoryFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

CATALOG_TABLES = ("catalog_product", "catalog_category", "catalog_productimage", "catalog_productvariant")


@pytest.fixture
def category():
    return CategoryFactory()


@pytest.fixture
def product(category):
    return product_create(
        store=StoreFactory(),
        title="Terracotta planter",
        category=category,
        sku="TP-1",
        price=Decimal("650.00"),
        stock=3,
    )


def logged_in(user) -> Client:
    client = Client()
    response = HttpResponse()
    set_auth_cookies(response, tokens_issue(user=user))
    for name, morsel in response.cookies.items():
        client.cookies[name] = morsel.value
    return client


def catalog_queries(client, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, path
    return [query["sql"] for query in captured if any(table in query["sql"] for table in CATALOG_TABLES)]


def all_queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def paths(product) -> list[str]:
    return ["/", "/?search=planter", f"/categories/{product.category.slug}/", f"/products/{product.slug}/"]


def test_a_logged_in_shopper_is_served_the_listing_and_product_fragments_from_the_cache(product):
    shopper = logged_in(UserFactory())
    for path in paths(product):
        assert catalog_queries(shopper, path), path  # the first request renders and stores the fragment
        again = catalog_queries(shopper, path)
        # Only the category page's own header row is read again; no product, image or variant.
        assert again == [] or (path.startswith("/categories/") and len(again) == 1), (path, again)
        assert all_queries(shopper, path) == all_queries(shopper, path), path  # flat from then on


def test_another_shopper_reuses_the_fragments_the_first_one_stored(product, category):
    for n in range(5):
        product_create(store=StoreFactory(), title=f"Lamp {n}", category=category, sku=f"L-{n}", price=Decimal("9"))
    logged_in(UserFactory()).get("/")
    assert catalog_queries(logged_in(UserFactory()), "/") == []


def test_a_shopper_never_sees_another_shoppers_personal_parts(product):
    first = UserFactory(first_name="Asha", last_name="Firstvisitor")
    second = UserFactory(first_name="Ravi", last_name="Secondvisitor")
    Review.objects.create(user=first, product=product, rating=2, comment="Only Asha may read this", is_hidden=True)
    asha, ravi = logged_in(first), logged_in(second)
    asha.post("/cart/add/", {"product_id": product.pk, "quantity": 2})
    seller = logged_in(product.store.user)

    for path in paths(product):
        asha_page = asha.get(path).content.decode()  # stores the shared fragments
        ravi_page = ravi.get(path).content.decode()
        assert "Firstvisitor" in asha_page or "Asha" in asha_page
        assert "Asha" not in ravi_page and "Firstvisitor" not in ravi_page, path
        assert 'data-testid="nav-cart-count">2<' in asha_page
        assert 'data-testid="nav-cart-count">0<' in ravi_page, path
        assert "Only Asha may read this" not in ravi_page, path
        ravi_tokens = ravi_page.count('name="csrfmiddlewaretoken"')
        assert ravi_tokens == 1 or ravi_tokens == 2, path  # the logout form's, and the add-to-cart form's
    product_path = f"/products/{product.slug}/"
    assert "Only Asha may read this" in asha.get(product_path).content.decode()  # her own hidden review
    assert "This is your product" in seller.get(product_path).content.decode()
    assert "This is your product" not in ravi.get(product_path).content.decode()
    assert 'data-testid="add-to-cart"' not in seller.get(product_path).content.decode()


@pytest.mark.django_db(transaction=True)  # the cache versions are bumped after commit
def test_a_sellers_edit_shows_to_logged_in_shoppers_on_the_next_request(product):
    shopper = logged_in(UserFactory())
    for path in paths(product):
        assert "650.00" in shopper.get(path).content.decode()
    product_update(product=product, price=Decimal("599.00"))
    for path in paths(product):
        html = shopper.get(path).content.decode()
        assert "599.00" in html and "650.00" not in html, path
    product_stock_set(product=product, value=0, expected=3)
    assert "Out of stock" in shopper.get(f"/products/{product.slug}/").content.decode()


def test_a_warm_logged_in_home_page_costs_no_query_its_user_and_badge_come_from_the_cache(product):
    shopper = logged_in(UserFactory())
    shopper.post("/cart/add/", {"product_id": product.pk, "quantity": 2})
    shopper.get("/")
    with CaptureQueriesContext(connection) as captured:
        html = shopper.get("/").content.decode()
    assert 'data-testid="nav-cart-count">2<' in html
    assert len(captured) == 0, [query["sql"] for query in captured]
    shopper.post("/cart/add/", {"product_id": product.pk, "quantity": 1})
    assert 'data-testid="nav-cart-count">3<' in shopper.get("/").content.decode()
