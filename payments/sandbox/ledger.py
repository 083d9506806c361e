"""The sandbox's accounts: orders, payments and refunds with Razorpay's own rules, behind one lock.

Entities are plain dicts shaped like Razorpay's JSON; every method returns deep copies, so
callers (the HTTP handler, webhooks, tests) never see a half-updated entity.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any

ID_ALPHABET = string.ascii_letters + string.digits
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{10,}")
MIN_AMOUNT = 100  # paise: Razorpay's minimum for orders and refunds
MAX_NOTES = 15
MAX_RECEIPT = 40

ORDER_FIELDS = {"amount", "currency", "receipt", "notes", "payment_capture", "partial_payment"}
REFUND_FIELDS = {"amount", "speed", "notes", "receipt"}


class ApiError(Exception):
    """An error answer, rendered as Razorpay's `{"error": {...}}` body."""

    def __init__(
        self,
        description: str,
        *,
        status: int = 400,
        code: str = "BAD_REQUEST_ERROR",
        field: str | None = None,
        reason: str = "input_validation_failed",
    ) -> None:
        super().__init__(description)
        self.description = description
        self.status = status
        self.code = code
        self.field = field
        self.reason = reason

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.code,
            "description": self.description,
            "source": "business" if self.status < 500 else "internal",
            "step": "payment_initiation",
            "reason": self.reason,
            "metadata": {},
        }
        if self.field:
            error["field"] = self.field
        return {"error": error}


def not_found() -> ApiError:
    return ApiError("The id provided does not exist", reason="NA")


def new_id(prefix: str) -> str:
    return f"{prefix}_{''.join(secrets.choice(ID_ALPHABET) for _ in range(14))}"


def _check_amount(body: dict[str, Any], *, required: bool) -> int | None:
    if "amount" not in body:
        if required:
            raise ApiError("The amount field is required.", field="amount")
        return None
    amount = body["amount"]
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ApiError("The amount must be an integer.", field="amount")
    if amount < MIN_AMOUNT:
        raise ApiError("The amount must be atleast INR 1.00", field="amount")
    return amount


