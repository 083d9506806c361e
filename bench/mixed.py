"""The mixed scenario of `make bench`: browsing, cart changes and checkouts at the same time.

Each connection is one thread with its own keep-alive connection and its own logged-in shopper.
It draws every request's kind from a deck (`MixDeck`): 90% anonymous browsing (the home page's
listing, a category page, a product page, a search; no token and no cookie, so the response
cache may serve them), 5% cart changes through `/api/v1/cart/items/` and 5% Cash on Delivery
checkouts through `/api/v1/checkout/` (from the cart, or "Buy now" of one variant), both with the
shopper's bearer token and, for checkout, a new Idempotency-Key each. A share of the variants
has only a few units, so they sell out during the run: `stock_verdict` then checks, against the
database, that no variant sold more than it had.

The listing's latency during the mix is compared with a pure-read listing load on the same
server (`listing_ratios`), and the response cache's hit rate is counted from the `X-Cache`
header that shared catalog responses carry (hit or miss).

Standard library only, like loadgen.py and checkout.py: bench/run.py uses it without importing Django.
"""

import http.client
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

try:  # run by bench/run.py, whose directory is on sys.path
    from checkout import CHECKOUT_PATH, Buyer, error_code
    from loadgen import percentile, threads_run
except ModuleNotFoundError:  # imported as bench.mixed (the tests)
    from bench.checkout import CHECKOUT_PATH, Buyer, error_code
    from bench.loadgen import percentile, threads_run

CART_ITEMS_PATH = "/api/v1/cart/items/"
LISTING = "listing"
CATEGORY = "category"
PRODUCT = "product"
SEARCH = "search"
CART = "cart"
CHECKOUT = "checkout"
BROWSING = (LISTING, CATEGORY, PRODUCT, SEARCH)
KINDS = (*BROWSING, CART, CHECKOUT)
# Per 200 requests: 180 browsing (listing 54, category 36, product 63, search 27), 10 cart changes
# and 10 checkouts, i.e. 90%, 5% and 5%. A deck rather than independent draws: every 200 requests
# of a connection hold exactly this mix, so even a short run has it.
MIX = {LISTING: 54, CATEGORY: 36, PRODUCT: 63, SEARCH: 27, CART: 10, CHECKOUT: 10}
LOW_STOCK_SHARE = 0.4  # of the variants put in carts or bought: drawn from the low-stock ones
CART_LINES_MAX = 3  # a shopper's cart holds at most this many lines; then a change updates or removes
WARMUP_S = 3.0  # of the mix before measuring: every worker connects, imports and fills the cache
# Targets: the listing during the mix keeps this share of its pure-read throughput and p99.
MIN_LISTING_RATIO = 0.7
CACHE_HEADER = "X-Cache"


class MixDeck:
    """Request kinds in MIX's proportions: each 200 draws deal a freshly shuffled deck of 200."""

    def __init__(self, rng: random.Random, mix: dict[str, int] = MIX) -> None:
        self.rng = rng
        self.cards = [kind for kind, count in mix.items() for _ in range(count)]
        self.left: list[str] = []

    def draw(self) -> str:
        if not self.left:
            self.left = self.cards[:]
            self.rng.shuffle(self.left)
        return self.left.pop()


@dataclass(frozen=True)
class Catalog:
    """What the mix asks for: paths to browse and variants to buy (ids, and the low-stock ones)."""

    categories: tuple[str, ...]
    product_slugs: tuple[str, ...]
    brands: tuple[str, ...]
    variant_ids: tuple[int, ...]
    low_stock_ids: tuple[int, ...]

    def browse_path(self, kind: str, rng: random.Random) -> str:
        if kind == LISTING:
            return "/"
        if kind == CATEGORY:
            return f"/categories/{quote(rng.choice(self.categories))}/"
        if kind == PRODUCT:
            return f"/products/{quote(rng.choice(self.product_slugs))}/"
        return f"/?search={quote(rng.choice(self.brands))}"

    def browse_paths(self) -> list[str]:
        """Every path the browsing kinds can ask for, once: what fills the cache before measuring."""
        return [
            "/",
            *(f"/categories/{quote(slug)}/" for slug in self.categories),
            *(f"/products/{quote(slug)}/" for slug in self.product_slugs),
            *(f"/?search={quote(brand)}" for brand in self.brands),
        ]

    def variant(self, rng: random.Random) -> int:
        if self.low_stock_ids and rng.random() < LOW_STOCK_SHARE:
            return rng.choice(self.low_stock_ids)
        return rng.choice(self.variant_ids)


