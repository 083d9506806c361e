import shutil

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog import version_feed
from tests.factories import TEST_PASSWORD, StoreFactory, UserFactory

CHROMIUM = "/usr/bin/chromium"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "e2e" in item.keywords and shutil.which(CHROMIUM) is None:
            item.add_marker(pytest.mark.skip(reason=f"browser test: Debian's Chromium is not at {CHROMIUM}"))


def pytest_runtest_setup(item):
    if "postgres" in item.keywords and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL for real row locks; run with DATABASE_URL=postgres://...")
    if "redis" in item.keywords and not version_feed.enabled():
        pytest.skip("needs Redis; run with REDIS_URL=redis://...")


def _clear_caches() -> None:
    for each in caches.all():
        each.clear()
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
