"""The mixed scenario's parts (bench/mixed.py): the mix's deck, the cart and checkout requests, the
stock's books, the listing's ratios and the targets; its load generator against a stand-in shop;
and, against the test database, its fixture and count (bench/mixed_seed.py)."""

import json
import random
import socket
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.checkout import CHECKOUT_PATH, Buyer
from bench.mixed import (
    BROWSING,
    CART,
    CART_ITEMS_PATH,
    CART_LINES_MAX,
    CHECKOUT,
    LISTING,
    MIX,
    Catalog,
    MixDeck,
    ShopperCart,
    cache_hit_rate,
    cart_change,
    checkout_body,
    kind_summary,
    listing_ratios,
    mixed_load,
    mixed_targets,
    stock_verdict,
)


def _rng(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - the load's shape, not secrets


CATALOG = Catalog(
    categories=("mobiles", "sarees"),
    product_slugs=("tee-1", "mug-2"),
    brands=("Zentra", "Mixwell"),
    variant_ids=(11, 12, 13, 14),
    low_stock_ids=(11,),
)


# --- the mix ------------------------------------------------------------------------------------


def test_every_200_draws_are_90_percent_browsing_5_cart_changes_and_5_checkouts():
    deck = MixDeck(_rng(7))
    for _ in range(3):
        drawn = Counter(deck.draw() for _ in range(200))
        assert drawn == Counter(MIX)
        assert sum(drawn[kind] for kind in BROWSING) == 180
        assert (drawn[CART], drawn[CHECKOUT]) == (10, 10)


def test_the_deck_is_shuffled_so_writes_are_spread_not_bunched():
    order = [MixDeck(_rng(seed)).draw() for seed in range(50)]
    assert len(set(order)) > 1, "each connection starts somewhere else in the mix"


def test_a_cart_change_adds_to_a_small_cart_and_updates_or_removes_in_a_full_one():
    rng = _rng(3)
    empty = ShopperCart()
    for _ in range(20):
        method, path, body = cart_change(empty, CATALOG, rng)
        assert (method, path) == ("POST", CART_ITEMS_PATH)
        assert body["variant_id"] in CATALOG.variant_ids and body["quantity"] == 1

    full = ShopperCart(lines=[(100 + number, 11) for number in range(CART_LINES_MAX)])
    changes = [cart_change(full, CATALOG, rng) for _ in range(50)]
    assert {method for method, _path, _body in changes} == {"PATCH", "DELETE"}
    for method, path, body in changes:
        assert path.startswith(CART_ITEMS_PATH) and int(path.rstrip("/").rsplit("/", 1)[1]) in (100, 101, 102)
        assert (body is None) == (method == "DELETE")
        assert body is None or 1 <= body["quantity"] <= 3


def test_after_a_refused_cart_checkout_the_next_change_removes_a_line():
    cart = ShopperCart(lines=[(5, 11)], prune=True)
    assert cart_change(cart, CATALOG, _rng(1)) == ("DELETE", f"{CART_ITEMS_PATH}5/", None)
    cart.drop(f"{CART_ITEMS_PATH}5/")
    assert cart.lines == []


def test_checkout_buys_now_from_an_empty_cart_and_sometimes_from_a_full_one():
    shopper = Buyer(token="t", address_id=9)
    rng = _rng(2)
    empty = [checkout_body(ShopperCart(), CATALOG, shopper, rng) for _ in range(20)]
    assert {body["source"] for body in empty} == {"buy_now"}
    assert all(body["variant_id"] in CATALOG.variant_ids and body["quantity"] == 1 for body in empty)
    full = [checkout_body(ShopperCart(lines=[(1, 12)]), CATALOG, shopper, rng) for _ in range(40)]
    assert {body["source"] for body in full} == {"buy_now", "cart"}
    assert all((body["address_id"], body["payment_method"]) == (9, "COD") for body in empty + full)


def test_low_stock_variants_are_drawn_often_enough_to_sell_out():
    rng = _rng(4)
    drawn = Counter(CATALOG.variant(rng) for _ in range(4000))
    # 40% from the one low-stock variant, plus its quarter of the rest.
    assert 0.5 < drawn[11] / 4000 < 0.6
    assert set(drawn) == set(CATALOG.variant_ids)


def test_the_cache_fill_asks_for_every_page_the_mix_browses():
    paths = CATALOG.browse_paths()
    rng = _rng(5)
    browsed = {CATALOG.browse_path(kind, rng) for kind in BROWSING for _ in range(200)}
    assert browsed == set(paths)
    assert len(paths) == len(set(paths)) == 1 + 2 + 2 + 2


# --- the books ----------------------------------------------------------------------------------


def test_exact_books_pass_whatever_the_keys_json_made_of_them():
    verdict = stock_verdict(
        start={1: 6, 2: 100, 3: 6},
        sold={"1": 6, "2": 10, "3": 0},
        left={"1": 0, "2": 90, "3": 6},
        product_stock={"50": 90, "51": 0},
        product_of={1: 50, 2: 50, 3: 51},
    )
    assert verdict["ok"] is False, "product 51 shows 0 while its variant has 6 left"
    assert verdict["summaries_wrong"] == [51]

    verdict = stock_verdict(
        start={1: 6, 2: 100, 3: 6},
        sold={"1": 6, "2": 10},
        left={"1": 0, "2": 90, "3": 6},
        product_stock={"50": 90, "51": 6},
        product_of={1: 50, 2: 50, 3: 51},
    )
    assert verdict == {
        "variants": 3,
        "touched": 2,
        "sold_out": 1,
        "units_sold": 16,
        "oversell": 0,
        "books_wrong": [],
        "oversold": [],
        "negative": [],
        "summaries_wrong": [],
        "ok": True,
    }


@pytest.mark.parametrize(
    ("sold", "left", "oversell", "wrong", "oversold", "negative"),
    [
        (7, 0, 1, [1], [1], []),  # one unit more than there was: the floor of 0 hid it
        (7, -1, 1, [], [1], [1]),  # sold beyond the stock, and the row went negative
        (2, 3, 0, [1], [], []),  # stock lost without an order
        (2, None, 0, [1], [], []),  # the variant is gone
    ],
)
def test_oversell_lost_stock_and_a_negative_row_each_fail(sold, left, oversell, wrong, oversold, negative):
    verdict = stock_verdict(start={1: 6}, sold={1: sold}, left={1: left})
    assert (verdict["oversell"], verdict["books_wrong"], verdict["oversold"], verdict["negative"]) == (
        oversell,
        wrong,
        oversold,
        negative,
    )
    assert verdict["ok"] is False


# --- the ratios and the targets -----------------------------------------------------------------


def test_the_listings_throughput_during_the_mix_is_connections_over_its_mean_latency():
    ratios = listing_ratios(
        mix={"mean_ms": 40.0, "p99_ms": 80.0}, baseline={"rps": 500.0, "p99_ms": 60.0}, connections=16
    )
    assert ratios == {
        "baseline_rps": 500.0,
        "baseline_p99_ms": 60.0,
        "mix_rps_equivalent": 400.0,
        "mix_p99_ms": 80.0,
        "throughput": 0.8,
        "p99": 0.75,
    }
    nothing = listing_ratios(
        mix={"mean_ms": 0.0, "p99_ms": 0.0}, baseline={"rps": 500.0, "p99_ms": 60.0}, connections=16
    )
    assert (nothing["throughput"], nothing["p99"]) == (0.0, None)


def test_the_hit_rate_counts_the_browsing_answers_that_said_hit_or_miss():
    rows = {kind: {"cache_hits": 0, "cache_misses": 0} for kind in BROWSING}
    assert cache_hit_rate(rows) == {"hits": 0, "misses": 0, "rate": None}
    rows[LISTING] = {"cache_hits": 30, "cache_misses": 10}
    rows["product"] = {"cache_hits": 50, "cache_misses": 10}
    assert cache_hit_rate(rows) == {"hits": 80, "misses": 20, "rate": 0.8}


GOOD_BOOKS = stock_verdict(start={1: 6}, sold={1: 6}, left={1: 0})
GOOD_RATIOS = listing_ratios(
    mix={"mean_ms": 40.0, "p99_ms": 80.0}, baseline={"rps": 500.0, "p99_ms": 60.0}, connections=16
)


def _rows(**changes) -> dict:
    row = {"server_errors": 0, "errors": 0}
    return {"listing": {**row, **changes}, "checkout": dict(row)}


def _misses(*, rows=None, verdict=GOOD_BOOKS, ratios=GOOD_RATIOS, orders_match=True) -> list[str]:
    targets = mixed_targets(rows=rows or _rows(), verdict=verdict, ratios=ratios, orders_match=orders_match)
    return [target["target"] for target in targets if not target["ok"]]


def test_a_good_mix_passes_and_each_failure_misses_its_own_target():
    assert _misses() == []
    assert _misses(rows=_rows(server_errors=1)) == ["mixed, no 5xx and no failed requests"]
    assert _misses(rows=_rows(errors=2)) == ["mixed, no 5xx and no failed requests"]
    oversold = stock_verdict(start={1: 6}, sold={1: 7}, left={1: 0})
    assert _misses(verdict=oversold) == [
        "mixed, zero oversell: start - sold = left ≥ 0 for every variant, products agree"
    ]
    assert _misses(orders_match=False) == ["mixed, every checkout 201 is one order in the database"]
    slow = listing_ratios(
        mix={"mean_ms": 80.0, "p99_ms": 200.0}, baseline={"rps": 500.0, "p99_ms": 60.0}, connections=16
    )
    assert _misses(ratios=slow) == [
        "mixed, listing throughput ≥ 0.7x pure reads",
        "mixed, listing p99 ≥ 0.7x pure reads (pure p99 / mix p99)",
    ]
    unmeasured = listing_ratios(mix={"mean_ms": 40.0, "p99_ms": 80.0}, baseline={}, connections=16)
    targets = mixed_targets(rows=_rows(), verdict=GOOD_BOOKS, ratios=unmeasured, orders_match=True)
    assert [target["actual"] for target in targets[-2:]] == ["no baseline", "no baseline"]
    assert not any(target["ok"] for target in targets[-2:])


# --- the load generator, against a stand-in shop ---------------------------------------------------


class _MixShop(ThreadingHTTPServer):
    """Pages that say hit after their first visit, a cart per token, and checkout while stock lasts."""

    daemon_threads = True

    def __init__(self, stock: int) -> None:
        super().__init__(("127.0.0.1", 0), _MixHandler)
        self.lock = threading.Lock()
        self.stock = stock
        self.seen_pages: set[str] = set()
        self.carts: dict[str, dict[int, int]] = {}  # token -> {line id: variant id}
        self.lines = 0
        self.requests: list[dict] = []


class _MixHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # the body is a write of its own: no wait for the client's delayed ACK

    def _answer(self, status: int, payload=None, headers: dict | None = None) -> None:
        content = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(content)

    def _record(self, body=None) -> tuple["_MixShop", str | None]:
        shop: _MixShop = self.server
        auth = self.headers.get("Authorization")
        with shop.lock:
            shop.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "auth": auth,
                    "key": self.headers.get("Idempotency-Key"),
                    "body": body,
                }
            )
        return shop, auth

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None

    def _cart(self, shop: "_MixShop", auth: str) -> dict:
        lines = shop.carts.setdefault(auth, {})
        return {"lines": [{"id": line, "variant": {"id": variant}} for line, variant in lines.items()]}

    def do_GET(self):
        shop, _auth = self._record()
        with shop.lock:
            status = "hit" if self.path in shop.seen_pages else "miss"
            shop.seen_pages.add(self.path)
        self._answer(200, {"page": self.path}, {"X-Cache": status})

    def do_POST(self):
        body = self._body()
        shop, auth = self._record(body)
        with shop.lock:
            if self.path == CART_ITEMS_PATH:
                shop.lines += 1
                shop.carts.setdefault(auth, {})[shop.lines] = body["variant_id"]
                self._answer(201, self._cart(shop, auth))
                return
            sold = shop.stock > 0
            shop.stock -= sold
            if sold and body["source"] == "cart":
                shop.carts[auth] = {}
        if sold:
            self._answer(201, {"id": 1})
        else:
            self._answer(400, {"detail": "Sold out.", "code": "out_of_stock"})

    def do_PATCH(self):
        body = self._body()
        shop, auth = self._record(body)
        line = int(self.path.rstrip("/").rsplit("/", 1)[1])
        with shop.lock:
            if line not in shop.carts.get(auth, {}):
                self._answer(404, {"detail": "Not found.", "code": "not_found"})
                return
            self._answer(200, self._cart(shop, auth))

    def do_DELETE(self):
        shop, auth = self._record()
        line = int(self.path.rstrip("/").rsplit("/", 1)[1])
        with shop.lock:
            if shop.carts.get(auth, {}).pop(line, None) is None:
                self._answer(404, {"detail": "Not found.", "code": "not_found"})
                return
        self._answer(204)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def mix_shop(background_servers):
    return lambda stock: background_servers(_MixShop(stock))


