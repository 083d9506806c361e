"""The checkout scenario of `make bench`: concurrent buyers placing COD "Buy now" orders.

Two phases against one gunicorn (bench/run.py starts it and seeds the fixture):
- distinct products: every request buys a different product (round robin over many), so
  checkouts contend for nothing but the server and the database; it runs for a duration;
- one hot product: every buyer buys the same product until it sells out. Each buyer stops at
  its first `out_of_stock`; the database then says how many were sold (`hot_verdict`).

Order e-mails are not part of the request: checkout queues one "order placed" task per order
in its transaction, and `manage.py db_worker` (not run by the bench) sends the mail later. The
database says how many each order queued (`mail_verdict`).

Each buyer is one thread with its own connection and bearer token (no cookies, so no CSRF),
and every request has an Idempotency-Key of its own, so none is a replay.

Standard library only, like loadgen.py: bench/run.py uses it without importing Django.
"""

import http.client
import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

try:  # run by bench/run.py, whose directory is on sys.path
    from loadgen import percentile, threads_run
except ModuleNotFoundError:  # imported as bench.checkout (the tests)
    from bench.loadgen import percentile, threads_run

CHECKOUT_PATH = "/api/v1/checkout/"
OUT_OF_STOCK = "out_of_stock"
# Targets for the distinct-products phase; the hot product must not oversell.
MIN_ORDERS_PER_SECOND = 100.0
MAX_P99_MS = 300.0


@dataclass(frozen=True)
class Buyer:
    token: str  # a JWT access token
    address_id: int  # one of the buyer's addresses


@dataclass(frozen=True)
class Answer:
    """One answered request: its latency in seconds, its status, and a refusal's error code."""

    latency: float
    status: int
    code: str = ""


@dataclass(frozen=True)
class CheckoutResult:
    requests: int  # answered
    seconds: float
    orders: int  # 201 Created
    orders_per_s: float
    p50_ms: float
    p99_ms: float
    refusals: dict[str, int]  # 4xx answers, by error code
    server_errors: int  # 5xx answers
    errors: int  # no answer: connect, read and write errors, timeouts
    statuses: dict[int, int] = field(default_factory=dict)


def error_code(status: int, body: bytes) -> str:
    """The stable code of an error answer (`{"detail": ..., "code": ...}`), else `http_<status>`.

    Field errors (`{"field": ["..."]}`) have no single code: they are `invalid_input`.
    """
    try:
        payload = json.loads(body)
    except ValueError:
        return f"http_{status}"
    if isinstance(payload, dict):
        code = payload.get("code")
        if isinstance(code, str) and code:
            return code
        if payload and "detail" not in payload:
            return "invalid_input"
    return f"http_{status}"


def summarize_checkout(answers: Sequence[Answer], *, errors: int, seconds: float) -> CheckoutResult:
    """Latency percentiles are over every answer: a quick refusal counts as much as an order."""
    latencies = sorted(answer.latency for answer in answers)
    orders = sum(1 for answer in answers if answer.status == 201)
    return CheckoutResult(
        requests=len(answers),
        seconds=seconds,
        orders=orders,
        orders_per_s=orders / seconds if seconds > 0 else 0.0,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        refusals=dict(sorted(Counter(answer.code for answer in answers if 400 <= answer.status < 500).items())),
        server_errors=sum(1 for answer in answers if answer.status >= 500),
        errors=errors,
        statuses=dict(sorted(Counter(answer.status for answer in answers).items())),
    )


def buy_now_body(product_id: int, buyer: Buyer) -> dict:
    """One unit of a product, Cash on Delivery, to the buyer's address: what every request asks."""
    return {
        "source": "buy_now",
        "product_id": product_id,
        "quantity": 1,
        "address_id": buyer.address_id,
        "payment_method": "COD",
    }


def checkout_load(
    url: str,
    *,
    buyers: Sequence[Buyer],
    product_ids: Sequence[int],
    key_prefix: str,
    seconds: float,
    until_sold_out: bool = False,
    timeout: float = 30.0,
) -> CheckoutResult:
    """One thread per buyer, each POSTing "Buy now" for one unit in a loop.

    Request number n (counted over all buyers) buys `product_ids[n % len(product_ids)]` with
    the key `<key_prefix>-<n>`. The load stops at the deadline; with `until_sold_out`, each
    buyer also stops at its first `out_of_stock`, and the deadline is only a safety net.
    """
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ValueError("only plain http on loopback is supported")
    if not buyers or not product_ids:
        raise ValueError("give at least one buyer and one product")
    numbers = itertools.count()
    numbers_lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    results: list[tuple[list[Answer], int]] = []
    results_lock = threading.Lock()

    def worker(buyer: Buyer) -> None:
        answers: list[Answer] = []
        errors = 0
        headers = {
            "Authorization": f"Bearer {buyer.token}",
            "Content-Type": "application/json",
            "User-Agent": "joycart-bench",
        }
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
        try:
            while time.perf_counter() < deadline:
                with numbers_lock:
                    number = next(numbers)
                body = json.dumps(buy_now_body(product_ids[number % len(product_ids)], buyer))
                started = time.perf_counter()
                try:
                    conn.request(
                        "POST",
                        CHECKOUT_PATH,
                        body=body,
                        headers={**headers, "Idempotency-Key": f"{key_prefix}-{number}"},
                    )
                    response = conn.getresponse()
                    content = response.read()
                except (OSError, http.client.HTTPException):
                    errors += 1
                    conn.close()
                    continue
                latency = time.perf_counter() - started
                code = "" if response.status < 400 else error_code(response.status, content)
                answers.append(Answer(latency, response.status, code))
                if response.will_close:
                    conn.close()
                if until_sold_out and code == OUT_OF_STOCK:
                    break
        finally:
            conn.close()
            with results_lock:
                results.append((answers, errors))

    threads = [threading.Thread(target=worker, args=(buyer,), daemon=True) for buyer in buyers]
    elapsed = threads_run(threads)
    return summarize_checkout(
        [answer for answers, _ in results for answer in answers],
        errors=sum(errors for _, errors in results),
        seconds=elapsed,
    )


