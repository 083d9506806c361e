"""The anonymous listing cache: fast when nothing changed, fresh on the very next request."""

import contextlib
import logging
import shutil
import socket
import subprocess
import time
from decimal import Decimal

import pytest
import redis
from django.core.cache import cache, caches
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext

from accounts.services.stores import store_save
from accounts.services.users import user_block
from catalog import version_feed
from catalog.response_cache import csrf_slot_marker, reads_query_params, shared_response_cache
from catalog.services.products import product_create, product_update
from catalog.services.stock import product_stock_adjust, product_stock_set
from reviews.models import Review
from tests.factories import CategoryFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


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


# --- The CSRF slot: only our templates can place it, only HTML gets it filled -----------

OLD_PUBLIC_MARKER = "<!--joycart:csrf-slot-->"  # the marker releases before this one used


def test_a_product_titled_with_the_old_csrf_marker_keeps_the_api_valid_json(client, product):
    product_update(product=product, title=OLD_PUBLIC_MARKER)
    buyer = UserFactory()
    Review.objects.create(user=buyer, product=product, rating=4, comment=OLD_PUBLIC_MARKER)
    for path in (
        "/api/v1/products/",
        f"/api/v1/products/{product.pk}/",
        f"/api/v1/products/{product.pk}/reviews/",
    ):
        for _miss_then_hit in range(2):
            response = client.get(path)
            assert response.status_code == 200
            body = response.json()  # an injected <input value="..."> would break the JSON
            assert "csrfmiddlewaretoken" not in response.content.decode()
    assert client.get("/api/v1/products/").json()["results"][0]["title"] == OLD_PUBLIC_MARKER
    assert body["results"][0]["comment"] == OLD_PUBLIC_MARKER


@pytest.mark.parametrize("marker", [OLD_PUBLIC_MARKER, "current"])
def test_a_page_showing_a_csrf_marker_in_user_text_gets_no_injected_input(client, product, marker):
    # Even a leaked current marker is harmless in user text: escaping turns its `<` into `&lt;`.
    marker = csrf_slot_marker() if marker == "current" else marker
    product_update(product=product, title=marker, description=marker)
    Review.objects.create(user=UserFactory(), product=product, rating=4, comment=marker)
    for _miss_then_hit in range(2):
        html = client.get(f"/products/{product.slug}/").content.decode()
        assert html.count('name="csrfmiddlewaretoken"') == 1  # the add-to-cart form's own
        assert html.count(marker.replace("<", "&lt;").replace(">", "&gt;")) >= 3  # shown, as text
    assert marker not in client.get("/").content.decode()


def test_the_csrf_slot_is_filled_only_in_html_responses(rf):
    marker = csrf_slot_marker()

    @shared_response_cache(lambda request, query: f"test:slot:{request.path}")
    @reads_query_params()
    def view(request):
        content_type = "application/json" if request.path == "/json/" else "text/html; charset=utf-8"
        return HttpResponse(f'{{"title": "{marker}"}}', content_type=content_type)

    for _miss_then_hit in range(2):
        assert view(rf.get("/json/")).content.decode() == f'{{"title": "{marker}"}}'
        assert 'name="csrfmiddlewaretoken"' in view(rf.get("/html/")).content.decode()


def test_the_csrf_marker_is_a_secret_of_each_deployment(settings):
    try:
        csrf_slot_marker.cache_clear()
        settings.SECRET_KEY = "one deployment's secret key, long enough to be a real one"
        first = csrf_slot_marker()
        csrf_slot_marker.cache_clear()
        settings.SECRET_KEY = "another deployment's secret key, long enough to be real"
        assert csrf_slot_marker() != first
        assert "joycart" not in first and first != OLD_PUBLIC_MARKER
    finally:
        csrf_slot_marker.cache_clear()


# --- Cache keys: only the parameters a view reads, in one canonical spelling -------------


def stored_keys() -> set[str]:
    """Every key in the shared cache and in this process's local copy of it."""
    local = set(caches["local"]._cache)
    if version_feed.enabled():
        return set(cache.keys("*")) | local
    return set(cache._cache) | local


def paths_showing(product) -> list[str]:
    """Every page and endpoint cached whole for anonymous visitors that shows the product."""
    return [
        "/",
        f"/categories/{product.category.slug}/",
        f"/products/{product.slug}/",
        "/api/v1/products/",
        f"/api/v1/products/{product.pk}/",
    ]


def test_cache_busting_with_junk_query_params_stores_nothing_new(client, product):
    for path in [*paths_showing(product), f"/api/v1/products/{product.pk}/reviews/"]:
        client.get(path)
        before = stored_keys()
        for n in range(50):
            assert client.get(path, {f"utm_junk{n}": n, "x": n, "category_": "y"}).status_code == 200
        assert stored_keys() == before, path


