"""Online payments through Razorpay: the gateway order, the browser's signature, and the gateway's word.

One JoyCart order has one Payment and (once created) one gateway order. Only the gateway
confirms money: a `payment.captured` or `order.paid` webhook, or reconciliation reading the
gateway, ends in `payment_capture_apply`. The browser's signed callback only says "paid,
confirming" (`verified_at`).

Every gateway call here happens outside a transaction: `payment_gateway_order_ensure` runs
after checkout committed, and `payments_reconcile` reads the gateway before it applies what
it read. Applying locks Order, then Payment, then the order's items (GUIDE §3), so a capture,
an expiry and a repeated webhook for one order run one after another and the first one wins.
"""

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from joycart.errors import NotFound
from orders import notifications as order_notifications
from orders.models import Order, OrderItem, OrderItemStatus, PaymentMethod
from orders.services.lifecycle import order_items_place_paid
from payments import notifications
from payments.errors import GatewayUnavailable, InvalidSignature, PaymentNotAwaited
from payments.gateway import GatewayPayment, PaymentGatewayError, get_gateway, to_paise
from payments.models import Payment, PaymentStatus
from payments.selectors import payment_awaiting
from payments.services import refunds
from payments.services.outcome import Applied

logger = logging.getLogger(__name__)

LATE_CAPTURE_REASON = "payment arrived after the order was cancelled"
# Expired orders whose payment may still be captured late are re-read for this long.
LATE_CAPTURE_WINDOW = timedelta(days=2)
# ... and read again at most this often: Razorpay rate-limits its API, and a late capture is rare.
LATE_CAPTURE_RECHECK = timedelta(minutes=15)


def _payment_find(*, gateway_order_id: str | None, notes: dict[str, Any] | None = None) -> Payment | None:
    """Ours by the gateway order id we stored, or else by our order id in the gateway order's notes."""
    online = Payment.objects.filter(method=PaymentMethod.ONLINE)
    if gateway_order_id:
        payment = online.filter(gateway_order_id=gateway_order_id).first()
        if payment is not None:
            return payment
    order_id = str((notes or {}).get("order_id") or "")
    if order_id.isascii() and order_id.isdigit() and len(order_id) < 19:
        return online.filter(order_id=int(order_id)).first()
    return None


# --- the gateway order ------------------------------------------------------------------


def payment_gateway_order_ensure(*, payment_id: int) -> Payment:
    """Create the gateway order of an online payment that has none yet. Call it outside any transaction.

    A gateway error is logged and the payment is returned without a gateway order: the order
    stays PENDING_PAYMENT and the buyer can retry (`payment_attempt_prepare`) until it expires.
    Two concurrent calls may each create a gateway order; only the first stored one is ever
    shown to the buyer, so the other is never paid.
    """
    payment = Payment.objects.select_related("order").get(pk=payment_id)
    order = payment.order
    if payment.gateway_order_id or not payment_awaiting(payment=payment, order=order):
        return payment
    try:
        gateway_order = get_gateway().order_create(
            amount_paise=to_paise(payment.amount),
            currency=payment.currency,
            receipt=order.number,
            notes={"order_id": str(order.pk), "order_number": order.number},
        )
    except PaymentGatewayError:
        logger.warning("Could not create the gateway order for %s; it stays awaiting payment", order, exc_info=True)
        return payment
    stored = Payment.objects.filter(pk=payment.pk, gateway_order_id__isnull=True).update(
        gateway_order_id=gateway_order.id, updated_at=timezone.now()
    )
    if not stored:
        logger.info("Gateway order %s for %s is unused: another request stored one first", gateway_order.id, order)
    payment.refresh_from_db()
    return payment


def payment_attempt_prepare(*, order: Order) -> Payment:
    """Make the buyer's order ready to pay (again): it must still await payment, and gets its gateway order.

    Raises `PaymentNotAwaited` (409) when it was captured, cancelled or expired, and
    `GatewayUnavailable` (503) when the gateway order still cannot be created.
    """
    payment = Payment.objects.select_related("order").get(order=order)
    if not payment_awaiting(payment=payment, order=payment.order):
        raise PaymentNotAwaited()
    payment = payment_gateway_order_ensure(payment_id=payment.pk)
    if not payment.gateway_order_id:
        raise GatewayUnavailable()
    return payment


# --- the browser's callback -------------------------------------------------------------