def _check_common(body: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError("The request body must be a JSON object.")
    extra = sorted(set(body) - allowed)
    if extra:
        raise ApiError(f"{', '.join(extra)} is/are not required and should not be sent", field=extra[0])
    receipt = body.get("receipt")
    if receipt is not None and (not isinstance(receipt, str) or len(receipt) > MAX_RECEIPT):
        raise ApiError(f"The receipt may not be greater than {MAX_RECEIPT} characters.", field="receipt")
    notes = body.get("notes", {})
    if notes in ([], None):
        notes = {}
    if not isinstance(notes, dict) or any(isinstance(v, dict | list) for v in notes.values()):
        raise ApiError("The notes must be an object of key-value pairs.", field="notes")
    if len(notes) > MAX_NOTES:
        raise ApiError(f"Number of fields in notes should be less than or equal to {MAX_NOTES}", field="notes")
    return notes


def render_notes(notes: dict[str, Any]) -> dict[str, Any] | list:
    return dict(notes) if notes else []  # Razorpay renders empty notes as []


@dataclass
class _Idempotent:
    fingerprint: str
    refund_id: str | None = None  # None while the first request is being processed


@dataclass
class Ledger:
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    _idempotency: dict[str, _Idempotent] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def reset(self) -> None:
        with self.lock:
            self.orders.clear()
            self.payments.clear()
            self.refunds.clear()
            self._idempotency.clear()

    def snapshot(self, kind: str, entity_id: str) -> dict[str, Any]:
        with self.lock:
            table = getattr(self, kind)
            if entity_id not in table:
                raise not_found()
            return copy.deepcopy(table[entity_id])

    # --- orders -----------------------------------------------------------------------

    def order_create(self, body: Any) -> dict[str, Any]:
        notes = _check_common(body, ORDER_FIELDS)
        amount = _check_amount(body, required=True)
        currency = body.get("currency")
        if currency is None:
            raise ApiError("The currency field is required.", field="currency")
        if currency != "INR":
            raise ApiError("The selected currency is invalid.", field="currency")
        order = {
            "id": new_id("order"),
            "entity": "order",
            "amount": amount,
            "amount_paid": 0,
            "amount_due": amount,
            "currency": currency,
            "receipt": body.get("receipt"),
            "offer_id": None,
            "status": "created",
            "attempts": 0,
            "notes": render_notes(notes),
            "created_at": int(time.time()),
        }
        with self.lock:
            self.orders[order["id"]] = order
            return copy.deepcopy(order)

    def order_payments(self, order_id: str) -> dict[str, Any]:
        with self.lock:
            if order_id not in self.orders:
                raise not_found()
            # Newest first, as Razorpay lists them.
            items = [copy.deepcopy(p) for p in reversed(self.payments.values()) if p["order_id"] == order_id]
        return {"entity": "collection", "count": len(items), "items": items}

    # --- payments ---------------------------------------------------------------------

    def _payment_attempt(
        self, order_id: str, *, amount: int | None, method: str, notes: dict[str, Any] | None = None
    ) -> tuple[dict, dict]:
        order = self.orders.get(order_id)
        if order is None:
            raise not_found()
        if order["status"] == "paid":
            raise ApiError("Order has already been paid", reason="order_already_paid")
        order["attempts"] += 1
        order["status"] = "attempted"
        payment = {
            "id": new_id("pay"),
            "entity": "payment",
            "amount": order["amount"] if amount is None else amount,
            "currency": order["currency"],
            "status": "created",
            "order_id": order_id,
            "invoice_id": None,
            "international": False,
            "method": method,
            "amount_refunded": 0,
            "refund_status": None,
            "captured": False,
            "description": None,
            "bank": None,
            "wallet": None,
            "vpa": "success@razorpay" if method == "upi" else None,
            "email": "buyer@example.com",
            "contact": "+919999999999",
            "notes": render_notes(notes or {}),  # what the checkout's options carried: the browser's to set
            "fee": None,
            "tax": None,
            "error_code": None,
            "error_description": None,
            "error_source": None,
            "error_step": None,
            "error_reason": None,
            "acquirer_data": {},
            "created_at": int(time.time()),
        }
        self.payments[payment["id"]] = payment
        return payment, order

    def pay(
        self, order_id: str, *, amount: int | None = None, method: str = "upi", notes: dict[str, Any] | None = None
    ) -> tuple[dict, dict]:
        """A successful, auto-captured payment. `amount` other than the order's simulates a mismatch."""
        with self.lock:
            payment, _order = self._payment_attempt(order_id, amount=amount, method=method, notes=notes)
            payment, order, _paid_now = self.capture(payment["id"])
            return payment, order

    def attempt(self, order_id: str, *, amount: int | None = None, method: str = "netbanking") -> dict[str, Any]:
        """A payment attempt the buyer started and the bank has not confirmed yet (a slow method)."""
        with self.lock:
            payment, _order = self._payment_attempt(order_id, amount=amount, method=method)
            return copy.deepcopy(payment)

    def capture(self, payment_id: str) -> tuple[dict, dict, bool]:
        """The bank confirmed an attempt: captured, even if another attempt paid the order meanwhile (Razorpay
        then holds two captures for one order). Returns the payment, its order, and whether the order became
        paid just now."""
        with self.lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                raise not_found()
            if payment["status"] != "created":
                raise ApiError(f"The payment is {payment['status']}; only a created attempt can be captured")
            fee = payment["amount"] * 2 // 100
            tax = fee * 18 // 100
            payment.update(status="captured", captured=True, fee=fee + tax, tax=tax)
            order = self.orders[payment["order_id"]]
            paid_now = order["status"] != "paid"
            order.update(status="paid", amount_paid=order["amount"], amount_due=0)
            return copy.deepcopy(payment), copy.deepcopy(order), paid_now

    def fail(self, order_id: str, *, description: str, method: str = "upi") -> tuple[dict, dict]:
        with self.lock:
            payment, order = self._payment_attempt(order_id, amount=None, method=method)
            payment.update(
                status="failed",
                error_code="BAD_REQUEST_ERROR",
                error_description=description,
                error_source="bank",
                error_step="payment_authorization",
                error_reason="payment_failed",
            )
            return copy.deepcopy(payment), copy.deepcopy(order)

    # --- refunds ----------------------------------------------------------------------

    def refund_begin(self, payment_id: str, body: Any, idempotency_key: str | None) -> dict[str, Any] | None:
        """Claim the idempotency key. Returns the refund made earlier under it, or None to go on and create."""
        if idempotency_key is None:
            return None
        if not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            raise ApiError(
                "The X-Refund-Idempotency header must be at least 10 characters of A-Z, a-z, 0-9, _ and -",
                field="X-Refund-Idempotency",
            )
        fingerprint = hashlib.sha256(json.dumps([payment_id, body], sort_keys=True).encode()).hexdigest()
        with self.lock:
            claim = self._idempotency.get(idempotency_key)
            if claim is None:
                self._idempotency[idempotency_key] = _Idempotent(fingerprint)
                return None
            if claim.fingerprint != fingerprint:
                raise ApiError(
                    "The idempotency key has already been used with a different request",
                    field="X-Refund-Idempotency",
                    reason="idempotency_key_reused",
                )
            if claim.refund_id is None:
                raise ApiError(
                    "A request with the same idempotency key is being processed",
                    status=409,
                    reason="request_in_progress",
                )
            return copy.deepcopy(self.refunds[claim.refund_id])

    def refund_abandon(self, idempotency_key: str | None) -> None:
        """The request failed before a refund existed: the key may be used again."""
        with self.lock:
            claim = self._idempotency.get(idempotency_key) if idempotency_key else None
            if claim is not None and claim.refund_id is None:
                del self._idempotency[idempotency_key]

    def refund_create(self, payment_id: str, body: Any, idempotency_key: str | None) -> dict[str, Any]:
        notes = _check_common(body, REFUND_FIELDS)
        amount = _check_amount(body, required=False)
        if body.get("speed", "normal") not in {"normal", "optimum"}:
            raise ApiError("The selected speed is invalid.", field="speed")
        with self.lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                raise not_found()
            if payment["status"] == "refunded" or (
                payment["captured"] and payment["amount_refunded"] >= payment["amount"]
            ):
                raise ApiError("The payment has been fully refunded already", reason="payment_fully_refunded")
            if payment["status"] != "captured":
                raise ApiError("The payment status should be captured for action to be taken", reason="NA")
            remaining = payment["amount"] - payment["amount_refunded"]
            amount = remaining if amount is None else amount
            if amount > remaining:
                raise ApiError("The refund amount provided is greater than amount captured", field="amount")
            refund = {
                "id": new_id("rfnd"),
                "entity": "refund",
                "amount": amount,
                "currency": payment["currency"],
                "payment_id": payment_id,
                "notes": render_notes(notes),
                "receipt": body.get("receipt"),
                "acquirer_data": {"arn": None},
                "created_at": int(time.time()),
                "batch_id": None,
                "status": "pending",
                "speed_processed": "normal",
                "speed_requested": body.get("speed", "normal"),
            }
            self.refunds[refund["id"]] = refund
            self._apply_refunded(payment, amount)
            if idempotency_key:
                self._idempotency[idempotency_key].refund_id = refund["id"]
            return copy.deepcopy(refund)

    def _apply_refunded(self, payment: dict[str, Any], delta: int) -> None:
        # Pending refunds count against the payment at once, as on Razorpay; a failed one gives its amount back.
        payment["amount_refunded"] += delta
        refunded = payment["amount_refunded"]
        payment["refund_status"] = None if refunded == 0 else ("full" if refunded >= payment["amount"] else "partial")
        payment["status"] = "refunded" if refunded >= payment["amount"] else "captured"

    def refund_settle(self, refund_id: str, *, succeed: bool) -> tuple[dict, dict] | None:
        """Move a pending refund to processed or failed. None if it was settled already."""
        with self.lock:
            refund = self.refunds.get(refund_id)
            if refund is None:
                raise not_found()
            if refund["status"] != "pending":
                return None
            payment = self.payments[refund["payment_id"]]
            if succeed:
                refund["status"] = "processed"
                refund["acquirer_data"] = {"arn": f"ARN{secrets.randbelow(10**12):012d}"}
            else:
                refund["status"] = "failed"
                self._apply_refunded(payment, -refund["amount"])
            return copy.deepcopy(refund), copy.deepcopy(payment)

    def payment_refunds(self, payment_id: str) -> dict[str, Any]:
        with self.lock:
            if payment_id not in self.payments:
                raise not_found()
            items = [copy.deepcopy(r) for r in reversed(self.refunds.values()) if r["payment_id"] == payment_id]
        return {"entity": "collection", "count": len(items), "items": items}
