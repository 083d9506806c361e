"""The production layout, run for real: the release step, gunicorn with two workers, one db_worker and
the sandbox gateway, as separate processes with DEBUG off, on a PostgreSQL database and a Redis
database of their own. A buyer pays online and cancels an item over HTTP; the signed webhooks, the
worker and the refund have to meet as they would in production.

The commands are the Procfile's when it declares them (`release`, `web`, `worker`; PORT and
WEB_CONCURRENCY in the environment, as a platform sets them), so the test runs what a deploy runs.
Without a Procfile the web command uses gunicorn.conf.py when there is one, else plain options.
"""

import contextlib
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PROCFILE = ROOT / "Procfile"
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
WEBHOOK_PATH = "/api/v1/payments/razorpay/webhook/"
# Start-up on a busy 2-core machine, and each wait of the flow (a worker polls its queue every second).
BOOT_TIMEOUT_S = 40.0
FLOW_TIMEOUT_S = 30.0
# Variables from the caller's environment that would change what is started.
NOT_INHERITED = (
    "DJANGO_",
    "DATABASE_URL",
    "REDIS_URL",
    "RAZORPAY_",
    "PAYMENTS_SANDBOX",
    "SANDBOX_",
    "JOYCART_",
    "EMAIL_URL",
    "CLOUDINARY_URL",
    "READYZ_",
    "PORT",
    "WEB_CONCURRENCY",
)
PASSWORD = "Smoke-test-passw0rd!"

SEED_SELLER = """
import json, sys
from decimal import Decimal
from accounts.services.stores import store_create
from accounts.services.users import user_register
from catalog.models import Category
from catalog.services.products import product_create
seller = user_register(username="smoke-seller", email="seller@smoke.example", password="Seller-passw0rd!")
store = store_create(user=seller, name="Smoke Store")
category = Category.objects.create(name="Smoke", slug="smoke")
ids = [
    product_create(
        store=store, title=f"Smoke product {n}", category=category, sku=f"SMOKE-{n}", price=Decimal("499.00"), stock=5
    ).pk
    for n in (1, 2)
]
sys.stdout.write(json.dumps(ids) + "\\n")
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def procfile_commands() -> dict[str, str]:
    if not PROCFILE.exists():
        return {}
    commands = {}
    for line in PROCFILE.read_text().splitlines():
        name, separator, command = line.partition(":")
        if separator and name.strip() and not name.lstrip().startswith("#"):
            commands[name.strip()] = command.strip()
    return commands


def commands() -> dict[str, str]:
    """Shell commands, as a platform runs a Procfile's, with $PORT and $WEB_CONCURRENCY from the environment."""
    if GUNICORN_CONF.exists():
        web = "gunicorn joycart.wsgi:application -c gunicorn.conf.py"
    else:
        # No control socket: the two gunicorns this test starts would share ~/.gunicorn/gunicorn.ctl.
        web = "gunicorn joycart.wsgi:application -w $WEB_CONCURRENCY -b 127.0.0.1:$PORT --no-control-socket"
    defaults = {"release": "python manage.py migrate --noinput", "web": web, "worker": "python manage.py db_worker"}
    return {**defaults, **procfile_commands()}