def payment_signature_verify(
    *, gateway_order_id: str, gateway_payment_id: str, signature: str, buyer: User | None = None
) -> Payment:
    """Check the checkout's signature against the gateway order id we stored; mark the payment verified.

    `buyer` scopes the lookup (the API); the page callback passes None, because the gateway
    posts it cross-site without the buyer's cookies. Another buyer's payment is `NotFound`.
    This never captures: only the gateway's webhook or reconciliation does.
    """
    payments = Payment.objects.filter(method=PaymentMethod.ONLINE, gateway_order_id__isnull=False)
    if buyer is not None:
        payments = payments.filter(order__buyer=buyer)
    payment = payments.filter(gateway_order_id=gateway_order_id).first() if gateway_order_id else None
    if payment is None:
        raise NotFound("No such payment.")
    valid = get_gateway().payment_signature_valid(
        order_id=payment.gateway_order_id, payment_id=gateway_payment_id, signature=signature
    )
    if not valid:
        logger.warning("Refused a checkout callback with a bad signature for %s", payment.gateway_order_id)
        raise InvalidSignature()
    now = timezone.now()
    Payment.objects.filter(pk=payment.pk, verified_at__isnull=True).update(verified_at=now, updated_at=now)
    payment.refresh_from_db()
    return payment


# --- the gateway's word -------------------------------------------------------------------


def _money(paise: int, currency: str) -> str:
    return f"{currency} {paise / 100:.2f}"


def _flag(*, payment: Payment, reason: str) -> Applied:
    if payment.flagged and payment.flag_reason == reason:
        return Applied(False, f"already flagged: {reason}")
    payment.flagged, payment.flag_reason = True, reason[:500]
    payment.save(update_fields=["flagged", "flag_reason", "updated_at"])
    logger.error("Payment for %s flagged for staff review: %s", payment.order, reason)
    return Applied(True, f"flagged: {reason}")


def payment_capture_apply(*, gateway_payment: GatewayPayment, order_notes: dict[str, Any] | None = None) -> Applied:
    """The gateway captured this payment: place the order's items, once, whichever signal comes first.

    - A repeat (the same gateway payment already captured) changes nothing.
    - An amount or currency that is not our order's is flagged for staff, and nothing is placed.
    - A capture on an order that expired or was cancelled is recorded and refunded in full.
    `order_notes` are the gateway order's notes (from `order.paid`), used when the gateway order
    id was never stored (the response to creating it was lost).
    """
    if not gateway_payment.captured:
        return Applied(False, f"payment {gateway_payment.id} is {gateway_payment.status}, not captured")
    found = _payment_find(gateway_order_id=gateway_payment.order_id, notes=order_notes or gateway_payment.notes)
    if found is None:
        return Applied(False, f"no payment of ours for gateway order {gateway_payment.order_id}")
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=found.order_id)
        payment = Payment.objects.select_for_update().get(pk=found.pk)
        items = list(OrderItem.objects.select_for_update().filter(order=order).order_by("pk"))
        return _capture_locked(order=order, payment=payment, items=items, gateway_payment=gateway_payment)


def _capture_locked(
    *, order: Order, payment: Payment, items: list[OrderItem], gateway_payment: GatewayPayment
) -> Applied:
    if payment.status == PaymentStatus.CAPTURED:
        if payment.gateway_payment_id == gateway_payment.id:
            return Applied(False, f"payment {gateway_payment.id} already captured")
        return _flag(
            payment=payment,
            reason=f"a second capture, {gateway_payment.id}, after {payment.gateway_payment_id}: refund it by hand",
        )
    if payment.gateway_order_id and gateway_payment.order_id != payment.gateway_order_id:
        return _flag(
            payment=payment,
            reason=f"payment {gateway_payment.id} was captured on gateway order {gateway_payment.order_id}, "
            f"not ours ({payment.gateway_order_id})",
        )
    if gateway_payment.amount_paise != to_paise(payment.amount) or gateway_payment.currency != payment.currency:
        return _flag(
            payment=payment,
            reason=f"payment {gateway_payment.id} captured {_money(gateway_payment.amount_paise, gateway_payment.currency)}"
            f" for an order of {_money(to_paise(payment.amount), payment.currency)}",
        )
    pending = [item for item in items if item.status == OrderItemStatus.PENDING_PAYMENT]
    if not pending and any(item.status != OrderItemStatus.CANCELLED for item in items):
        return _flag(
            payment=payment, reason=f"payment {gateway_payment.id} captured for items that were not awaiting it"
        )

    payment.status = PaymentStatus.CAPTURED
    payment.gateway_order_id = payment.gateway_order_id or gateway_payment.order_id
    payment.gateway_payment_id = gateway_payment.id
    payment.captured_amount = gateway_payment.amount
    payment.captured_at = timezone.now()
    payment.save(
        update_fields=[
            "status",
            "gateway_order_id",
            "gateway_payment_id",
            "captured_amount",
            "captured_at",
            "updated_at",
        ]
    )
    if pending:
        order_items_place_paid(order=order, items=items)
        order_notifications.order_placed_notify(order_id=order.pk)
        return Applied(True, f"captured {gateway_payment.id}; placed {len(pending)} item(s)")
    # Every item was cancelled (the reservation expired) before the money came: give it all back.
    refunds.refund_initiate(payment=payment, amount=payment.captured_amount, reason=LATE_CAPTURE_REASON)
    notifications.late_capture_refund_notify(order_id=order.pk)
    logger.info("Late capture %s on cancelled %s: refunding %s in full", gateway_payment.id, order, payment.amount)
    return Applied(True, f"captured {gateway_payment.id} after the order was cancelled; full refund initiated")


