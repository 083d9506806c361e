"""The scale scenario (PostgreSQL): do the shop's reads cost the same with 100,000 products as with 1,000?

For each catalogue size the bench catalogue is made exactly that big (`bench_trim`, then
`bench_seed`): products hidden by a smaller run would still be scanned and indexed, so they are
deleted, not hidden. Then a gunicorn of its own serves three shopper pages, every request a cache
miss (`loadgen.UncachedPaths`: a unique price ceiling above every price, which the views read and
key on but which filters nothing out), at one connection per worker, so the latency is the page's
own cost and not a queue:

- the first listing page, `/` (newest first);
- a category page sorted by price, `/categories/clothing/?ordering=price` (a parent category: it
  lists its sub-categories' products too);
- a filtered search, `/?search=Zentra&category=electronics&min_price=500`.

The target is p50 at the large size <= 1.5 x p50 at the small size. At the large size each page's
slowest SQL statements are also run under EXPLAIN ANALYZE (`plans_explain`), and their plans
kept in results.json.

Then the seller portal of a 10,000-product store (every bench store has 10,000 products at
100,000): its product list (first and last page) and its CSV export, one request at a time,
timed to the first and to the last byte, on a fresh gunicorn whose workers' peak RSS (VmHWM)
must stay under 200 MB.

Last, the bench catalogue goes back to `--products` products, the read endpoints' size, so the
next run's uncached pages do not scan 100,000 hidden rows.

`run_scale` is handed bench/run.py itself (`bench`), for its gunicorn, CPU meter, load generators
and report helpers. At module level this file imports only the standard library: Django imports
`plans_explain` from it as `bench.scale` inside `manage.py shell`.
"""

import argparse
import http.client
import math
import statistics
import time
from dataclasses import asdict
from urllib.parse import quote, urlsplit

SMALL = 1_000
LARGE = 100_000
P50_RATIO_TARGET = 1.5  # p50 at LARGE over p50 at SMALL, at most
RSS_LIMIT_MB = 200
CATEGORY = "clothing"  # a parent: its page lists sarees and kurtas
SEARCH_BRAND = "Zentra"  # on mobile accessories and audio, both under electronics
SEARCH_CATEGORY = "electronics"
SEARCH_MIN_PRICE = 500
WARMUP_REQUESTS = 10  # per page and size: the worker's imports and connections, never a cached page
PAGE_REPEATS = 5  # seller pages, one after the other
EXPORT_REPEATS = 3
SLOWEST_EXPLAINED = 3  # statements per page run under EXPLAIN ANALYZE


def shop_paths() -> dict[str, str]:
    """The shopper pages measured, by row name; each request adds its own cache-busting ceiling."""
    search = f"/?search={quote(SEARCH_BRAND)}&category={SEARCH_CATEGORY}&min_price={SEARCH_MIN_PRICE}"
    return {
        "listing page": "/",
        "category by price": f"/categories/{CATEGORY}/?ordering=price",
        "filtered search": search,
    }


