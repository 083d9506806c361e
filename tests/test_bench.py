"""The benchmark's parts: wrk output parsing, the summary maths, the load generators, and the
checkout scenario's load, verdicts and targets; and, against the test database, its fixture's
count of the orders and the mail tasks they queued."""

import json
import os
import re
import socket
import subprocess
import sys
import threading
import urllib.request
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import django
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from bench.checkout import (
    CHECKOUT_PATH,
    Answer,
    Buyer,
    CheckoutResult,
    buy_now_body,
    checkout_load,
    checkout_targets,
    error_code,
    hot_verdict,
    mail_verdict,
    summarize_checkout,
)
from bench.loadgen import (
    CACHE_BUSTER,
    UncachedPaths,
    parse_wrk_output,
    percentile,
    python_load,
    summarize,
    wrk_load,
    wrk_path,
)
from catalog.validators import MAX_PRICE
from tests.factories import ProductFactory

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8000/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     6.91ms    4.02ms  61.23ms   88.01%
    Req/Sec     1.19k   140.26     1.52k    71.50%
  Latency Distribution
     50%  850.00us
     75%    7.38ms
     90%    9.90ms
     99%    1.21s
  23718 requests in 10.02s, 205.34MB read
  Socket errors: connect 0, read 3, write 1, timeout 2
  Non-2xx or 3xx responses: 17
