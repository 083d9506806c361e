"""Online payments through Razorpay: the gateway order, the browser's signature, and the gateway's word.

One JoyCart order has one Payment and (once created) one gateway order. Only the gateway
confirms money: a `payment.captured` or `order.paid` webhook, or reconciliation reading the
gateway, ends in `payment_capture_apply`, which records the capture in the capture ledger and
decides what becomes of it (payments.services.captures). The browser's signed callback only
says "paid, confirming" (`verified_at`).

Which order a capture belongs to is decided only by the gateway order id we stored, or by the
notes of the gateway ORDER that we created (never by the payment's own notes, which the buyer's
browser sets in the checkout options).

Every gateway call here happens outside a transaction: `payment_gateway_order_ensure` runs
after checkout committed, `payment_capture_resolve` runs as a task after the webhook committed,
and `payments_reconcile` reads the gateway before it applies what it read. Applying takes the
locks in payments.locks (Order, Payment, the order's items, its captures), so a capture, an
expiry and a repeated webhook for one order run one after another and the first one wins.
"""

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from joycart.errors import NotFound
from joycart.ids import parse_id
from joycart.tasks import enqueue_with_transaction
from orders.models import Order, PaymentMethod
from payments import locks
from payments.errors import GatewayUnavailable, InvalidSignature, PaymentNotAwaited
from payments.gateway import GatewayPayment, PaymentGatewayError, get_gateway, to_paise
from payments.models import CaptureOutcome, GatewayCapture, Payment, PaymentStatus
from payments.selectors import payment_awaiting
from payments.services.captures import capture_apply_locked
from payments.services.outcome import Applied

logger = logging.getLogger(__name__)

# A payment no longer pending is read again at most this often: Razorpay rate-limits its API, and
# another capture after the first (or after the order expired) is rare.
LATE_CAPTURE_RECHECK = timedelta(minutes=15)


def _payment_find(*, gateway_order_id: str | None, order_notes: dict[str, Any] | None = None) -> Payment | None:
    """Ours by the gateway order id we stored, or else by our order id in the notes of the gateway ORDER,
    which we created. Never by the payment's notes: the buyer's browser sets those."""
    online = Payment.objects.filter(method=PaymentMethod.ONLINE)
    if gateway_order_id:
        payment = online.filter(gateway_order_id=gateway_order_id).first()
        if payment is not None:
            return payment
    order_id = parse_id(str((order_notes or {}).get("order_id") or ""))
    if order_id is not None:
        return online.filter(order_id=order_id).first()
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


def payment_capture_apply(*, gateway_payment: GatewayPayment, order_notes: dict[str, Any] | None = None) -> Applied:
    """The gateway captured this payment: record it in the capture ledger once and decide its outcome once,
    whichever signal comes first (payments.services.captures).

    `order_notes` are the notes of the gateway order (`order.paid` carries it, `payment_capture_resolve`
    reads it), used when its id was never stored (the response to creating it was lost). A capture
    of a gateway order we do not know, with no order notes at hand, is left to
    `payment_capture_resolve`, queued here to read that order after this transaction.
    """
    if not gateway_payment.captured:
        return Applied(False, f"payment {gateway_payment.id} is {gateway_payment.status}, not captured")
    found = _payment_find(gateway_order_id=gateway_payment.order_id, order_notes=order_notes)
    if found is None and order_notes is None and gateway_payment.order_id:
        from payments.tasks_online import payment_capture_resolve as resolve_task

        enqueue_with_transaction(resolve_task, payment=gateway_payment.raw)
        return Applied(
            False, f"gateway order {gateway_payment.order_id} is not one we stored: its notes are read from the gateway"
        )
    if found is None:
        return Applied(False, f"no payment of ours for gateway order {gateway_payment.order_id}")
    with transaction.atomic():
        order, payment, items = locks.order_payment_lock(order_id=found.order_id)
        return capture_apply_locked(order=order, payment=payment, items=items, gateway_payment=gateway_payment)


def payment_capture_resolve(*, gateway_payment: GatewayPayment) -> Applied:
    """A capture on a gateway order whose id we never stored: read that order from the gateway (call it outside
    any transaction) and apply the capture with its notes, which name our order if we created it."""
    try:
        gateway_order = get_gateway().order_fetch(gateway_payment.order_id or "")
    except PaymentGatewayError:
        # order.paid carries the same notes, and Razorpay retries it until we answer.
        logger.warning("Could not read gateway order %s to place its capture", gateway_payment.order_id, exc_info=True)
        return Applied(False, f"gateway order {gateway_payment.order_id} could not be read")
    return payment_capture_apply(gateway_payment=gateway_payment, order_notes=gateway_order.notes)


def _attempted_at(attempt: GatewayPayment) -> datetime:
    return datetime.fromtimestamp(attempt.created_at, tz=UTC) if attempt.created_at else timezone.now()


