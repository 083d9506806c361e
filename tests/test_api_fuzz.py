"""Property-based fuzzing of every operation in the OpenAPI schema: no input may cause a 5xx.

The schema is read from the WSGI app in-process, so endpoints added later are fuzzed
without touching this file. Only `not_a_server_error` is checked: the other checks would
flag deliberate choices (404 rather than 403 for another owner's object, 409 conflicts).
"""

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from accounts.services.sessions import tokens_issue
from joycart.wsgi import application
from tests.factories import UserFactory

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)

# Werkzeug's test client leaves REMOTE_ADDR out; every TCP server (gunicorn, runserver) sets it.
CLIENT_ENVIRON = {"REMOTE_ADDR": "127.0.0.1"}

fuzz_settings = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    # Health checks judge the generator, not the app; the fixtures here are meant to be shared by examples.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


def call(case, **kwargs):
    """Send one case, throttle counters reset so every example reaches the view rather than a 429."""
    cache.clear()
    return case.call_and_validate(checks=[not_a_server_error], environ_base=CLIENT_ENVIRON, **kwargs)


@pytest.fixture(autouse=True)
def _requests_share_the_test_transaction(db):
    """Schemathesis calls the WSGI app directly, which closes "old" connections around each request.

    Inside the test's transaction that would drop the connection (PostgreSQL) and lose the
    test data; Django's own test client switches the same signal off for the same reason.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer_headers() -> dict[str, str]:
    # Issued directly: Django's test client would reconnect close_old_connections (see above).
    pair = tokens_issue(user=UserFactory(username="fuzzer"))
    return {"Authorization": f"Bearer {pair.access}"}


@schema.parametrize()
@fuzz_settings
def test_anonymous_requests_never_cause_a_server_error(case):
    call(case)


@schema.parametrize()
@fuzz_settings
def test_authenticated_requests_never_cause_a_server_error(case, bearer_headers):
    call(case, headers=bearer_headers)
