"""The scale scenario's parts (bench/scale.py): its pages miss the cache yet show what they would
without the cache-buster, its targets and table, and its time-to-last-byte probe."""

import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench import scale
from bench.loadgen import UncachedPaths
from catalog.validators import MAX_PRICE
from tests.factories import CategoryFactory, ProductFactory


def _load(p50: float, *, non_2xx: int = 0, errors: int = 0) -> dict:
    return {"p50_ms": p50, "p99_ms": p50 * 2, "non_2xx": non_2xx, "errors": errors, "warmup_non_2xx": 0}


def _seller(*, rss: dict[str, float], lines: int = 25_001, statuses=(200,)) -> dict:
    rows = {
        name: {"statuses": list(statuses), "lines": lines if name == "seller CSV export" else 80}
        for name in scale.seller_paths(last_page=400)
    }
    return {"products": 10_000, "variants": 25_000, "rows": rows, "worker_peak_rss_mb": rss}


def _verdicts(targets: list[dict]) -> dict[str, bool]:
    return {target["target"]: target["ok"] for target in targets}


def test_a_page_passes_while_its_p50_at_the_large_size_stays_within_one_and_a_half_times_the_small_ones():
    shop = {
        "listing page": {"small": _load(20.0), "large": _load(30.0)},
        "category by price": {"small": _load(20.0), "large": _load(30.2)},
        "filtered search": {"small": _load(20.0), "large": _load(12.0)},
    }

    targets = scale.scale_targets(shop=shop, seller=_seller(rss={"1": 120.0}), small=1000, large=100_000)

    verdicts = _verdicts(targets)
    assert verdicts["scale: listing page p50 at 100,000 <= 1.5x p50 at 1,000"] is True
    assert verdicts["scale: category by price p50 at 100,000 <= 1.5x p50 at 1,000"] is False
    assert verdicts["scale: filtered search p50 at 100,000 <= 1.5x p50 at 1,000"] is True
    assert targets[1]["actual"] == "1.51x (20.0 -> 30.2 ms)"
    assert all(ok for name, ok in verdicts.items() if not name.startswith("scale: category"))


def test_a_page_not_measured_misses_rather_than_passes():
    shop = {"listing page": {"small": _load(0.0), "large": _load(30.0)}}

    [target, *_rest] = scale.scale_targets(shop=shop, seller=None, small=1000, large=100_000)

    assert (target["ok"], target["actual"]) == (False, "not measured")


@pytest.mark.parametrize(
    ("rss", "lines", "statuses", "failing"),
    [
        ({"1": 150.0, "2": 199.9}, 25_001, (200,), set()),
        ({"1": 150.0, "2": 200.0}, 25_001, (200,), {"rss"}),
        ({}, 25_001, (200,), {"rss"}),
        ({"1": 150.0}, 24_001, (200,), {"export"}),
        ({"1": 150.0}, 25_001, (200, 500), {"answers"}),
    ],
)
def test_the_seller_portal_needs_every_worker_under_200_mb_every_variant_exported_and_only_2xx(
    rss, lines, statuses, failing
):
    shop = {"listing page": {"small": _load(20.0), "large": _load(20.0, non_2xx=0)}}

    targets = scale.scale_targets(
        shop=shop, seller=_seller(rss=rss, lines=lines, statuses=statuses), small=1000, large=100_000
    )

    kinds = {"rss": "peak RSS", "export": "lists every variant", "answers": "every answer 2xx"}
    missed = {
        kind for kind, words in kinds.items() for target in targets if words in target["target"] and not target["ok"]
    }
    assert missed == failing


def test_an_error_under_load_fails_the_answers_target():
    shop = {"listing page": {"small": _load(20.0), "large": _load(20.0, errors=2)}}

    [*_ratios, answers] = scale.scale_targets(shop=shop, seller=None, small=1000, large=100_000)

    assert (answers["ok"], answers["actual"]) == (False, "2")