def test_cache_busting_a_guest_with_a_cart_stores_no_new_page_fragments(client, product):
    client.post("/cart/add/", {"product_id": product.pk, "quantity": 1})  # no longer a shareable visitor
    for path in ("/", f"/products/{product.slug}/"):
        client.get(path)
        before = stored_keys()
        for n in range(50):
            assert client.get(path, {f"junk{n}": n}).status_code == 200
        assert stored_keys() == before, path


@pytest.mark.parametrize(
    ("first", "same", "other"),
    [
        (
            "/?brand=Acme&in_stock=true",
            "/?in_stock=true&brand=Other&brand=Acme&page=&utm_source=mail",
            "/?brand=Other&in_stock=true",
        ),
        (
            "/api/v1/products/?ordering=price&search=planter",
            "/api/v1/products/?search=%20planter%20&ordering=price&format=json&x=1",
            "/api/v1/products/?ordering=-price&search=planter",
        ),
    ],
)
def test_known_params_in_any_order_share_one_entry_and_still_change_the_key(client, product, first, same, other):
    queries_for(client, first)
    before = stored_keys()
    count, _ = queries_for(client, same)
    assert count == 0  # one entry: the last value of a repeated parameter is the one every view reads
    assert stored_keys() == before
    count, _ = queries_for(client, other)
    assert count > 0
    assert stored_keys() > before


def test_a_junk_param_never_reaches_the_links_of_a_shared_response(client):
    category = CategoryFactory()
    for n in range(30):
        product_create(store=StoreFactory(), title=f"Lamp {n}", category=category, sku=f"L-{n}", price=Decimal("10"))
    api = client.get("/api/v1/products/", {"evil": "<payload>"}).json()
    html = client.get("/", {"evil": "payload"}).content.decode()
    assert "evil" not in api["next"] and "evil" not in html
    assert client.get("/api/v1/products/").json()["next"] == "http://testserver/api/v1/products/?page=2"


def test_the_browsable_api_asked_for_by_format_param_is_not_shared(product):
    # It renders the visitor's CSRF token into the page: a shared copy would hand it to others.
    from django.test import Client

    Client().get("/api/v1/products/?format=api")
    visitor = Client()
    with CaptureQueriesContext(connection) as captured:
        response = visitor.get("/api/v1/products/?format=api")
    assert response["Content-Type"].startswith("text/html")
    assert len(captured) > 0  # rendered for this visitor, not served from the shared cache


def test_a_cached_view_whose_query_params_are_unknown_is_refused_at_start_up():
    # Otherwise a parameter it reads but the key leaves out would serve one visitor's page to another.
    from django.core.exceptions import ImproperlyConfigured
    from rest_framework.filters import SearchFilter
    from rest_framework.generics import ListAPIView

    class SearchedApi(ListAPIView):
        filter_backends = [SearchFilter]

    def undeclared_page(request):
        return HttpResponse()

    for view in (SearchedApi.as_view(), undeclared_page):
        with pytest.raises(ImproperlyConfigured):
            shared_response_cache(lambda request, query: "test:key")(view)


# --- A full Redis: every write refused, every page still served ----------------------------


@pytest.fixture
def full_redis(settings):
    """A private Redis that refuses writes as a full one does (maxmemory reached, noeviction).

    Private, because maxmemory is server-wide: a full shared test Redis would break every
    other process using it.
    """
    server_binary = shutil.which("redis-server")
    if server_binary is None:
        pytest.skip("needs redis-server on the PATH")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    no_persistence = ["--save", "", "--appendonly", "no"]
    full = ["--maxmemory", "1", "--maxmemory-policy", "noeviction"]
    server = subprocess.Popen(  # noqa: S603 - a fixed argument list
        [server_binary, "--port", str(port), "--bind", "127.0.0.1", *no_persistence, *full], stdout=subprocess.DEVNULL
    )
    try:
        raw = redis.Redis(host="127.0.0.1", port=port)
        for _ in range(50):
            with contextlib.suppress(redis.exceptions.ConnectionError):
                raw.ping()
                break
            time.sleep(0.1)
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            raw.set("probe", 1)  # the server really is full
        settings.CACHES = {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{port}/0",
                "KEY_PREFIX": "joycart",
                "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
            },
            "local": settings.CACHES["local"],
        }
        settings.DJANGO_REDIS_IGNORE_EXCEPTIONS = True
        settings.DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
        version_feed.feed.reset()
        yield raw
    finally:
        version_feed.feed.reset()
        server.terminate()
        server.wait(timeout=10)