def seller_paths(*, last_page: int) -> dict[str, str]:
    return {
        "seller list, first page": "/seller/products/",
        "seller list, last page": f"/seller/products/?page={last_page}",
        "seller CSV export": "/seller/products/export.csv",
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("scale scenario (PostgreSQL only)")
    group.add_argument("--scale-small", type=int, default=SMALL, help="the small catalogue, in products")
    group.add_argument("--scale-large", type=int, default=LARGE, help="the large catalogue, in products")
    group.add_argument("--scale-duration", type=float, default=10, help="seconds of load per page and size")


def p50_ratio(small: dict, large: dict) -> float | None:
    if not small.get("p50_ms") or large.get("p50_ms") is None:
        return None
    return round(large["p50_ms"] / small["p50_ms"], 2)


def scale_targets(*, shop: dict[str, dict], seller: dict | None, small: int, large: int) -> list[dict]:
    """`shop`: row name -> {"small": load result, "large": load result}; `seller`: the portal's part."""
    targets = []
    for name, sizes in shop.items():
        ratio = p50_ratio(sizes["small"], sizes["large"])
        actual = "not measured" if ratio is None else f"{ratio:.2f}x ({sizes['small']['p50_ms']:.1f} -> "
        if ratio is not None:
            actual += f"{sizes['large']['p50_ms']:.1f} ms)"
        targets.append(
            {
                "target": f"scale: {name} p50 at {large:,} <= {P50_RATIO_TARGET}x p50 at {small:,}",
                "ok": ratio is not None and ratio <= P50_RATIO_TARGET,
                "actual": actual,
            }
        )
    failed = sum(
        result["non_2xx"] + result["errors"] + result.get("warmup_non_2xx", 0)
        for sizes in shop.values()
        for result in sizes.values()
    )
    if seller is not None:
        failed += sum(1 for row in seller["rows"].values() for status in row["statuses"] if status != 200)
        worst = max(seller["worker_peak_rss_mb"].values(), default=0.0)
        targets.append(
            {
                "target": f"scale: seller pages and CSV export of a {seller['products']:,}-product store, "
                f"each worker < {RSS_LIMIT_MB} MB peak RSS",
                "ok": bool(seller["worker_peak_rss_mb"]) and worst < RSS_LIMIT_MB,
                "actual": f"{worst:.0f} MB" if seller["worker_peak_rss_mb"] else "not measured (no /proc)",
            }
        )
        export = seller["rows"]["seller CSV export"]
        targets.append(
            {
                "target": "scale: the CSV export lists every variant of the store",
                "ok": export["lines"] == seller["variants"] + 1,
                "actual": f"{export['lines'] - 1} rows for {seller['variants']} variants",
            }
        )
    targets.append({"target": "scale: every answer 2xx, no errors", "ok": failed == 0, "actual": str(failed)})
    return targets


def disturbed(result: dict, *, above: float) -> list[str]:
    """The page loads during which other processes used more than `above` cores."""
    return [
        f"scale, {name} at {result[size]:,}"
        for name, sizes in result["shop"].items()
        for size, row in sizes.items()
        if (row.get("other_cpu") or 0) > above
    ]


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def report_scale(result: dict, say) -> None:
    small, large = result["small"], result["large"]
    header = (
        f"{'scale: page':<20} {'p50 @' + format(small, ','):>12} {'p99':>7} {'p50 @' + format(large, ','):>13} "
        f"{'p99':>7} {'ratio':>6} {'target':>6} {'other':>11}"
    )
    say(header)
    say("-" * len(header))
    for name, sizes in result["shop"].items():
        ratio = p50_ratio(sizes["small"], sizes["large"])
        mark = "-" if ratio is None else "PASS" if ratio <= P50_RATIO_TARGET else "MISS"
        others = "/".join(_cell(sizes[size].get("other_cpu"), ".2f") for size in ("small", "large"))
        say(
            f"{name:<20} {sizes['small']['p50_ms']:>12.1f} {sizes['small']['p99_ms']:>7.1f} "
            f"{sizes['large']['p50_ms']:>13.1f} {sizes['large']['p99_ms']:>7.1f} {_cell(ratio, '>6.2f')} "
            f"{mark:>6} {others:>11}"
        )
    say(f"p50/p99 in ms, every request a page-cache miss, {result['connections']} connection(s) (one per worker).")
    say("other: cores other processes used during the small / large load.")
    for name, explained in result.get("plans", {}).items():
        say(f"  {name}: {explained['queries']} queries, {explained['sql_ms']:.1f} ms of SQL at {large:,}; slowest:")
        for statement in explained["slowest"]:
            say(f"    {statement['ms']:7.1f} ms  {statement['sql'][:110]}")
            for line in statement["plan"][:6]:
                say(f"               {line[:120]}")
    seller = result.get("seller")
    if seller:
        say(f"seller portal, a {seller['products']:,}-product store ({seller['variants']:,} variants):")
        for name, row in seller["rows"].items():
            say(
                f"  {name:<24} first byte {row['ttfb_ms']:>8.1f} ms, last byte {row['ttlb_ms']:>8.1f} ms "
                f"(median of {len(row['ttlb_all_ms'])}; slowest {max(row['ttlb_all_ms']):.1f}), "
                f"{row['bytes']:,} bytes, statuses {sorted(set(row['statuses']))}"
            )
        peaks = ", ".join(f"{mb:.0f} MB" for mb in seller["worker_peak_rss_mb"].values())
        say(f"  worker peak RSS (VmHWM) after the seller pages: {peaks}")


# --- Measuring (bench/run.py hands itself in as `bench`) -------------------------------------

SIZE_CODE = """\
import json, sys
from bench.seed import bench_trim, bench_seed
trimmed = bench_trim(products={products})
seeded = bench_seed(products={products})
sys.stdout.write(json.dumps({{"trimmed": trimmed, "seeded": seeded}}) + "\\n")
"""
EXPLAIN_CODE = """\
import json, sys
from bench.scale import plans_explain, seller_paths
from bench.seed import bench_seller_cookie
plans = plans_explain({paths!r})
seller = seller_paths(last_page=1)
plans.update(plans_explain({{"seller list, first page": seller["seller list, first page"]}}, cookie=bench_seller_cookie()))
sys.stdout.write(json.dumps(plans) + "\\n")
"""
SELLER_CODE = """\
import json, sys
from bench.seed import bench_seller_cookie, bench_stores
from catalog.models import ProductVariant
from catalog.seller_views import PRODUCTS_PER_PAGE
store = bench_stores()[0]
products = store.products.count()
sys.stdout.write(json.dumps({
    "cookie": bench_seller_cookie(),
    "products": products,
    "variants": ProductVariant.objects.filter(product__store=store).count(),
    "per_page": PRODUCTS_PER_PAGE,
}) + "\\n")
"""


def _tool(bench, args: argparse.Namespace) -> str:
    return "wrk" if args.tool != "python" and bench.loadgen.wrk_path() else "python"


def _shop_load(bench, server, args: argparse.Namespace, path: str, *, connections: int) -> dict:
    """One page under load for --scale-duration seconds, every request a new ceiling (a cache miss)."""
    loadgen = bench.loadgen
    meter = bench.CpuMeter(server)
    meter.start()
    paths = loadgen.UncachedPaths((path,))
    if _tool(bench, args) == "wrk":
        result = loadgen.wrk_load(
            server.base_url + "/", connections=connections, seconds=args.scale_duration, paths=paths
        )
    else:
        result = loadgen.python_load(
            server.base_url + "/", connections=connections, seconds=args.scale_duration, paths=paths
        )
    cores = meter.cores() or {}
    return {**asdict(result), "services_cpu": cores.get("services"), "other_cpu": cores.get("other")}


def _shop_measure(bench, env: dict, args: argparse.Namespace, *, connections: int) -> dict[str, dict]:
    """Each page, `--rounds` times round-robin; a page keeps its best round (the lowest p50), as the
    read endpoints do: other processes on the machine can only slow a round down."""
    loadgen = bench.loadgen
    server = bench.Gunicorn(env, workers=args.workers, threads=1)
    rows: dict[str, dict] = {}
    try:
        server.start()
        for name, path in shop_paths().items():
            warm = loadgen.python_load(
                server.base_url + "/", connections=1, requests=WARMUP_REQUESTS, paths=loadgen.UncachedPaths((path,))
            )
            rows[name] = {"path": path, "warmup_statuses": warm.statuses, "warmup_non_2xx": warm.non_2xx + warm.errors}
            rows[name]["rounds"] = []
        for number in range(1, args.rounds + 1):
            for name, row in rows.items():
                result = _shop_load(bench, server, args, row["path"], connections=connections)
                row["rounds"].append(result)
                bench.say(
                    f"    round {number} {name:<20} p50 {result['p50_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms  "
                    f"{result['rps']:6.1f} req/s  other {_cell(result['other_cpu'], '.2f')} cores"
                )
    finally:
        server.stop()
    for row in rows.values():
        row.update(min(row["rounds"], key=lambda result: result["p50_ms"] or float("inf")))
        row["non_2xx"] = sum(result["non_2xx"] for result in row["rounds"])
        row["errors"] = sum(result["errors"] for result in row["rounds"])
    return rows


def timed_get(base_url: str, path: str, *, headers: dict[str, str], timeout: float = 120) -> dict:
    """One GET, read to the end in 64 KB pieces: status, time to the first and to the last byte, bytes, lines."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    started = time.perf_counter()
    try:
        conn.request("GET", path, headers={"User-Agent": "joycart-bench", **headers})
        response = conn.getresponse()
        first = response.read(1)
        first_byte = time.perf_counter()
        size, lines = len(first), first.count(b"\n")
        while chunk := response.read(65536):
            size += len(chunk)
            lines += chunk.count(b"\n")
        last_byte = time.perf_counter()
    finally:
        conn.close()
    return {
        "status": response.status,
        "ttfb_ms": (first_byte - started) * 1000,
        "ttlb_ms": (last_byte - started) * 1000,
        "bytes": size,
        "lines": lines,
    }


def _seller_measure(bench, env: dict, args: argparse.Namespace) -> dict:
    fixture = bench.shell_json(env, SELLER_CODE)
    headers = {"Cookie": fixture.pop("cookie")}  # never printed nor written
    last_page = max(1, math.ceil(fixture["products"] / fixture["per_page"]))
    server = bench.Gunicorn(env, workers=args.workers, threads=1)
    rows = {}
    try:
        server.start()
        for name, path in seller_paths(last_page=last_page).items():
            repeats = EXPORT_REPEATS if path.endswith(".csv") else PAGE_REPEATS
            timed_get(server.base_url, path, headers=headers)  # warm-up: imports, connections
            answers = [timed_get(server.base_url, path, headers=headers) for _ in range(repeats)]
            rows[name] = {
                "path": path,
                "statuses": [answer["status"] for answer in answers],
                "ttfb_ms": round(statistics.median(answer["ttfb_ms"] for answer in answers), 1),
                "ttlb_ms": round(statistics.median(answer["ttlb_ms"] for answer in answers), 1),
                "ttlb_all_ms": [round(answer["ttlb_ms"], 1) for answer in answers],
                "bytes": answers[-1]["bytes"],
                "lines": answers[-1]["lines"],
            }
            bench.say(
                f"    {name:<24} first byte {rows[name]['ttfb_ms']:8.1f} ms  last byte {rows[name]['ttlb_ms']:8.1f} ms  "
                f"{rows[name]['bytes']:,} bytes"
            )
        rss = server.peak_rss_mb()
    finally:
        server.stop()
    return {**fixture, "rows": rows, "worker_peak_rss_mb": {str(pid): mb for pid, mb in rss.items()}}


def run_scale(env: dict, args: argparse.Namespace, bench) -> dict:
    skipped = bench.postgres_only_skip(
        env,
        scenario="scale",
        why="it loads 100,000 products with COPY, and its question, how the shop's queries scale, is "
        "PostgreSQL's (production's) query plans",
    )
    if skipped:
        return skipped
    connections = args.workers
    sizes = {"small": args.scale_small, "large": args.scale_large}
    shop: dict[str, dict] = {name: {} for name in shop_paths()}
    fixtures: dict[str, dict] = {}
    for size, products in sizes.items():
        bench.say(f"scale: the bench catalogue at exactly {products:,} products ...")
        fixtures[size] = bench.shell_json(env, SIZE_CODE.format(products=products))
        seeded, trimmed = fixtures[size]["seeded"], fixtures[size]["trimmed"]
        bench.say(
            f"  {trimmed['deleted']:,} deleted in {trimmed['seconds']} s; {seeded['created']:,} created in "
            f"{seeded['seconds']} s {seeded['phase_seconds']}; {seeded['products']:,} products, "
            f"{seeded['variants']:,} variants"
        )
        for name, row in _shop_measure(bench, env, args, connections=connections).items():
            shop[name][size] = row
    bench.say("  EXPLAIN ANALYZE of each page's slowest statements ...")
    plans = bench.shell_json(env, EXPLAIN_CODE.format(paths=shop_paths()))
    bench.say("scale: the first bench store's seller portal ...")
    seller = _seller_measure(bench, env, args)
    # Back to the read endpoints' catalogue: rows hidden beyond --products would still be scanned
    # by their next run's uncached pages (a listing's count, its brands), and slow them down.
    bench.say(f"scale: the bench catalogue back to {args.products:,} products for the read endpoints ...")
    fixtures["restored"] = bench.shell_json(env, SIZE_CODE.format(products=args.products))
    return {
        "small": args.scale_small,
        "large": args.scale_large,
        "connections": connections,
        "workers": args.workers,
        "tool": _tool(bench, args),
        "duration_s": args.scale_duration,
        "fixtures": fixtures,
        "shop": shop,
        "plans": plans,
        "seller": seller,
        "targets": scale_targets(shop=shop, seller=seller, small=args.scale_small, large=args.scale_large),
    }


# --- Inside Django (manage.py shell) ---------------------------------------------------------


def plans_explain(paths: dict[str, str], *, cookie: str = "", slowest: int = SLOWEST_EXPLAINED) -> dict[str, dict]:
    """Request each page once, missing the cache, and run its slowest SQL statements again under
    EXPLAIN (ANALYZE, BUFFERS): name -> the page's query count, its SQL time and those plans.
    `cookie`: the Cookie header to send (a seller's, for the portal); anonymous without."""
    import secrets

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    explained = {}
    for name, path in paths.items():
        separator = "&" if "?" in path else "?"
        ceiling = f"1{secrets.randbelow(10**8):08d}"  # above every price, new each time: a cache miss
        with CaptureQueriesContext(connection) as captured:
            response = client.get(
                f"{path}{separator}max_price={ceiling}", headers={"host": "127.0.0.1", "cookie": cookie}
            )
        statements = sorted(captured.captured_queries, key=lambda query: float(query["time"]), reverse=True)
        explained[name] = {
            "status": response.status_code,
            "queries": len(statements),
            "sql_ms": round(sum(float(query["time"]) for query in statements) * 1000, 1),
            "slowest": [],
        }
        for query in statements[:slowest]:
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
                plan = [row[0] for row in cursor.fetchall()]
            explained[name]["slowest"].append(
                {"ms": round(float(query["time"]) * 1000, 1), "sql": query["sql"], "plan": plan}
            )
    return explained