SHOPPERS = [Buyer(token=f"token-{number}", address_id=100 + number) for number in range(4)]


def test_the_mix_browses_anonymously_writes_with_the_shoppers_token_and_a_new_key_per_checkout(mix_shop):
    shop = mix_shop(stock=15)
    url = f"http://127.0.0.1:{shop.server_address[1]}"

    stats, seconds = mixed_load(url, shoppers=SHOPPERS, catalog=CATALOG, key_prefix="run1", seconds=1.0)

    rows = {kind: kind_summary(row, seconds=seconds) for kind, row in stats.items()}
    sent = shop.requests
    assert sum(row["requests"] for row in rows.values()) == len(sent) > 200
    browsing = [request for request in sent if request["method"] == "GET"]
    writes = [request for request in sent if request["method"] != "GET"]
    assert all(request["auth"] is None for request in browsing), "browsing is anonymous, so the cache may serve it"
    assert {request["auth"] for request in writes} <= {f"Bearer {shopper.token}" for shopper in SHOPPERS}
    assert 0.85 < len(browsing) / len(sent) < 0.95
    checkouts = [request for request in sent if request["path"] == CHECKOUT_PATH]
    keys = [request["key"] for request in checkouts]
    assert len(set(keys)) == len(keys) == rows[CHECKOUT]["requests"], "every checkout is a new order, never a replay"
    assert all(key.startswith("run1-") for key in keys)
    assert rows[CHECKOUT]["statuses"]["201"] == 15, "the stand-in's stock, all sold"
    assert rows[CHECKOUT]["refusals"] == {"out_of_stock": len(checkouts) - 15}
    assert {body["source"] for body in (request["body"] for request in checkouts)} == {"buy_now", "cart"}
    assert rows[CART]["requests"] > 0 and rows[CART]["server_errors"] == 0
    pages = len({request["path"] for request in browsing})
    assert cache_hit_rate(rows) == {
        "hits": len(browsing) - pages,
        "misses": pages,
        "rate": round((len(browsing) - pages) / len(browsing), 4),
    }
    assert sum(row["errors"] + row["server_errors"] for row in rows.values()) == 0


