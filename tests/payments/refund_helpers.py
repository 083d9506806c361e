"""Arrangement for the refund tests: captured online orders, and the sandbox's refund webhooks applied.

`captured_online_order` builds the rows a captured online checkout leaves behind without going
through online checkout (written at the same time, by another change): the order is placed by
the real checkout as COD (stock, snapshots, items PLACED), then its Payment becomes an ONLINE
payment CAPTURED for the whole total, carrying a real payment id that the sandbox captured for
a real gateway order of that amount, recorded in the capture ledger as the capture that paid it. Refunds of it are therefore checked by the sandbox with
Razorpay's rules, through the real SDK.

`apply_refund_webhooks` hands the sandbox's `refund.processed`/`refund.failed` events to
`refund_webhook_apply`, as the webhook dispatcher does, without an HTTP round trip.
"""

from decimal import Decimal

from django.utils import timezone

from catalog.models import Product
from orders.models import Order, PaymentMethod
from payments.gateway import get_gateway, to_paise
from payments.models import CaptureOutcome, GatewayCapture, Payment, PaymentStatus, Refund
from payments.services.refunds import refund_webhook_apply
from tests.orders.helpers import order_of

REFUND_EVENTS = {"refund.processed": True, "refund.failed": False}


def captured_online_order(sandbox, buyer, lines: dict[Product, int]) -> Order:
    order = order_of(buyer, lines)
    gateway_order = get_gateway().order_create(
        amount_paise=to_paise(order.total), currency="INR", receipt=order.number, notes={"order_id": str(order.pk)}
    )
    payment_id = sandbox.pay(gateway_order.id)["id"]
    Order.objects.filter(pk=order.pk).update(payment_method=PaymentMethod.ONLINE)
    Payment.objects.filter(order=order).update(
        method=PaymentMethod.ONLINE,
        status=PaymentStatus.CAPTURED,
        amount=order.total,
        gateway_order_id=gateway_order.id,
        gateway_payment_id=payment_id,
        captured_amount=order.total,
        captured_at=timezone.now(),
    )
    GatewayCapture.objects.create(
        payment=payment_of(order),
        gateway_payment_id=payment_id,
        gateway_order_id=gateway_order.id,
        amount=order.total,
        currency="INR",
        captured_at=timezone.now(),
        outcome=CaptureOutcome.PAID,
    )
    order.refresh_from_db()
    return order


def payment_of(order: Order) -> Payment:
    return Payment.objects.get(order=order)


def refund_events(sandbox, name: str | None = None) -> list:
    return [event for event in sandbox.events if event.name in REFUND_EVENTS and name in (None, event.name)]


def apply_refund_webhooks(sandbox, *, start: int = 0) -> list[str]:
    """Apply the sandbox's refund events from the `start`-th one on; returns each outcome detail."""
    details = []
    for event in refund_events(sandbox)[start:]:
        entity = event.envelope["payload"]["refund"]["entity"]
        details.append(refund_webhook_apply(refund_entity=entity, succeeded=REFUND_EVENTS[event.name]).detail)
    return details


def gateway_refunds_of(sandbox, payment: Payment) -> list[dict]:
    return [refund for refund in sandbox.refunds.values() if refund["payment_id"] == payment.gateway_payment_id]


def committed(payment: Payment) -> Decimal:
    """What the refunds that are not FAILED add up to: `refunded_amount` must say the same."""
    return sum((r.amount for r in Refund.objects.filter(payment=payment).exclude(status="FAILED")), Decimal("0.00"))