def payment_failure_apply(*, gateway_payment: GatewayPayment) -> Applied:
    """Record a failed attempt, unless the payment was captured or a newer attempt's failure is already known.

    The attempt's own time (the gateway's `created_at`) is kept as `failed_at`, so a late
    failure of an earlier attempt never hides a later success the buyer is waiting on.
    """
    found = _payment_find(gateway_order_id=gateway_payment.order_id)
    if found is None:
        return Applied(False, f"no payment of ours for gateway order {gateway_payment.order_id}")
    attempted_at = _attempted_at(gateway_payment)
    with transaction.atomic():
        payment = locks.payment_lock(payment_id=found.pk)
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


def _payments_to_read(*, now: datetime, older_than: timedelta) -> QuerySet[Payment]:
    """Online payments the gateway may know more about: every pending one, and for RECONCILE_LOOKBACK_HOURS
    after its last change one captured or no longer required (another capture may still come), read at
    most every LATE_CAPTURE_RECHECK."""
    lookback = timedelta(hours=settings.RECONCILE_LOOKBACK_HOURS)
    not_read_lately = Q(gateway_checked_at__isnull=True) | Q(gateway_checked_at__lt=now - LATE_CAPTURE_RECHECK)
    return (
        Payment.objects.filter(
            Q(status=PaymentStatus.PENDING) | (Q(updated_at__gte=now - lookback) & not_read_lately),
            method=PaymentMethod.ONLINE,
            gateway_order_id__isnull=False,
            created_at__lt=now - older_than,
        )
        .select_related("order")
        .order_by("pk")
    )


def _failure_is_new(*, payment: Payment, attempt: GatewayPayment) -> bool:
    return payment.failed_at is None or _attempted_at(attempt) > payment.failed_at


def _capture_is_news(*, payment: Payment, attempt: GatewayPayment) -> bool:
    """Whether applying this capture would change anything (for a dry run): it is not recorded yet, or it
    is FLAGGED and its order no longer awaits payment."""
    outcome = GatewayCapture.objects.filter(gateway_payment_id=attempt.id).values_list("outcome", flat=True).first()
    if outcome is None:
        return True
    return outcome == CaptureOutcome.FLAGGED and not payment_awaiting(payment=payment, order=payment.order)


def payments_reconcile(*, older_than: timedelta, dry_run: bool = False) -> dict[str, int]:
    """Read online payments older than `older_than` from the gateway and apply what it says, as the webhooks would.

    Every captured attempt of each gateway order read goes through `payment_capture_apply`, oldest
    first: each is recorded in the capture ledger once, and pays the order, is refunded in full
    or is flagged. While the payment is pending and nothing was captured, its latest failed
    attempt is recorded. Pending payments are read on every run; the others for
    RECONCILE_LOOKBACK_HOURS after their last change, at most every LATE_CAPTURE_RECHECK. Safe to
    run concurrently with itself and with webhooks. With `dry_run`, nothing is written and the
    counts say what would be applied.

    Counts: checked (payments read), captured (captures applied), failed (failures recorded),
    unchanged (payments read with nothing to apply), and errors (gateway reads that failed; the
    next run tries again).
    """
    counts = {"checked": 0, "captured": 0, "failed": 0, "unchanged": 0, "errors": 0}
    gateway = get_gateway()
    for payment in _payments_to_read(now=timezone.now(), older_than=older_than).iterator():
        counts["checked"] += 1
        try:
            attempts = gateway.order_payments(payment.gateway_order_id)
        except PaymentGatewayError:
            logger.warning("Reconciliation could not read %s", payment.gateway_order_id, exc_info=True)
            counts["errors"] += 1
            continue
        if not dry_run:
            Payment.objects.filter(pk=payment.pk).update(gateway_checked_at=timezone.now())
        oldest_first = sorted(reversed(attempts), key=lambda attempt: attempt.created_at)  # Razorpay lists newest first
        captured = [attempt for attempt in oldest_first if attempt.captured]
        failed = [attempt for attempt in oldest_first if attempt.status == "failed"]
        applied = 0
        for attempt in captured:
            applied += _reconcile_one(payment=payment, attempt=attempt, dry_run=dry_run, apply=payment_capture_apply)
        counts["captured"] += applied
        if not captured and failed and payment.status == PaymentStatus.PENDING:
            recorded = _reconcile_one(payment=payment, attempt=failed[-1], dry_run=dry_run, apply=payment_failure_apply)
            counts["failed"] += recorded
            applied += recorded
        if not applied:
            counts["unchanged"] += 1
    return counts


def _reconcile_one(*, payment: Payment, attempt: GatewayPayment, dry_run: bool, apply) -> int:
    """Apply one attempt read from the gateway (or, in a dry run, say whether it would change anything): 1 or 0."""
    if dry_run:
        news = _capture_is_news if attempt.captured else _failure_is_new
        return int(news(payment=payment, attempt=attempt))
    applied = apply(gateway_payment=attempt)
    if applied.changed:
        logger.info("Reconciled %s: %s", payment.gateway_order_id, applied.detail)
    return int(applied.changed)
