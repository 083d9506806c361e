"""The anonymous listing cache: fast when nothing changed, fresh on the very next request."""

import logging
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services.stores import store_save
from accounts.services.users import user_block
from catalog.services.products import product_create, product_update
from catalog.services.stock import product_stock_adjust, product_stock_set
from tests.factories import CategoryFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def product():
    return product_create(
        store=StoreFactory(),
        title="Terracotta planter",
        category=CategoryFactory(),
        sku="TP-1",
        price=Decimal("650.00"),
        stock=3,
    )


def queries_for(client, path: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured), response.content.decode()


@pytest.mark.parametrize("path", ["/", "/api/v1/products/", "/?search=planter&ordering=price"])
def test_repeat_anonymous_reads_skip_the_database(client, product, path):
    first, _ = queries_for(client, path)
    second, _ = queries_for(client, path)
    assert first > 0
    assert second == 0


def test_repeat_anonymous_product_page_skips_the_database(client, product):
    path = f"/products/{product.slug}/"
    queries_for(client, path)
    assert queries_for(client, path)[0] == 0


def test_price_edit_shows_on_the_next_request_everywhere(client, product):
    for path in ("/", f"/products/{product.slug}/", "/api/v1/products/", f"/api/v1/products/{product.pk}/"):
        client.get(path)
    product_update(product=product, price=Decimal("599.00"))
    assert "₹599.00" in client.get("/").content.decode()
    assert "₹599.00" in client.get(f"/products/{product.slug}/").content.decode()
    assert client.get("/api/v1/products/").json()["results"][0]["price"] == "599.00"
    assert client.get(f"/api/v1/products/{product.pk}/").json()["price"] == "599.00"


def test_stock_changes_refresh_the_product_page_and_the_in_stock_state(client, product):
    page = f"/products/{product.slug}/"
    assert "Only 3 left" in client.get(page).content.decode()
    product_stock_adjust(product=product, delta=-1)
    assert "Only 2 left" in client.get(page).content.decode()
    assert client.get(f"/api/v1/products/{product.pk}/").json()["stock"] == 2

    client.get("/")
    product_stock_set(product=product, value=0, expected=2)
    assert 'data-testid="out-of-stock"' in client.get("/").content.decode()
    assert "Out of stock" in client.get(page).content.decode()


def test_deactivating_hides_the_product_on_the_next_request(client, product):
    client.get(f"/products/{product.slug}/")
    client.get("/")
    product_update(product=product, is_active=False)
    assert client.get(f"/products/{product.slug}/").status_code == 404
    assert product.title not in client.get("/").content.decode()


def test_blocking_the_seller_or_closing_the_store_hides_their_products(client, product, admin_user):
    client.get("/")
    client.get(f"/products/{product.slug}/")
    user_block(actor=admin_user, user=product.store.user)
    assert product.title not in client.get("/").content.decode()
    assert client.get(f"/products/{product.slug}/").status_code == 404

    other = product_create(
        store=StoreFactory(), title="Brass lamp", category=product.category, sku="BL-1", price=Decimal("900.00")
    )
    assert "Brass lamp" in client.get("/").content.decode()
    other.store.is_active = False
    store_save(store=other.store, changed_fields=["is_active"])
    assert "Brass lamp" not in client.get("/").content.decode()


def test_logged_in_visitors_are_never_served_the_anonymous_cache(client, product):
    from django.http import HttpResponse

    from accounts.auth import set_auth_cookies
    from accounts.services.sessions import tokens_issue

    client.get("/")
    response = HttpResponse()
    set_auth_cookies(response, tokens_issue(user=UserFactory()))
    for name, morsel in response.cookies.items():
        client.cookies[name] = morsel.value
    count, _ = queries_for(client, "/")
    assert count > 0


def test_pages_are_served_when_redis_is_down(client, product, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    settings.DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    settings.DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    with caplog.at_level(logging.WARNING):
        for path in ("/", f"/products/{product.slug}/", "/api/v1/products/", f"/api/v1/products/{product.pk}/"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert "Terracotta planter" in response.content.decode()
    assert any("redis" in record.getMessage().lower() or record.exc_info for record in caplog.records)


def test_a_shared_product_page_still_carries_each_visitors_own_csrf_token(product):
    from django.test import Client

    first_visitor = Client(enforce_csrf_checks=True)
    first_visitor.get(f"/products/{product.slug}/")  # fills the shared cache
    visitor = Client(enforce_csrf_checks=True)
    count, html = queries_for(visitor, f"/products/{product.slug}/")
    assert count == 0  # served whole from the cache
    token = html.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = visitor.post("/cart/add/", {"product_id": product.pk, "quantity": 1, "csrfmiddlewaretoken": token})
    assert response.status_code == 302  # not 403: the token matches this visitor's cookie
    assert 'data-testid="nav-cart-count">1<' in visitor.get("/cart/").content.decode()


def test_a_guest_with_a_cart_sees_their_own_count_not_the_shared_page(client, product):
    client.get("/")  # a cookieless visit fills the shared cache
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 2})
    html = client.get("/").content.decode()
    assert 'data-testid="nav-cart-count">2<' in html


def test_the_browsable_api_is_not_shared(client, product):
    client.get("/api/v1/products/")
    html = client.get("/api/v1/products/", HTTP_ACCEPT="text/html").content.decode()
    assert "<html" in html.lower()
