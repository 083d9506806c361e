"""Which service handles which Razorpay event: the one routing table for webhooks and their replay.

Each handler takes the verified event envelope and returns `Applied` (changed or a no-op, and
what happened). Unknown event types have no handler: they are stored and ignored.
"""

from collections.abc import Callable
from typing import Any

from payments.gateway import GatewayPayment
from payments.services import online, refunds
from payments.services.outcome import Applied

Envelope = dict[str, Any]


def _entity(envelope: Envelope, kind: str) -> dict[str, Any]:
    return envelope["payload"][kind]["entity"]


def _payment_captured(envelope: Envelope) -> Applied:
    """`payment.captured` and `order.paid`, which also carries the gateway order with its notes (ours, if
    we created it). The payment's own notes are never read: the buyer's browser sets them."""
    order = envelope["payload"].get("order", {}).get("entity")
    notes = None
    if isinstance(order, dict):
        notes = order["notes"] if isinstance(order.get("notes"), dict) else {}  # Razorpay renders none as []
    gateway_payment = GatewayPayment.from_razorpay(_entity(envelope, "payment"))
    return online.payment_capture_apply(gateway_payment=gateway_payment, order_notes=notes)


def _payment_failed(envelope: Envelope) -> Applied:
    return online.payment_failure_apply(gateway_payment=GatewayPayment.from_razorpay(_entity(envelope, "payment")))


def _refund_processed(envelope: Envelope) -> Applied:
    return refunds.refund_webhook_apply(refund_entity=_entity(envelope, "refund"), succeeded=True)


def _refund_failed(envelope: Envelope) -> Applied:
    return refunds.refund_webhook_apply(refund_entity=_entity(envelope, "refund"), succeeded=False)


HANDLERS: dict[str, Callable[[Envelope], Applied]] = {
    "payment.captured": _payment_captured,
    "order.paid": _payment_captured,
    "payment.failed": _payment_failed,
    "refund.processed": _refund_processed,
    "refund.failed": _refund_failed,
}
