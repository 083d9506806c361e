"""Load generators for the benchmark: `wrk` when it is installed, else a small Python one.

Both return the same `LoadResult`. The Python generator is only a fallback for machines
without wrk (CI): it shares the CPU and the GIL with itself, so its ceiling is lower. Compare
ratios between endpoints, not absolute numbers between the two tools.

Both can also make every request a new path (`UncachedPaths`, and bench/uncached.lua for
wrk), to measure what a response cache would otherwise hide.

Standard library only, so `bench/run.py` can use it without importing Django.
"""

import http.client
import itertools
import re
import secrets
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

UNCACHED_LUA = Path(__file__).resolve().with_name("uncached.lua")
# The page cache keys only on the parameters a view reads, so a made-up one no longer makes a
# path new. A price ceiling far above every price (MAX_PRICE is below 10^8) filters nothing out,
# yet each distinct value is a distinct cache key: `max_price=1<nonce, 8 digits>.<unique digits>`.
CACHE_BUSTER = "max_price"


@dataclass(frozen=True)
class LoadResult:
    tool: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int  # answered, with a status outside 200-299
    errors: int  # no answer: connect, read, write errors and timeouts
    statuses: dict[int, int] = field(default_factory=dict)


def timed_request(conn: http.client.HTTPConnection, method: str, path: str, *, headers: dict, body=None):
    """One request on a keep-alive connection: (seconds, status), or None if it failed (the
    connection is then closed; the next request reopens it)."""
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
    except (OSError, http.client.HTTPException):
        conn.close()
        return None
    if response.will_close:
        conn.close()
    return time.perf_counter() - started, response.status


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); 0.0 for no values."""
    if not sorted_values:
        return 0.0
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must be within 0..1")
    position = (len(sorted_values) - 1) * fraction
    lower = int(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (position - lower)


@dataclass(frozen=True)
class UncachedPaths:
    """Request number n -> a path never requested before: `paths` in turn, plus a unique price ceiling.

    The ceiling (CACHE_BUSTER) is above every price, so the page lists what it would without
    it, but its value is new on every request, so every request misses the page cache.
    `paths` must be URL-encoded already. The nonce tells runs (and rounds, and warm-ups)
    apart, so one never requests another's paths. bench/uncached.lua does the same for wrk.
    """

    paths: tuple[str, ...]
    nonce: str = field(default_factory=lambda: str(secrets.randbelow(10**8)))

    def __post_init__(self) -> None:
        if not self.paths or not all(path.startswith("/") for path in self.paths):
            raise ValueError("give at least one path, each starting with /")
        if not self.nonce.isdigit() or len(self.nonce) > 8:
            raise ValueError("the nonce must be at most 8 digits")

    @property
    def ceiling(self) -> str:
        """The integer part every ceiling of this run shares: 10^8 or more, above any price."""
        return f"1{self.nonce:0>8}"

    def __call__(self, number: int) -> str:
        path = self.paths[number % len(self.paths)]
        separator = "&" if "?" in path else "?"
        return f"{path}{separator}{CACHE_BUSTER}={self.ceiling}.{number}"

    def wrk_args(self) -> list[str]:
        """The arguments bench/uncached.lua reads after wrk's `--`."""
        return [self.ceiling, *self.paths]


def threads_run(threads: Sequence[threading.Thread]) -> float:
    """Start every thread, wait for all of them, and return the seconds that took."""
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def summarize(*, latencies: list[float], statuses: list[int], errors: int, seconds: float) -> LoadResult:
    """`latencies` in seconds, one per answered request, in the same order as `statuses`."""
    ordered = sorted(latencies)
    answered = len(statuses)
    return LoadResult(
        tool="python",
        requests=answered,
        seconds=seconds,
        rps=answered / seconds if seconds > 0 else 0.0,
        p50_ms=percentile(ordered, 0.50) * 1000,
        p99_ms=percentile(ordered, 0.99) * 1000,
        non_2xx=sum(1 for status in statuses if not 200 <= status < 300),
        errors=errors,
        statuses=dict(sorted(Counter(statuses).items())),
    )


class _Budget:
    """Shared stop rule: a deadline, a request count, or both."""

    def __init__(self, *, seconds: float | None, requests: int | None) -> None:
        if seconds is None and requests is None:
            raise ValueError("give a duration, a request count, or both")
        self.deadline = None if seconds is None else time.perf_counter() + seconds
        self.left = requests
        self.lock = threading.Lock()

    def take(self) -> bool:
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            return False
        if self.left is None:
            return True
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


