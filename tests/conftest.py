import copy
import io
import json
import logging
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from logging.config import DictConfigurator

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.services import limits
from catalog import version_feed
from joycart import errors
from joycart.logs import RequestIdFilter, logging_config
from joycart.request_context import current_request_id
from tests.factories import TEST_PASSWORD, StoreFactory, UserFactory

CHROMIUM = "/usr/bin/chromium"
# A read replica alias for tests/test_read_replicas.py; nothing is routed to it unless a test installs the router.
TEST_REPLICA = "replica_1"

pytest_plugins = ["tests.api_contract"]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "e2e" in item.keywords and shutil.which(CHROMIUM) is None:
            item.add_marker(pytest.mark.skip(reason=f"browser test: Debian's Chromium is not at {CHROMIUM}"))


def pytest_configure(config):
    # An API answer with a code the registry does not know fails the test that caused it.
    errors.strict_error_codes = True


def pytest_runtest_setup(item):
    if "postgres" in item.keywords and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for real row locks; run with DATABASE_URL=postgres://...")
    if "redis" in item.keywords and not version_feed.enabled():
        pytest.skip("needs Redis; run with REDIS_URL=redis://...")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """The replica mirrors the test database, as DATABASE_REPLICA_URLS's aliases do (joycart/settings.py)."""
    primary = copy.deepcopy(settings.DATABASES["default"])
    settings.DATABASES.setdefault(TEST_REPLICA, {**primary, "TEST": {**primary.get("TEST", {}), "MIRROR": "default"}})


def _clear_caches() -> None:
    for each in caches.all():
        each.clear()
    # The attempt limits' own fallback, used while Redis cannot be reached.
    limits.local_counters.clear()
    version_feed.feed.reset()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters, rotation results and catalog pages live in caches: no test sees another's."""
    _clear_caches()
    yield
    _clear_caches()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploads and demo images go to the test's own directory, never the repository's media/."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 is deliberately slow; tests check behaviour, not hashing cost (see test_settings)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def seller(db):
    return StoreFactory().user


@pytest.fixture
def staff(db):
    return UserFactory(username="staffer", is_staff=True, is_superuser=True)


@pytest.fixture
def api_client() -> APIClient:
    """A browser-like client: cookies kept between calls, CSRF enforced as in production."""
    return APIClient(enforce_csrf_checks=True)


@pytest.fixture
def assert_flat_query_count():
    """`check(fetch, grow, max_queries=N)`: the same number of queries before and after `grow()` adds rows."""

    def check(fetch, grow, *, max_queries: int) -> None:
        counts = []
        for step in (None, grow):
            if step is not None:
                step()
            _clear_caches()  # measure the database work, not a cache hit
            with CaptureQueriesContext(connection) as queries:
                response = fetch()
            assert response.status_code == 200, response.status_code
            counts.append(len(queries))
        assert counts[0] == counts[1], f"query count grew with rows: {counts}"
        assert counts[1] <= max_queries, f"{counts[1]} queries, expected at most {max_queries}"

    return check


@contextmanager
def request_id_bound(request_id: str) -> Iterator[None]:
    """Inside, code runs as it would while serving the request with this id."""
    token = current_request_id.set(request_id)
    try:
        yield
    finally:
        current_request_id.reset(token)


@pytest.fixture
def json_log_lines():
    """`read()`: every line logged during the test, as production writes it (joycart.logs), parsed."""
    config = logging_config(log_format="json", level="INFO")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(DictConfigurator(config).configure_formatter(config["formatters"]["json"]))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)

    def read() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield read
    root.removeHandler(handler)


def api_login(client: APIClient, user, password: str = TEST_PASSWORD):
    response = client.post("/api/v1/auth/login/", {"username": user.username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response


def csrf_token(client: APIClient) -> str:
    """The csrftoken cookie a browser script would echo; login and /auth/me/ hand it out."""
    if "csrftoken" not in client.cookies:
        client.get("/api/v1/auth/me/")
    return client.cookies["csrftoken"].value


@pytest.fixture
def logged_in_client(api_client, user) -> APIClient:
    api_login(api_client, user)
    api_client.credentials(HTTP_X_CSRFTOKEN=csrf_token(api_client))
    return api_client


@pytest.fixture
def bearer_client(user) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    response = client.post("/api/v1/auth/token/", {"username": user.username, "password": TEST_PASSWORD}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.data['access']}")
    return client


# --- the Razorpay sandbox gateway (payments/sandbox) ----------------------------------

SANDBOX_KEY_ID = "rzp_test_fixture"
SANDBOX_KEY_SECRET = "fixture-key-secret"
SANDBOX_WEBHOOK_SECRET = "fixture-webhook-secret"
RAZORPAY_WEBHOOK_PATH = "/api/v1/payments/razorpay/webhook/"


@pytest.fixture
def sandbox_gateway(settings):
    """A fresh Razorpay sandbox on a free port of 127.0.0.1, with settings.RAZORPAY_* pointing at it, so
    `payments.gateway.get_gateway()` (rebuilt for the test) reaches it through the real SDK.

    Webhooks go nowhere until a test sets `sandbox_gateway.webhook_url`, e.g. to
    `live_server.url + RAZORPAY_WEBHOOK_PATH` (or use the `sandbox_webhooks_to_live_server` fixture).
    Refunds settle 0.1 s after creation; failed deliveries are retried after 0.05, 0.1 and 0.2 s.
    """
    from payments.gateway import get_gateway
    from payments.sandbox import SandboxGateway

    sandbox = SandboxGateway(
        SANDBOX_KEY_ID,
        SANDBOX_KEY_SECRET,
        SANDBOX_WEBHOOK_SECRET,
        refund_delay=0.1,
        webhook_retry_delays=(0.05, 0.1, 0.2),
        webhook_timeout=5.0,
    ).start()
    settings.PAYMENTS_SANDBOX = True
    settings.RAZORPAY_KEY_ID = SANDBOX_KEY_ID
    settings.RAZORPAY_KEY_SECRET = SANDBOX_KEY_SECRET
    settings.RAZORPAY_WEBHOOK_SECRET = SANDBOX_WEBHOOK_SECRET
    settings.RAZORPAY_BASE_URL = sandbox.base_url
    settings.RAZORPAY_TIMEOUT_SECONDS = 5
    get_gateway.cache_clear()
    yield sandbox
    sandbox.stop()
    get_gateway.cache_clear()


@pytest.fixture
def sandbox_webhooks_to_live_server(sandbox_gateway, live_server):
    """The sandbox, delivering its signed webhooks to the app's endpoint on pytest-django's live server."""
    sandbox_gateway.webhook_url = live_server.url + RAZORPAY_WEBHOOK_PATH
    return sandbox_gateway


@pytest.fixture
def background_servers():
    """Serves an HTTP server (a stand-in shop for the load generators' tests) in a thread of its own, stopped after the test."""
    servers = []

    def serve(httpd):
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(httpd)
        return httpd

    yield serve
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()
