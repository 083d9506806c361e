"""`manage.py run_sandbox_gateway` serves the sandbox with the settings' credentials."""

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def clean_env() -> dict[str, str]:
    """The development environment `make run` gives the commands, whatever the caller's environment."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "RAZORPAY_", "PAYMENTS_SANDBOX"))}
    return {**kept, "DJANGO_DEBUG": "1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_run_sandbox_gateway_serves_the_api_with_the_settings_credentials():
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", "run_sandbox_gateway", "--port", str(port), "--webhook-url", ""],
        cwd=ROOT,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        auth = "Basic " + base64.b64encode(b"rzp_test_sandbox:sandbox-key-secret").decode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/orders",
            data=json.dumps({"amount": 100, "currency": "INR"}).encode(),
            headers={"Authorization": auth, "Content-Type": "application/json"},
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - 127.0.0.1
                    order = json.loads(response.read())
                break
            except urllib.error.URLError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.2)
        assert order["id"].startswith("order_")
        assert order["status"] == "created"
    finally:
        server.send_signal(signal.SIGINT)
        stdout, _ = server.communicate(timeout=10)
    assert f"Razorpay sandbox gateway on http://127.0.0.1:{port}" in stdout
    assert "Sandbox gateway stopped." in stdout


def test_run_sandbox_gateway_says_so_when_the_port_is_taken():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
            [sys.executable, "manage.py", "run_sandbox_gateway", "--port", str(port)],
            cwd=ROOT,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