Requests/sec:   2367.07
Transfer/sec:     20.49MB
"""


def test_parse_wrk_output_reads_rate_latency_and_failures():
    result = parse_wrk_output(WRK_OUTPUT)

    assert result.tool == "wrk"
    assert result.requests == 23718
    assert result.seconds == pytest.approx(10.02)
    assert result.rps == pytest.approx(2367.07)
    assert result.p50_ms == pytest.approx(0.85)
    assert result.p99_ms == pytest.approx(1210.0)
    assert result.non_2xx == 17
    assert result.errors == 6


def test_parse_wrk_output_without_failures_counts_none():
    clean = "\n".join(line for line in WRK_OUTPUT.splitlines() if "Socket" not in line and "Non-2xx" not in line)

    result = parse_wrk_output(clean)

    assert (result.non_2xx, result.errors) == (0, 0)


def test_parse_wrk_output_refuses_something_else():
    with pytest.raises(ValueError, match="not wrk"):
        parse_wrk_output("unable to connect to 127.0.0.1:8000 Connection refused")


def test_percentile_interpolates_between_ranks():
    values = [1.0, 2.0, 3.0, 4.0]

    assert percentile(values, 0.5) == pytest.approx(2.5)
    assert percentile(values, 0.99) == pytest.approx(3.97)
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 1.0) == 4.0
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) == 0.0
    with pytest.raises(ValueError):
        percentile(values, 1.5)


def test_summarize_counts_rate_statuses_and_non_2xx():
    result = summarize(latencies=[0.004, 0.001, 0.003, 0.002], statuses=[200, 204, 503, 302], errors=1, seconds=2.0)

    assert result.requests == 4
    assert result.rps == pytest.approx(2.0)
    assert result.p50_ms == pytest.approx(2.5)
    assert result.non_2xx == 2, "a redirect is not a success either"
    assert result.errors == 1
    assert result.statuses == {200: 1, 204: 1, 302: 1, 503: 1}


class _CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.hits: dict[str, int] = {}
        self.failures = 0
        self.cookies: set[str | None] = set()  # every Cookie header received (None: none sent)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, unless the path asks to close

    def do_GET(self):
        server: _CountingServer = self.server
        with server.lock:
            hit = server.hits[self.path] = server.hits.get(self.path, 0) + 1
            fail = self.path == "/flaky" and hit % 3 == 0
            server.failures += fail
            server.cookies.add(self.headers.get("Cookie"))
        body = b"no" if fail else b"ok"
        self.send_response(503 if fail else 200)
        self.send_header("Content-Length", str(len(body)))
        if self.path == "/close":
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def server():
    httpd = _CountingServer()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _url(server: _CountingServer, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_python_load_for_a_duration_counts_every_answer_and_each_failure(server):
    result = python_load(_url(server, "/flaky"), connections=3, seconds=0.6)

    assert result.tool == "python"
    assert result.requests == server.hits["/flaky"] > 0
    assert result.non_2xx == server.failures == result.statuses[503]
    assert result.statuses[200] == result.requests - result.non_2xx
    assert result.errors == 0
    assert result.seconds == pytest.approx(0.6, abs=0.3)
    assert result.rps == pytest.approx(result.requests / result.seconds)
    assert 0 < result.p50_ms <= result.p99_ms


def test_python_load_stops_after_a_request_count_and_reconnects_after_close(server):
    result = python_load(_url(server, "/close"), connections=4, requests=40)

    assert result.requests == server.hits["/close"] == 40
    assert (result.non_2xx, result.errors) == (0, 0)


def test_python_load_counts_refused_connections_as_errors():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there

    result = python_load(f"http://127.0.0.1:{port}/", connections=2, requests=6, timeout=1)

    assert (result.requests, result.errors) == (0, 6)


# --- every request a new path (the uncached search row) ---------------------------------

SEARCH_PATHS = tuple(f"/?search={quote(term)}" for term in ("Zentra", "Kanchi Weaves", "Desi Drape"))
TERMS = {"Zentra", "Kanchi Weaves", "Desi Drape"}


def _assert_search_paths_unique(paths: list[str], *, nonce: str) -> None:
    """Each a valid URL path asking for one of TERMS, with a cache-busting value seen only once."""
    busters = []
    for path in paths:
        parts = urlsplit(path)
        assert (parts.scheme, parts.netloc, parts.path) == ("", "", "/"), path
        query = parse_qs(parts.query, strict_parsing=True)
        assert set(query) == {"search", CACHE_BUSTER}, path
        assert len(query["search"]) == len(query[CACHE_BUSTER]) == 1, path
        assert query["search"][0] in TERMS, path
        assert query[CACHE_BUSTER][0].startswith(f"1{nonce:0>8}."), path
        # Above every price the shop accepts, so the page lists what it would without it.
        assert Decimal(query[CACHE_BUSTER][0]) > MAX_PRICE, path
        busters.append(query[CACHE_BUSTER][0])
    assert len(set(paths)) == len(set(busters)) == len(paths), "a path was requested twice: a cache hit"


def test_uncached_paths_are_all_different_and_rotate_the_terms():
    paths = UncachedPaths(SEARCH_PATHS, nonce="4012")

    built = [paths(number) for number in range(9)]

    assert built[:4] == [
        "/?search=Zentra&max_price=100004012.0",
        "/?search=Kanchi%20Weaves&max_price=100004012.1",
        "/?search=Desi%20Drape&max_price=100004012.2",
        "/?search=Zentra&max_price=100004012.3",
    ]
    _assert_search_paths_unique(built, nonce="4012")
    assert UncachedPaths(("/api/v1/products/",), nonce="7")(7) == "/api/v1/products/?max_price=100000007.7"
    assert paths.wrk_args() == ["100004012", *SEARCH_PATHS]


@pytest.mark.django_db
def test_every_uncached_path_misses_the_page_cache_yet_lists_what_the_plain_search_lists(client):
    for price in ("1.00", "4999.00", str(MAX_PRICE)):
        ProductFactory(title=f"Zentra kurta at {price}", brand="Zentra", price=Decimal(price))
    ProductFactory(title="Something else", brand="Other")
    plain = client.get("/?search=Zentra")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/?search=Zentra").status_code == 200
    assert len(queries) == 0, "the plain search is served from the page cache"

    paths = UncachedPaths(("/?search=Zentra",))
    for number in range(3):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(paths(number))
        assert len(queries) > 0, "an uncached path was a cache hit"
        assert _titles(response) == _titles(plain) == {f"Zentra kurta at {p}" for p in ("1.00", "4999.00", MAX_PRICE)}


def _titles(response) -> set[str]:
    return {product.title for product in response.context["page"].object_list}


def test_uncached_paths_get_a_fresh_nonce_each_time():
    first, second = UncachedPaths(SEARCH_PATHS), UncachedPaths(SEARCH_PATHS)

    assert first.nonce != second.nonce
    assert {first(number) for number in range(50)}.isdisjoint(second(number) for number in range(50))


def test_uncached_paths_refuse_what_would_not_be_a_path():
    with pytest.raises(ValueError):
        UncachedPaths(())
    with pytest.raises(ValueError):
        UncachedPaths(("search=Zentra",))
    with pytest.raises(ValueError):
        UncachedPaths(SEARCH_PATHS, nonce="a&b")
    with pytest.raises(ValueError):
        UncachedPaths(SEARCH_PATHS, nonce="123456789")  # would no longer be one fixed-width ceiling


def test_python_load_asks_for_each_generated_path_once(server):
    paths = UncachedPaths(SEARCH_PATHS, nonce="31")

    result = python_load(_url(server, "/ignored"), connections=4, requests=60, paths=paths)

    assert (result.requests, result.non_2xx, result.errors) == (60, 0, 0)
    assert "/ignored" not in server.hits
    assert sorted(server.hits) == sorted(paths(number) for number in range(60))
    assert set(server.hits.values()) == {1}
    _assert_search_paths_unique(list(server.hits), nonce="31")


def test_python_load_takes_a_list_of_paths_in_turn(server):
    result = python_load(_url(server, "/"), connections=2, requests=7, paths=["/a", "/b"])

    assert result.requests == 7
    assert server.hits == {"/a": 4, "/b": 3}


@pytest.mark.skipif(wrk_path() is None, reason="wrk is not installed")
def test_wrk_with_the_lua_script_asks_for_each_path_once(server):
    paths = UncachedPaths(SEARCH_PATHS, nonce="77")

    result = wrk_load(_url(server, "/ignored"), connections=4, seconds=1, paths=paths)

    assert "/ignored" not in server.hits
    assert result.requests > 10
    # wrk counts what it read back; a request still in flight when it stops reaches the server uncounted.
    assert result.requests <= sum(server.hits.values()) <= result.requests + 4
    assert (result.non_2xx, result.errors) == (0, 0)
    assert set(server.hits.values()) == {1}
    _assert_search_paths_unique(list(server.hits), nonce="77")
    # Both wrk threads, each rotating through every term from the first.
    threads = {query[CACHE_BUSTER][0].split(".")[1][:3] for query in map(_query, server.hits)}
    assert threads == {"001", "002"}
    assert {_query(path)["search"][0] for path in server.hits} == TERMS


def _query(path: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(path).query)


COOKIE = "jc_access=shopper-token; csrftoken=abc"


def test_python_load_sends_the_logged_in_rows_cookie_with_every_request(server):
    result = python_load(_url(server, "/"), connections=2, requests=6, headers={"Cookie": COOKIE})

    assert result.requests == 6
    assert server.cookies == {COOKIE}


@pytest.mark.skipif(wrk_path() is None, reason="wrk is not installed")
def test_wrk_sends_the_logged_in_rows_cookie_with_every_request(server):
    result = wrk_load(_url(server, "/"), connections=2, seconds=1, headers={"Cookie": COOKIE})

    assert result.requests > 10
    assert server.cookies == {COOKIE}


# --- the checkout scenario (bench/checkout.py, bench/seed.py) ----------------------------


def test_error_code_reads_the_stable_code_or_names_the_status():
    assert error_code(400, b'{"detail": "Sold out.", "code": "out_of_stock"}') == "out_of_stock"
    assert error_code(400, b'{"quantity": ["Too many."]}') == "invalid_input"
    assert error_code(401, b'{"detail": "Not logged in."}') == "http_401"
    assert error_code(502, b"<html>Bad gateway</html>") == "http_502"
    assert error_code(400, b"[]") == "http_400"


def test_summarize_checkout_counts_orders_refusals_by_code_and_5xx():
    answers = [
        Answer(0.010, 201),
        Answer(0.030, 201),
        Answer(0.020, 201),
        Answer(0.002, 400, "out_of_stock"),
        Answer(0.004, 400, "out_of_stock"),
        Answer(0.003, 409, "idempotency_key_reused"),
        Answer(0.500, 500, "http_500"),
        Answer(0.001, 200),
    ]

    result = summarize_checkout(answers, errors=2, seconds=2.0)

    assert (result.requests, result.orders, result.server_errors, result.errors) == (8, 3, 1, 2)
    assert result.orders_per_s == pytest.approx(1.5), "only 201s are orders; a 200 replay is not"
    assert result.refusals == {"idempotency_key_reused": 1, "out_of_stock": 2}
    assert result.statuses == {200: 1, 201: 3, 400: 2, 409: 1, 500: 1}
    assert result.p50_ms == pytest.approx(7.0), "refusals count in the latencies too"
    assert result.p99_ms == pytest.approx(500 - 0.07 * (500 - 30), rel=1e-6)
    assert summarize_checkout([], errors=0, seconds=0).orders_per_s == 0.0


@pytest.mark.parametrize(
    ("sold", "left", "accepted", "ok", "oversell", "lost"),
    [
        (200, 0, 200, True, 0, 0),
        (203, 0, 203, False, 3, -3),  # oversold: more orders than stock
        (200, 0, 199, False, 0, 0),  # a unit sold that no buyer was told about
        (190, 0, 190, False, -10, 10),  # stock vanished without an order
        (150, 50, 150, False, -50, 0),  # the rush stopped before selling out
    ],
)
def test_hot_verdict_passes_only_an_exact_sell_out(sold, left, accepted, ok, oversell, lost):
    verdict = hot_verdict(initial_stock=200, accepted=accepted, sold=sold, stock_left=left)

    assert (verdict["ok"], verdict["oversell"], verdict["lost"]) == (ok, oversell, lost)
    assert verdict["sold_out"] == (left == 0)


@pytest.mark.parametrize(
    ("orders", "per_order", "ok", "tasks", "none", "several"),
    [
        (1900, {"1": 1900}, True, 1900, 0, 0),
        (1900, {1: 1900}, True, 1900, 0, 0),  # int keys too, not only JSON's strings
        (1900, {"0": 0, "1": 1900}, True, 1900, 0, 0),
        (0, {}, True, 0, 0, 0),
        (1900, {"0": 3, "1": 1897}, False, 1897, 3, 0),  # orders that queued no mail
        (1900, {"1": 1898, "2": 2}, False, 1902, 0, 2),  # an order mailed twice
        (1900, {"1": 1890}, False, 1890, 10, 0),  # orders the counts do not cover queued none
        (1900, {}, False, 0, 1900, 0),  # nothing queued at all (mail sent in the request?)
        (1900, {"1": 1901}, False, 1901, 0, 0),  # counts for more orders than there are
    ],
)
def test_mail_verdict_passes_only_one_task_per_order(orders, per_order, ok, tasks, none, several):
    verdict = mail_verdict(orders=orders, tasks_per_order=per_order)

    assert verdict["ok"] is ok
    assert (verdict["orders"], verdict["tasks"], verdict["none"], verdict["several"]) == (orders, tasks, none, several)


def _result(**overrides) -> CheckoutResult:
    values = {
        "requests": 1500,
        "seconds": 10.0,
        "orders": 1500,
        "orders_per_s": 150.0,
        "p50_ms": 80.0,
        "p99_ms": 250.0,
        "refusals": {},
        "server_errors": 0,
        "errors": 0,
    }
    return CheckoutResult(**{**values, **overrides})


def _misses(**kwargs) -> list[str]:
    fine = {
        "distinct": _result(),
        "hot": _result(orders=200),
        "verdict": hot_verdict(initial_stock=200, accepted=200, sold=200, stock_left=0),
        "orders_match": True,
        "mails": mail_verdict(orders=1900, tasks_per_order={"1": 1900}),
    }
    return [target["target"] for target in checkout_targets(**{**fine, **kwargs}) if not target["ok"]]


def test_checkout_targets_pass_a_good_run_and_miss_each_failure():
    assert _misses() == []
    assert _misses(distinct=_result(orders_per_s=99.9)) == ["checkout, distinct products ≥ 100 orders/s"]
    assert _misses(distinct=_result(p99_ms=300.0)) == ["checkout, distinct products p99 < 300 ms"]
    assert _misses(hot=_result(server_errors=1)) == ["checkout, no 5xx and no failed requests (both phases)"]
    assert _misses(distinct=_result(errors=1)) == ["checkout, no 5xx and no failed requests (both phases)"]
    oversold = hot_verdict(initial_stock=200, accepted=201, sold=201, stock_left=0)
    assert _misses(verdict=oversold) == ["checkout, hot product: zero oversell, sold out exactly"]
    assert _misses(orders_match=False) == ["checkout, every 201 is one order in the database"]
    unmailed = mail_verdict(orders=1900, tasks_per_order={"0": 1, "1": 1899})
    assert _misses(mails=unmailed) == ["checkout, every order queued exactly one mail task"]
    assert _misses(distinct=_result(requests=0, p99_ms=0.0, orders_per_s=0.0)) == [
        "checkout, distinct products ≥ 100 orders/s",
        "checkout, distinct products p99 < 300 ms",
    ]


class _ShopServer(ThreadingHTTPServer):
    """A stand-in checkout endpoint: one unit per 201 while `stock` lasts, then out_of_stock."""

    daemon_threads = True

    def __init__(self, stock: int) -> None:
        super().__init__(("127.0.0.1", 0), _ShopHandler)
        self.lock = threading.Lock()
        self.stock = stock
        self.requests: list[dict] = []


class _ShopHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        shop: _ShopServer = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with shop.lock:
            shop.requests.append(
                {
                    "path": self.path,
                    "auth": self.headers["Authorization"],
                    "key": self.headers["Idempotency-Key"],
                    **body,
                }
            )
            sold = shop.stock > 0
            shop.stock -= sold
        status, payload = (201, {"id": 1}) if sold else (400, {"detail": "Sold out.", "code": "out_of_stock"})
        content = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def shop(background_servers):
    return lambda stock: background_servers(_ShopServer(stock))


BUYERS = [Buyer(token=f"token-{number}", address_id=100 + number) for number in range(4)]


def test_checkout_load_rotates_products_with_a_new_key_and_the_buyers_own_token(shop):
    server = shop(stock=10**6)

    result = checkout_load(_url(server, ""), buyers=BUYERS, product_ids=[7, 8, 9], key_prefix="run1-d", seconds=0.5)

    sent = server.requests
    assert result.requests == result.orders == len(sent) > 10
    assert (result.server_errors, result.errors, result.refusals) == (0, 0, {})
    assert {request["path"] for request in sent} == {CHECKOUT_PATH}
    keys = [request["key"] for request in sent]
    assert len(set(keys)) == len(keys), "every request is a new order, never a replay"
    assert sorted(keys) == sorted(f"run1-d-{number}" for number in range(len(sent)))
    for request in sent:
        number = int(request["key"].rsplit("-", 1)[1])
        assert request["product_id"] == [7, 8, 9][number % 3], "round robin over the products"
        buyer = next(buyer for buyer in BUYERS if request["auth"] == f"Bearer {buyer.token}")
        assert request["address_id"] == buyer.address_id, "each buyer sends its own address"
        assert (request["source"], request["quantity"], request["payment_method"]) == ("buy_now", 1, "COD")
    assert {request["auth"] for request in sent} == {f"Bearer {buyer.token}" for buyer in BUYERS}


def test_checkout_load_until_sold_out_stops_each_buyer_at_its_first_out_of_stock(shop):
    server = shop(stock=25)

    result = checkout_load(
        _url(server, ""), buyers=BUYERS, product_ids=[42], key_prefix="hot", seconds=30, until_sold_out=True
    )

    assert result.orders == 25
    assert result.refusals == {"out_of_stock": len(BUYERS)}, "one refusal per buyer, then it stops"
    assert result.requests == len(server.requests) == 25 + len(BUYERS)
    assert result.seconds < 10, "stopped by the sell-out, not the deadline"


# --- against the test database: the checkout fixture and its count (bench/seed.py) -----------


@pytest.fixture
def _database_queue(settings):
    """Production's task queue, as the bench runs it: checkout queues its mail in the database."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _place(fixture: dict, buyer: int, product_id: int, key: str) -> int:
    """One order through the API, as bench/checkout.py asks for it; returns the new order's id."""
    from rest_framework.test import APIClient

    found = fixture["buyers"][buyer]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {found['token']}", HTTP_IDEMPOTENCY_KEY=key)
    body = buy_now_body(product_id, Buyer(token=found["token"], address_id=found["address_id"]))
    response = client.post(CHECKOUT_PATH, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.mark.django_db
@pytest.mark.usefixtures("_database_queue")
def test_checkout_count_finds_one_mail_task_per_order_and_the_next_seed_deletes_them(capsys):
    from django_tasks_db.models import DBTaskResult

    from bench.seed import ORDER_PLACED_TASK, bench_checkout_count, bench_checkout_seed
    from orders.models import Order
    from tests.factories import ProductFactory
    from tests.orders.helpers import buy_now, make_buyer

    fixture = bench_checkout_seed(buyers=2, products=3, hot_stock=2)
    hot = fixture["hot_product_id"]
    placed = [
        _place(fixture, number % 2, product, f"k-{number}") for number, product in enumerate(fixture["product_ids"])
    ]
    placed += [_place(fixture, 0, hot, "hot-1"), _place(fixture, 1, hot, "hot-2")]
    # Someone else's order and mail task, in the same queue: never counted, never deleted.
    outsider = buy_now(make_buyer(), ProductFactory(stock=5), 1)

    counted = bench_checkout_count(hot_product_id=hot)

    assert (counted["orders"], counted["hot_sold"], counted["hot_stock_left"]) == (5, 2, 0)
    assert (counted["mail_tasks"], counted["mail_tasks_per_order"]) == (5, {"1": 5})
    assert DBTaskResult.objects.filter(task_path=ORDER_PLACED_TASK).count() == 6

    # An order that queued nothing, and one that queued twice, are both told apart.
    DBTaskResult.objects.filter(args_kwargs__kwargs__order_id=placed[0]).delete()
    twice = DBTaskResult.objects.get(args_kwargs__kwargs__order_id=placed[1])
    twice.pk = None
    twice.save()
    counted = bench_checkout_count(hot_product_id=hot)
    assert (counted["mail_tasks"], counted["mail_tasks_per_order"]) == (5, {"0": 1, "1": 3, "2": 1})
    assert not mail_verdict(orders=counted["orders"], tasks_per_order=counted["mail_tasks_per_order"])["ok"]

    again = bench_checkout_seed(buyers=2, products=3, hot_stock=2)

    assert (again["deleted_orders"], again["deleted_mail_tasks"]) == (5, 5)
    assert list(Order.objects.values_list("pk", flat=True)) == [outsider.pk]
    [left] = DBTaskResult.objects.all()
    assert left.args_kwargs["kwargs"] == {"order_id": outsider.pk}
    assert bench_checkout_count(hot_product_id=hot)["mail_tasks_per_order"] == {}
    capsys.readouterr()  # the JSON lines for run.py


def _summaries() -> dict[int, tuple]:
    from catalog.models import Product

    return {row[0]: row[1:] for row in Product.objects.values_list("pk", "price", "price_max", "mrp", "stock")}


def _summaries_are_their_variants() -> bool:
    """What each product shows is what the one writer of summaries would write from its variants."""
    from catalog.services.summary import product_summary_refresh

    written = _summaries()
    product_summary_refresh(product_ids=list(written))
    return _summaries() == written


@pytest.mark.django_db
def test_checkout_seed_sets_the_stock_of_the_variants_and_their_products_alike(capsys):
    from bench.seed import CHECKOUT_STOCK, HOT_SKU, bench_checkout_count, bench_checkout_seed
    from catalog.models import Product, ProductVariant

    bench_checkout_seed(buyers=1, products=2, hot_stock=7)
    fixture = bench_checkout_seed(buyers=1, products=3, hot_stock=4)

    hot = fixture["hot_product_id"]
    assert ProductVariant.objects.get(sku=HOT_SKU).product_id == hot
    assert dict(ProductVariant.objects.values_list("product_id", "stock")) == {
        **dict.fromkeys(fixture["product_ids"], CHECKOUT_STOCK),
        hot: 4,
    }
    assert list(ProductVariant.objects.filter(product_id__in=fixture["product_ids"]).values_list("sku", flat=True)) == [
        "BENCH-CO-000001",
        "BENCH-CO-000002",
        "BENCH-CO-000003",
    ]
    assert set(Product.objects.filter(is_active=True).values_list("pk", flat=True)) == {*fixture["product_ids"], hot}
    assert _summaries_are_their_variants()
    assert bench_checkout_count(hot_product_id=hot)["hot_stock_left"] == 4
    capsys.readouterr()


def test_the_bench_environment_starts_production_settings_with_nothing_leaving_the_machine(tmp_path):
    """DEBUG off, so every production rule applies: uploads stay local, no Cloudinary, no Sentry."""
    root = Path(__file__).resolve().parent.parent
    caller = {
        **os.environ,
        "CLOUDINARY_URL": "cloudinary://123456789012345:fake-secret@joycart-test",
        "SENTRY_DSN": "https://publickey@127.0.0.1:9/1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bench.sqlite3'}",
    }
    # bench/run.py is a script whose siblings import as top-level modules.
    show_env = "import json, sys; sys.path.insert(0, 'bench'); import run; print(json.dumps(run.bench_environment()))"
    env = json.loads(run_python(root, caller, "-c", show_env))
    assert env["DJANGO_DEBUG"] == "0"
    assert "CLOUDINARY_URL" not in env and "SENTRY_DSN" not in env
    media = "from django.conf import settings; print(settings.MEDIA_SERVED_BY_APP)"
    assert run_python(root, env, "manage.py", "shell", "--no-imports", "-c", media).strip() == "True"


def run_python(root: Path, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603 - this interpreter with fixed arguments
        [sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- the bare ceiling (bench/bare/) and the ratios against it ------------------------------

BENCH_DIR = Path(__file__).resolve().parent.parent / "bench"
JOYCART_PACKAGES = {"joycart", "accounts", "catalog", "cart", "orders", "payments", "reviews"}
BARE_PROBE = """\
import json, sys
import django
django.setup()
from django.conf import settings
from django.test import Client
response = Client().get("/ping", HTTP_HOST="127.0.0.1")
print(json.dumps({
    "status": response.status_code,
    "body": response.content.decode(),
    "debug": settings.DEBUG,
    "middleware": settings.MIDDLEWARE,
    "joycart": sorted(name for name in sys.modules if name.split(".")[0] in %r),
}))
"""


@pytest.fixture
def bench_run(monkeypatch):
    """bench/run.py, a script whose siblings import as top-level modules."""
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    import run  # only importable with bench/ on the path

    return run


def _startproject_middleware() -> list[str]:
    template = Path(django.__file__).parent / "conf/project_template/project_name/settings.py-tpl"
    listed = template.read_text().split("MIDDLEWARE = [", 1)[1].split("]", 1)[0]
    return re.findall(r"'([^']+)'", listed)


def test_the_bare_project_answers_its_view_with_startprojects_middleware_and_none_of_joycart(tmp_path):
    root = BENCH_DIR.parent
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.bare.settings"}
    env.pop("DJANGO_DEBUG", None)

    answer = json.loads(run_python(root, env, "-c", BARE_PROBE % JOYCART_PACKAGES))

    assert (answer["status"], answer["body"], answer["debug"]) == (200, "pong", False)
    assert answer["middleware"] == _startproject_middleware()
    assert answer["joycart"] == []


def test_the_bare_ceiling_runs_on_joycarts_gunicorn_command_and_answers(bench_run):
    env = bench_run.bench_environment()
    bare = bench_run.Gunicorn(env, workers=1, threads=1, app=bench_run.BARE_APP)
    joycart = bench_run.Gunicorn(env, workers=1, threads=1, app=bench_run.JOYCART_APP)

    def without(server) -> list[str]:
        return [arg for arg in server.command() if arg not in (server.app, f"--bind=127.0.0.1:{server.port}")]

    assert without(bare) == without(joycart)
    assert bare.env["DJANGO_SETTINGS_MODULE"] == "bench.bare.settings"
    try:
        bare.start(timeout=30)
        with urllib.request.urlopen(bare.base_url + "/ping", timeout=5) as response:  # noqa: S310 - loopback
            assert (response.status, response.read()) == (200, b"pong")
    finally:
        bare.stop()
        joycart.stop()


def _row(name: str, rps: float | None, *, target=None, ping_target=None) -> dict:
    row = {"name": name, "path": "/", "target": target, "ping_target": ping_target}
    row.update(non_2xx=0, errors=0, warmup_non_2xx=0, available=rps is not None)
    return row if rps is None else {**row, "rps": rps}


def test_every_loaded_row_gets_its_share_of_the_bare_ceiling_and_of_ping(bench_run):
    rows = [
        _row(bench_run.BARE_ROW, 2000.0),
        _row(bench_run.PING_ROW, 1000.0),
        _row("listing page", 900.0),
        _row("not built yet", None),
    ]

    references = bench_run.ratios_add(rows)

    assert references == {"bare_rps": 2000.0, "ping_rps": 1000.0}
    assert [(row.get("vs_bare"), row.get("vs_ping")) for row in rows] == [
        (1.0, 2.0),
        (0.5, 1.0),
        (0.45, 0.9),
        (None, None),
    ]


def test_without_a_bare_ceiling_no_share_of_it_is_made_up(bench_run):
    rows = [_row(bench_run.PING_ROW, 1000.0), _row("listing page", 900.0)]

    assert bench_run.ratios_add(rows) == {"bare_rps": None, "ping_rps": 1000.0}
    assert rows[1]["vs_bare"] is None and rows[1]["vs_ping"] == 0.9


def test_targets_read_the_bare_ceiling_and_the_old_ping_ones_are_for_information(bench_run):
    rows = [
        _row(bench_run.BARE_ROW, 2000.0),
        _row(bench_run.PING_ROW, 1000.0),
        # 0.9x /ping met its old target, yet it is only 0.45x of the bare ceiling.
        _row("listing page", 900.0, target=0.8, ping_target=0.8),
        _row("product page", 1300.0, target=0.6, ping_target=0.5),
        _row("not built yet", None, target=0.4),
    ]
    bench_run.ratios_add(rows)

    targets = bench_run.check_targets(rows, {1: 100.0})

    verdicts = {(target["target"], target["ok"], target["actual"], target.get("info", False)) for target in targets}
    assert {
        ("listing page ≥ 0.8x bare", False, "0.45x", False),
        ("product page ≥ 0.6x bare", True, "0.65x", False),
        ("not built yet ≥ 0.4x bare", False, "missing", False),
        ("listing page ≥ 0.8x /ping", True, "0.90x", True),
        ("product page ≥ 0.5x /ping", True, "1.30x", True),
    } <= verdicts
    assert [target.get("info", False) for target in targets] == [False] * 5 + [True] * 2


def test_the_issues_targets_are_set_against_the_bare_ceiling(bench_run):
    rows = bench_run.endpoints(slug="a-product", search="Zentra", search_terms=["Zentra"])
    by_name = {row.name: row for row in rows}

    assert [row.name for row in rows[:2]] == [bench_run.BARE_ROW, bench_run.PING_ROW]
    assert by_name[bench_run.BARE_ROW].app == bench_run.BARE_APP
    assert {row.app for row in rows[1:]} == {bench_run.JOYCART_APP}
    assert {name: row.target for name, row in by_name.items() if row.target} == {
        "listing page": 0.8,
        "listing API": 0.8,
        "product page": 0.6,
        "home, logged in": 0.4,
    }
    assert by_name["home, logged in"].logged_in and by_name["home, logged in"].path == "/"
    assert not any(row.logged_in for name, row in by_name.items() if name != "home, logged in")


@pytest.mark.django_db
def test_the_bench_shoppers_cookie_logs_in_on_the_home_page(client, bench_run):
    from bench.seed import SHOPPER_PREFIX, bench_shopper_cookie

    cookie = bench_shopper_cookie()

    response = client.get("/", HTTP_COOKIE=cookie)

    assert response.status_code == 200
    assert bench_run.LOGGED_IN_MARK in response.content
    assert response.wsgi_request.user.username == f"{SHOPPER_PREFIX}01"
    assert bench_shopper_cookie().split("=", 1)[0] == cookie.split("=", 1)[0]
    assert User.objects.filter(username__startswith=SHOPPER_PREFIX).count() == 1
    assert bench_run.LOGGED_IN_MARK not in client.get("/").content


def test_the_middleware_cost_script_calls_the_wsgi_handler_as_a_server_would(bench_run, db):
    import middleware_cost  # a sibling of run.py in bench/
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    # As Django's test client does: the test's own connection must outlive the requests.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        handler = WSGIHandler()
        assert middleware_cost.request_once(handler, "/", "") == 200
        assert middleware_cost.request_once(handler, "/no-such-page/", "") == 404
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)
