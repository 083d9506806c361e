"""Cached catalog responses answered before most of the middleware (catalog.middleware).

An early hit must be indistinguishable from the full stack's hit: same status, body (with the
visitor's own CSRF token in the slot) and headers, CSRF cookie included. Anything personal or
doubtful goes through the full stack.
"""

import re

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import HttpResponse
from django.middleware.csp import get_nonce
from django.middleware.csrf import _unmask_cipher_token
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.csp import LazyNonce

from catalog.middleware import SharedResponseMiddleware
from catalog.response_cache import reads_query_params, shared_response_cache

pytestmark = pytest.mark.django_db

EARLY = "catalog.middleware.SharedResponseMiddleware"
# Values that differ between any two requests, whichever path answers them.
PER_REQUEST_HEADERS = {"X-Request-ID"}
PER_REQUEST_COOKIE_ATTRIBUTES = {"expires"}  # the time of the answer plus max-age
TOKEN_IN_FORM = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def cached_paths(product) -> list[str]:
    return [
        "/",
        f"/categories/{product.category.slug}/",
        f"/products/{product.slug}/",
        "/api/v1/products/",
    ]


@pytest.fixture
def full_stack_client(settings):
    """`make(**client_kwargs)`: a client whose handler has no early middleware, only the view's cache."""

    def make(**kwargs) -> Client:
        with_early = list(settings.MIDDLEWARE)
        settings.MIDDLEWARE = [name for name in with_early if name != EARLY]
        client = Client(**kwargs)
        client.get("/ping-the-handler-into-loading-its-middleware/")
        settings.MIDDLEWARE = with_early
        return client

    return make


def answered_early(response) -> bool:
    # The full stack gives every request a session and a lazy user; an early hit reaches neither.
    request = response.wsgi_request
    return not hasattr(request, "session") and "user" not in request.__dict__


def comparable(response, *, cookie_secret: str | None = None) -> dict:
    """Everything a browser sees, with the per-request values taken out and checked."""
    body = response.content.decode()
    tokens = TOKEN_IN_FORM.findall(body)
    cookies = {}
    for name, morsel in response.cookies.items():
        cookies[name] = {key: morsel[key] for key in morsel if morsel[key] and key not in PER_REQUEST_COOKIE_ATTRIBUTES}
        if name == django_settings.CSRF_COOKIE_NAME:
            cookie_secret = morsel.value
            cookies[name]["value"] = "<fresh>"
    for token in tokens:  # each visitor's token belongs to their own cookie
        assert _unmask_cipher_token(token) == cookie_secret
    return {
        "status": response.status_code,
        "headers": {name: value for name, value in response.items() if name not in PER_REQUEST_HEADERS},
        "cookies": cookies,
        "body": TOKEN_IN_FORM.sub('name="csrfmiddlewaretoken" value="<token>"', body),
        "forms with a token": len(tokens),
    }


@pytest.mark.parametrize("returning", [False, True], ids=["first visit", "with a CSRF cookie"])
@pytest.mark.parametrize("secure", [False, True], ids=["http", "https with HSTS"])
def test_an_early_hit_answers_exactly_what_the_full_stack_answers(
    settings, full_stack_client, product, returning, secure
):
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
    secret = "a" * 32
    for path in cached_paths(product):
        full, early = full_stack_client(), Client()
        if returning:
            full.cookies[settings.CSRF_COOKIE_NAME] = early.cookies[settings.CSRF_COOKIE_NAME] = secret
        full.get(path, secure=secure)  # stores the response
        from_full_stack = full.get(path, secure=secure)
        with CaptureQueriesContext(connection) as queries:
            from_early = early.get(path, secure=secure)
        assert answered_early(from_early) and not answered_early(from_full_stack), path
        assert len(queries) == 0, path
        expected = comparable(from_full_stack, cookie_secret=secret)
        assert comparable(from_early, cookie_secret=secret) == expected, path
        assert "Content-Security-Policy" in expected["headers"] and "X-Frame-Options" in expected["headers"]
        assert ("Strict-Transport-Security" in expected["headers"]) is secure
        if path.startswith("/products/"):
            assert expected["forms with a token"] == 1  # the add-to-cart form
            assert settings.CSRF_COOKIE_NAME in expected["cookies"]  # set or renewed, as the full path does


def test_the_api_keeps_the_headers_its_view_set_on_every_hit(client, product):
    miss, hit = client.get("/api/v1/products/"), client.get("/api/v1/products/")
    assert answered_early(hit)
    assert hit["Vary"] == miss["Vary"] and "Accept" in hit["Vary"]
    assert hit["Allow"] == miss["Allow"]
    assert hit.json() == miss.json()


