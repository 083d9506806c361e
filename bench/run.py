"""JoyCart load benchmark (`make bench`): gunicorn with production settings on loopback.

Steps: collectstatic and migrate, seed N products (bench/seed.py), start gunicorn on a free
port of 127.0.0.1, warm up and load each endpoint in turn, read each worker's peak memory, stop
gunicorn. Then, on PostgreSQL only, the checkout scenario (bench/checkout.py), the webhook
scenario (bench/webhooks.py) and the scale scenario (bench/scale.py), each with a gunicorn of
its own. Print the tables and the targets, write bench/results.json. A measuring tool: a
missed target is reported, never an error exit.

Database: DATABASE_URL as given, else bench/bench.sqlite3. Cache: REDIS_URL if set, else local
memory (one cache per worker, so each worker warms its own).
"""

import argparse
import contextlib
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

# Run as `python bench/run.py`, so bench/ itself is on sys.path: these are sibling modules.
import checkout
import loadgen
import mixed_run
import scale
import webhooks

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_PATH = BENCH_DIR / "results.json"
BIN = Path(sys.executable).parent
WORKER_RSS_LIMIT_MB = 200
PROC = Path("/proc")  # Linux: worker PIDs, peak RSS and CPU accounting come from here
DISTURBED_CORES = 0.2  # other processes' CPU during a load above which its numbers are not trusted
CHECKOUT_WARMUP_S = 2.0  # checkout load before measuring: every worker connects and imports
HOT_DEADLINE_S = 120.0  # the hot product's rush stops here even if it has not sold out


JOYCART_APP = "joycart.wsgi:application"
# The ceiling: Django's startproject middleware and one view (bench/bare/), on the same gunicorn.
BARE_APP = "bench.bare.wsgi:application"
BARE_SETTINGS = "bench.bare.settings"
BARE_ROW = "bare Django"
PING_ROW = "ping"


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str  # what is requested; for an uncached endpoint, only what the table shows
    target: float | None  # minimum requests/s as a share of the bare ceiling; None: no target
    # The target this row had against JoyCart's /ping, which hid the middleware: printed for information.
    ping_target: float | None = None
    # Set: every request is a new path, these in turn with a unique parameter, so none is a cache hit.
    uncached: tuple[str, ...] = ()
    app: str = JOYCART_APP  # which gunicorn serves it
    logged_in: bool = False  # sent with the bench shopper's cookies


def endpoints(*, slug: str, search: str, search_terms: list[str]) -> list[Endpoint]:
    """`search` is the cached search row's one query; `search_terms` the uncached row's rotation."""
    shown = quote(search_terms[0]) if len(search_terms) == 1 else f"<{len(search_terms)} terms>"
    return [
        Endpoint(BARE_ROW, "/ping", None, app=BARE_APP),
        Endpoint(PING_ROW, "/ping", None),
        Endpoint("health: /healthz", "/healthz", None),
        Endpoint("listing page", "/", 0.8, ping_target=0.8),
        Endpoint("listing API", "/api/v1/products/", 0.8, ping_target=0.8),
        Endpoint("product page", f"/products/{quote(slug)}/", 0.6, ping_target=0.5),
        # The same page for a shopper: never from the response cache, and the header is theirs.
        Endpoint("home, logged in", "/", 0.4, logged_in=True),
        Endpoint("search", f"/?search={quote(search)}", None, ping_target=0.3),
        # For information: what a search costs when the response cache cannot help (the
        # database's search and the page's rendering, and storing both in the cache).
        Endpoint(
            "search, uncached",
            f"/?search={shown}&{loadgen.CACHE_BUSTER}=<unique>",
            None,
            uncached=tuple(f"/?search={quote(term)}" for term in search_terms),
        ),
    ]


