"""The one door to Razorpay: the official SDK, a timeout on every call, and errors sorted by
whether trying again can help.

Services see only this module's interface. Amounts cross it as integer paise (`to_paise`,
`from_paise`), entities come back as small frozen dataclasses with the raw JSON kept beside
them, and every failure is a `GatewayRetryableError` or a `GatewayPermanentError`.

Why a per-call response hook: the SDK picks its exception class from the body's
`error.code`, never from the HTTP status, so a 500 with `BAD_REQUEST_ERROR` in its body and a
400 look alike. Every SDK call here passes `hooks={"response": exchange.record}`, which the
SDK forwards to `requests` untouched; `exchange` is a fresh object per call, so it holds that
call's own response (status and body) without any state shared between threads.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import razorpay
import requests
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from razorpay.errors import BadRequestError, GatewayError, ServerError, SignatureVerificationError

from joycart.money import PAISA

RETRYABLE_STATUSES = frozenset({409, 429})
# Razorpay refuses an order below ₹1.00 ("The amount must be at least INR 1.00").
MIN_ORDER_PAISE = 100


# --- amounts --------------------------------------------------------------------------


def to_paise(amount: Decimal | int) -> int:
    """Rupees to integer paise, exactly: a fraction of a paisa is a bug upstream, never rounded away."""
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise TypeError(f"amount must be a Decimal or int, not {type(amount).__name__}")
    value = Decimal(amount)
    if not value.is_finite():
        raise ValueError(f"amount is not a finite number: {amount}")
    paise = value * 100
    if paise != paise.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of paise")
    return int(paise)


def from_paise(paise: int) -> Decimal:
    """Integer paise from the gateway to rupees with two decimal places."""
    if isinstance(paise, bool) or not isinstance(paise, int):
        raise TypeError(f"paise must be an int, not {type(paise).__name__}")
    return (Decimal(paise) * PAISA).quantize(PAISA)


MIN_ORDER_AMOUNT = from_paise(MIN_ORDER_PAISE)


def below_order_minimum(amount: Decimal) -> bool:
    """Whether Razorpay would refuse a gateway order of this amount: such an order can never be paid online."""
    return to_paise(amount) < MIN_ORDER_PAISE


# --- errors ---------------------------------------------------------------------------


class PaymentGatewayError(Exception):
    """A failed gateway call: Razorpay's `error.description` and `error.code`, and the HTTP status if any."""

    def __init__(self, description: str, *, code: str = "", status: int | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.code = code
        self.status = status

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status is not None else "no response"
        return f"{self.description} ({self.code or 'no code'}, {where})"


class GatewayRetryableError(PaymentGatewayError):
    """The outcome is unknown or transient (network, timeout, 5xx, 409, 429, unreadable body): retry the
    same request, with the same idempotency key."""


class GatewayPermanentError(PaymentGatewayError):
    """Razorpay refused the request (a 4xx such as a bad amount or an uncaptured payment): retrying the same
    request gives the same answer."""


# --- entities -------------------------------------------------------------------------


def _notes(raw: Mapping[str, Any]) -> dict[str, Any]:
    # Razorpay renders empty notes as [] (a PHP habit), and filled ones as an object.
    notes = raw.get("notes") or {}
    return dict(notes) if isinstance(notes, Mapping) else {}


@dataclass(frozen=True)
class GatewayOrder:
    id: str
    amount_paise: int
    amount_paid_paise: int
    amount_due_paise: int
    currency: str
    receipt: str | None
    status: str  # created, attempted, paid
    attempts: int
    notes: dict[str, Any]
    created_at: int
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_razorpay(cls, raw: dict[str, Any]) -> GatewayOrder:
        return cls(
            id=raw["id"],
            amount_paise=int(raw["amount"]),
            amount_paid_paise=int(raw.get("amount_paid") or 0),
            amount_due_paise=int(raw.get("amount_due") or 0),
            currency=raw["currency"],
            receipt=raw.get("receipt"),
            status=raw["status"],
            attempts=int(raw.get("attempts") or 0),
            notes=_notes(raw),
            created_at=int(raw.get("created_at") or 0),
            raw=raw,
        )


@dataclass(frozen=True)
class GatewayPayment:
    id: str
    order_id: str | None
    amount_paise: int
    currency: str
    status: str  # created, authorized, captured, refunded, failed
    captured: bool
    amount_refunded_paise: int
    refund_status: str | None  # None, partial, full
    method: str | None
    error_code: str | None
    error_description: str | None
    notes: dict[str, Any]
    created_at: int
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def amount(self) -> Decimal:
        return from_paise(self.amount_paise)

    @classmethod
    def from_razorpay(cls, raw: dict[str, Any]) -> GatewayPayment:
        return cls(
            id=raw["id"],
            order_id=raw.get("order_id"),
            amount_paise=int(raw["amount"]),
            currency=raw["currency"],
            status=raw["status"],
            captured=bool(raw.get("captured")),
            amount_refunded_paise=int(raw.get("amount_refunded") or 0),
            refund_status=raw.get("refund_status"),
            method=raw.get("method"),
            error_code=raw.get("error_code"),
            error_description=raw.get("error_description"),
            notes=_notes(raw),
            created_at=int(raw.get("created_at") or 0),
            raw=raw,
        )


@dataclass(frozen=True)
class GatewayRefund:
    id: str
    payment_id: str
    amount_paise: int
    currency: str
    status: str  # pending, processed, failed
    notes: dict[str, Any]
    receipt: str | None
    created_at: int
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def amount(self) -> Decimal:
        return from_paise(self.amount_paise)

    @classmethod
    def from_razorpay(cls, raw: dict[str, Any]) -> GatewayRefund:
        return cls(
            id=raw["id"],
            payment_id=raw["payment_id"],
            amount_paise=int(raw["amount"]),
            currency=raw.get("currency") or "INR",
            status=raw["status"],
            notes=_notes(raw),
            receipt=raw.get("receipt"),
            created_at=int(raw.get("created_at") or 0),
            raw=raw,
        )


# --- the gateway ----------------------------------------------------------------------


class _Exchange:
    """The HTTP response of one SDK call, caught by a `requests` response hook passed with that call."""

    def __init__(self) -> None:
        self.response: requests.Response | None = None

    def record(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        self.response = response
        return response

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None

    def error_body(self) -> dict[str, Any]:
        try:
            body = self.response.json() if self.response is not None else {}
        except ValueError:
            return {}
        error = body.get("error") if isinstance(body, dict) else None
        return error if isinstance(error, dict) else {}


class RazorpayGateway:
    """Razorpay through its SDK. Safe to share between threads: each thread gets its own SDK client and
    `requests.Session` (a Session is not documented as thread-safe)."""

    def __init__(
        self, *, key_id: str, key_secret: str, webhook_secret: str, base_url: str, timeout: float = 10.0
    ) -> None:
        self.key_id = key_id
        self._key_secret = key_secret
        self._webhook_secret = webhook_secret
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"<RazorpayGateway {self.key_id} at {self.base_url}>"

    @property
    def client(self) -> razorpay.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = razorpay.Client(
                auth=(self.key_id, self._key_secret), base_url=self.base_url, session=requests.Session()
            )
            client.set_app_details({"title": "JoyCart"})
            self._local.client = client
        return client

    def _call(self, operation: Callable[..., Any], *args: Any, headers: Mapping[str, str] | None = None) -> Any:
        exchange = _Exchange()
        try:
            return operation(
                *args, timeout=self.timeout, headers=dict(headers or {}), hooks={"response": [exchange.record]}
            )
        except requests.RequestException as exc:
            # Connection refused or reset, a timeout, or a body that is not JSON: the request may or may not
            # have been carried out.
            raise GatewayRetryableError(
                f"{type(exc).__name__}: {exc}", code=exchange.error_body().get("code", ""), status=exchange.status
            ) from exc
        except (BadRequestError, GatewayError, ServerError) as exc:
            error = exchange.error_body()
            description = str(error.get("description") or exc or "Razorpay returned an error")
            code = str(error.get("code") or "")
            status = exchange.status
            if status is None or status >= 500 or status in RETRYABLE_STATUSES:
                raise GatewayRetryableError(description, code=code, status=status) from exc
            raise GatewayPermanentError(description, code=code, status=status) from exc

    def _parse(self, parser: Callable[[dict[str, Any]], Any], raw: Any) -> Any:
        try:
            return parser(raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise GatewayRetryableError(f"unexpected response from Razorpay: {exc!r}", code="BAD_RESPONSE") from exc

    # Orders and payments

    def order_create(self, *, amount_paise: int, currency: str, receipt: str, notes: Mapping[str, Any]) -> GatewayOrder:
        if isinstance(amount_paise, bool) or not isinstance(amount_paise, int):
            raise TypeError("amount_paise must be an int; convert with to_paise()")
        data = {"amount": amount_paise, "currency": currency, "receipt": receipt, "notes": dict(notes)}
        return self._parse(GatewayOrder.from_razorpay, self._call(self.client.order.create, data))

    def order_fetch(self, order_id: str) -> GatewayOrder:
        return self._parse(GatewayOrder.from_razorpay, self._call(self.client.order.fetch, order_id, {}))

    def order_payments(self, order_id: str) -> list[GatewayPayment]:
        body = self._call(self.client.order.payments, order_id, {})
        return self._parse(lambda raw: [GatewayPayment.from_razorpay(item) for item in raw["items"]], body)

    def payment_fetch(self, payment_id: str) -> GatewayPayment:
        return self._parse(GatewayPayment.from_razorpay, self._call(self.client.payment.fetch, payment_id, {}))

    # Refunds

    def refund_create(
        self, *, payment_id: str, amount_paise: int, idempotency_key: str, notes: Mapping[str, Any]
    ) -> GatewayRefund:
        """A refund keyed by `idempotency_key`: repeating the call with the same key and arguments returns
        the same refund, so a retry after a lost response never refunds twice."""
        if isinstance(amount_paise, bool) or not isinstance(amount_paise, int):
            raise TypeError("amount_paise must be an int; convert with to_paise()")
        data = {"amount": amount_paise, "notes": dict(notes)}
        body = self._call(
            self.client.payment.refund, payment_id, data, headers={"X-Refund-Idempotency": idempotency_key}
        )
        return self._parse(GatewayRefund.from_razorpay, body)

    def refunds_fetch(self, payment_id: str) -> list[GatewayRefund]:
        body = self._call(self.client.payment.fetch_multiple_refund, payment_id, {})
        return self._parse(lambda raw: [GatewayRefund.from_razorpay(item) for item in raw["items"]], body)

    def refund_fetch(self, refund_id: str) -> GatewayRefund:
        return self._parse(GatewayRefund.from_razorpay, self._call(self.client.refund.fetch, refund_id, {}))

    # Signatures

    def payment_signature_valid(self, *, order_id: str, payment_id: str, signature: str | None) -> bool:
        """The checkout callback's signature; `order_id` must be the gateway order id we stored."""
        if not (order_id and payment_id and signature):
            return False
        fields = {"razorpay_order_id": order_id, "razorpay_payment_id": payment_id, "razorpay_signature": signature}
        try:
            return bool(self.client.utility.verify_payment_signature(fields))
        except (SignatureVerificationError, TypeError):
            return False

    def webhook_signature_valid(self, *, body: bytes, signature: str | None) -> bool:
        """`body` is the raw request body: re-serialised JSON would not match the bytes Razorpay signed."""
        if not signature or not isinstance(body, bytes | bytearray):
            return False
        try:
            text = bytes(body).decode("utf-8")
            return bool(self.client.utility.verify_webhook_signature(text, signature, self._webhook_secret))
        except (UnicodeDecodeError, SignatureVerificationError, TypeError):
            return False


@functools.cache
def get_gateway() -> RazorpayGateway:
    """The process's gateway, configured from settings; the cache is dropped when a RAZORPAY_* setting changes."""
    return RazorpayGateway(
        key_id=settings.RAZORPAY_KEY_ID,
        key_secret=settings.RAZORPAY_KEY_SECRET,
        webhook_secret=settings.RAZORPAY_WEBHOOK_SECRET,
        base_url=settings.RAZORPAY_BASE_URL,
        timeout=float(settings.RAZORPAY_TIMEOUT_SECONDS),
    )


@receiver(setting_changed)
def _forget_gateway(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("RAZORPAY_"):
        get_gateway.cache_clear()


def sandbox_checkout_url(gateway_order_id: str, *, callback_url: str, cancel_url: str | None = None) -> str:
    """The sandbox's own checkout page for an order, which stands in for Razorpay's checkout.js."""
    query = {"callback_url": callback_url, **({"cancel_url": cancel_url} if cancel_url else {})}
    return f"{settings.RAZORPAY_BASE_URL.rstrip('/')}/checkout/{gateway_order_id}?{urlencode(query)}"