@dataclass
class KindStats:
    """One kind's answers: latencies (seconds), statuses, refusal codes and cache hits."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    refusals: Counter = field(default_factory=Counter)
    cache: Counter = field(default_factory=Counter)  # "hit", "miss"
    errors: int = 0  # no answer

    def merge(self, other: "KindStats") -> None:
        self.latencies += other.latencies
        self.statuses.update(other.statuses)
        self.refusals.update(other.refusals)
        self.cache.update(other.cache)
        self.errors += other.errors


@dataclass
class ShopperCart:
    """What a connection knows of its shopper's cart: [(line id, variant id)], from the last cart answer."""

    lines: list[tuple[int, int]] = field(default_factory=list)
    prune: bool = False  # a checkout from the cart was refused: the next change removes a line

    def read(self, body: bytes) -> None:
        with_lines = json.loads(body).get("lines", [])
        self.lines = [(line["id"], line["variant"]["id"]) for line in with_lines]

    def drop(self, path: str) -> None:
        """Forget the line a `/api/v1/cart/items/<id>/` path named (removed, or gone)."""
        line_id = int(path.rstrip("/").rsplit("/", 1)[1])
        self.lines = [line for line in self.lines if line[0] != line_id]


def cart_change(cart: ShopperCart, catalog: Catalog, rng: random.Random) -> tuple[str, str, dict | None]:
    """(method, path, body) of the next cart change: add while the cart is small, else update or remove."""
    if cart.lines and (cart.prune or len(cart.lines) >= CART_LINES_MAX or rng.random() < 0.5):
        line_id, _variant = rng.choice(cart.lines)
        if cart.prune or rng.random() < 0.4:
            return "DELETE", f"{CART_ITEMS_PATH}{line_id}/", None
        return "PATCH", f"{CART_ITEMS_PATH}{line_id}/", {"quantity": rng.randint(1, 3)}
    return "POST", CART_ITEMS_PATH, {"variant_id": catalog.variant(rng), "quantity": 1}


def checkout_body(cart: ShopperCart, catalog: Catalog, shopper: Buyer, rng: random.Random) -> dict:
    """From the cart when it holds something (half the time), else "Buy now" of one unit."""
    body = {"address_id": shopper.address_id, "payment_method": "COD"}
    if cart.lines and rng.random() < 0.5:
        return {"source": "cart", **body}
    return {"source": "buy_now", "variant_id": catalog.variant(rng), "quantity": 1, **body}