def test_the_table_marks_each_page_pass_or_miss_and_shows_the_seller_portal():
    shop = {
        "listing page": {"small": {**_load(20.0), "other_cpu": 0.05}, "large": {**_load(25.0), "other_cpu": 0.1}},
        "filtered search": {"small": {**_load(10.0), "other_cpu": 0.0}, "large": {**_load(40.0), "other_cpu": 0.3}},
    }
    seller = _seller(rss={"11": 91.0})
    for row in seller["rows"].values():
        row.update(ttfb_ms=5.0, ttlb_ms=50.0, ttlb_all_ms=[50.0, 60.0], bytes=1234)
    lines: list[str] = []

    scale.report_scale(
        {"small": 1000, "large": 100_000, "connections": 2, "shop": shop, "seller": seller}, lines.append
    )

    listing = next(line for line in lines if line.startswith("listing page"))
    search = next(line for line in lines if line.startswith("filtered search"))
    assert "PASS" in listing and "1.25" in listing and "0.05/0.10" in listing
    assert "MISS" in search and "4.00" in search
    assert any("seller CSV export" in line and "last byte" in line for line in lines)
    assert any("91 MB" in line for line in lines)


def test_the_shop_pages_are_the_listing_a_parent_category_by_price_and_a_filtered_search():
    paths = scale.shop_paths()

    assert paths == {
        "listing page": "/",
        "category by price": f"/categories/{scale.CATEGORY}/?ordering=price",
        "filtered search": f"/?search={scale.SEARCH_BRAND}&category={scale.SEARCH_CATEGORY}"
        f"&min_price={scale.SEARCH_MIN_PRICE}",
    }


@pytest.mark.django_db
def test_every_measured_request_misses_the_page_cache_yet_shows_what_the_page_shows(client):
    clothing = CategoryFactory(name="Clothing", slug=scale.CATEGORY)
    kurtas = CategoryFactory(name="Kurtas", slug="kurtas", parent=clothing)
    electronics = CategoryFactory(name="Electronics", slug=scale.SEARCH_CATEGORY)
    for price in ("499.00", "999.00", str(MAX_PRICE)):
        ProductFactory(title=f"Kurta at {price}", category=kurtas, price=Decimal(price))
        ProductFactory(title=f"Zentra cable at {price}", brand="Zentra", category=electronics, price=Decimal(price))
    shown = {}
    for name, path in scale.shop_paths().items():
        plain = client.get(path)
        assert plain.status_code == 200, name
        shown[name] = _titles(plain)
        paths = UncachedPaths((path,))
        for number in range(2):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(paths(number))
            assert len(queries) > 0, f"{name}: an uncached request was a cache hit"
            assert _titles(response) == shown[name], name
    assert set(shown["filtered search"]) == {"Zentra cable at 999.00", f"Zentra cable at {MAX_PRICE}"}
    assert shown["category by price"] == [f"Kurta at {price}" for price in ("499.00", "999.00", MAX_PRICE)]


def _titles(response) -> list[str]:
    return [product.title for product in response.context["page"].object_list]


class _Chunked(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(3 * 70_000))
        self.end_headers()
        for _ in range(3):
            self.wfile.write(b"x" * 69_999 + b"\n")
            self.wfile.flush()

    def log_message(self, format, *args):
        pass


def test_timed_get_reads_to_the_last_byte_and_counts_bytes_and_lines():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Chunked)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        answer = scale.timed_get(f"http://127.0.0.1:{httpd.server_address[1]}", "/export.csv", headers={})
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)

    assert (answer["status"], answer["bytes"], answer["lines"]) == (200, 210_000, 3)
    assert 0 < answer["ttfb_ms"] <= answer["ttlb_ms"]


def test_the_scale_scenario_is_skipped_on_sqlite_with_its_reason(bench_run, tmp_path):
    args = bench_run.parse_args(["--only", "scale", "--scale-small", "10", "--scale-large", "20"])

    result = scale.run_scale({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}, args, bench_run)

    assert (args.only, args.scale_small, args.scale_large) == ("scale", 10, 20)
    assert "needs PostgreSQL" in result["skipped"]


@pytest.fixture
def bench_run(monkeypatch):
    """bench/run.py, a script whose siblings import as top-level modules."""
    monkeypatch.syspath_prepend(str(scale.__file__).rsplit("/", 1)[0])
    import run

    return run


def test_a_page_load_is_disturbed_when_other_processes_took_more_than_the_limit():
    result = {
        "small": 1000,
        "large": 100_000,
        "shop": {"listing page": {"small": {"other_cpu": 0.1}, "large": {"other_cpu": 0.5}}},
    }

    assert scale.disturbed(result, above=0.2) == ["scale, listing page at 100,000"]
