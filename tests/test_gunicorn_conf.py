"""gunicorn.conf.py: the environment sets workers, threads, port and trusted proxies; the app is frozen once."""

import json
import os
import re
import runpy
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from tests.test_settings import PRODUCTION, RAZORPAY_KEYS

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv running the tests, and its gunicorn
CONF_VARIABLES = ("PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "FORWARDED_ALLOW_IPS")


def conf(monkeypatch, **env: str) -> dict:
    for name in CONF_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_defaults_listen_on_loopback_with_one_sync_worker_per_core_preloaded(monkeypatch):
    settings = conf(monkeypatch)
    assert settings["bind"] == ["127.0.0.1:8000"]
    assert settings["workers"] == len(os.sched_getaffinity(0))
    assert (settings["threads"], settings["worker_class"]) == (1, "sync")
    assert settings["preload_app"] is True
    assert settings["forwarded_allow_ips"] == "127.0.0.1,::1"
    # Workers retire, but never all at once, and a stuck request cannot hold one forever.
    assert 0 < settings["max_requests_jitter"] < settings["max_requests"]
    assert settings["graceful_timeout"] < 30 and settings["timeout"] <= 30


def test_the_platform_sets_port_workers_threads_and_the_trusted_proxy(monkeypatch):
    settings = conf(monkeypatch, PORT="10000", WEB_CONCURRENCY="3", GUNICORN_THREADS="4", FORWARDED_ALLOW_IPS="*")
    assert settings["bind"] == ["0.0.0.0:10000"]
    assert (settings["workers"], settings["threads"], settings["worker_class"]) == (3, 4, "gthread")
    assert settings["forwarded_allow_ips"] == "*"


@pytest.mark.parametrize(("name", "value"), [("WEB_CONCURRENCY", "0"), ("GUNICORN_THREADS", "two"), ("PORT", "-1")])
def test_a_bad_number_stops_gunicorn_naming_the_variable(monkeypatch, name, value):
    with pytest.raises(SystemExit, match=name):
        conf(monkeypatch, **{name: value})


class _Response:
    status = "200 OK"
    sent = 512
    headers = [("Content-Type", "text/html"), ("X-Request-ID", "3f2a9c")]


class _Request:
    headers = [("HOST", "shop.example.com")]


def test_the_access_line_carries_the_request_id_and_the_duration_but_not_the_query_string(monkeypatch):
    settings = conf(monkeypatch)
    config = Config()
    config.set("access_log_format", settings["access_log_format"])
    logger = Logger(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/orders/?email=buyer@example.com",
        "PATH_INFO": "/orders/",
        "QUERY_STRING": "email=buyer@example.com",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    atoms = logger.atoms_wrapper_class(logger.atoms(_Response(), _Request(), environ, timedelta(milliseconds=42)))
    line = settings["access_log_format"] % atoms
    assert line == 'method=GET path="/orders/" status=200 bytes=512 duration_ms=42 request_id=3f2a9c'


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    kept = {
        k: v
        for k, v in kept.items()
        if k not in CONF_VARIABLES and not k.startswith(("RAZORPAY_", "SENTRY_", "CLOUDINARY_"))
    }
    return {
        **kept,
        **PRODUCTION,
        **RAZORPAY_KEYS,
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        **extra,
    }


def test_gunicorn_accepts_the_configuration_with_production_settings(tmp_path):
    result = subprocess.run(  # noqa: S603 - the venv's gunicorn with fixed arguments
        [str(BIN / "gunicorn"), "--check-config", "-c", "gunicorn.conf.py", "joycart.wsgi:application"],
        cwd=ROOT,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_master_freezes_the_app_once_and_its_workers_serve_it_without_freezing_again(tmp_path):
    """Under preload the freeze runs in the master before it forks; each worker inherits it."""
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        master = subprocess.Popen(  # noqa: S603 - the venv's gunicorn with fixed arguments
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", f"--bind=127.0.0.1:{port}", "joycart.wsgi:application"],
            cwd=ROOT,
            env=production_env(tmp_path, WEB_CONCURRENCY="2"),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while len(re.findall(r"Booting worker with pid: (\d+)", log.read_text())) < 2:
            assert master.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status == 200
        time.sleep(0.3)  # the access line is written after the answer
    finally:
        os.killpg(master.pid, signal.SIGTERM)
        master.wait(timeout=30)
    output = log.read_text()
    workers = {int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", output)}
    frozen_in = [int(pid) for pid in re.findall(r"Loaded app frozen: \d+ objects, in process (\d+)", output)]
    assert frozen_in == [master.pid], output
    assert len(workers) == 2 and master.pid not in workers
    # gunicorn's access line goes through the app's JSON log format, with the request id the app answered.
    access = [line for line in map(_json_or_none, output.splitlines()) if line and line["logger"] == "gunicorn.access"]
    assert len(access) == 1, output
    pattern = r'method=GET path="/healthz" status=200 bytes=\d+ duration_ms=\d+ request_id=(\w+)'
    assert re.fullmatch(pattern, access[0]["message"]).group(1) == access[0]["request_id"], access


def _json_or_none(line: str) -> dict | None:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None