def test_an_early_hit_fills_a_working_csrf_token_for_the_add_to_cart_form(product):
    Client().get(f"/products/{product.slug}/")
    visitor = Client(enforce_csrf_checks=True)
    page = visitor.get(f"/products/{product.slug}/")
    assert answered_early(page)
    token = TOKEN_IN_FORM.search(page.content.decode()).group(1)
    added = visitor.post("/cart/add/", {"product_id": product.pk, "quantity": 1, "csrfmiddlewaretoken": token})
    assert added.status_code == 302  # not 403: the token matches the cookie the early hit set


def test_a_head_request_is_answered_early_too(client, product):
    client.get("/")
    response = client.head("/")
    assert response.status_code == 200 and answered_early(response)
    assert response.content == b""


@pytest.mark.parametrize(
    ("how", "request_kwargs"),
    [
        ("a session cookie", {"cookies": {"sessionid": "whatever"}}),
        ("an access token cookie", {"cookies": {"access_token": "whatever"}}),
        ("a guest cart", {"cookies": {"joycart_guest_cart": "whatever"}}),
        ("a flash message", {"cookies": {"messages": "whatever"}}),
        ("an Authorization header", {"headers": {"Authorization": "Bearer whatever"}}),
        ("the browsable API", {"path": "/api/v1/products/", "headers": {"Accept": "text/html"}}),
        ("the browsable API by format", {"path": "/api/v1/products/?format=api"}),
        ("a POST", {"method": "post"}),
    ],
)
def test_a_personal_or_unsafe_request_goes_through_the_full_stack(settings, product, how, request_kwargs):
    path = request_kwargs.get("path", "/")
    Client().get(path.split("?")[0])  # the shared response is stored
    client = Client()
    for name, value in request_kwargs.get("cookies", {}).items():
        client.cookies[settings.JWT_ACCESS_COOKIE if name == "access_token" else name] = value
    send = getattr(client, request_kwargs.get("method", "get"))
    response = send(path, headers=request_kwargs.get("headers", {}))
    assert not answered_early(response), how


def test_a_nul_byte_is_still_refused(client, product):
    client.get("/?search=planter")
    assert client.get("/?search=planter%00").status_code == 400
    assert client.get("/api/v1/products/?search=%00").status_code == 400


def test_an_unknown_host_is_still_refused(client, settings, product):
    settings.ALLOWED_HOSTS = ["shop.example"]
    client.get("/", HTTP_HOST="shop.example")
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert b"Terracotta planter" not in response.content


def test_a_missing_product_is_the_full_stacks_404(client, product):
    response = client.get("/products/no-such-product/")
    assert response.status_code == 404 and not answered_early(response)


def test_plain_http_is_still_redirected_to_https(client, settings, product):
    settings.SECURE_SSL_REDIRECT = True
    client.get("/", secure=True)
    response = Client().get("/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/"


def test_the_request_log_ids_and_logs_an_early_hit(client, product, json_log_lines):
    client.get("/")
    response = client.get("/", headers={"X-Request-ID": "early-hit-1"})
    assert answered_early(response)
    assert response["X-Request-ID"] == "early-hit-1"
    lines = [line for line in json_log_lines() if line.get("request_id") == "early-hit-1"]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [("GET", "/", 200)]


def test_a_response_whose_body_holds_a_csp_nonce_is_never_stored(rf):
    # Served to the next visitor, its body's nonce would not match their header's, and would be reused.
    rendered = []

    @shared_response_cache(lambda request, query: "test:nonce")
    @reads_query_params()
    def view(request):
        rendered.append(request)
        return HttpResponse(f'<script nonce="{get_nonce(request)}"></script>')

    for _ in range(2):
        request = rf.get("/")
        request._csp_nonce = LazyNonce()
        view(request)
    assert len(rendered) == 2


def test_a_middleware_nobody_classified_stops_start_up(settings):
    # A hit would go out without whatever it adds (here: compression, and its Vary header).
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.gzip.GZipMiddleware"]
    with pytest.raises(ImproperlyConfigured, match="GZipMiddleware"):
        SharedResponseMiddleware(lambda request: HttpResponse())


def test_it_sits_right_after_the_request_log():
    assert django_settings.MIDDLEWARE[:2] == ["joycart.request_log.RequestLogMiddleware", EARLY]
