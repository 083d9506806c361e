"""The capture ledger: every payment the gateway captured for one of our gateway orders, and what became of it.

A capture is recorded (`GatewayCapture`, unique by gateway payment id) before anything is decided
about it, under the order's locks (payments.locks), so a webhook, its repeat, reconciliation and
the expiry reaching one capture at once record it once and decide once. Then exactly one of:

- PAID: the order awaited payment and the capture has its amount, currency and gateway order: the
  items move to PLACED;
- REFUNDED: refunded in full through the refund pipeline (payments.services.refunds), against its
  own gateway payment id, and the buyer is told why: it came after the order was cancelled
  (ORDER_CLOSED), after another capture paid the order (ALREADY_PAID), or it is not the order's
  (MISMATCH) and the order no longer awaits payment;
- FLAGGED: it is not the order's (MISMATCH) while the order still awaits payment, so the buyer may
  yet pay correctly. Staff see it in the admin. It is refunded by itself once the order no longer
  awaits payment (`payment_captures_settle`, when another capture pays the order or the order
  expires), unless staff refunded it (`capture_refund`) or settled it by hand (`capture_resolve`).

`CAPTURE_MOVES` is the whole state machine; `_move` is the only writer of an outcome.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from joycart.errors import NotFound, PermissionDenied
from orders import notifications as order_notifications
from orders.models import Order, OrderItem, OrderItemStatus
from orders.services.lifecycle import order_items_place_paid
from payments import locks, notifications
from payments.errors import CaptureNotFlagged, ResolutionNoteRequired
from payments.gateway import GatewayPayment, to_paise
from payments.models import CaptureOutcome, CaptureReason, GatewayCapture, Payment, PaymentStatus
from payments.selectors import payment_awaiting
from payments.services import refunds
from payments.services.outcome import Applied

logger = logging.getLogger(__name__)

Outcome = CaptureOutcome
Reason = CaptureReason

# Which outcome may follow which; None is a capture being recorded. PAID, REFUNDED and RESOLVED are final.
CAPTURE_MOVES = MappingProxyType(
    {
        None: frozenset({Outcome.PAID, Outcome.REFUNDED, Outcome.FLAGGED}),
        Outcome.FLAGGED: frozenset({Outcome.REFUNDED, Outcome.RESOLVED}),
    }
)

# The reason each refund row gives (staff read it beside the refund; the buyer's e-mail says more).
REFUND_REASONS = MappingProxyType(
    {
        Reason.ORDER_CLOSED: "payment arrived after the order was cancelled",
        Reason.ALREADY_PAID: "a second payment for an order already paid",
        Reason.MISMATCH: "payment not of the order's amount, currency or gateway order",
    }
)
LATE_CAPTURE_REASON = REFUND_REASONS[Reason.ORDER_CLOSED]

DETAIL_LENGTH = GatewayCapture._meta.get_field("detail").max_length
NOTE_LENGTH = 2000
STAFF_REFUND_NOTE = "Refunded in full from the admin."


@dataclass(frozen=True)
class _Decision:
    outcome: str
    reason: str = ""
    detail: str = ""


def _money(paise: int, currency: str) -> str:
    return f"{currency} {paise / 100:.2f}"


def _mismatch(*, payment: Payment, gateway_payment: GatewayPayment) -> str:
    """Why the capture is not the order's, or "" when it is."""
    if payment.gateway_order_id and gateway_payment.order_id != payment.gateway_order_id:
        return (
            f"payment {gateway_payment.id} was captured on gateway order {gateway_payment.order_id}, "
            f"not the order's ({payment.gateway_order_id})"
        )
    if gateway_payment.amount_paise != to_paise(payment.amount) or gateway_payment.currency != payment.currency:
        return (
            f"payment {gateway_payment.id} captured {_money(gateway_payment.amount_paise, gateway_payment.currency)}"
            f" for an order of {_money(to_paise(payment.amount), payment.currency)}"
        )
    return ""


