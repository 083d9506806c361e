"""Every request has an id (the client's X-Request-ID when well-formed, else a new one), echoed in the
response and on every log line it writes, and one log line saying how it went."""

import json
import logging
import re
from datetime import datetime

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from joycart.logs import ReadableFormatter, RequestIdFilter
from tests.conftest import api_login, request_id_bound
from tests.factories import ProductFactory
from tests.test_settings import PRODUCTION as SHARED_PRODUCTION
from tests.test_settings import RAZORPAY_KEYS, manage

pytestmark = pytest.mark.django_db

REQUEST_LOG = "joycart.request_log.RequestLogMiddleware"
NEW_ID = re.compile(r"[0-9a-f]{32}")


def request_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "joycart.request"]


def test_a_well_formed_client_request_id_is_echoed_and_logged(client, json_log_lines):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.9_Z")
    assert response["X-Request-ID"] == "lb-7f3a.9_Z"
    [line] = request_lines(json_log_lines())
    assert line["request_id"] == "lb-7f3a.9_Z"
    assert line["level"] == "INFO"
    assert (line["method"], line["path"], line["status"], line["user_id"]) == ("GET", "/healthz", 200, None)
    assert line["duration_ms"] >= 0
    assert line["message"].startswith("GET /healthz 200 ")
    assert datetime.fromisoformat(line["time"]).utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    "sent",
    [
        "has space",
        "x" * 65,
        'forged", "level": "CRITICAL',
        "line\nbreak",
        "",
        "ünïcode",
    ],
)
def test_a_malformed_client_request_id_is_replaced_so_it_cannot_forge_or_flood_log_lines(client, json_log_lines, sent):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=sent)
    assert NEW_ID.fullmatch(response["X-Request-ID"])
    [line] = request_lines(json_log_lines())
    assert line["request_id"] == response["X-Request-ID"]
    assert line["level"] == "INFO"


def test_every_request_without_an_id_gets_a_new_one(client):
    first, second = client.get("/healthz")["X-Request-ID"], client.get("/healthz")["X-Request-ID"]
    assert NEW_ID.fullmatch(first)
    assert NEW_ID.fullmatch(second)
    assert first != second


def test_every_line_a_request_writes_carries_its_id(client, json_log_lines):
    """Django's own "Not Found" warning, written deep inside, is tied to the request's line by the id."""
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="trace-404")
    assert response.status_code == 404
    lines = json_log_lines()
    not_found = [line for line in lines if line["logger"] == "django.request"]
    assert not_found
    assert not_found[0]["request_id"] == "trace-404"
    assert not_found[0]["level"] == "WARNING"
    # The request object Django attaches to the record is not dumped into the line.
    assert "request" not in not_found[0]
    [line] = request_lines(lines)
    assert (line["request_id"], line["status"]) == ("trace-404", 404)


def test_a_line_written_outside_any_request_has_no_request_id(json_log_lines):
    logging.getLogger("joycart.test").warning("from a command")
    [line] = json_log_lines()
    assert line["request_id"] is None
    assert (line["logger"], line["message"]) == ("joycart.test", "from a command")


