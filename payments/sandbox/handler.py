"""The sandbox's HTTP side: Razorpay's API routes under /v1, the checkout pages, and the control endpoint.

Every request is answered from the `SandboxGateway` the server belongs to; this module only
parses, authenticates, applies the armed faults and renders.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import re
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from . import checkout
from .ledger import ApiError

if TYPE_CHECKING:
    from .server import SandboxGateway

logger = logging.getLogger(__name__)

SERVER_ERROR_DESCRIPTION = "The server encountered an error. The incident has been reported to admins"

API_ROUTES: list[tuple[str, re.Pattern, str]] = [
    ("POST", re.compile(r"/v1/orders"), "order_create"),
    ("GET", re.compile(r"/v1/orders/(?P<id>[^/]+)"), "order_fetch"),
    ("GET", re.compile(r"/v1/orders/(?P<id>[^/]+)/payments"), "order_payments"),
    ("GET", re.compile(r"/v1/payments/(?P<id>[^/]+)"), "payment_fetch"),
    ("POST", re.compile(r"/v1/payments/(?P<id>[^/]+)/refund"), "refund_create"),
    ("GET", re.compile(r"/v1/payments/(?P<id>[^/]+)/refunds"), "payment_refunds"),
    ("GET", re.compile(r"/v1/refunds/(?P<id>[^/]+)"), "refund_fetch"),
]
CHECKOUT_PAGE = re.compile(r"/checkout/(?P<id>[^/]+)")
CHECKOUT_ACTION = re.compile(r"/checkout/(?P<id>[^/]+)/(?P<action>pay|fail)")


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, *, sandbox: SandboxGateway) -> None:
        self.sandbox = sandbox
        super().__init__(address, handler)


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API; every answer has a Content-Length
    # A response goes out in two writes (headers, then body): without TCP_NODELAY the body waits for the
    # client's delayed ACK, some 40 ms per call on Linux.
    disable_nagle_algorithm = True
    server_version = "RazorpaySandbox/1.0"
    timeout = 60  # idle keep-alive connections
    server: SandboxHTTPServer

    @property
    def sandbox(self) -> SandboxGateway:
        return self.server.sandbox

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # --- plumbing ---------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        try:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length > 0 else b""
            if path.startswith("/v1/"):
                self._api(method, path, raw)
            elif path == "/_sandbox/control" and method == "POST":
                self._authenticate()
                body = self._json(raw)
                action = body.pop("action", None) if isinstance(body, dict) else None
                result = self.sandbox.control(str(action), body)
                self._send_json(200, {"ok": True, "result": result})
            elif path.startswith("/checkout/"):
                self._checkout(method, path, parts.query, raw)
            else:
                raise ApiError("The requested URL was not found on the server.", reason="NA")
        except ApiError as error:
            self._send_json(error.status, error.body())
        except OSError:
            self.close_connection = True  # the client went away (e.g. gave up on a hung call)
        except Exception:
            logger.exception("sandbox gateway failed on %s %s", method, self.path)
            self._send_json(500, ApiError(SERVER_ERROR_DESCRIPTION, status=500, code="SERVER_ERROR").body())

    def _authenticate(self) -> None:
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        try:
            key_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            key_id = secret = ""
        good = hmac.compare_digest(key_id.encode(), self.sandbox.key_id.encode()) and hmac.compare_digest(
            secret.encode(), self.sandbox.key_secret.encode()
        )
        if scheme.lower() != "basic" or not good:
            raise ApiError("Authentication failed", status=401, reason="NA")

    def _json(self, raw: bytes) -> Any:
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ApiError("The request body is not valid JSON.") from exc

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8")

    def _send_html(self, status: int, html: str) -> None:
        self._send(status, html.encode(), "text/html; charset=utf-8")

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            logger.debug("connection already gone before the sandbox dropped it")

    # --- the API ----------------------------------------------------------------------

    def _api(self, method: str, path: str, raw: bytes) -> None:
        plan = self.sandbox.faults.plan(path)
        if plan.hang_seconds and self.sandbox.sleep(plan.hang_seconds):
            self._drop()
            return
        if plan.fail_status is not None:
            error = ApiError(SERVER_ERROR_DESCRIPTION, status=plan.fail_status, code="SERVER_ERROR")
            self._send_json(error.status, error.body())
            return
        try:
            self._authenticate()
            status, payload = 200, self._api_route(method, path, raw)
        except ApiError as error:
            status, payload = error.status, error.body()
        if plan.drop_response:
            self._drop()
            return
        self._send_json(status, payload)

    def _api_route(self, method: str, path: str, raw: bytes) -> dict:
        for route_method, pattern, name in API_ROUTES:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                return getattr(self, f"_api_{name}")(match.groupdict().get("id"), raw)
        raise ApiError("The requested URL was not found on the server.", reason="NA")

    def _api_order_create(self, _: None, raw: bytes) -> dict:
        return self.sandbox.ledger.order_create(self._json(raw))

    def _api_order_fetch(self, order_id: str, _: bytes) -> dict:
        return self.sandbox.ledger.snapshot("orders", order_id)

    def _api_order_payments(self, order_id: str, _: bytes) -> dict:
        return self.sandbox.ledger.order_payments(order_id)

    def _api_payment_fetch(self, payment_id: str, _: bytes) -> dict:
        return self.sandbox.ledger.snapshot("payments", payment_id)

    def _api_refund_create(self, payment_id: str, raw: bytes) -> dict:
        key = self.headers.get("X-Refund-Idempotency")
        return self.sandbox.refund_create(payment_id, self._json(raw), key)

    def _api_payment_refunds(self, payment_id: str, _: bytes) -> dict:
        return self.sandbox.ledger.payment_refunds(payment_id)

    def _api_refund_fetch(self, refund_id: str, _: bytes) -> dict:
        return self.sandbox.ledger.snapshot("refunds", refund_id)

    # --- the checkout pages -----------------------------------------------------------

    def _checkout(self, method: str, path: str, query: str, raw: bytes) -> None:
        if method == "GET" and (match := CHECKOUT_PAGE.fullmatch(path)):
            params, action = parse_qs(query), None
        elif method == "POST" and (match := CHECKOUT_ACTION.fullmatch(path)):
            params, action = parse_qs(raw.decode("utf-8", "replace")), match["action"]
        else:
            self._send_html(404, checkout.message_page("Not found", "There is no such page."))
            return
        callback_url = (params.get("callback_url") or [""])[0]
        cancel_url = (params.get("cancel_url") or [None])[0]
        allowed = self.sandbox.allowed_callback_hosts
        if not checkout.callback_allowed(callback_url, allowed) or (
            cancel_url is not None and not checkout.callback_allowed(cancel_url, allowed)
        ):
            message = "callback_url (and cancel_url) must be http(s) URLs on this machine or the configured site."
            self._send_html(400, checkout.message_page("Callback URL not allowed", message))
            return
        order_id = match["id"]
        try:
            order = self.sandbox.ledger.snapshot("orders", order_id)
            if action is None:
                if order["status"] == "paid":
                    raise ApiError("Order has already been paid")
                self._send_html(200, checkout.checkout_page(order, callback_url=callback_url, cancel_url=cancel_url))
                return
            if action == "pay":
                payment = self.sandbox.pay(order_id)
                fields = checkout.success_fields(order_id, payment["id"], payment["razorpay_signature"])
            else:
                fields = checkout.failure_fields(self.sandbox.fail(order_id))
        except ApiError as error:
            status = 404 if error.description == "The id provided does not exist" else 400
            self._send_html(status, checkout.message_page("Payment not possible", error.description))
            return
        self._send_html(200, checkout.return_page(callback_url, fields))