def cpu_ms_per_order(cpu_seconds: dict, *, orders: int) -> dict[str, float] | None:
    """CPU milliseconds each order cost gunicorn, a local PostgreSQL/Redis and the load generator.

    Unlike orders/s, this barely moves when other processes share the machine (they take
    cores, not work), so it tells a busy machine apart from a slower checkout. The cores'
    milliseconds per second divided by the total is the rate CPU allows.
    """
    if not orders or "server_s" not in cpu_seconds:
        return None
    parts = {
        "gunicorn": cpu_seconds["server_s"],
        "services": cpu_seconds["services_s"],
        "load_generator": cpu_seconds["client_s"],
    }
    per_order = {name: round(seconds * 1000 / orders, 2) for name, seconds in parts.items()}
    per_order["total"] = round(sum(per_order.values()), 2)
    return per_order


def hot_verdict(*, initial_stock: int, accepted: int, sold: int, stock_left: int) -> dict:
    """The hot product's books after the rush, from the database (`sold`, `stock_left`) and the client.

    - oversell: units sold beyond the stock there was (must be 0);
    - lost: stock that left the shelf without an order (must be 0);
    - sold_out: nothing left, so every buyer's last answer was a fair `out_of_stock`;
    - agrees: every 201 the buyers saw is a unit in the database, and no more.
    """
    oversell = sold - initial_stock
    lost = initial_stock - sold - stock_left
    sold_out = stock_left == 0
    agrees = accepted == sold
    return {
        "initial_stock": initial_stock,
        "accepted": accepted,
        "sold": sold,
        "stock_left": stock_left,
        "oversell": oversell,
        "lost": lost,
        "sold_out": sold_out,
        "agrees": agrees,
        "ok": oversell == 0 and lost == 0 and sold_out and agrees,
    }


def mail_verdict(*, orders: int, tasks_per_order: dict) -> dict:
    """Whether every bench order queued exactly one "order placed" mail task, from the database.

    `orders` is the bench orders in the database; `tasks_per_order` is {tasks: orders} as
    bench/seed.py counts it (keys may be JSON's strings), orders that queued none under 0.
    """
    counts = {int(tasks): int(count) for tasks, count in tasks_per_order.items() if count}
    counted = sum(counts.values())
    exactly_one = counts.get(1, 0)
    several = sum(count for tasks, count in counts.items() if tasks > 1)
    return {
        "orders": orders,
        "tasks": sum(tasks * count for tasks, count in counts.items()),
        "exactly_one": exactly_one,
        # Orders the per-order counts do not cover queued nothing either.
        "none": counts.get(0, 0) + max(orders - counted, 0),
        "several": several,
        "ok": counted == orders and exactly_one == orders,
    }


def checkout_targets(
    *, distinct: CheckoutResult, hot: CheckoutResult, verdict: dict, orders_match: bool, mails: dict
) -> list[dict]:
    """PASS/MISS lines in run.py's format: {"target", "ok", "actual"}. `mails` is a `mail_verdict`."""
    failed = distinct.server_errors + distinct.errors + hot.server_errors + hot.errors
    return [
        {
            "target": f"checkout, distinct products ≥ {MIN_ORDERS_PER_SECOND:.0f} orders/s",
            "ok": distinct.orders_per_s >= MIN_ORDERS_PER_SECOND,
            "actual": f"{distinct.orders_per_s:.0f} orders/s",
        },
        {
            "target": f"checkout, distinct products p99 < {MAX_P99_MS:.0f} ms",
            "ok": distinct.requests > 0 and distinct.p99_ms < MAX_P99_MS,
            "actual": f"{distinct.p99_ms:.0f} ms",
        },
        {
            "target": "checkout, no 5xx and no failed requests (both phases)",
            "ok": failed == 0,
            "actual": f"{distinct.server_errors + hot.server_errors} 5xx, {distinct.errors + hot.errors} failed",
        },
        {
            "target": "checkout, hot product: zero oversell, sold out exactly",
            "ok": verdict["ok"],
            "actual": (
                f"sold {verdict['sold']} of {verdict['initial_stock']}, oversell {verdict['oversell']}, "
                f"left {verdict['stock_left']}, lost {verdict['lost']}, 201s {verdict['accepted']}"
            ),
        },
        {
            "target": "checkout, every 201 is one order in the database",
            "ok": orders_match,
            "actual": "yes" if orders_match else "no",
        },
        {
            "target": "checkout, every order queued exactly one mail task",
            "ok": mails["ok"],
            "actual": (
                f"{mails['tasks']} tasks for {mails['orders']} orders; "
                f"{mails['none']} orders without one, {mails['several']} with several"
            ),
        },
    ]