def _decide(
    *,
    order: Order,
    payment: Payment,
    items: list[OrderItem],
    captures: list[GatewayCapture],
    gateway_payment: GatewayPayment,
) -> _Decision:
    paid_by = next((capture for capture in captures if capture.outcome == Outcome.PAID), None)
    if paid_by is not None:
        return _Decision(
            Outcome.REFUNDED,
            Reason.ALREADY_PAID,
            f"payment {gateway_payment.id} is a second capture; {paid_by.gateway_payment_id} paid the order",
        )
    mismatch = _mismatch(payment=payment, gateway_payment=gateway_payment)
    if mismatch and payment_awaiting(payment=payment, order=order):
        return _Decision(Outcome.FLAGGED, Reason.MISMATCH, f"{mismatch}; the buyer may still pay the order correctly")
    if mismatch:
        return _Decision(Outcome.REFUNDED, Reason.MISMATCH, f"{mismatch}; the order no longer awaits payment")
    awaiting = any(item.status == OrderItemStatus.PENDING_PAYMENT for item in items)
    if payment.status != PaymentStatus.PENDING or not awaiting:
        return _Decision(
            Outcome.REFUNDED,
            Reason.ORDER_CLOSED,
            f"payment {gateway_payment.id} came after the order stopped awaiting payment",
        )
    return _Decision(Outcome.PAID)


def _move(capture: GatewayCapture, to: str, *, actor: User | None = None, note: str = "") -> None:
    """Move a locked capture to `to` if CAPTURE_MOVES allows it, recording who did it (staff) and why."""
    if to not in CAPTURE_MOVES.get(capture.outcome or None, frozenset()):
        raise CaptureNotFlagged(
            "Only a capture flagged for staff can be refunded or resolved; this one is settled "
            f"({capture.get_outcome_display().lower()})."
        )
    capture.outcome = to
    fields = ["outcome", "updated_at"]
    if actor is not None:
        capture.resolved_by, capture.resolved_at, capture.resolution_note = actor, timezone.now(), note
        fields += ["resolved_by", "resolved_at", "resolution_note"]
    if capture.pk is None:
        capture.save()
    else:
        capture.save(update_fields=fields)


def _refund_in_full(*, capture: GatewayCapture, payment: Payment) -> None:
    """Pay the whole capture back against its own gateway payment id, and tell the buyer why (after commit)."""
    refunds.refund_initiate(
        payment=payment, amount=capture.amount, reason=REFUND_REASONS[capture.reason], capture=capture
    )
    notifications.capture_refund_notify(capture_id=capture.pk)
    logger.info(
        "Refunding capture %s of %s in full (%s): %s",
        capture.gateway_payment_id,
        capture.amount,
        capture.reason,
        capture.detail,
    )


def _paying(*, payment: Payment, gateway_payment: GatewayPayment) -> None:
    """Make the capture the payment's own (see Payment): CAPTURED, with its id and amount."""
    payment.status = PaymentStatus.CAPTURED
    payment.gateway_payment_id = gateway_payment.id
    payment.captured_amount = gateway_payment.amount
    payment.captured_at = timezone.now()
    payment.save(update_fields=["status", "gateway_payment_id", "captured_amount", "captured_at", "updated_at"])


def _captured_at(gateway_payment: GatewayPayment) -> datetime:
    if not gateway_payment.created_at:
        return timezone.now()
    return datetime.fromtimestamp(gateway_payment.created_at, tz=UTC)


def capture_apply_locked(
    *, order: Order, payment: Payment, items: list[OrderItem], gateway_payment: GatewayPayment
) -> Applied:
    """Record a capture of the payment's gateway order once, and decide its outcome once.

    The caller holds payments.locks.order_payment_lock. A capture already recorded changes
    nothing, unless it is FLAGGED and its order no longer awaits payment: then it is refunded.
    """
    captures = locks.payment_captures_lock(payment_id=payment.pk)
    known = next((capture for capture in captures if capture.gateway_payment_id == gateway_payment.id), None)
    if known is not None:
        if known.outcome == Outcome.FLAGGED and not payment_awaiting(payment=payment, order=order):
            _move(known, Outcome.REFUNDED)
            _refund_in_full(capture=known, payment=payment)
            return Applied(True, f"capture {known.gateway_payment_id} refunded in full: {known.detail}")
        return Applied(False, f"payment {gateway_payment.id} already recorded: {known.get_outcome_display().lower()}")

    decision = _decide(order=order, payment=payment, items=items, captures=captures, gateway_payment=gateway_payment)
    if payment.gateway_order_id is None:
        # Found by the notes of a gateway order we created, whose id we never stored: store it now.
        payment.gateway_order_id = gateway_payment.order_id
        payment.save(update_fields=["gateway_order_id", "updated_at"])
    capture = GatewayCapture(
        payment=payment,
        gateway_payment_id=gateway_payment.id,
        gateway_order_id=gateway_payment.order_id or "",
        amount=gateway_payment.amount,
        currency=gateway_payment.currency,
        captured_at=_captured_at(gateway_payment),
        reason=decision.reason,
        detail=decision.detail[:DETAIL_LENGTH],
    )
    _move(capture, decision.outcome)  # a new capture: saved here, once

    if decision.outcome == Outcome.PAID:
        _paying(payment=payment, gateway_payment=gateway_payment)
        placed = order_items_place_paid(order=order, items=items)
        order_notifications.order_placed_notify(order_id=order.pk)
        settled = _settle_flagged(order=order, payment=payment, captures=captures)
        detail = f"captured {gateway_payment.id}; placed {placed} item(s)"
        return Applied(True, detail + (f"; refunded {settled} flagged capture(s)" if settled else ""))
    if decision.outcome == Outcome.FLAGGED:
        logger.error("Capture for %s flagged for staff review: %s", order, decision.detail)
        return Applied(True, f"flagged: {decision.detail}")
    if decision.reason == Reason.ORDER_CLOSED and payment.gateway_payment_id is None:
        _paying(payment=payment, gateway_payment=gateway_payment)  # no other capture matched the order first
    _refund_in_full(capture=capture, payment=payment)
    return Applied(True, f"{decision.detail}; full refund initiated")