def test_an_exception_stays_on_one_line(json_log_lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("joycart.test").exception("it failed")
    [line] = json_log_lines()
    assert line["level"] == "ERROR"
    assert "ValueError: boom" in line["exc_info"]


def test_the_request_line_names_the_bearer_user(bearer_client, user, json_log_lines):
    assert bearer_client.get("/api/v1/auth/me/").status_code == 200
    [line] = request_lines(json_log_lines())
    assert line["user_id"] == user.pk


def test_the_request_line_names_the_user_of_a_logged_in_page(api_client, user, json_log_lines):
    api_login(api_client, user)
    assert api_client.get("/orders/").status_code == 200
    line = request_lines(json_log_lines())[-1]
    assert (line["path"], line["user_id"]) == ("/orders/", user.pk)


def test_an_anonymous_page_logs_no_user(client, json_log_lines):
    ProductFactory()
    assert client.get("/").status_code == 200
    [line] = request_lines(json_log_lines())
    assert line["user_id"] is None


def _queries(fetch) -> int:
    for each in caches.all():
        each.clear()
    with CaptureQueriesContext(connection) as captured:
        assert fetch().status_code == 200
    return len(captured)


def test_the_request_log_adds_no_query_to_pages(client, api_client, user, settings):
    """Reading the user id never loads a user: an anonymous page (listing, cache miss then hit) and a
    logged-in page ask the database exactly as often with the request log as without it."""
    ProductFactory.create_batch(3)
    api_login(api_client, user)

    def counts() -> tuple[int, ...]:
        anonymous_miss = _queries(lambda: client.get("/"))
        with CaptureQueriesContext(connection) as hit:
            assert client.get("/").status_code == 200
        return anonymous_miss, len(hit), _queries(lambda: api_client.get("/orders/"))

    with_log = counts()
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name != REQUEST_LOG]
    without_log = counts()
    assert with_log == without_log
    assert with_log[1] == 0  # a cached anonymous page does not even read the session


def test_development_text_lines_end_with_the_request_id():
    formatter = ReadableFormatter("%(levelname)s %(name)s: %(message)s")
    record = logging.LogRecord("joycart.test", logging.INFO, __file__, 1, "hello", None, None)
    with request_id_bound("abc123"):
        RequestIdFilter().filter(record)
    assert formatter.format(record) == "INFO joycart.test: hello [abc123]"
    RequestIdFilter().filter(record)
    assert formatter.format(record) == "INFO joycart.test: hello"


# --- settings ---------------------------------------------------------------------------

PRODUCTION = {**SHARED_PRODUCTION, **RAZORPAY_KEYS}
PRINT_LOG_FORMAT = "from django.conf import settings; print(settings.LOGGING['handlers']['console']['formatter'])"


def test_logs_are_json_in_production_and_text_in_development():
    assert manage("shell", "--no-imports", "-c", PRINT_LOG_FORMAT).stdout.strip() == "text"
    production = manage("shell", "--no-imports", "-c", PRINT_LOG_FORMAT, **PRODUCTION)
    assert production.stdout.strip() == "json", production.stderr
    chosen = manage("shell", "--no-imports", "-c", PRINT_LOG_FORMAT, DJANGO_LOG_FORMAT="text", **PRODUCTION)
    assert chosen.stdout.strip() == "text"


@pytest.mark.parametrize(("name", "value"), [("DJANGO_LOG_FORMAT", "xml"), ("READYZ_QUEUE_MAX_AGE_SECONDS", "0")])
def test_a_bad_logging_or_readiness_setting_stops_with_the_variable_name(name, value):
    result = manage("check", **{name: value})
    assert result.returncode != 0
    assert name in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


PROBE_OVER_PLAIN_HTTP = """
import json
from django.test import Client
client = Client(HTTP_HOST="example.com")
print(json.dumps({path: client.get(path).status_code for path in ("/healthz", "/readyz", "/")}))
"""


def test_production_probes_answer_over_plain_http_and_log_json_lines(tmp_path):
    """Load balancers probe over plain HTTP from inside the network: no redirect to HTTPS for them."""
    result = manage(
        "shell", "--no-imports", "-c", PROBE_OVER_PLAIN_HTTP,
        DATABASE_URL=f"sqlite:///{tmp_path / 'probe.sqlite3'}", **PRODUCTION,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    *log_lines, statuses = result.stdout.strip().splitlines()
    assert json.loads(statuses) == {"/healthz": 200, "/readyz": 200, "/": 301}
    requests = [json.loads(line) for line in log_lines if '"joycart.request"' in line]
    assert [(line["path"], line["status"]) for line in requests] == [("/healthz", 200), ("/readyz", 200), ("/", 301)]
    assert all(json.loads(line) for line in log_lines)