def say(line: str = "") -> None:
    """The benchmark's report goes to stdout as it happens."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--products", type=int, default=5000, help="products in the bench store")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 2,
        help="gunicorn workers; one sync worker per core measured best (see bench/README.md)",
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per worker; above 1 uses gthread workers")
    parser.add_argument("--duration", type=float, default=10, help="seconds of load per endpoint")
    parser.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections")
    parser.add_argument("--warmup", type=int, default=300, help="warm-up requests per endpoint, before measuring")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="load every endpoint (and checkout's distinct-products phase) this many times; report the best",
    )
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto", help="load generator")
    parser.add_argument(
        "--search",
        default="",
        help="the search rows' term (default: a brand the seed spread widely for the cached row, "
        "every seeded brand in turn for the uncached one)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS_PATH, help="where to write the JSON results")
    parser.add_argument(
        "--only",
        choices=["all", "reads", "checkout", "webhooks", "mixed", "scale"],
        default="all",
        help="run only the read endpoints, or only the checkout, webhook, mixed or scale scenario (PostgreSQL only)",
    )
    checkout_group = parser.add_argument_group("checkout scenario (PostgreSQL only)")
    checkout_group.add_argument(
        "--checkout-workers",
        type=int,
        help="sync workers of the checkout scenario's gunicorn; None: as many as --workers, which measured "
        "best here too (see bench/README.md)",
    )
    checkout_group.add_argument("--buyers", type=int, default=32, help="concurrent buyers, one connection each")
    checkout_group.add_argument(
        "--checkout-products", type=int, default=1000, help="products the distinct-products phase rotates over"
    )
    checkout_group.add_argument("--hot-stock", type=int, default=200, help="the hot product's stock at the start")
    webhook_group = parser.add_argument_group("webhook scenario (PostgreSQL only)")
    webhook_group.add_argument(
        "--deliveries", type=int, default=webhooks.DELIVERIES, help="signed deliveries sent, duplicates included"
    )
    webhook_group.add_argument(
        "--duplicates", type=int, default=webhooks.DUPLICATES, help="how many of them repeat an event exactly"
    )
    webhook_group.add_argument(
        "--webhook-concurrency", type=int, default=webhooks.CONCURRENCY, help="concurrent webhook connections"
    )
    scale.add_arguments(parser)
    mixed_run.add_arguments(parser)
    args = parser.parse_args(argv)
    mixed_run.check_arguments(parser, args)
    args.checkout_workers = args.checkout_workers or args.workers
    counts = (args.products, args.workers, args.threads, args.connections, args.rounds)
    checkout_counts = (args.checkout_workers, args.buyers, args.checkout_products, args.hot_stock)
    if min(*counts, *checkout_counts, args.webhook_concurrency) < 1 or args.duration <= 0:
        parser.error("every count and --duration must be positive")
    if not 0 <= args.duplicates < args.deliveries:
        parser.error("--duplicates must be at least 0 and fewer than --deliveries")
    return args


def bench_environment() -> dict[str, str]:
    """Production settings over plain http on loopback. The secret is fresh and never printed."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="joycart.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        PYTHONUNBUFFERED="1",
        # Never a real payment gateway: the sandbox's fixed credentials (only COD is benchmarked).
        PAYMENTS_SANDBOX="1",
        # With DEBUG off the sandbox refuses its published webhook secret; the bench signs its
        # webhooks with this one through settings, like the sandbox does.
        RAZORPAY_WEBHOOK_SECRET=secrets.token_urlsafe(32),
        # The ping row measures JoyCart's /ping, which only a bench process serves.
        DJANGO_BENCH_PING="1",
        # Production's task queue, whatever the caller's environment says: checkout queues its
        # order e-mails in the database, and no worker runs during the bench, so nobody is mailed.
        DJANGO_TASKS_BACKEND="database",
    )
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = f"sqlite:///{BENCH_DIR / 'bench.sqlite3'}"
    if not env.get("DJANGO_MEDIA_ROOT"):
        env["DJANGO_MEDIA_ROOT"] = str(BENCH_DIR / "media")
    # Nothing leaves the machine: uploads stay in that folder, errors are not sent to Sentry.
    env["DJANGO_MEDIA_LOCAL"] = "1"
    env.pop("CLOUDINARY_URL", None)
    env.pop("SENTRY_DSN", None)
    env.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    return env


def database_vendor(url: str) -> str:
    scheme = url.split(":", 1)[0].lower()
    if scheme.startswith("postgres") or scheme == "pgsql":
        return "postgresql"
    return scheme.split("+", 1)[0]


def postgres_only_skip(env: dict[str, str], *, scenario: str, why: str) -> dict | None:
    """A scenario that needs PostgreSQL: None on PostgreSQL, else the result that says it was skipped and why."""
    vendor = database_vendor(env["DATABASE_URL"])
    if vendor == "postgresql":
        return None
    reason = f"needs PostgreSQL, and DATABASE_URL is {vendor}: {why}"
    say(f"{scenario} scenario skipped: {reason}")
    return {"skipped": reason}


def manage(env: dict[str, str], *args: str) -> str:
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if completed.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{completed.stdout}{completed.stderr}")
    return completed.stdout


# After seeding: the brands of the visible bench products, sorted, as the uncached search row's
# terms. Deterministic for a given --products (the seed is), and every one of them finds something.
# Also the logged-in rows' Cookie header, which run.py keeps out of results.json.
SEED_CODE = """\
import json, sys
from bench.seed import bench_products, bench_seed, bench_shopper_cookie
report = bench_seed(products={products})
visible = bench_products().filter(is_active=True).exclude(brand="")
report["search_terms"] = sorted(set(visible.values_list("brand", flat=True)))
report["shopper_cookie"] = bench_shopper_cookie()
sys.stdout.write(json.dumps(report) + "\\n")
"""


def seed(env: dict[str, str], products: int) -> dict:
    return shell_json(env, SEED_CODE.format(products=products))


def shell_json(env: dict[str, str], code: str) -> dict:
    """Run `code` in `manage.py shell`; its last line of output is the JSON answer."""
    out = manage(env, "shell", "--no-imports", "-v", "0", "-c", code)
    return json.loads(out.strip().splitlines()[-1])


