"""The webhook scenario of `make bench`: signed Razorpay deliveries, a quarter repeated.

bench/run.py seeds online orders awaiting payment through the real checkout (bench/seed.py,
`bench_webhook_seed`, with an in-process sandbox gateway that signs the events with the
webhook secret the bench server uses), then sends every delivery at a fixed concurrency to a
gunicorn with production settings while one `manage.py db_worker` processes the queue beside
it. The endpoint only verifies, stores and queues, so what is timed is the answer; the worker's
pace is the drain, measured afterwards from the database (`bench_webhook_drain`).

The mix (`webhook_mix`): of the orders, per five, two get `payment.captured` alone, one gets
both `payment.captured` and `order.paid` for the same payment (two events, one transition),
one `order.paid` alone, and one `payment.failed` (a failure recorded, the order still awaits
payment). Then exact copies of randomly chosen events (same id, same bytes) are added and
everything is shuffled (`deliveries_build`). `transition_verdict` compares the database with
what the mix must produce: each placed order's items moved once, each failure recorded once,
every distinct event stored once, none FAILED or still PENDING.

Standard library only, like loadgen.py: bench/run.py uses it without importing Django.
"""

import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

try:  # run by bench/run.py, whose directory is on sys.path
    from loadgen import percentile
except ModuleNotFoundError:  # imported as bench.webhooks (the tests and bench/seed.py)
    from bench.loadgen import percentile

WEBHOOK_PATH = "/api/v1/payments/razorpay/webhook/"
DELIVERIES = 1000
DUPLICATES = 250  # a quarter of the deliveries repeat an event already in the list
CONCURRENCY = 16
# Sent before the timed load, as the read and checkout scenarios warm up: each gunicorn worker
# connects to PostgreSQL and imports what a delivery needs, which the first requests of a
# fresh gunicorn would otherwise wait for (seen here: 150-400 ms, enough to be the p99 alone).
WARMUP_DELIVERIES = 200
# Targets: no error, p99 under 100 ms, and exactly the right transitions.
MAX_P99_MS = 100.0
DRAIN_TIMEOUT_S = 180.0  # the worker must have processed every event by then

CAPTURED, PAIR, PAID, FAILED = "captured", "captured+paid", "paid", "failed"
# The events each kind of order gets from the gateway, and how many orders per round of five.
KIND_EVENTS = {
    CAPTURED: ("payment.captured",),
    PAIR: ("payment.captured", "order.paid"),
    PAID: ("order.paid",),
    FAILED: ("payment.failed",),
}
KIND_SHARES = {CAPTURED: 2, PAIR: 1, PAID: 1, FAILED: 1}
PLACING_KINDS = frozenset({CAPTURED, PAIR, PAID})


def webhook_mix(distinct_events: int) -> dict[str, int]:
    """How many orders of each kind make exactly `distinct_events` distinct events.

    Whole rounds of the five-order mix (six events a round); what is left over is made of
    `payment.captured` orders (one event each), so the total is exact.
    """
    if distinct_events < 1:
        raise ValueError("distinct_events must be positive")
    per_round = sum(share * len(KIND_EVENTS[kind]) for kind, share in KIND_SHARES.items())
    rounds, left = divmod(distinct_events, per_round)
    mix = {kind: share * rounds for kind, share in KIND_SHARES.items()}
    mix[CAPTURED] += left
    return mix


def mix_events(mix: dict[str, int]) -> int:
    return sum(count * len(KIND_EVENTS[kind]) for kind, count in mix.items())


def deliveries_build(events: Sequence[dict], *, duplicates: int, seed: int = 5) -> list[dict]:
    """Every event once, plus `duplicates` exact copies of events drawn at random, shuffled.

    An event is {"id", "name", "body", "signature"}; a copy is the same dict (same id, same
    bytes, same signature), as when the gateway delivers an event again. More copies than
    events draw some events more than once.
    """
    if duplicates < 0:
        raise ValueError("duplicates cannot be negative")
    rng = random.Random(seed)  # noqa: S311 - a reproducible mix, not a secret
    copies = [rng.choice(events) for _ in range(duplicates)] if events else []
    deliveries = [*events, *copies]
    rng.shuffle(deliveries)
    return deliveries


@dataclass(frozen=True)
class WebhookResult:
    deliveries: int  # answered
    seconds: float
    per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    errors: int  # no answer: connect, read and write errors, timeouts
    statuses: dict[int, int] = field(default_factory=dict)


def summarize_webhooks(latencies: Sequence[float], statuses: Sequence[int], *, errors: int, seconds: float):
    ordered = sorted(latencies)
    return WebhookResult(
        deliveries=len(ordered),
        seconds=seconds,
        per_s=len(ordered) / seconds if seconds > 0 else 0.0,
        p50_ms=percentile(ordered, 0.50) * 1000,
        p99_ms=percentile(ordered, 0.99) * 1000,
        max_ms=(ordered[-1] * 1000) if ordered else 0.0,
        non_2xx=sum(1 for status in statuses if not 200 <= status < 300),
        errors=errors,
        statuses=dict(sorted(Counter(statuses).items())),
    )


