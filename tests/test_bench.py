"""The benchmark's pure parts: wrk output parsing, the summary maths, the load generators."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit

import pytest

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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, unless the path asks to close

    def do_GET(self):
        server: _CountingServer = self.server
        with server.lock:
            hit = server.hits[self.path] = server.hits.get(self.path, 0) + 1
            fail = self.path == "/flaky" and hit % 3 == 0
            server.failures += fail
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
        assert query[CACHE_BUSTER][0].startswith(f"{nonce}-"), path
        busters.append(query[CACHE_BUSTER][0])
    assert len(set(paths)) == len(set(busters)) == len(paths), "a path was requested twice: a cache hit"


def test_uncached_paths_are_all_different_and_rotate_the_terms():
    paths = UncachedPaths(SEARCH_PATHS, nonce="ab12")

    built = [paths(number) for number in range(9)]

    assert built[:4] == [
        "/?search=Zentra&bench=ab12-0",
        "/?search=Kanchi%20Weaves&bench=ab12-1",
        "/?search=Desi%20Drape&bench=ab12-2",
        "/?search=Zentra&bench=ab12-3",
    ]
    _assert_search_paths_unique(built, nonce="ab12")
    assert UncachedPaths(("/api/v1/products/",), nonce="x")(7) == "/api/v1/products/?bench=x-7"
    assert paths.wrk_args() == ["ab12", *SEARCH_PATHS]


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


def test_python_load_asks_for_each_generated_path_once(server):
    paths = UncachedPaths(SEARCH_PATHS, nonce="py")

    result = python_load(_url(server, "/ignored"), connections=4, requests=60, paths=paths)

    assert (result.requests, result.non_2xx, result.errors) == (60, 0, 0)
    assert "/ignored" not in server.hits
    assert sorted(server.hits) == sorted(paths(number) for number in range(60))
    assert set(server.hits.values()) == {1}
    _assert_search_paths_unique(list(server.hits), nonce="py")


def test_python_load_takes_a_list_of_paths_in_turn(server):
    result = python_load(_url(server, "/"), connections=2, requests=7, paths=["/a", "/b"])

    assert result.requests == 7
    assert server.hits == {"/a": 4, "/b": 3}


@pytest.mark.skipif(wrk_path() is None, reason="wrk is not installed")
def test_wrk_with_the_lua_script_asks_for_each_path_once(server):
    paths = UncachedPaths(SEARCH_PATHS, nonce="lua")

    result = wrk_load(_url(server, "/ignored"), connections=4, seconds=1, paths=paths)

    assert "/ignored" not in server.hits
    assert result.requests > 10
    # wrk counts what it read back; a request still in flight when it stops reaches the server uncounted.
    assert result.requests <= sum(server.hits.values()) <= result.requests + 4
    assert (result.non_2xx, result.errors) == (0, 0)
    assert set(server.hits.values()) == {1}
    _assert_search_paths_unique(list(server.hits), nonce="lua")
    # Both wrk threads, each rotating through every term from the first.
    threads = {query[CACHE_BUSTER][0].split("-")[1] for query in map(_query, server.hits)}
    assert threads == {"1", "2"}
    assert {_query(path)["search"][0] for path in server.hits} == TERMS


def _query(path: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(path).query)