CHECKOUT_SEED_CODE = """\
from bench.seed import bench_checkout_seed
bench_checkout_seed(buyers={buyers}, products={products}, hot_stock={hot_stock})
"""
CHECKOUT_COUNT_CODE = """\
from bench.seed import bench_checkout_count
bench_checkout_count(hot_product_id={hot_product_id})
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """gunicorn in its own process group, so stopping it can never miss a worker."""

    def __init__(self, env: dict[str, str], *, workers: int, threads: int, app: str = JOYCART_APP) -> None:
        self.app = app
        # The bare project reads its own settings module, and serves only its /ping.
        self.env = env if app == JOYCART_APP else {**env, "DJANGO_SETTINGS_MODULE": BARE_SETTINGS}
        self.ready_path = "/healthz" if app == JOYCART_APP else "/ping"
        self.workers = workers
        self.threads = threads
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="joycart-bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """Production's gunicorn.conf.py (preloaded and frozen once in the master), less what would
        disturb a measurement: workers retiring mid-round, an access line written per request
        (bench/gunicorn_bench.conf.py). The bare ceiling gets the same: only the app differs
        (the file's one hook, closing database connections before a fork, is Django's, not JoyCart's)."""
        return [
            str(BIN / "gunicorn"),
            f"--config={BENCH_DIR / 'gunicorn_bench.conf.py'}",
            self.app,
            f"--bind=127.0.0.1:{self.port}",
            "--max-requests=0",
            f"--workers={self.workers}",
            f"--threads={self.threads}",
            f"--worker-class={'sync' if self.threads == 1 else 'gthread'}",
            "--graceful-timeout=5",
            "--log-level=warning",
            "--no-control-socket",
        ]

    def start(self, *, timeout: float = 60) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            self.command(), cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            workers_up = not PROC.is_dir() or len(self.worker_pids()) == self.workers
            if workers_up and _status(self.base_url + self.ready_path) == 200:
                return
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer {self.ready_path} within {timeout:.0f} s:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        """The master's children, read from /proc (Linux)."""
        if self.process is None:
            return []
        pids = []
        for stat in PROC.glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                pids.append(int(stat.parent.name))
        return sorted(pids)

    def peak_rss_mb(self) -> dict[int, float]:
        peaks = {}
        for pid in self.worker_pids():
            try:
                status = (PROC / str(pid) / "status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks[pid] = round(int(line.split()[1]) / 1024, 1)
        return peaks

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM (a graceful shutdown), then SIGKILL for whatever is left of the group."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # any orphaned worker
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback http only
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


# On every page of a logged-in user: the header's logout button (templates/base.html).
LOGGED_IN_MARK = b'data-testid="nav-logout"'


def shopper_cookie_check(server: Gunicorn, cookie: str) -> str:
    """Ask for the home page once with the shopper's cookie: it must be theirs, or the logged-in
    rows would measure the anonymous page. Return the cookie with the CSRF cookie that first
    page set added, as a returning browser sends it (else every page would set a new one)."""
    request = urllib.request.Request(server.base_url + "/", headers={"Cookie": cookie})  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback http only
        body = response.read()
        set_cookies = response.headers.get_all("Set-Cookie") or []
    if LOGGED_IN_MARK not in body:
        raise SystemExit("the bench shopper's cookie did not log in: the home page was the anonymous one")
    csrf = [line.split(";", 1)[0] for line in set_cookies if line.startswith("csrftoken=")]
    return "; ".join([cookie, *csrf])


LOCAL_SERVICES = {"postgres", "postmaster", "redis-server"}  # process names of a local database or cache


class CpuMeter:
    """Where the CPU went during a load, besides gunicorn and the load generator.

    On a shared machine (CI, or colleagues' test runs) other work steals the cores gunicorn
    needs, and the numbers drop: "other" is that noise. All busy time in /proc/stat, minus
    gunicorn's, minus the load generator's, minus a local PostgreSQL's or Redis's (reported
    apart as "services": they are part of what is measured).
    """

    HZ = os.sysconf("SC_CLK_TCK")

    def __init__(self, server: Gunicorn) -> None:
        self.server = server
        self.readings: tuple[float, int, int, int, float] | None = None

    @staticmethod
    def _busy_ticks() -> int:
        fields = [int(value) for value in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
        idle, iowait = fields[3], fields[4]
        return sum(fields[:8]) - idle - iowait

    def _process_ticks(self) -> tuple[int, int]:
        """(gunicorn's ticks, local services' ticks), from one pass over /proc."""
        master = self.server.process.pid if self.server.process else -1
        server = services = 0
        for stat in PROC.glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                text = stat.read_text()
                name = text[text.index("(") + 1 : text.rindex(")")]
                fields = text.rsplit(")", 1)[1].split()
                ticks = int(fields[11]) + int(fields[12])  # utime, stime
                if int(stat.parent.name) == master or int(fields[1]) == master:
                    server += ticks
                elif name in LOCAL_SERVICES:
                    services += ticks
        return server, services

    @staticmethod
    def _own_seconds() -> float:
        times = os.times()  # this process (the Python generator) and reaped children (wrk)
        return times.user + times.system + times.children_user + times.children_system

    def _read(self) -> tuple[float, int, int, int, float]:
        return (time.monotonic(), self._busy_ticks(), *self._process_ticks(), self._own_seconds())

    def start(self) -> None:
        try:
            self.readings = self._read()
        except OSError:
            self.readings = None  # no /proc: not Linux

    def cores(self) -> dict[str, float] | None:
        """Average cores used since start() by local services and by other processes; also the
        CPU seconds of gunicorn (`server_s`), local services (`services_s`) and this process (`client_s`)."""
        if self.readings is None:
            return None
        now, busy, server, services, own = self._read()
        then, busy0, server0, services0, own0 = self.readings
        seconds = max(now - then, 1e-9)
        server_s = (server - server0) / self.HZ
        services_s = (services - services0) / self.HZ
        other_s = (busy - busy0) / self.HZ - server_s - services_s - (own - own0)
        return {
            "services": round(services_s / seconds, 2),
            "other": round(max(other_s, 0.0) / seconds, 2),
            "server_s": round(server_s, 2),
            "services_s": round(services_s, 2),
            "client_s": round(own - own0, 2),
        }


def warm_up(
    server: Gunicorn, endpoint: Endpoint, args: argparse.Namespace, headers: dict[str, str]
) -> loadgen.LoadResult:
    """The Python generator sees every status code (wrk counts a redirect as a success).

    An uncached endpoint has nothing to warm (no path is ever asked for twice): it gets a
    status check only, each of its paths once, with a nonce of its own, so the load that
    follows still misses every time.
    """
    connections = min(args.connections, 8)
    if endpoint.uncached:
        paths = loadgen.UncachedPaths(endpoint.uncached)
        requests = min(args.warmup, len(endpoint.uncached))
        return loadgen.python_load(
            server.base_url + "/", connections=connections, requests=requests, paths=paths, headers=headers
        )
    return loadgen.python_load(
        server.base_url + endpoint.path, connections=connections, requests=args.warmup, headers=headers
    )


def load(
    server: Gunicorn, row: dict, args: argparse.Namespace, tool: str, headers: dict[str, str]
) -> loadgen.LoadResult:
    """An uncached row gets a fresh nonce each round: no round requests another's paths."""
    paths = loadgen.UncachedPaths(tuple(row["uncached"])) if row["uncached"] else None
    url = server.base_url + ("/" if paths else row["path"])
    if tool == "wrk":
        return loadgen.wrk_load(url, connections=args.connections, seconds=args.duration, paths=paths, headers=headers)
    return loadgen.python_load(url, connections=args.connections, seconds=args.duration, paths=paths, headers=headers)


def run_endpoints(
    servers: dict[str, Gunicorn], targets: list[Endpoint], args: argparse.Namespace, tool: str, *, shopper_cookie: str
) -> list[dict]:
    """Warm up every endpoint, then load them in turn, `--rounds` times round-robin.

    Each endpoint reports its best round: other processes on the machine can only slow a
    round down, so the best is the least disturbed. Failures are summed over all rounds.
    `servers` maps each endpoint's app to its running gunicorn; `shopper_cookie` is the
    Cookie header of the logged-in rows, kept out of the rows (and so out of results.json).
    """

    def headers(logged_in: bool) -> dict[str, str]:
        return {"Cookie": shopper_cookie} if logged_in else {}

    rows = []
    for endpoint in targets:
        warmup = warm_up(servers[endpoint.app], endpoint, args, headers(endpoint.logged_in))
        rows.append(
            {
                "name": endpoint.name,
                "path": endpoint.path,
                "app": endpoint.app,
                "logged_in": endpoint.logged_in,
                "uncached": list(endpoint.uncached),
                "target": endpoint.target,
                "ping_target": endpoint.ping_target,
                # A page that is not built yet answers 404 throughout: report it, do not load it.
                "available": warmup.errors > 0 or any(status != 404 for status in warmup.statuses),
                "warmup_statuses": warmup.statuses,
                "warmup_non_2xx": warmup.non_2xx + warmup.errors,
                "rounds": [],
            }
        )
        say(f"  warm-up {endpoint.name:<16} statuses {warmup.statuses}")
    for number in range(1, args.rounds + 1):
        for row in rows:
            if not row["available"]:
                continue
            server = servers[row["app"]]
            meter = CpuMeter(server)  # the row's own gunicorn is measured, not counted as "other"
            meter.start()
            result = load(server, row, args, tool, headers(row["logged_in"]))
            cores = meter.cores() or {"services": None, "other": None}
            row["rounds"].append({**asdict(result), "services_cpu": cores["services"], "other_cpu": cores["other"]})
            noise = (
                ""
                if cores["other"] is None
                else f"  db/cache {cores['services']:.2f}, other {cores['other']:.2f} cores"
            )
            say(f"  round {number} {row['name']:<16} {result.rps:8.0f} req/s  p99 {result.p99_ms:6.1f} ms{noise}")
    for row in rows:
        if row["rounds"]:
            row.update(max(row["rounds"], key=lambda result: result["rps"]))
            row["non_2xx"] = sum(result["non_2xx"] for result in row["rounds"])
            row["errors"] = sum(result["errors"] for result in row["rounds"])
    return rows


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def reference_rps(rows: list[dict], name: str) -> float | None:
    """The requests/s of the row called `name`, if it was loaded."""
    return next((row["rps"] for row in rows if row["name"] == name and row.get("rps")), None)


def ratios_add(rows: list[dict]) -> dict[str, float | None]:
    """Give each loaded row its requests/s as a share of the bare ceiling (`vs_bare`) and of
    JoyCart's /ping (`vs_ping`); return both references. A missing reference gives None."""
    references = {"bare_rps": reference_rps(rows, BARE_ROW), "ping_rps": reference_rps(rows, PING_ROW)}
    for row in rows:
        if "rps" not in row:
            continue
        for key, reference in (("vs_bare", references["bare_rps"]), ("vs_ping", references["ping_rps"])):
            row[key] = round(row["rps"] / reference, 3) if reference else None
    return references


def report(rows: list[dict]) -> None:
    header = (
        f"{'endpoint':<16} {'path':<36} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>7} {'errors':>6} "
        f"{'x bare':>6} {'x ping':>6} {'db/cache':>8} {'other':>6}"
    )
    say(header)
    say("-" * len(header))
    for row in rows:
        path = row["path"] if len(row["path"]) <= 36 else row["path"][:35] + "…"
        if not row["available"]:
            say(f"{row['name']:<16} {path:<36} not available: answered {row['warmup_statuses']}")
            continue
        say(
            f"{row['name']:<16} {path:<36} {row['rps']:>8.0f} {row['p50_ms']:>7.1f} {row['p99_ms']:>7.1f} "
            f"{row['non_2xx']:>7} {row['errors']:>6} {_cell(row['vs_bare'], '>6.2f')} {_cell(row['vs_ping'], '>6.2f')} "
            f"{_cell(row['services_cpu'], '>8.2f')} {_cell(row['other_cpu'], '>6.2f')}"
        )
    say(f"x bare: a share of {BARE_ROW!r} (startproject's middleware, one view); x ping: of JoyCart's own /ping.")
    say("db/cache, other: cores that a local PostgreSQL/Redis and all other processes used during the load.")
    say(f"Other above {DISTURBED_CORES} means something else was running: that row is disturbed.")


def check_targets(rows: list[dict], rss: dict[int, float]) -> list[dict]:
    """The targets against the bare ceiling, then the old ones against /ping, marked `info`:
    /ping goes through JoyCart's own middleware, so it hid what that costs."""
    targets, old_targets = [], []
    for row in rows:
        for key, ratio_key, reference, into in (
            ("target", "vs_bare", "bare", targets),
            ("ping_target", "vs_ping", "/ping", old_targets),
        ):
            minimum = row[key]
            if minimum is None:
                continue
            ratio = row.get(ratio_key)
            ok = ratio is not None and ratio >= minimum
            actual = "missing" if not row["available"] else "no reference" if ratio is None else f"{ratio:.2f}x"
            target = {"target": f"{row['name']} ≥ {minimum}x {reference}", "ok": ok, "actual": actual}
            into.append(target if into is targets else {**target, "info": True})
    failed = sum(row["non_2xx"] + row["errors"] + row["warmup_non_2xx"] for row in rows if row["available"])
    targets.append({"target": "no non-2xx responses or errors", "ok": failed == 0, "actual": str(failed)})
    worst = max(rss.values(), default=0.0)
    targets.append(
        {
            "target": f"each worker < {WORKER_RSS_LIMIT_MB} MB peak RSS",
            "ok": bool(rss) and worst < WORKER_RSS_LIMIT_MB,
            "actual": f"{worst:.0f} MB" if rss else "not measured (no /proc)",
        }
    )
    return targets + old_targets


def run_checkout(env: dict[str, str], args: argparse.Namespace) -> dict:
    """The checkout scenario (bench/checkout.py): distinct products, then one hot product.

    A gunicorn of its own, so `--only checkout` works alone; the same sync workers as the read
    endpoints by default (see bench/README.md). Order e-mails are queued in the database with
    each order and sent later by `manage.py db_worker`, which the bench does not run: the
    database is asked whether every order queued exactly one.
    """
    skipped = postgres_only_skip(
        env,
        scenario="checkout",
        why="SQLite runs one write transaction at a time, so concurrent checkouts would measure its database "
        "lock, not checkout",
    )
    if skipped:
        return skipped
    say(
        f"checkout: seeding {args.buyers} buyers, {args.checkout_products} products, a hot product ({args.hot_stock}) ..."
    )
    fixture = shell_json(
        env,
        CHECKOUT_SEED_CODE.format(buyers=args.buyers, products=args.checkout_products, hot_stock=args.hot_stock),
    )
    say(
        f"  ready in {fixture['seconds']} s; {fixture['deleted_orders']} bench orders of the last run deleted, "
        f"with {fixture['deleted_mail_tasks']} queued mail tasks"
    )
    buyers = [checkout.Buyer(token=buyer["token"], address_id=buyer["address_id"]) for buyer in fixture["buyers"]]
    products, hot_id = fixture["product_ids"], fixture["hot_product_id"]
    nonce = secrets.token_hex(4)
    server = Gunicorn(env, workers=args.checkout_workers, threads=1)
    rss: dict[int, float] = {}
    try:
        server.start()
        meter = CpuMeter(server)
        url = server.base_url
        say(f"  gunicorn on {url}, {args.checkout_workers} sync workers")
        warmup = checkout.checkout_load(
            url, buyers=buyers, product_ids=products, key_prefix=f"{nonce}-w", seconds=CHECKOUT_WARMUP_S
        )
        say(f"  warm-up: {warmup.orders} orders, statuses {warmup.statuses}")
        distinct_rounds = []
        for number in range(1, args.rounds + 1):
            meter.start()
            result = checkout.checkout_load(
                url, buyers=buyers, product_ids=products, key_prefix=f"{nonce}-d{number}", seconds=args.duration
            )
            cores = meter.cores() or {}
            distinct_rounds.append(
                {
                    **asdict(result),
                    "services_cpu": cores.get("services"),
                    "other_cpu": cores.get("other"),
                    "cpu_ms_per_order": checkout.cpu_ms_per_order(cores, orders=result.orders),
                }
            )
            say(
                f"  round {number} distinct products {result.orders_per_s:6.1f} orders/s  p99 {result.p99_ms:6.0f} ms"
                f"  other {_cell(cores.get('other'), '.2f')} cores"
            )
        meter.start()
        hot = checkout.checkout_load(
            url,
            buyers=buyers,
            product_ids=[hot_id],
            key_prefix=f"{nonce}-h",
            seconds=HOT_DEADLINE_S,
            until_sold_out=True,
        )
        hot_cpu = meter.cores() or {}
        rss = server.peak_rss_mb()
    finally:
        server.stop()
    counted = shell_json(env, CHECKOUT_COUNT_CODE.format(hot_product_id=hot_id))
    verdict = checkout.hot_verdict(
        initial_stock=args.hot_stock,
        accepted=hot.orders,
        sold=counted["hot_sold"],
        stock_left=counted["hot_stock_left"],
    )
    # Like the read endpoints: the best round is the least disturbed one; failures count from
    # every round and from the warm-up.
    best = max(distinct_rounds, key=lambda row: row["orders_per_s"])
    distinct = checkout.CheckoutResult(
        **{
            **{name: best[name] for name in checkout.CheckoutResult.__dataclass_fields__},
            "server_errors": warmup.server_errors + sum(row["server_errors"] for row in distinct_rounds),
            "errors": warmup.errors + sum(row["errors"] for row in distinct_rounds),
        }
    )
    accepted = warmup.orders + sum(row["orders"] for row in distinct_rounds) + hot.orders
    mails = checkout.mail_verdict(orders=counted["orders"], tasks_per_order=counted["mail_tasks_per_order"])
    targets = checkout.checkout_targets(
        distinct=distinct, hot=hot, verdict=verdict, orders_match=counted["orders"] == accepted, mails=mails
    )
    return {
        "workers": args.checkout_workers,
        "cpus": os.cpu_count(),
        "buyers": len(buyers),
        "products": len(products),
        "warmup": asdict(warmup),
        "distinct": {
            **asdict(distinct),
            "services_cpu": best["services_cpu"],
            "other_cpu": best["other_cpu"],
            "cpu_ms_per_order": best["cpu_ms_per_order"],
            "rounds": distinct_rounds,
        },
        "hot": {
            **asdict(hot),
            "services_cpu": hot_cpu.get("services"),
            "other_cpu": hot_cpu.get("other"),
            "cpu_ms_per_order": checkout.cpu_ms_per_order(hot_cpu, orders=hot.orders),
        },
        "hot_verdict": verdict,
        "database": {**counted, "accepted": accepted},
        "mails": mails,
        "worker_peak_rss_mb": {str(pid): mb for pid, mb in rss.items()},
        "targets": targets,
    }


WEBHOOK_SEED_CODE = """\
from bench.seed import bench_webhook_seed
bench_webhook_seed(distinct_events={distinct})
"""
WEBHOOK_DRAIN_CODE = """\
from bench.seed import bench_webhook_drain
bench_webhook_drain(load_ended_at={load_ended_at!r}, timeout={timeout!r})
"""
WEBHOOK_COUNT_CODE = """\
from bench.seed import bench_webhook_count
bench_webhook_count()
"""


# The README's deployment note: a db_worker that shares a host with gunicorn runs at background
# CPU priority, so a burst of requests is answered first and the queue drains in the gaps.
WORKER_NICE = 10


class Worker:
    """One `manage.py db_worker` beside gunicorn, in its own process group, as production runs it.

    At background priority (WORKER_NICE): its own nice value, and its session's autogroup's, for
    Linux gives each session an equal share of the CPU whatever its processes' nice values (as
    systemd gives each service, which is why the README says CPUWeight=). Its mail goes to
    Django's dummy backend: nobody is mailed and no SMTP server is measured.
    """

    def __init__(self, env: dict[str, str]) -> None:
        self.env = {**env, "EMAIL_URL": "dummy://"}
        self.log = tempfile.NamedTemporaryFile(prefix="joycart-bench-worker-", suffix=".log", delete=False)  # noqa: SIM115
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [sys.executable, str(ROOT / "manage.py"), "db_worker", "--no-startup-delay"]
        self.process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        os.setpriority(os.PRIO_PROCESS, self.process.pid, WORKER_NICE)
        with contextlib.suppress(OSError):  # no autogroups (a kernel without them): its nice value is enough
            (PROC / str(self.process.pid) / "autogroup").write_text(str(WORKER_NICE))

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def cpu_s(self) -> float | None:
        """CPU seconds the worker used so far (Linux /proc), or None."""
        if self.process is None:
            return None
        try:
            fields = (PROC / str(self.process.pid) / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / CpuMeter.HZ

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def run_webhooks(env: dict[str, str], args: argparse.Namespace) -> dict:
    """The webhook scenario (bench/webhooks.py): signed deliveries, a quarter of them repeats.

    A gunicorn of its own with the read endpoints' workers, and one db_worker processing the
    queue beside it. Timed: each delivery's answer. Then the queue is drained and the database
    is asked whether every transition happened exactly once.
    """
    skipped = postgres_only_skip(
        env,
        scenario="webhook",
        why="SQLite runs one write transaction at a time, so a worker beside concurrent deliveries would "
        "measure its database lock",
    )
    if skipped:
        return skipped
    distinct = args.deliveries - args.duplicates
    say(f"webhooks: seeding online orders and {distinct} distinct signed events through checkout and the sandbox ...")
    fixture = shell_json(env, WEBHOOK_SEED_CODE.format(distinct=distinct))
    say(
        f"  {fixture['orders']} orders awaiting payment, mix {json.dumps(fixture['mix'])}, ready in "
        f"{fixture['seconds']} s; the last run's {fixture['deleted_orders']} orders and {fixture['deleted_events']} "
        f"events deleted; {fixture['backlog_tasks']} other tasks due in the queue"
    )
    deliveries = webhooks.deliveries_build(fixture["events"], duplicates=args.duplicates)
    server = Gunicorn(env, workers=args.workers, threads=1)
    worker = Worker(env)
    rss: dict[int, float] = {}
    try:
        server.start()
        worker.start()
        say(f"  gunicorn on {server.base_url}, {args.workers} sync workers; one db_worker at nice {WORKER_NICE}")
        url = server.base_url + webhooks.WEBHOOK_PATH
        warm = webhooks.webhook_load(url, fixture["warmup"], concurrency=args.webhook_concurrency)
        say(
            f"  warm-up: {warm.deliveries} deliveries of an event with no handler (stored, ignored, not counted), "
            f"{warm.non_2xx + warm.errors} not answered 2xx"
        )
        meter = CpuMeter(server)
        meter.start()
        worker_cpu = worker.cpu_s()
        result = webhooks.webhook_load(url, deliveries, concurrency=args.webhook_concurrency)
        load_ended_at = time.time()
        cores = meter.cores() or {}
        worker_cpu_end = worker.cpu_s()
        if cores and worker_cpu is not None and worker_cpu_end is not None:
            # The worker is not "other": it is part of the scenario. Its share is reported apart.
            worker_cores = (worker_cpu_end - worker_cpu) / max(result.seconds, 1e-9)
            cores["worker"] = round(worker_cores, 2)
            cores["other"] = round(max(cores["other"] - worker_cores, 0.0), 2)
        rss = server.peak_rss_mb()
        say(
            f"  {result.deliveries} deliveries in {result.seconds:.1f} s: {result.per_s:.0f}/s, "
            f"p50 {result.p50_ms:.0f} ms, p99 {result.p99_ms:.0f} ms; waiting for the worker ..."
        )
        drain = shell_json(
            env, WEBHOOK_DRAIN_CODE.format(load_ended_at=load_ended_at, timeout=webhooks.DRAIN_TIMEOUT_S)
        )
        if worker.process is not None and worker.process.poll() is not None:
            say(f"  the db_worker exited with {worker.process.returncode}:\n{worker.log_tail()}")
    finally:
        worker.stop()
        server.stop()
    counted = shell_json(env, WEBHOOK_COUNT_CODE)
    verdict = webhooks.transition_verdict(expected=fixture["expected"], counted=counted)
    events = fixture["expected"]["events_stored"]
    if drain.get("end_to_end_s"):
        drain["events_per_s"] = round(events / drain["end_to_end_s"], 1)
    return {
        "workers": args.workers,
        "db_workers": 1,
        "db_worker_nice": WORKER_NICE,
        "concurrency": args.webhook_concurrency,
        "deliveries": len(deliveries),
        "distinct_events": events,
        "duplicates": args.duplicates,
        "orders": fixture["orders"],
        "mix": fixture["mix"],
        "load": {
            **asdict(result),
            "services_cpu": cores.get("services"),
            "worker_cpu": cores.get("worker"),
            "other_cpu": cores.get("other"),
            # Like checkout's CPU per order: barely moved by other processes sharing the machine.
            "gunicorn_cpu_ms_per_delivery": round(cores["server_s"] * 1000 / result.deliveries, 2)
            if cores.get("server_s") is not None and result.deliveries
            else None,
        },
        "drain": drain,
        "database": counted,
        "verdict": verdict,
        "worker_peak_rss_mb": {str(pid): mb for pid, mb in rss.items()},
        "targets": webhooks.webhook_targets(result=result, verdict=verdict, drain=drain),
    }


def report_webhooks(result: dict) -> None:
    load, drain = result["load"], result["drain"]
    header = (
        f"{'webhooks':<18} {'sent':>5} {'per s':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'non-2xx':>7} "
        f"{'failed':>6} {'services':>8} {'worker':>6} {'other':>6}"
    )
    say(header)
    say("-" * len(header))
    say(
        f"{'answers':<18} {load['deliveries']:>5} {load['per_s']:>6.0f} {load['p50_ms']:>7.1f} {load['p99_ms']:>7.1f} "
        f"{load['max_ms']:>7.1f} {load['non_2xx']:>7} {load['errors']:>6} "
        f"{_cell(load['services_cpu'], '>8.2f')} {_cell(load['worker_cpu'], '>6.2f')} {_cell(load['other_cpu'], '>6.2f')}"
    )
    if load["gunicorn_cpu_ms_per_delivery"]:
        say(f"gunicorn CPU per delivery: {load['gunicorn_cpu_ms_per_delivery']:.1f} ms")
    if drain.get("drained"):
        say(
            f"processing: {result['distinct_events']} events by one db_worker, the last {drain['drain_s']} s after the "
            f"load ended; {drain['end_to_end_s']} s from the first received to the last processed "
            f"({drain.get('events_per_s', '-')} events/s end to end)"
        )
    else:
        say(f"processing: {drain.get('left')} events or tasks still outstanding after {webhooks.DRAIN_TIMEOUT_S:.0f} s")
    say(
        f"{result['deliveries']} deliveries: {result['distinct_events']} distinct events + {result['duplicates']} "
        f"exact repeats, {result['orders']} orders, mix {json.dumps(result['mix'])}"
    )
    for row in result["verdict"]["rows"]:
        mark = "ok" if row["counted"] == row["expected"] else "WRONG"
        say(f"  {row['label']:<62} {row['counted']!s:>6} expected {row['expected']:>6}  {mark}")


def report_checkout(result: dict) -> None:
    header = (
        f"{'checkout phase':<18} {'requests':>8} {'orders':>7} {'orders/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'5xx':>4} {'failed':>6} {'services':>8} {'other':>6}  refusals"
    )
    say(header)
    say("-" * len(header))
    for name, key in (("distinct products", "distinct"), ("hot product", "hot")):
        row = result[key]
        say(
            f"{name:<18} {row['requests']:>8} {row['orders']:>7} {row['orders_per_s']:>8.1f} {row['p50_ms']:>7.1f} "
            f"{row['p99_ms']:>7.1f} {row['server_errors']:>4} {row['errors']:>6} "
            f"{_cell(row['services_cpu'], '>8.2f')} {_cell(row['other_cpu'], '>6.2f')}  "
            f"{json.dumps(row['refusals']) if row['refusals'] else '-'}"
        )
    verdict, database = result["hot_verdict"], result["database"]
    say(
        f"hot product: {verdict['initial_stock']} in stock, {verdict['sold']} sold (database), {verdict['accepted']} "
        f"answered 201, {verdict['stock_left']} left: oversell {verdict['oversell']}, lost {verdict['lost']}"
    )
    say(f"orders in the database: {database['orders']}; 201 answers (warm-up included): {database['accepted']}")
    mails = result["mails"]
    say(f"mail tasks queued: {mails['tasks']} for {mails['orders']} orders (sent later by db_worker)")
    if not mails["ok"]:
        say(f"  orders without a mail task: {mails['none']}; with several: {mails['several']}")
    say("services: cores that a local PostgreSQL/Redis used; other: all other processes.")
    cost = result["distinct"]["cpu_ms_per_order"]
    if cost:
        cores = result["cpus"] or 1
        say(
            f"CPU per order (distinct products): gunicorn {cost['gunicorn']:.1f} ms, services {cost['services']:.1f} ms, "
            f"load generator {cost['load_generator']:.1f} ms; {cores} cores allow at most "
            f"{cores * 1000 / cost['total']:.0f} orders/s when CPU is the limit"
        )
    say("worker peak RSS (VmHWM): " + ", ".join(f"{mb:.0f} MB" for mb in result["worker_peak_rss_mb"].values()))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A CI timeout or Ctrl-C must still stop gunicorn: turn SIGTERM into an exception too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tool = "wrk" if args.tool == "wrk" or (args.tool == "auto" and loadgen.wrk_path()) else "python"
    if tool == "wrk" and not loadgen.wrk_path():
        raise SystemExit("--tool wrk: wrk is not installed")
    env = bench_environment()
    run_reads, run_checkout_scenario = args.only in ("all", "reads"), args.only in ("all", "checkout")
    run_webhook_scenario = args.only in ("all", "webhooks")
    run_scale_scenario = args.only in ("all", "scale")
    settings = {
        "only": args.only,
        "database": database_vendor(env["DATABASE_URL"]),
        "cache": "redis" if env.get("REDIS_URL") else "locmem (per worker)",
        "workers": args.workers,
        "threads": args.threads,
        "worker_class": "sync" if args.threads == 1 else "gthread",
        "products": args.products,
        "tool": tool,
        "connections": args.connections,
        "duration_s": args.duration,
        "warmup_requests": args.warmup,
        "rounds": args.rounds,
        "checkout_workers": args.checkout_workers,
        "buyers": args.buyers,
        "checkout_products": args.checkout_products,
        "hot_stock": args.hot_stock,
        "webhook_deliveries": args.deliveries,
        "webhook_duplicates": args.duplicates,
        "webhook_concurrency": args.webhook_concurrency,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    say("JoyCart benchmark: " + ", ".join(f"{key}={value}" for key, value in settings.items()))
    say("collectstatic, migrate ...")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    manage(env, "migrate", "--noinput", "-v", "0")

    rows: list[dict] = []
    rss: dict[int, float] = {}
    seeded: dict = {}
    if run_reads:
        say(f"seeding {args.products} products ...")
        seeded = seed(env, args.products)
        settings["products"] = seeded["products"]
        say(
            f"  {seeded['created']} created in {seeded['seconds']} s ({seeded['phase_seconds']}); "
            f"{seeded['products']} visible with {seeded['variants']} variants over {seeded['stores']} bench stores"
        )
        search = args.search or seeded["search"]
        search_terms = [args.search] if args.search else seeded["search_terms"] or [search]
        shopper_cookie = seeded.pop("shopper_cookie")
        # Both at once, so each round loads the ceiling right before /ping; the idle one sleeps.
        servers = {
            app: Gunicorn(env, workers=args.workers, threads=args.threads, app=app) for app in (BARE_APP, JOYCART_APP)
        }
        try:
            for app, server in servers.items():
                server.start()
                say(f"gunicorn {app} on {server.base_url}, workers {server.worker_pids()}")
            shopper_cookie = shopper_cookie_check(servers[JOYCART_APP], shopper_cookie)
            to_load = endpoints(slug=seeded["slug"], search=search, search_terms=search_terms)
            rows = run_endpoints(servers, to_load, args, tool, shopper_cookie=shopper_cookie)
            rss = servers[JOYCART_APP].peak_rss_mb()
        finally:
            for server in servers.values():
                server.stop()
    checkout_result = run_checkout(env, args) if run_checkout_scenario else None
    webhook_result = run_webhooks(env, args) if run_webhook_scenario else None
    bench = sys.modules[__name__]
    mixed_result = mixed_run.run(env, args, bench=bench, rows=rows) if args.only in ("all", "mixed") else None
    scale_result = scale.run_scale(env, args, sys.modules[__name__]) if run_scale_scenario else None

    targets: list[dict] = []
    disturbed: list[str] = []
    references = ratios_add(rows)
    if run_reads:
        say()
        report(rows)
        say()
        say("worker peak RSS (VmHWM): " + ", ".join(f"pid {pid}: {mb:.0f} MB" for pid, mb in rss.items()))
        targets += check_targets(rows, rss)
        disturbed += [row["name"] for row in rows if (row.get("other_cpu") or 0) > DISTURBED_CORES]
    if checkout_result and "skipped" not in checkout_result:
        say()
        report_checkout(checkout_result)
        targets += checkout_result["targets"]
        disturbed += [
            f"checkout, {phase}"
            for phase in ("distinct", "hot")
            if (checkout_result[phase]["other_cpu"] or 0) > DISTURBED_CORES
        ]
    if webhook_result and "skipped" not in webhook_result:
        say()
        report_webhooks(webhook_result)
        targets += webhook_result["targets"]
        if (webhook_result["load"]["other_cpu"] or 0) > DISTURBED_CORES:
            disturbed.append("webhooks")
    if scale_result and "skipped" not in scale_result:
        say()
        scale.report_scale(scale_result, say)
        targets += scale_result["targets"]
        disturbed += scale.disturbed(scale_result, above=DISTURBED_CORES)
    if mixed_result and "skipped" not in mixed_result:
        say()
        targets += mixed_run.report(mixed_result, bench=bench)
        if (mixed_result["other_cpu"] or 0) > DISTURBED_CORES:
            disturbed.append("mixed")
    say()
    for target in targets:
        if target.get("info"):
            met = "met" if target["ok"] else "not met"
            say(f"  info  {target['target']}, the old target  (actual: {target['actual']}, {met})")
        else:
            say(f"  {'PASS' if target['ok'] else 'MISS'}  {target['target']}  (actual: {target['actual']})")
    if checkout_result and "skipped" in checkout_result:
        say(f"  SKIP  checkout scenario: {checkout_result['skipped']}")
    if webhook_result and "skipped" in webhook_result:
        say(f"  SKIP  webhook scenario: {webhook_result['skipped']}")
    if scale_result and "skipped" in scale_result:
        say(f"  SKIP  scale scenario: {scale_result['skipped']}")
    if mixed_result and "skipped" in mixed_result:
        say(f"  SKIP  mixed scenario: {mixed_result['skipped']}")
    if disturbed:
        say(f"\nWARNING: other processes were busy during {', '.join(disturbed)}; rerun on a quiet machine.")
    results = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": settings,
        "seed": seeded,
        **references,
        "endpoints": rows,
        "worker_peak_rss_mb": {str(pid): mb for pid, mb in rss.items()},
        "checkout": checkout_result,
        "webhooks": webhook_result,
        "scale": scale_result,
        "mixed": mixed_result,
        "targets": targets,
        "disturbed": disturbed,
    }
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    say(f"\nresults: {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