def test_pages_are_served_from_the_database_when_redis_is_full(client, product, full_redis, caplog):
    with caplog.at_level(logging.WARNING):
        for _twice in range(2):
            for path in [*paths_showing(product), f"/api/v1/products/{product.pk}/reviews/"]:
                response = client.get(path)
                assert response.status_code == 200, path
                assert "reviews" in path or "Terracotta planter" in response.content.decode()
        product_update(product=product, price=Decimal("599.00"))  # a version bump Redis refuses
        assert "₹599.00" in client.get(f"/products/{product.slug}/").content.decode()
    assert full_redis.dbsize() == 0
    refused = [record.exc_info[1].__cause__ for record in caplog.records if record.exc_info]
    assert any(isinstance(cause, redis.exceptions.OutOfMemoryError) for cause in refused)  # really refused


def test_password_guessing_is_still_limited_not_crashed_when_redis_is_full(api_client, full_redis, settings):
    # Redis refuses the failure counters' writes, so they are counted in this process's memory:
    # logins still answer, and the guesses are still limited.
    user = UserFactory()
    statuses = [
        api_client.post(
            "/api/v1/auth/login/", {"username": user.username, "password": "wrong"}, format="json"
        ).status_code
        for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT + 2)
    ]
    assert statuses == [401] * settings.LOGIN_FAILURES_PER_ACCOUNT + [429, 429]


# --- Variants: each variant's page is its own entry, and a variant's change refreshes them -----


@pytest.fixture
def kurta_product():
    from tests.catalog.variant_helpers import kurta

    return kurta()


def test_each_variants_page_is_cached_apart_and_served_again_without_the_database(client, kurta_product):
    from tests.catalog.variant_helpers import variant

    small_blue, large_red = variant(kurta_product, "S", "Blue"), variant(kurta_product, "L", "Red")
    first, small_html = queries_for(client, f"/products/kurta/?variant={small_blue.pk}")
    assert first > 0 and "₹899.00" in small_html
    count, large_html = queries_for(client, f"/products/kurta/?variant={large_red.pk}")
    assert count > 0 and "₹1,299.00" in large_html and f'name="variant_id" value="{large_red.pk}"' in large_html
    count, again = queries_for(client, f"/products/kurta/?variant={small_blue.pk}&utm_source=x")
    assert count == 0 and "₹899.00" in again and f'name="variant_id" value="{small_blue.pk}"' in again


def test_a_variants_stock_change_refreshes_its_page_the_api_and_the_listing(client, kurta_product):
    from catalog.services.stock import variant_stock_adjust, variant_stock_set
    from tests.catalog.variant_helpers import variant

    large_red = variant(kurta_product, "L", "Red")
    page = f"/products/kurta/?variant={large_red.pk}"

    def api_stock() -> int:
        rows = client.get(f"/api/v1/products/{kurta_product.pk}/").json()["variants"]
        return next(row["stock"] for row in rows if row["id"] == large_red.pk)

    assert "Only 2 left" in client.get(page).content.decode() and api_stock() == 2
    variant_stock_adjust(variant=large_red, delta=-1)
    assert "Only 1 left" in client.get(page).content.decode() and api_stock() == 1

    # Every variant sold out: the listing's card says so on the next request.
    client.get("/")
    for each in kurta_product.variants.filter(is_active=True, stock__gt=0):
        variant_stock_set(variant=each, value=0, expected=each.stock)
    assert 'data-testid="out-of-stock"' in client.get("/").content.decode()
    assert 'data-testid="add-to-cart"' not in client.get(page).content.decode()


def test_picking_options_is_never_served_a_cached_redirect_to_a_stale_variant(client, kurta_product):
    from catalog.services.stock import variant_stock_adjust
    from tests.catalog.variant_helpers import variant

    medium_blue = variant(kurta_product, "M", "Blue")
    pick = "/products/kurta/?option1=M&option2=Blue"
    assert client.get(pick)["Location"] == f"/products/kurta/?variant={medium_blue.pk}"
    variant_stock_adjust(variant=medium_blue, delta=5)
    assert client.get(pick)["Location"] == f"/products/kurta/?variant={medium_blue.pk}"
    assert "Only 5 left" in client.get(f"/products/kurta/?variant={medium_blue.pk}").content.decode()


def test_a_shared_response_says_whether_it_came_from_the_cache_and_a_personal_one_says_nothing(product):
    from django.test import Client

    anonymous = Client()
    for path in ("/", f"/products/{product.slug}/", "/api/v1/products/"):
        assert anonymous.get(path)["X-Cache"] == "miss", path
        assert anonymous.get(path)["X-Cache"] == "hit", path
    product_stock_set(product=product, value=1, expected=3)  # a sale or a restock: the next visitor gets it fresh
    assert anonymous.get(f"/products/{product.slug}/")["X-Cache"] == "miss"

    shopper = Client()
    shopper.force_login(UserFactory())
    assert "X-Cache" not in shopper.get("/")