def _attempted_at(attempt: GatewayPayment) -> datetime:
    return datetime.fromtimestamp(attempt.created_at, tz=UTC) if attempt.created_at else timezone.now()


def payment_failure_apply(*, gateway_payment: GatewayPayment) -> Applied:
    """Record a failed attempt, unless the payment was captured or a newer attempt's failure is already known.

    The attempt's own time (the gateway's `created_at`) is kept as `failed_at`, so a late
    failure of an earlier attempt never hides a later success the buyer is waiting on.
    """
    found = _payment_find(gateway_order_id=gateway_payment.order_id, notes=gateway_payment.notes)
    if found is None:
        return Applied(False, f"no payment of ours for gateway order {gateway_payment.order_id}")
    attempted_at = _attempted_at(gateway_payment)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=found.pk)
        if payment.status == PaymentStatus.CAPTURED:
            return Applied(False, "already captured; a failed attempt changes nothing")
        if payment.failed_at is not None and payment.failed_at >= attempted_at:
            return Applied(False, f"a failure as recent is already recorded ({payment.failure_code})")
        payment.failure_code = (gateway_payment.error_code or "")[:64]
        payment.failure_reason = (gateway_payment.error_description or "The payment failed.")[:500]
        payment.failed_at = attempted_at
        payment.save(update_fields=["failure_code", "failure_reason", "failed_at", "updated_at"])
    return Applied(True, f"attempt {gateway_payment.id} failed: {payment.failure_reason}")


# --- reconciliation -----------------------------------------------------------------------


def _unconfirmed_payments(*, now: datetime, older_than: timedelta) -> QuerySet[Payment]:
    """Online payments the gateway may know more about: still pending, or expired lately (a late capture)."""
    not_read_lately = Q(gateway_checked_at__isnull=True) | Q(gateway_checked_at__lt=now - LATE_CAPTURE_RECHECK)
    return Payment.objects.filter(
        Q(status=PaymentStatus.PENDING)
        | (Q(status=PaymentStatus.NOT_REQUIRED, created_at__gte=now - LATE_CAPTURE_WINDOW) & not_read_lately),
        method=PaymentMethod.ONLINE,
        gateway_order_id__isnull=False,
        created_at__lt=now - older_than,
    ).order_by("pk")


def _failure_is_new(*, payment: Payment, attempt: GatewayPayment) -> bool:
    return payment.failed_at is None or _attempted_at(attempt) > payment.failed_at


def payments_reconcile(*, older_than: timedelta, dry_run: bool = False) -> dict[str, int]:
    """Read unconfirmed online payments older than `older_than` from the gateway and apply them.

    A payment whose webhook never came is captured (or refunded in full, if its order expired
    meanwhile) through `payment_capture_apply`, and a failed attempt is recorded, exactly as
    the webhooks would. Safe to run concurrently with itself and with webhooks. With
    `dry_run`, nothing is written and the counts say what would be applied.

    An expired order's payment is read at most every LATE_CAPTURE_RECHECK for LATE_CAPTURE_WINDOW.

    Counts: checked, captured (captures applied), failed (failures recorded), unchanged, and
    errors (gateway reads that failed; the next run tries again).
    """
    counts = {"checked": 0, "captured": 0, "failed": 0, "unchanged": 0, "errors": 0}
    gateway = get_gateway()
    for payment in _unconfirmed_payments(now=timezone.now(), older_than=older_than).iterator():
        counts["checked"] += 1
        try:
            attempts = gateway.order_payments(payment.gateway_order_id)
        except PaymentGatewayError:
            logger.warning("Reconciliation could not read %s", payment.gateway_order_id, exc_info=True)
            counts["errors"] += 1
            continue
        if not dry_run:
            Payment.objects.filter(pk=payment.pk).update(gateway_checked_at=timezone.now())
        captured = [attempt for attempt in attempts if attempt.captured]
        failed = sorted((a for a in attempts if a.status == "failed"), key=lambda a: a.created_at)
        if captured:
            outcome, attempt = "captured", captured[0]
            would_change = not payment.flagged  # PENDING or NOT_REQUIRED: a capture does something, unless refused
        elif failed and payment.status == PaymentStatus.PENDING:
            outcome, attempt = "failed", failed[-1]
            would_change = _failure_is_new(payment=payment, attempt=attempt)
        else:
            counts["unchanged"] += 1
            continue
        if dry_run:
            counts[outcome if would_change else "unchanged"] += 1
            continue
        apply = payment_capture_apply if outcome == "captured" else payment_failure_apply
        applied = apply(gateway_payment=attempt)
        counts[outcome if applied.changed else "unchanged"] += 1
        if applied.changed:
            logger.info("Reconciled %s: %s", payment.gateway_order_id, applied.detail)
    return counts