def mixed_load(
    url: str,
    *,
    shoppers: Sequence[Buyer],
    catalog: Catalog,
    key_prefix: str,
    seconds: float,
    seed: int = 0,
    timeout: float = 30.0,
) -> tuple[dict[str, KindStats], float]:
    """One thread per shopper, each drawing its requests from its own deck until the deadline.

    Returns each kind's stats and the elapsed seconds. Browsing is anonymous; cart changes and
    checkouts carry the shopper's token, and each checkout the key `<key_prefix>-<shopper>-<n>`.
    """
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ValueError("only plain http on loopback is supported")
    if not shoppers or not catalog.variant_ids:
        raise ValueError("give at least one shopper and one variant")
    deadline = time.perf_counter() + seconds
    results: list[dict[str, KindStats]] = []
    results_lock = threading.Lock()
    anonymous = {"User-Agent": "joycart-bench"}

    def worker(number: int, shopper: Buyer) -> None:
        rng = random.Random(f"{seed}-{number}")  # noqa: S311 - load shape, not secrets
        deck = MixDeck(rng)
        cart = ShopperCart()
        stats = {kind: KindStats() for kind in KINDS}
        signed = {
            **anonymous,
            "Authorization": f"Bearer {shopper.token}",
            "Content-Type": "application/json",
        }
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
        checkouts = 0
        try:
            while time.perf_counter() < deadline:
                kind = deck.draw()
                body = None
                if kind in BROWSING:
                    method, path, headers = "GET", catalog.browse_path(kind, rng), anonymous
                elif kind == CART:
                    method, path, payload = cart_change(cart, catalog, rng)
                    headers = signed
                    body = None if payload is None else json.dumps(payload)
                else:
                    payload = checkout_body(cart, catalog, shopper, rng)
                    method, path = "POST", CHECKOUT_PATH
                    headers = {**signed, "Idempotency-Key": f"{key_prefix}-{number}-{checkouts}"}
                    checkouts += 1
                    body = json.dumps(payload)
                started = time.perf_counter()
                try:
                    conn.request(method, path, body=body, headers=headers)
                    response = conn.getresponse()
                    content = response.read()
                except (OSError, http.client.HTTPException):
                    stats[kind].errors += 1
                    conn.close()
                    continue
                latency = time.perf_counter() - started
                if response.will_close:
                    conn.close()
                row = stats[kind]
                row.latencies.append(latency)
                row.statuses[response.status] += 1
                if response.status >= 400:
                    code = error_code(response.status, content)
                    if response.status < 500:
                        row.refusals[code] += 1
                    if kind == CHECKOUT and payload["source"] == "cart":
                        cart.prune = True
                    elif kind == CART and response.status == 404:  # the line is gone (bought)
                        cart.drop(path)
                    continue
                if kind in BROWSING:
                    status = response.getheader(CACHE_HEADER)
                    if status:
                        row.cache[status] += 1
                elif kind == CART:
                    if method == "DELETE":
                        cart.drop(path)
                    else:
                        cart.read(content)
                    cart.prune = False
                elif payload["source"] == "cart":
                    cart.lines = []  # the order took the whole cart
        finally:
            conn.close()
            with results_lock:
                results.append(stats)

    threads = [
        threading.Thread(target=worker, args=(number, shopper), daemon=True) for number, shopper in enumerate(shoppers)
    ]
    elapsed = threads_run(threads)
    merged = {kind: KindStats() for kind in KINDS}
    for stats in results:
        for kind, row in stats.items():
            merged[kind].merge(row)
    return merged, elapsed


def kind_summary(stats: KindStats, *, seconds: float) -> dict:
    """A kind's row: requests, rate, latency (mean too, for the listing's ratio), failures, cache."""
    latencies = sorted(stats.latencies)
    answered = len(latencies)
    return {
        "requests": answered,
        "per_s": round(answered / seconds, 1) if seconds > 0 else 0.0,
        "mean_ms": round(sum(latencies) / answered * 1000, 2) if answered else 0.0,
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "ok": sum(count for status, count in stats.statuses.items() if status < 400),
        "server_errors": sum(count for status, count in stats.statuses.items() if status >= 500),
        "errors": stats.errors,
        "refusals": dict(sorted(stats.refusals.items())),
        "statuses": {str(status): count for status, count in sorted(stats.statuses.items())},
        "cache_hits": stats.cache["hit"],
        "cache_misses": stats.cache["miss"],
    }


def cache_hit_rate(rows: dict[str, dict]) -> dict:
    """Over the browsing kinds: the anonymous answers whose X-Cache said hit, of those that said either."""
    hits = sum(rows[kind]["cache_hits"] for kind in BROWSING)
    misses = sum(rows[kind]["cache_misses"] for kind in BROWSING)
    return {"hits": hits, "misses": misses, "rate": round(hits / (hits + misses), 4) if hits + misses else None}


def listing_ratios(*, mix: dict, baseline: dict, connections: int) -> dict:
    """The listing during the mix as a share of a pure-read listing load on the same connections.

    Closed loop: every connection sends its next request once answered, so a load's throughput is
    connections / mean latency (Little's law). During the mix only some requests are listings, so
    their own rate says little; the listing's throughput there is the rate it would have at the
    latency it had: connections / its mean latency. `baseline` is a pure-read row ({"rps", "p99_ms"}).
    The p99 ratio is baseline p99 / mix p99, so for both a ratio below 1 is worse during the mix.
    """
    equivalent = connections / (mix["mean_ms"] / 1000) if mix.get("mean_ms") else 0.0
    throughput = equivalent / baseline["rps"] if baseline.get("rps") else None
    p99 = baseline["p99_ms"] / mix["p99_ms"] if mix.get("p99_ms") and baseline.get("p99_ms") else None
    return {
        "baseline_rps": round(baseline["rps"], 1) if baseline.get("rps") else None,
        "baseline_p99_ms": round(baseline["p99_ms"], 2) if baseline.get("p99_ms") else None,
        "mix_rps_equivalent": round(equivalent, 1),
        "mix_p99_ms": mix.get("p99_ms"),
        "throughput": round(throughput, 3) if throughput is not None else None,
        "p99": round(p99, 3) if p99 is not None else None,
    }