def test_an_unreachable_server_is_counted_as_failed_requests_not_answers():
    stats, seconds = mixed_load(
        f"http://127.0.0.1:{_closed_port()}", shoppers=SHOPPERS[:1], catalog=CATALOG, key_prefix="x", seconds=0.3
    )
    rows = {kind: kind_summary(row, seconds=seconds) for kind, row in stats.items()}
    assert sum(row["requests"] for row in rows.values()) == 0
    assert sum(row["errors"] for row in rows.values()) > 0
    assert mixed_targets(rows=rows, verdict=GOOD_BOOKS, ratios=GOOD_RATIOS, orders_match=True)[0]["ok"] is False


def _closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- run.py's hook ---------------------------------------------------------------------------------


@pytest.fixture
def bench_run(monkeypatch):
    """bench/run.py, a script whose siblings import as top-level modules."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "bench"))
    import run  # only importable with bench/ on the path

    return run


def test_only_mixed_is_a_choice_and_its_flags_must_be_positive(bench_run):
    args = bench_run.parse_args(["--only", "mixed"])
    assert (args.only, args.mixed_duration, args.mixed_connections) == ("mixed", 60, 16)
    assert bench_run.parse_args(["--mixed-duration", "5"]).mixed_duration == 5
    for bad in (["--mixed-duration", "0"], ["--mixed-connections", "0"], ["--mixed-baseline", "-1"]):
        with pytest.raises(SystemExit):
            bench_run.parse_args(bad)


def test_the_mix_is_skipped_on_sqlite_with_the_reason(bench_run, capsys):
    import mixed_run

    args = bench_run.parse_args(["--only", "mixed"])
    result = mixed_run.run({"DATABASE_URL": "sqlite:///x.sqlite3"}, args, bench=bench_run, rows=[])
    assert "needs PostgreSQL" in result["skipped"]
    assert mixed_run.report(result, bench=bench_run) == []
    assert "mixed scenario skipped" in capsys.readouterr().out


# --- against the test database: the fixture and its count (bench/mixed_seed.py) --------------------


def _api(token: str):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.mark.django_db
def test_the_mixed_seed_stocks_variants_afresh_and_the_count_reads_back_what_checkouts_sold(capsys):
    from bench.mixed_seed import AMPLE_STOCK, LOW_STOCK, bench_mixed_count, bench_mixed_seed
    from catalog.models import Product, ProductVariant

    fixture = bench_mixed_seed(products=6, shoppers=2)

    variants = fixture["variants"]
    assert len(variants) == 4 * 1 + 2 * 3, "products 3 and 6 come in three sizes"
    assert {variant["stock"] for variant in variants} == {LOW_STOCK, AMPLE_STOCK}
    assert all(variant["low"] == (variant["stock"] == LOW_STOCK) for variant in variants)
    shown = set(Product.objects.filter(is_active=True).values_list("pk", flat=True))
    assert {variant["product_id"] for variant in variants} == shown
    assert fixture["categories"] and "Mixwell" in fixture["brands"] and len(fixture["product_slugs"]) == 6

    low = next(variant for variant in variants if variant["low"])
    ample = next(variant for variant in variants if not variant["low"])
    first, second = fixture["shoppers"]
    buy = {"address_id": first["address_id"], "payment_method": "COD", "source": "buy_now", "quantity": 2}
    response = _api(first["token"]).post(
        CHECKOUT_PATH, {**buy, "variant_id": low["id"]}, format="json", HTTP_IDEMPOTENCY_KEY="m-1"
    )
    assert response.status_code == 201, response.content
    cart = _api(second["token"])
    assert cart.post(CART_ITEMS_PATH, {"variant_id": ample["id"], "quantity": 3}, format="json").status_code == 201
    response = cart.post(
        CHECKOUT_PATH,
        {"source": "cart", "address_id": second["address_id"], "payment_method": "COD"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="m-2",
    )
    assert response.status_code == 201, response.content

    ids = [variant["id"] for variant in variants]
    counted = bench_mixed_count(variant_ids=ids)

    assert counted["orders"] == 2
    assert (counted["sold"][str(low["id"])], counted["sold"][str(ample["id"])]) == (2, 3)
    assert (counted["left"][str(low["id"])], counted["left"][str(ample["id"])]) == (LOW_STOCK - 2, AMPLE_STOCK - 3)
    product_of = {variant["id"]: variant["product_id"] for variant in variants}
    verdict = stock_verdict(
        start={variant["id"]: variant["stock"] for variant in variants},
        sold=counted["sold"],
        left=counted["left"],
        product_stock=counted["product_stock"],
        product_of=product_of,
    )
    assert verdict["ok"] and verdict["units_sold"] == 5

    # A stock row changed behind the orders' back is caught.
    ProductVariant.objects.filter(pk=low["id"]).update(stock=LOW_STOCK)
    counted = bench_mixed_count(variant_ids=ids)
    assert not stock_verdict(
        start={variant["id"]: variant["stock"] for variant in variants}, sold=counted["sold"], left=counted["left"]
    )["ok"]

    again = bench_mixed_seed(products=6, shoppers=2)

    assert again["deleted_orders"] == 2
    assert bench_mixed_count(variant_ids=ids)["orders"] == 0
    assert dict(ProductVariant.objects.filter(pk__in=ids).values_list("pk", "stock")) == {
        variant["id"]: variant["stock"] for variant in variants
    }
    capsys.readouterr()  # the JSON lines for run.py


@pytest.mark.django_db
def test_the_read_seed_hides_the_mixed_store_again(capsys):
    from bench.mixed_seed import bench_mixed_seed
    from bench.seed import bench_seed
    from catalog.models import Product

    bench_mixed_seed(products=3, shoppers=1)
    bench_seed(products=5)

    assert Product.objects.filter(is_active=True).count() == 5
    assert not Product.objects.filter(is_active=True, store__user__username="bench_mixed_seller").exists()
    capsys.readouterr()


@pytest.mark.django_db
def test_the_mail_the_shoppers_orders_queued_is_dropped_and_nobody_elses(settings, capsys):
    from django_tasks_db.models import DBTaskResult

    from bench.mixed_seed import bench_mixed_mail_drop, bench_mixed_seed
    from bench.seed import ORDER_PLACED_TASK
    from tests.factories import ProductFactory
    from tests.orders.helpers import buy_now, make_buyer

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # as the bench runs
    fixture = bench_mixed_seed(products=3, shoppers=1)
    [shopper] = fixture["shoppers"]
    body = {"source": "buy_now", "variant_id": fixture["variants"][0]["id"], "quantity": 1}
    response = _api(shopper["token"]).post(
        CHECKOUT_PATH,
        {**body, "address_id": shopper["address_id"], "payment_method": "COD"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="m-1",
    )
    assert response.status_code == 201, response.content
    outsider = buy_now(make_buyer(), ProductFactory(stock=5), 1)

    assert bench_mixed_mail_drop() == 1
    [left] = DBTaskResult.objects.filter(task_path=ORDER_PLACED_TASK)
    assert left.args_kwargs["kwargs"] == {"order_id": outsider.pk}
    capsys.readouterr()