def _settle_flagged(*, order: Order, payment: Payment, captures: list[GatewayCapture]) -> int:
    """Refund the FLAGGED ones of the payment's locked `captures` if the order no longer awaits payment."""
    if payment_awaiting(payment=payment, order=order):
        return 0
    flagged = [capture for capture in captures if capture.outcome == Outcome.FLAGGED]
    for capture in flagged:
        _move(capture, Outcome.REFUNDED)
        _refund_in_full(capture=capture, payment=payment)
    return len(flagged)


def payment_captures_settle(*, payment: Payment) -> int:
    """Refund in full every FLAGGED capture of a payment whose order no longer awaits payment; returns how many.

    Call it in the transaction that holds the order's locks (payments.locks), right after the
    order stopped awaiting payment (it expired, or another capture paid it).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("payment_captures_settle needs the caller's transaction and locks.")
    captures = locks.payment_captures_lock(payment_id=payment.pk)
    return _settle_flagged(order=Order.objects.get(pk=payment.order_id), payment=payment, captures=captures)


# --- staff --------------------------------------------------------------------------------


def capture_review_allowed(*, user: User) -> bool:
    """Who may refund or resolve a flagged capture: active staff with the change permission on captures."""
    return user.is_active and user.is_staff and user.has_perm("payments.change_gatewaycapture")


def _staff_locked(*, capture_id: int, actor: User) -> tuple[Payment, GatewayCapture]:
    if not capture_review_allowed(user=actor):
        raise PermissionDenied("Only staff who may change captures can refund or resolve them.")
    order_id = GatewayCapture.objects.filter(pk=capture_id).values_list("payment__order_id", flat=True).first()
    if order_id is None:
        raise NotFound("No such capture.")
    _order, payment, _items = locks.order_payment_lock(order_id=order_id)
    return payment, locks.capture_lock(capture_id=capture_id)


def _audit(action: str, capture: GatewayCapture, actor: User) -> None:
    logger.info(
        "capture_review action=%s capture=%s gateway_payment_id=%s payment=%s actor=%s note=%r",
        action,
        capture.pk,
        capture.gateway_payment_id,
        capture.payment_id,
        actor.get_username(),
        capture.resolution_note,
    )


def capture_refund(*, capture_id: int, actor: User) -> GatewayCapture:
    """Staff: refund a FLAGGED capture in full now, against its own gateway payment id; the buyer is told.

    Refuses anything but FLAGGED (`capture_not_flagged`, 409) and staff without the permission (403).
    """
    with transaction.atomic():
        payment, capture = _staff_locked(capture_id=capture_id, actor=actor)
        _move(capture, Outcome.REFUNDED, actor=actor, note=STAFF_REFUND_NOTE)
        _refund_in_full(capture=capture, payment=payment)
    _audit("refund", capture, actor)
    return capture


def capture_resolve(*, capture_id: int, actor: User, note: str) -> GatewayCapture:
    """Staff: a FLAGGED capture was settled by hand (say, refunded from Razorpay's dashboard); `note` says how.

    Refuses an empty note (`resolution_note_required`, 400), anything but FLAGGED (409) and staff
    without the permission (403). Nothing is refunded: it is never refunded by itself afterwards.
    """
    note = note.strip() if isinstance(note, str) else ""
    if not note or len(note) > NOTE_LENGTH:
        raise ResolutionNoteRequired()
    with transaction.atomic():
        _payment, capture = _staff_locked(capture_id=capture_id, actor=actor)
        _move(capture, Outcome.RESOLVED, actor=actor, note=note)
    _audit("resolve", capture, actor)
    return capture