def stock_verdict(
    *,
    start: dict[int, int],
    sold: dict[int, int],
    left: dict[int, int | None],
    product_stock: dict[int, int] | None = None,
    product_of: dict[int, int] | None = None,
) -> dict:
    """Each variant's books: starting stock - units sold == stock left, and never below zero.

    `start`, `sold` and `left` are per variant id (JSON's string keys are accepted). With
    `product_stock` (per product) and `product_of` (variant -> product), each product's shown
    stock must also be the sum of its variants' left. Oversell is units sold beyond the start.
    """
    start, sold, left = _int_keys(start), _int_keys(sold), _int_keys(left)
    wrong, oversold, negative = [], [], []
    for variant, units in start.items():
        remaining = left.get(variant)
        out = sold.get(variant, 0)
        if remaining is None or units - out != remaining:
            wrong.append(variant)
        if out > units:
            oversold.append(variant)
        if remaining is not None and remaining < 0:
            negative.append(variant)
    summaries_wrong = []
    if product_stock is not None and product_of is not None:
        totals: Counter = Counter()
        for variant, product in _int_keys(product_of).items():
            totals[product] += left.get(variant) or 0
        summaries_wrong = [product for product, stock in _int_keys(product_stock).items() if stock != totals[product]]
    sold_units = sum(sold.get(variant, 0) for variant in start)
    return {
        "variants": len(start),
        "touched": sum(1 for variant in start if sold.get(variant, 0)),
        "sold_out": sum(1 for variant in start if left.get(variant) == 0),
        "units_sold": sold_units,
        "oversell": sum(max(sold.get(variant, 0) - units, 0) for variant, units in start.items()),
        "books_wrong": sorted(wrong),
        "oversold": sorted(oversold),
        "negative": sorted(negative),
        "summaries_wrong": sorted(summaries_wrong),
        "ok": not (wrong or oversold or negative or summaries_wrong),
    }


def _int_keys(mapping: dict) -> dict[int, int]:
    return {int(key): value for key, value in mapping.items()}


def mixed_targets(*, rows: dict[str, dict], verdict: dict, ratios: dict, orders_match: bool) -> list[dict]:
    """PASS/MISS lines in run.py's format: {"target", "ok", "actual"}."""
    server_errors = sum(row["server_errors"] for row in rows.values())
    failed = sum(row["errors"] for row in rows.values())
    throughput, p99 = ratios.get("throughput"), ratios.get("p99")
    return [
        {
            "target": "mixed, no 5xx and no failed requests",
            "ok": server_errors == 0 and failed == 0,
            "actual": f"{server_errors} 5xx, {failed} failed",
        },
        {
            "target": "mixed, zero oversell: start - sold = left ≥ 0 for every variant, products agree",
            "ok": verdict["ok"],
            "actual": (
                f"{verdict['units_sold']} units sold over {verdict['touched']} variants, {verdict['sold_out']} sold out, "
                f"oversell {verdict['oversell']}, books wrong {len(verdict['books_wrong'])}, "
                f"summaries wrong {len(verdict['summaries_wrong'])}"
            ),
        },
        {
            "target": "mixed, every checkout 201 is one order in the database",
            "ok": orders_match,
            "actual": "yes" if orders_match else "no",
        },
        {
            "target": f"mixed, listing throughput ≥ {MIN_LISTING_RATIO}x pure reads",
            "ok": throughput is not None and throughput >= MIN_LISTING_RATIO,
            "actual": "no baseline" if throughput is None else f"{throughput:.2f}x",
        },
        {
            "target": f"mixed, listing p99 ≥ {MIN_LISTING_RATIO}x pure reads (pure p99 / mix p99)",
            "ok": p99 is not None and p99 >= MIN_LISTING_RATIO,
            "actual": "no baseline"
            if p99 is None
            else f"{p99:.2f}x ({ratios['mix_p99_ms']:.1f} ms vs {ratios['baseline_p99_ms']:.1f} ms)",
        },
    ]