def delivery_request(delivery: dict, *, host: str, path: str) -> bytes:
    """The HTTP/1.1 request Razorpay would send for a delivery, asking the server to close after its answer."""
    body = delivery["body"].encode()
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Razorpay-Signature: {delivery['signature']}\r\n"
        f"X-Razorpay-Event-Id: {delivery['id']}\r\n"
        "User-Agent: Razorpay-Webhook/v1 (joycart-bench)\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def timed_exchange(address: tuple[str, int], request: bytes, *, timeout: float) -> tuple[float, int] | None:
    """Connect, send, read the answer to its end (the server closes): (seconds, status), or None if it failed.

    Sockets and one split of the status line, not http.client: its header parsing costs the load
    generator, which shares the 2 cores with the server, several times what this does.
    """
    started = time.perf_counter()
    chunks = []
    try:
        with socket.create_connection(address, timeout=timeout) as sock:
            sock.sendall(request)
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except OSError:
        return None
    elapsed = time.perf_counter() - started
    status_line = b"".join(chunks).split(b"\r\n", 1)[0].split(b" ", 2)
    if len(status_line) < 2 or not status_line[1].isdigit():
        return None
    return elapsed, int(status_line[1])


def webhook_load(
    url: str, deliveries: Sequence[dict], *, concurrency: int = CONCURRENCY, timeout: float = 30.0
) -> WebhookResult:
    """Send every delivery once, in order, from `concurrency` threads, a connection each; time each answer.

    A connection per delivery, as Razorpay delivers and as gunicorn's sync workers answer (they
    close after each response).
    """
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ValueError("only plain http on loopback is supported")
    address = (parts.hostname, parts.port or 80)
    host = f"{parts.hostname}:{parts.port or 80}"
    next_index = iter(range(len(deliveries)))
    index_lock = threading.Lock()
    latencies: list[float] = []
    statuses: list[int] = []
    errors = 0
    results_lock = threading.Lock()

    def worker() -> None:
        nonlocal errors
        mine: list[tuple[float, int]] = []
        failed = 0
        while True:
            with index_lock:
                index = next(next_index, None)
            if index is None:
                break
            request = delivery_request(deliveries[index], host=host, path=parts.path or WEBHOOK_PATH)
            answer = timed_exchange(address, request, timeout=timeout)
            if answer is None:
                failed += 1
                continue
            mine.append(answer)
        with results_lock:
            latencies.extend(latency for latency, _ in mine)
            statuses.extend(status for _, status in mine)
            errors += failed

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return summarize_webhooks(latencies, statuses, errors=errors, seconds=time.perf_counter() - started)


# What bench/seed.py's `bench_webhook_count` reports, compared with what the mix must produce.
CHECKED = (
    ("orders_placed", "orders placed"),
    ("items_placed", "items moved to PLACED (one event each)"),
    ("placements", "PENDING_PAYMENT → PLACED timeline events"),
    ("orders_still_awaiting", "orders still awaiting payment"),
    ("failures_recorded", "failed attempts recorded"),
    ("events_stored", "webhook events stored (distinct ids)"),
    ("events_processed", "webhook events PROCESSED"),
    ("events_ignored", "webhook events IGNORED (the second of a captured+paid pair)"),
    ("events_failed", "webhook events FAILED"),
    ("events_pending", "webhook events still PENDING"),
    ("flagged", "captures flagged for staff"),
)


def expected_counts(*, mix: dict[str, int], items_placing: int) -> dict[str, int]:
    """What the database must hold once every delivery was processed. `items_placing` is the number
    of items of the orders whose kind places them (bench/seed.py knows it)."""
    placing = sum(count for kind, count in mix.items() if kind in PLACING_KINDS)
    return {
        "orders_placed": placing,
        "items_placed": items_placing,
        "placements": items_placing,
        "orders_still_awaiting": mix.get(FAILED, 0),
        "failures_recorded": mix.get(FAILED, 0),
        "events_stored": mix_events(mix),
        "events_processed": mix_events(mix) - mix.get(PAIR, 0),
        "events_ignored": mix.get(PAIR, 0),
        "events_failed": 0,
        "events_pending": 0,
        "flagged": 0,
    }


def transition_verdict(*, expected: dict[str, int], counted: dict[str, int]) -> dict:
    """Each count against its expectation; `ok` only when every one is exactly right."""
    rows = [
        {"name": name, "label": label, "expected": expected[name], "counted": counted.get(name)}
        for name, label in CHECKED
    ]
    wrong = [row["name"] for row in rows if row["counted"] != row["expected"]]
    return {"rows": rows, "wrong": wrong, "ok": not wrong}


def webhook_targets(*, result: WebhookResult, verdict: dict, drain: dict) -> list[dict]:
    """PASS/MISS lines in run.py's format: {"target", "ok", "actual"}."""
    failed = result.non_2xx + result.errors
    wrong = ", ".join(
        f"{row['name']} {row['counted']} (expected {row['expected']})"
        for row in verdict["rows"]
        if row["name"] in verdict["wrong"]
    )
    return [
        {
            "target": "webhooks, every delivery answered 2xx",
            "ok": failed == 0 and result.deliveries > 0,
            "actual": f"{result.non_2xx} non-2xx, {result.errors} failed of {result.deliveries + result.errors}",
        },
        {
            "target": f"webhooks, p99 < {MAX_P99_MS:.0f} ms at concurrency {CONCURRENCY}",
            "ok": result.deliveries > 0 and result.p99_ms < MAX_P99_MS,
            "actual": f"{result.p99_ms:.0f} ms",
        },
        {
            "target": f"webhooks, the worker processed every event within {DRAIN_TIMEOUT_S:.0f} s",
            "ok": bool(drain.get("drained")),
            "actual": f"drained {drain.get('drain_s', '-')} s after the load"
            if drain.get("drained")
            else f"{drain.get('left', '?')} left after {DRAIN_TIMEOUT_S:.0f} s",
        },
        {
            "target": "webhooks, exactly the right transitions, failures and stored events",
            "ok": verdict["ok"],
            "actual": "all exact" if verdict["ok"] else wrong,
        },
    ]
