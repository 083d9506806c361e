"""Running the mixed scenario (bench/mixed.py) from bench/run.py: its flags, its run and its table.

bench/run.py passes itself in as `bench`, for its gunicorn, CPU meter and `manage.py shell`
helpers, so this module adds a scenario without growing run.py. Standard library only.
"""

import argparse
import os
import secrets
from dataclasses import asdict

try:  # run by bench/run.py, whose directory is on sys.path
    import mixed
    from checkout import Buyer
except ModuleNotFoundError:  # imported as bench.mixed_run (the tests)
    from bench import mixed
    from bench.checkout import Buyer

LISTING_ROW = "listing page"  # the read endpoints' row of the same page, GET /

SEED_CODE = """\
from bench.seed import bench_seed
from bench.mixed_seed import bench_mixed_seed
bench_seed(products={products})
bench_mixed_seed(products={mixed_products}, shoppers={shoppers})
"""
COUNT_CODE = """\
from bench.mixed_seed import bench_mixed_count, bench_mixed_mail_drop
bench_mixed_mail_drop()
bench_mixed_count(variant_ids={variant_ids!r})
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("mixed scenario (PostgreSQL only)")
    group.add_argument("--mixed-duration", type=float, default=60, help="seconds of the measured mix")
    group.add_argument(
        "--mixed-connections", type=int, default=16, help="concurrent connections, each with its own shopper"
    )
    group.add_argument(
        "--mixed-products", type=int, default=60, help="products of the store shoppers buy from (a third in 3 sizes)"
    )
    group.add_argument(
        "--mixed-baseline",
        type=float,
        default=10,
        help="seconds of pure-read listing load on the mix's server, just before the mix, as its reference",
    )


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if min(args.mixed_connections, args.mixed_products) < 1 or min(args.mixed_duration, args.mixed_baseline) <= 0:
        parser.error("every --mixed-* count and duration must be positive")


def run(env: dict[str, str], args: argparse.Namespace, *, bench, rows: list[dict]) -> dict:
    """Seed, start a gunicorn of its own, warm up, load the pure listing, then the mix; count the books.

    `rows` are the read endpoints' rows of this run (empty with `--only mixed`): their listing
    row, when the same Python generator measured it, is the reference; otherwise the pure-read
    listing load measured here on the mix's own server is.
    """
    skipped = bench.postgres_only_skip(
        env,
        scenario="mixed",
        why="SQLite runs one write transaction at a time, so checkouts beside browsing would measure its database lock",
    )
    if skipped:
        return skipped
    connections = args.mixed_connections
    bench.say(f"mixed: seeding {args.mixed_products} products to buy and {connections} shoppers ...")
    fixture = bench.shell_json(
        env, SEED_CODE.format(products=args.products, mixed_products=args.mixed_products, shoppers=connections)
    )
    variants = fixture["variants"]
    low = [variant["id"] for variant in variants if variant["low"]]
    bench.say(
        f"  ready in {fixture['seconds']} s: {len(variants)} variants ({len(low)} with only a few units), "
        f"{len(fixture['product_slugs'])} product pages, {len(fixture['categories'])} categories; "
        f"the last run's {fixture['deleted_orders']} orders deleted"
    )
    catalog = mixed.Catalog(
        categories=tuple(fixture["categories"]),
        product_slugs=tuple(fixture["product_slugs"]),
        brands=tuple(fixture["brands"]),
        variant_ids=tuple(variant["id"] for variant in variants),
        low_stock_ids=tuple(low),
    )
    shoppers = [Buyer(token=shopper["token"], address_id=shopper["address_id"]) for shopper in fixture["shoppers"]]
    nonce = secrets.token_hex(4)
    server = bench.Gunicorn(env, workers=args.workers, threads=args.threads)
    try:
        server.start()
        url = server.base_url
        bench.say(f"  gunicorn on {url}, {args.workers} workers; {connections} connections, one shopper each")
        # Every page the mix browses, once: a short run must not measure the cache's cold start.
        paths = catalog.browse_paths()
        cache_fill = bench.loadgen.python_load(url + "/", connections=8, requests=len(paths), paths=paths)
        bench.say(f"  cache filled: {len(paths)} pages, statuses {cache_fill.statuses}")
        warm, _ = mixed.mixed_load(
            url, shoppers=shoppers, catalog=catalog, key_prefix=f"{nonce}-w", seconds=mixed.WARMUP_S, seed=1
        )
        warm_rows = {kind: mixed.kind_summary(stats, seconds=mixed.WARMUP_S) for kind, stats in warm.items()}
        meter = bench.CpuMeter(server)
        meter.start()
        baseline = bench.loadgen.python_load(url + "/", connections=connections, seconds=args.mixed_baseline)
        baseline_cores = meter.cores() or {}
        bench.say(
            f"  pure-read listing: {baseline.rps:.0f} req/s, p99 {baseline.p99_ms:.1f} ms, "
            f"other {bench._cell(baseline_cores.get('other'), '.2f')} cores"
        )
        meter.start()
        stats, seconds = mixed.mixed_load(
            url, shoppers=shoppers, catalog=catalog, key_prefix=f"{nonce}-m", seconds=args.mixed_duration, seed=2
        )
        cores = meter.cores() or {}
        rss = server.peak_rss_mb()
    finally:
        server.stop()
    kinds = {kind: mixed.kind_summary(row, seconds=seconds) for kind, row in stats.items()}
    total = sum(row["requests"] for row in kinds.values())
    counted = bench.shell_json(env, COUNT_CODE.format(variant_ids=[variant["id"] for variant in variants]))
    verdict = mixed.stock_verdict(
        start={variant["id"]: variant["stock"] for variant in variants},
        sold=counted["sold"],
        left=counted["left"],
        product_stock=counted["product_stock"],
        product_of={variant["id"]: variant["product_id"] for variant in variants},
    )
    accepted = warm_rows[mixed.CHECKOUT]["statuses"].get("201", 0) + kinds[mixed.CHECKOUT]["statuses"].get("201", 0)
    own = {"rps": baseline.rps, "p99_ms": baseline.p99_ms, "tool": "python", "source": "this scenario's server"}
    run_row = next((row for row in rows if row["name"] == LISTING_ROW and row.get("rps")), None)
    references = {"own": mixed.listing_ratios(mix=kinds[mixed.LISTING], baseline=own, connections=connections)}
    if run_row:
        references["read_phase"] = {
            **mixed.listing_ratios(mix=kinds[mixed.LISTING], baseline=run_row, connections=connections),
            "tool": run_row.get("tool"),
        }
    # The same generator on both sides, or the ratio measures the generators: wrk sends about
    # twice what the Python generator can.
    reference = "read_phase" if run_row and run_row.get("tool") == "python" else "own"
    hit_rate = mixed.cache_hit_rate(kinds)
    # The failures of the warm-up count too, as the read endpoints' and checkout's do.
    for kind, row in warm_rows.items():
        kinds[kind]["warmup_server_errors"] = row["server_errors"]
        kinds[kind]["warmup_errors"] = row["errors"]
    failures = {
        kind: {
            **row,
            "server_errors": row["server_errors"] + row["warmup_server_errors"],
            "errors": row["errors"] + row["warmup_errors"],
        }
        for kind, row in kinds.items()
    }
    failures["cache fill"] = {
        "server_errors": sum(count for status, count in cache_fill.statuses.items() if status >= 500),
        "errors": cache_fill.errors,
    }
    targets = mixed.mixed_targets(
        rows=failures,
        verdict=verdict,
        ratios=references[reference],
        orders_match=counted["orders"] == accepted,
    )
    client_s = cores.get("client_s")
    return {
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "connections": connections,
        "duration_s": round(seconds, 2),
        "baseline_s": args.mixed_baseline,
        "variants": len(variants),
        "low_stock_variants": len(low),
        "mix": mixed.MIX,
        "requests": total,
        "per_s": round(total / seconds, 1) if seconds else 0.0,
        "kinds": kinds,
        "cache_fill": asdict(cache_fill),
        "warmup": warm_rows,
        "baseline": {
            **asdict(baseline),
            "services_cpu": baseline_cores.get("services"),
            "other_cpu": baseline_cores.get("other"),
            "gunicorn_cpu_ms_per_request": _per_request_ms(baseline_cores.get("server_s"), baseline.requests),
        },
        "listing": {**references, "reference": reference},
        "cache": hit_rate,
        "stock": verdict,
        "database": {"orders": counted["orders"], "accepted": accepted},
        "services_cpu": cores.get("services"),
        "other_cpu": cores.get("other"),
        "gunicorn_cpu_ms_per_request": _per_request_ms(cores.get("server_s"), total),
        "load_generator_cpu_ms_per_request": _per_request_ms(client_s, total),
        "load_generator_cores": round(client_s / seconds, 2) if client_s is not None and seconds else None,
        "worker_peak_rss_mb": {str(pid): mb for pid, mb in rss.items()},
        "targets": targets,
    }


def _per_request_ms(cpu_s: float | None, requests: int) -> float | None:
    """CPU milliseconds a request: unlike requests/s, barely moved by other processes taking cores."""
    return round(cpu_s * 1000 / requests, 3) if cpu_s is not None and requests else None


def report(result: dict, *, bench) -> list[dict]:
    """Print the table; return the targets (none when skipped: run.py prints the skip itself)."""
    if "skipped" in result:
        return []
    say, cell = bench.say, bench._cell
    header = (
        f"{'mixed kind':<10} {'requests':>8} {'per s':>7} {'p50 ms':>7} {'p99 ms':>7} {'mean ms':>7} {'5xx':>4} "
        f"{'failed':>6} {'cache hit':>9}  refusals"
    )
    say(header)
    say("-" * len(header))
    for kind, row in result["kinds"].items():
        looked = row["cache_hits"] + row["cache_misses"]
        hit = f"{row['cache_hits'] / looked:.1%}" if looked else "-"
        say(
            f"{kind:<10} {row['requests']:>8} {row['per_s']:>7.1f} {row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f} "
            f"{row['mean_ms']:>7.1f} {row['server_errors']:>4} {row['errors']:>6} {hit:>9}  "
            f"{', '.join(f'{code} {count}' for code, count in row['refusals'].items()) or '-'}"
        )
    say(f"{'all':<10} {result['requests']:>8} {result['per_s']:>7.1f}")
    listing = result["listing"]
    for key, label in (("own", "pure-read listing on this server"), ("read_phase", "the read phase's listing row")):
        ratios = listing.get(key)
        if not ratios:
            continue
        used = " (the target's reference)" if listing["reference"] == key else ""
        say(
            f"listing vs {label}{used}: {ratios['mix_rps_equivalent']:.0f} req/s equivalent during the mix "
            f"(connections / mean latency) vs {ratios['baseline_rps']:.0f}: {cell(ratios['throughput'], '.2f')}x; "
            f"p99 {ratios['mix_p99_ms']:.1f} ms vs {ratios['baseline_p99_ms']:.1f} ms: {cell(ratios['p99'], '.2f')}x"
        )
    cache = result["cache"]
    say(
        f"response cache (X-Cache of the anonymous pages): {cache['hits']} hits, {cache['misses']} misses, "
        f"hit rate {cell(cache['rate'], '.1%')}"
    )
    stock = result["stock"]
    say(
        f"stock: {stock['units_sold']} units sold over {stock['touched']} of {stock['variants']} variants, "
        f"{stock['sold_out']} sold out, oversell {stock['oversell']}; orders in the database "
        f"{result['database']['orders']}, checkout 201s (warm-up included) {result['database']['accepted']}"
    )
    say(
        f"cores: services {cell(result['services_cpu'], '.2f')}, other {cell(result['other_cpu'], '.2f')}, "
        f"load generator {cell(result['load_generator_cores'], '.2f')}; CPU per request: gunicorn "
        f"{cell(result['gunicorn_cpu_ms_per_request'], '.2f')} ms, load generator "
        f"{cell(result['load_generator_cpu_ms_per_request'], '.2f')} ms"
    )
    if (result["services_cpu"] or 0) < 0:
        say(
            "  (services below 0: PostgreSQL processes that exited during the load, e.g. another database's, took "
            "their CPU time with them; other is too high by as much)"
        )
    pure, mix = result["baseline"]["gunicorn_cpu_ms_per_request"], result["gunicorn_cpu_ms_per_request"]
    if pure and mix:
        say(
            f"gunicorn CPU per request: pure-read listing {pure:.2f} ms, the mix {mix:.2f} ms; where CPU is the limit "
            f"the mix serves {pure / mix:.2f}x the requests a pure listing load does (other processes cannot move this)"
        )
    say("worker peak RSS (VmHWM): " + ", ".join(f"{mb:.0f} MB" for mb in result["worker_peak_rss_mb"].values()))
    return result["targets"]