def _path_source(paths: Callable[[int], str] | Sequence[str] | str) -> Callable[[int], str]:
    """Request number -> path, from one path, a list of paths (in turn) or a callable."""
    if callable(paths):
        return paths
    listed = [paths] if isinstance(paths, str) else list(paths)
    if not listed:
        raise ValueError("paths: a callable or a non-empty list of paths")
    return lambda number: listed[number % len(listed)]


def python_load(
    url: str,
    *,
    connections: int,
    seconds: float | None = None,
    requests: int | None = None,
    timeout: float = 10.0,
    headers: dict[str, str] | None = None,
    paths: Callable[[int], str] | Sequence[str] | None = None,
) -> LoadResult:
    """GET `url` from `connections` threads, each with its own keep-alive connection.

    Stops at the deadline or after `requests` in total. A request in flight at the deadline is
    finished and counted. A server that closes the connection (gunicorn's sync workers do, after
    every response) is simply reconnected to, as a browser would.

    `paths`, when given, replaces the path of `url`: request number n (counted from 0 over all
    connections) asks for `paths(n)`, or for a list's paths in turn.
    """
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ValueError("only plain http on loopback is supported")
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    path_for = _path_source(target if paths is None else paths)
    numbers = itertools.count()
    numbers_lock = threading.Lock()
    budget = _Budget(seconds=seconds, requests=requests)
    send_headers = {"User-Agent": "joycart-bench", **(headers or {})}
    results: list[tuple[list[float], list[int], int]] = []
    results_lock = threading.Lock()

    def worker() -> None:
        latencies: list[float] = []
        statuses: list[int] = []
        errors = 0
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
        try:
            while budget.take():
                with numbers_lock:
                    number = next(numbers)
                answer = timed_request(conn, "GET", path_for(number), headers=send_headers)
                if answer is None:
                    errors += 1
                    continue
                latencies.append(answer[0])
                statuses.append(answer[1])
        finally:
            conn.close()
            with results_lock:
                results.append((latencies, statuses, errors))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    elapsed = threads_run(threads)
    return summarize(
        latencies=[value for latencies, _, _ in results for value in latencies],
        statuses=[value for _, statuses, _ in results for value in statuses],
        errors=sum(errors for _, _, errors in results),
        seconds=elapsed,
    )


# --- wrk ------------------------------------------------------------------------------

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_DURATION = r"([\d.]+)(us|ms|s|m|h)"


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def parse_wrk_output(text: str) -> LoadResult:
    """Read `wrk --latency` output. wrk counts 3xx as success; run.py's warm-up catches redirects."""
    total = re.search(r"(\d+) requests in " + _DURATION, text)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p50 = re.search(r"^\s*50(?:\.0+)?%\s+" + _DURATION, text, re.MULTILINE)
    p99 = re.search(r"^\s*99(?:\.0+)?%\s+" + _DURATION, text, re.MULTILINE)
    if not (total and rps and p50 and p99):
        raise ValueError(f"not wrk --latency output:\n{text}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return LoadResult(
        tool="wrk",
        requests=int(total.group(1)),
        seconds=_ms(total.group(2), total.group(3)) / 1000,
        rps=float(rps.group(1)),
        p50_ms=_ms(p50.group(1), p50.group(2)),
        p99_ms=_ms(p99.group(1), p99.group(2)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=sum(int(count) for count in socket_errors.groups()) if socket_errors else 0,
    )


def wrk_path() -> str | None:
    return shutil.which("wrk")


def wrk_load(
    url: str,
    *,
    connections: int,
    seconds: float,
    threads: int = 2,
    paths: UncachedPaths | None = None,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """`paths`: request those (bench/uncached.lua) rather than `url`'s path; `url` gives the server.
    `headers` go with every request (a logged-in row's Cookie)."""
    wrk = wrk_path()
    if wrk is None:
        raise FileNotFoundError("wrk is not installed")
    script = [] if paths is None else ["--script", str(UNCACHED_LUA)]
    script_args = [] if paths is None else ["--", *paths.wrk_args()]
    header_args = [arg for name, value in (headers or {}).items() for arg in ("-H", f"{name}: {value}")]
    command = [
        wrk,
        f"-t{max(1, min(threads, connections))}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
        *header_args,
        *script,
        url,
        *script_args,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)  # noqa: S603
    return parse_wrk_output(completed.stdout)