class Process:
    """A command in its own process group, so stopping it can never miss a child (gunicorn's workers)."""

    def __init__(self, name: str, command: str, env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.stdout_path = logs / f"{name}.out"
        self.stderr_path = logs / f"{name}.err"
        with self.stdout_path.open("wb") as stdout, self.stderr_path.open("wb") as stderr:
            self.popen = subprocess.Popen(  # noqa: S603 - the Procfile's command or our own, as a deploy runs it
                ["/bin/sh", "-c", command],
                cwd=ROOT,
                env=env,
                stdout=stdout,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def running(self) -> bool:
        return self.popen.poll() is None

    def stdout_lines(self) -> list[str]:
        return [line for line in self.stdout_path.read_text(errors="replace").splitlines() if line.strip()]

    def tail(self, lines: int = 25) -> str:
        out = self.stdout_path.read_text(errors="replace").splitlines()[-lines:]
        err = self.stderr_path.read_text(errors="replace").splitlines()[-lines:]
        return (
            f"--- {self.name} (exit {self.popen.poll()}) stdout:\n"
            + "\n".join(out)
            + "\n--- stderr:\n"
            + "\n".join(err)
        )

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def stop(self) -> None:
        """SIGTERM to the whole group (graceful), SIGKILL to whatever is left after a few seconds."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=8)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)


class Stack:
    """Everything the test started, so that one finalizer stops it whatever happened."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.processes: list[Process] = []

    def start(self, name: str, command: str, env: dict[str, str]) -> Process:
        process = Process(name, command, env, self.logs)
        self.processes.append(process)
        return process

    def tails(self) -> str:
        return "\n".join(process.tail() for process in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


def wait_for(what: str, check: Callable[[], Any], stack: Stack, timeout: float = FLOW_TIMEOUT_S) -> Any:
    """Poll `check` until it returns something truthy; fail with every process's output after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(requests.RequestException):
            if result := check():
                return result
        for process in stack.processes:
            if process.name != "release" and not process.running():
                pytest.fail(f"{process.name} exited while waiting for {what}\n{stack.tails()}")
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f} s waiting for {what}\n{stack.tails()}")
        time.sleep(0.1)


def answers(url: str) -> bool:
    return requests.get(url, timeout=2).status_code == 200


# --- a database and a Redis database of the test's own ----------------------------------


@pytest.fixture
def own_database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped at the end: the URL the processes get."""
    import psycopg
    from django.conf import settings

    params = settings.DATABASES["default"]
    name = f"joycart_smoke_{uuid.uuid4().hex[:12]}"
    server = {
        "host": params["HOST"] or None,
        "port": params["PORT"] or None,
        "user": params["USER"] or None,
        "password": params["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = urlsplit(os.environ["DATABASE_URL"])
        yield urlunsplit(url._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(**server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def own_redis_database() -> Iterator[str]:
    """An empty Redis database other than the test run's own, flushed at the end. The shared Redis
    itself keeps running: other tests use it."""
    import redis

    url = urlsplit(os.environ["REDIS_URL"])
    in_use = int(url.path.strip("/") or 0)
    chosen = None
    for number in range(15, -1, -1):
        if number == in_use:
            continue
        client = redis.Redis.from_url(urlunsplit(url._replace(path=f"/{number}")))
        try:
            if client.dbsize() == 0:
                chosen = client
                break
        except redis.ResponseError:
            continue  # the server has fewer databases
        client.close()
    if chosen is None:
        pytest.skip("no empty Redis database to run the production processes on")
    try:
        yield urlunsplit(url._replace(path=f"/{number}"))
    finally:
        chosen.flushdb()
        chosen.close()


@pytest.fixture
def stack(tmp_path) -> Iterator[Stack]:
    started = Stack(tmp_path)
    try:
        yield started
    finally:
        started.stop()


def production_env(*, database_url: str, redis_url: str, gateway_port: int, tmp_path: Path) -> dict[str, str]:
    inherited = {key: value for key, value in os.environ.items() if not key.startswith(NOT_INHERITED)}
    return {
        **inherited,
        "PATH": f"{BIN}{os.pathsep}{inherited.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "joycart.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_MEDIA_LOCAL": "1",
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        "DJANGO_TASKS_BACKEND": "database",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "EMAIL_URL": "dummy://",
        # The sandbox gateway, with credentials of this run's own (the published ones are refused).
        "PAYMENTS_SANDBOX": "1",
        "RAZORPAY_KEY_ID": f"rzp_test_{secrets.token_hex(6)}",
        "RAZORPAY_KEY_SECRET": secrets.token_urlsafe(24),
        "RAZORPAY_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "SANDBOX_GATEWAY_PORT": str(gateway_port),
        "RAZORPAY_BASE_URL": f"http://127.0.0.1:{gateway_port}",
        "RAZORPAY_TIMEOUT_SECONDS": "5",
    }


def manage(env: dict[str, str], *args: str, timeout: float = BOOT_TIMEOUT_S) -> str:
    result = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def json_lines(process: Process) -> list[dict]:
    """Every line the process wrote to stdout, each of which must be one JSON object."""
    parsed = []
    for line in process.stdout_lines():
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"{process.name} wrote a line to stdout that is not JSON: {line!r}")
    return parsed


# --- the test -----------------------------------------------------------------------------


@dataclass
class Deployment:
    web: Process
    worker: Process
    degraded_web: Process  # the same web command, with Redis gone
    web_url: str
    degraded_url: str
    gateway_url: str
    key_auth: tuple[str, str]  # the sandbox's control endpoint takes the API key


def deploy(stack: Stack, env: dict[str, str]) -> Deployment:
    """Build, release, then start every process at once; return when the web and the gateway answer."""
    web_port, degraded_port = free_port(), free_port()
    gateway_url = env["RAZORPAY_BASE_URL"]
    web_url, degraded_url = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{degraded_port}"
    command = commands()

    build = stack.start("collectstatic", "python manage.py collectstatic --noinput -v 0", env)
    release = stack.start("release", command["release"], env)
    assert build.wait(timeout=BOOT_TIMEOUT_S) == 0, stack.tails()
    assert release.wait(timeout=BOOT_TIMEOUT_S) == 0, stack.tails()
    stack.processes.remove(build)

    gateway = ["python", "manage.py", "run_sandbox_gateway", f"--port={env['SANDBOX_GATEWAY_PORT']}"]
    stack.start("gateway", shlex.join([*gateway, f"--webhook-url={web_url}{WEBHOOK_PATH}"]), env)
    deployment = Deployment(
        web=stack.start("web", command["web"], {**env, "PORT": str(web_port), "WEB_CONCURRENCY": "2"}),
        worker=stack.start("worker", command["worker"], env),
        degraded_web=stack.start(
            "degraded-web",
            command["web"],
            {
                **env,
                "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
                "PORT": str(degraded_port),
                "WEB_CONCURRENCY": "1",
            },
        ),
        web_url=web_url,
        degraded_url=degraded_url,
        gateway_url=gateway_url,
        key_auth=(env["RAZORPAY_KEY_ID"], env["RAZORPAY_KEY_SECRET"]),
    )
    wait_for("the web process", lambda: answers(web_url + "/healthz"), stack, BOOT_TIMEOUT_S)
    wait_for("the sandbox gateway", lambda: gateway_control(deployment, action="state").ok, stack, BOOT_TIMEOUT_S)
    return deployment


def gateway_control(deployment: Deployment, **body) -> requests.Response:
    return requests.post(deployment.gateway_url + "/_sandbox/control", json=body, auth=deployment.key_auth, timeout=10)


def seed_two_products(env: dict[str, str]) -> list[int]:
    return json.loads(manage(env, "shell", "--no-imports", "-v", "0", "-c", SEED_SELLER).splitlines()[-1])


def sign_up_buyer(web_url: str) -> tuple[requests.Session, int, int]:
    """A buyer through the API, as a mobile app would: (a Bearer session, the user's id, an address id)."""
    api = requests.Session()
    signed_up = api.post(
        web_url + "/api/v1/auth/register/",
        json={"username": "smoke-buyer", "email": "buyer@smoke.example", "password": PASSWORD},
        timeout=10,
    )
    assert signed_up.status_code == 201, signed_up.text
    tokens = api.post(
        web_url + "/api/v1/auth/token/", json={"username": "smoke-buyer", "password": PASSWORD}, timeout=10
    )
    assert tokens.status_code == 200, tokens.text
    api.headers["Authorization"] = f"Bearer {tokens.json()['access']}"
    address = {
        "name": "Smoke Buyer",
        "phone": "9876543210",
        "line1": "1 Test Road",
        "city": "Bengaluru",
        "state": "KA",
        "pincode": "560001",
    }
    created = api.post(web_url + "/api/v1/addresses/", json=address, timeout=10)
    assert created.status_code == 201, created.text
    return api, signed_up.json()["id"], created.json()["id"]


def request_line(process: Process, request_id: str) -> dict | None:
    """The one line the request log wrote about the request with this id, once it is there."""
    lines = [line for line in json_lines(process) if line["request_id"] == request_id]
    return next((line for line in lines if line["logger"] == "joycart.request"), None)


def test_production_processes_take_an_online_order_from_payment_to_refund(
    own_database, own_redis_database, stack, tmp_path
):
    env = production_env(
        database_url=own_database, redis_url=own_redis_database, gateway_port=free_port(), tmp_path=tmp_path
    )
    deployment = deploy(stack, env)
    web_url = deployment.web_url
    product_ids = seed_two_products(env)

    ready = requests.get(web_url + "/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.headers["Content-Type"] == "application/json"
    assert (ready.json()["database"], ready.json()["cache"]) == ("ok", "ok")

    # A buyer puts two products in the cart and checks out, paying online.
    api, buyer_id, address_id = sign_up_buyer(web_url)
    for product_id in product_ids:
        added = api.post(web_url + "/api/v1/cart/items/", json={"product_id": product_id, "quantity": 1}, timeout=10)
        assert added.status_code == 201, added.text
    checkout_id = f"smoke-checkout-{uuid.uuid4().hex[:8]}"
    checkout = api.post(
        web_url + "/api/v1/checkout/",
        json={"source": "cart", "address_id": address_id, "payment_method": "ONLINE"},
        headers={"Idempotency-Key": uuid.uuid4().hex, "X-Request-ID": checkout_id},
        timeout=15,
    )
    assert checkout.status_code == 201, checkout.text
    assert checkout.headers["X-Request-ID"] == checkout_id
    order = checkout.json()
    assert {item["status"] for item in order["items"]} == {"PENDING_PAYMENT"}
    order_url = f"{web_url}/api/v1/orders/{order['id']}/"

    # The buyer pays at the gateway; its signed webhook reaches the web process, the worker places the items.
    paid = gateway_control(deployment, action="pay", order_id=order["payment"]["razorpay"]["order_id"])
    assert paid.status_code == 200, paid.text

    def placed() -> dict | None:
        current = api.get(order_url, timeout=5).json()
        items_placed = {item["status"] for item in current["items"]} == {"PLACED"}
        return current if items_placed and current["payment"]["status"] == "CAPTURED" else None

    order = wait_for("the capture webhook and the worker to place the items", placed, stack)

    # The buyer cancels one item: the worker asks the gateway, whose refund webhook completes it.
    cancelled = order["items"][0]
    cancel_id = f"smoke-cancel-{uuid.uuid4().hex[:8]}"
    cancel = api.post(
        f"{order_url}items/{cancelled['id']}/cancel/",
        json={"reason": "Ordered the wrong size"},
        headers={"X-Request-ID": cancel_id},
        timeout=15,
    )
    assert cancel.status_code == 200, cancel.text

    def refund_status(current: dict) -> str:
        [item] = [item for item in current["items"] if item["id"] == cancelled["id"]]
        return item["refund"]["status"]

    # Written with the cancellation; the worker may already have taken it by the time the answer is read.
    refund_statuses = [refund_status(cancel.json())]

    def refunded() -> bool:
        status = refund_status(api.get(order_url, timeout=5).json())
        if refund_statuses[-1] != status:
            refund_statuses.append(status)
        return status == "REFUNDED"

    wait_for("the refund to go through the worker and the refund webhook", refunded, stack)
    assert refund_statuses[0] in ("INITIATED", "PROCESSING")
    assert refund_statuses == sorted(refund_statuses, key=["INITIATED", "PROCESSING", "REFUNDED"].index)
    final = api.get(order_url, timeout=5).json()
    assert [item["status"] for item in final["items"] if item["id"] != cancelled["id"]] == ["PLACED"]
    assert final["payment"]["refunded_amount"] == cancelled["line_total"]

    # The logs: JSON lines carrying the ids the client sent, into the worker for the refund it queued.
    checkout_line = wait_for("the checkout's log line", lambda: request_line(deployment.web, checkout_id), stack, 5)
    assert (checkout_line["level"], checkout_line["method"], checkout_line["path"]) == (
        "INFO",
        "POST",
        "/api/v1/checkout/",
    )
    assert (checkout_line["status"], checkout_line["user_id"]) == (201, buyer_id)
    assert checkout_line["duration_ms"] > 0
    cancel_line = wait_for("the cancellation's log line", lambda: request_line(deployment.web, cancel_id), stack, 5)
    assert cancel_line["path"] == f"/api/v1/orders/{order['id']}/items/{cancelled['id']}/cancel/"
    refund_task = [
        line["message"]
        for line in json_lines(deployment.worker)
        if line["request_id"] == cancel_id and "payments.tasks.refund_submit state=SUCCESSFUL" in line["message"]
    ]
    assert refund_task, f"no worker line about the refund carries the cancellation's request id\n{stack.tails()}"

    # Without Redis, the second web process serves: alive, ready but degraded, and pages answer.
    degraded_url = deployment.degraded_url
    wait_for("the web process without Redis", lambda: answers(degraded_url + "/healthz"), stack, BOOT_TIMEOUT_S)
    degraded = requests.get(degraded_url + "/readyz", timeout=10)
    assert degraded.status_code == 200
    assert (degraded.json()["status"], degraded.json()["cache"], degraded.json()["database"]) == (
        "degraded",
        "down",
        "ok",
    )
    assert requests.get(degraded_url + "/", timeout=10).status_code == 200
    assert json_lines(deployment.degraded_web)  # Redis's failures are logged as JSON lines too
