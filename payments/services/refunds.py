"""Refunds: INITIATED with the cancellation, PROCESSING once the gateway accepts, REFUNDED or
FAILED only when the gateway says so (webhook, or reconciliation reading the gateway).

Money rules:
- Every refund pays back one capture (`Refund.capture`, a `GatewayCapture`) and is sent to the
  gateway against that capture's own gateway payment id. A cancelled item's refund pays back
  the payment's own capture; a capture that did not pay the order is refunded in full.
- A capture's `refunded_amount` is the money *committed* to its refunds: the sum of those that
  are not FAILED (INITIATED, PROCESSING and REFUNDED), written under the Payment row lock
  whenever that sum changes (a new refund, a failure, a staff retry). It reads like Razorpay's
  own `amount_refunded`, which counts pending refunds at once. `Payment.refunded_amount` is the
  same sum for the payment's own capture. So the database checks `refunded_amount <= amount`
  (the capture) and `refunded_amount <= captured_amount` (the payment) guard "refunds never
  exceed what was captured" themselves, even against a bug in the checks above them.
- Every write locks the Payment row, then the capture, then the Refund row (after Order and
  OrderItem, when a cancellation holds those; payments.locks), so two cancels at once are
  checked one after the other.

The gateway is called only from `refund_submit`, outside any transaction, after the refund
row committed (a background task enqueued in the cancelling transaction). Every call of one
refund sends the same `X-Refund-Idempotency` key and the same body, so a retry after a 5xx,
a timeout or a lost response returns the refund the gateway already made instead of a
second one.

Staff retry of a FAILED refund gives it a *new* key: on Razorpay a failed refund is final,
and repeating its key would only return that failed refund again. A new key is safe
because FAILED means nothing is pending at the gateway under the old one: either the gateway
said `refund.failed` (and gave the amount back to the payment), or it refused the request
with a 4xx and holds no refund under the key. A 4xx is not proof enough by itself: after a lost
response, the retry with the same key may be refused (say, "amount exceeds the payment") while
the first request's refund lives at the gateway, so before failing a refund its capture's
refunds are read, and a refund found there under our id and key wins. Webhooks are matched by gateway refund id, or by the refund
id *and* key in the notes, so a late event about the failed attempt never touches the retry.

Reconciliation (`payments.services.refund_reconcile`) reads the gateway and comes back here.
"""

import logging
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from joycart.errors import NotFound
from joycart.ids import parse_id
from joycart.tasks import enqueue_with_transaction
from orders.models import OrderItem, PaymentMethod
from payments import locks, staff_alerts
from payments.errors import RefundExceedsCaptured, RefundNotRetryable
from payments.gateway import (
    GatewayPermanentError,
    GatewayRefund,
    GatewayRetryableError,
    PaymentGatewayError,
    get_gateway,
    to_paise,
)
from payments.models import GatewayCapture, Payment, Refund, RefundStatus
from payments.services.outcome import Applied

logger = logging.getLogger(__name__)

KEY_PREFIX = "jcrf_"
# Submit attempts the task makes by itself, waiting longer each time; after that (and with a
# backend that cannot defer) the refund waits, INITIATED, for `reconcile_payments`.
MAX_SUBMIT_ATTEMPTS = 8
RETRY_BASE_DELAY = timedelta(seconds=30)
RETRY_MAX_DELAY = timedelta(hours=1)
UNKNOWN_REFUND = "unknown refund"
GATEWAY_FAILED_REASON = "The payment gateway reported that the refund failed."

REASON_LENGTH = Refund._meta.get_field("reason").max_length
FAILURE_REASON_LENGTH = Refund._meta.get_field("failure_reason").max_length

# How far along each status is: a move only ever goes to a higher rank (staff retry aside).
_RANK = {RefundStatus.INITIATED: 0, RefundStatus.PROCESSING: 1, RefundStatus.REFUNDED: 2, RefundStatus.FAILED: 2}
_GATEWAY_STATUS = {
    "pending": RefundStatus.PROCESSING,
    "processed": RefundStatus.REFUNDED,
    "failed": RefundStatus.FAILED,
}


# --- small pieces ------------------------------------------------------------------------


def refund_key_new() -> str:
    """An X-Refund-Idempotency key: Razorpay wants at least 10 of [A-Za-z0-9_-]."""
    return f"{KEY_PREFIX}{uuid.uuid4().hex}"


def refund_retry_delay(attempt: int) -> timedelta:
    """How long to wait after failed submit attempt number `attempt` (1, 2, ...): 30 s, 1 min, 2 min, ...
    doubling, at most an hour."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    return min(RETRY_BASE_DELAY * 2 ** min(attempt - 1, 16), RETRY_MAX_DELAY)


def refund_notes(refund: Refund) -> dict[str, str]:
    """What the gateway keeps with the refund, so its webhook can find our row before we know its id.

    Deterministic: a retry must send the very same body, or Razorpay refuses the reused key."""
    return {
        "refund_id": str(refund.pk),
        "refund_key": refund.idempotency_key,
        "order_number": refund.payment.order.number or "",
        "item_id": str(refund.order_item_id or ""),
    }


def _committed(*, capture_id: int, excluding: int | None = None) -> Decimal:
    refunds = Refund.objects.filter(capture_id=capture_id).exclude(status=RefundStatus.FAILED)
    if excluding is not None:
        refunds = refunds.exclude(pk=excluding)
    return refunds.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


def _is_own(*, capture: GatewayCapture, payment: Payment) -> bool:
    return capture.gateway_payment_id == payment.gateway_payment_id


def _refundable_total(*, capture: GatewayCapture, payment: Payment) -> Decimal:
    """What the capture's refunds may add up to: the payment's captured amount for its own capture
    (the figure its database check guards), else the capture's own amount."""
    return payment.captured_amount if _is_own(capture=capture, payment=payment) else capture.amount


def _refunded_write(*, capture: GatewayCapture, payment: Payment, total: Decimal) -> None:
    capture.refunded_amount = total
    capture.save(update_fields=["refunded_amount", "updated_at"])
    if _is_own(capture=capture, payment=payment):
        payment.refunded_amount = total
        payment.save(update_fields=["refunded_amount", "updated_at"])


def _refunded_sync(*, capture: GatewayCapture, payment: Payment) -> None:
    """Under the Payment and capture locks: `refunded_amount` is the sum of the refunds that are not FAILED."""
    _refunded_write(capture=capture, payment=payment, total=_committed(capture_id=capture.pk))


def _locked(*, refund_id: int) -> tuple[Refund, Payment, GatewayCapture]:
    """Lock the refund's Payment, then its capture, then the Refund (inside the caller's transaction)."""
    ids = Refund.objects.filter(pk=refund_id).values_list("payment_id", "capture_id").first()
    if ids is None:
        raise NotFound("No such refund.")
    payment = locks.payment_lock(payment_id=ids[0])
    capture = locks.capture_lock(capture_id=ids[1])
    refund = locks.refund_lock(refund_id=refund_id)
    refund.payment, refund.capture = payment, capture
    return refund, payment, capture


def _submit_enqueue(*, refund_id: int) -> None:
    from payments.tasks import refund_submit as refund_submit_task

    enqueue_with_transaction(refund_submit_task, refund_id=refund_id)


def _return_complete_enqueue(*, item_id: int) -> None:
    """After commit, in its own transaction: the item's move takes its order's lock, which must come
    before the Payment and Refund locks held here."""
    from orders.tasks import return_complete as return_complete_task

    enqueue_with_transaction(return_complete_task, item_id=item_id)


def _advance(*, refund: Refund, to_status: str, failure_reason: str = "") -> set[str]:
    """Move the locked refund forward to `to_status` in memory; the fields that changed, none if not forward."""
    if _RANK[to_status] <= _RANK[refund.status]:
        return set()
    refund.status = to_status
    if to_status == RefundStatus.REFUNDED:
        refund.processed_at = timezone.now()
        return {"status", "processed_at"}
    if to_status == RefundStatus.FAILED:
        refund.failure_reason = (failure_reason or GATEWAY_FAILED_REASON)[:FAILURE_REASON_LENGTH]
        return {"status", "failure_reason"}
    return {"status"}


def _save(*, refund: Refund, payment: Payment, capture: GatewayCapture, fields: set[str]) -> None:
    """Write the locked refund in ONE update, and if it just FAILED, the committed totals and the staff's mail.

    Every move to FAILED comes through here, once (`_advance` moves only forward, under the lock).

    One update per transaction matters on PostgreSQL: a row updated twice in a transaction has
    its foreign keys checked again at commit, taking FOR KEY SHARE on the order item, which
    would wait on a cancel that holds the order's item locks while it waits for our Payment lock.
    """
    if not fields:
        return
    refund.save(update_fields=[*sorted(fields), "updated_at"])
    if "status" in fields and refund.status == RefundStatus.REFUNDED and refund.order_item_id is not None:
        _return_complete_enqueue(item_id=refund.order_item_id)  # a returned item waits for this refund
    if "status" in fields and refund.status == RefundStatus.FAILED:
        _refunded_sync(capture=capture, payment=payment)  # a failed refund no longer commits its amount
        staff_alerts.refund_failed_notify(refund=refund)  # it waits for a person now: never silently


# --- creating -----------------------------------------------------------------------------


def refund_initiate(
    *,
    payment: Payment,
    amount: Decimal,
    reason: str,
    order_item: OrderItem | None = None,
    capture: GatewayCapture | None = None,
) -> Refund:
    """Create an INITIATED refund of `capture` (by default the payment's own capture) and enqueue its
    submission, in the caller's transaction.

    The caller holds the Payment row lock (taken after any Order and OrderItem locks); it is
    taken again here, with the capture's, which costs nothing when held and keeps the check from
    reading a stale row. Refuses with `RefundExceedsCaptured` (409) when the capture, less its
    refunds not FAILED, does not cover `amount` (or the payment has no capture at all); the
    caller's transaction should then roll back.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("refund_initiate must run inside the transaction that holds the Payment lock")
    if payment.method != PaymentMethod.ONLINE:
        raise ValueError("Only online payments are refunded through the gateway.")
    amount = Decimal(amount)
    to_paise(amount)  # a fraction of a paisa is a bug upstream
    if amount <= 0:
        raise ValueError("A refund amount must be positive.")
    payment = locks.payment_lock(payment_id=payment.pk)
    capture = _capture_of(payment=payment, capture=capture)
    committed = _committed(capture_id=capture.pk)
    if amount > _refundable_total(capture=capture, payment=payment) - committed:
        raise RefundExceedsCaptured()
    refund = Refund.objects.create(
        payment=payment,
        capture=capture,
        order_item=order_item,
        amount=amount,
        reason=(reason or "").strip()[:REASON_LENGTH],
        idempotency_key=refund_key_new(),
    )
    _refunded_write(capture=capture, payment=payment, total=committed + amount)
    _submit_enqueue(refund_id=refund.pk)
    return refund


def _capture_of(*, payment: Payment, capture: GatewayCapture | None) -> GatewayCapture:
    """Lock and return the capture to refund: the one given (it must be the payment's), or the payment's own."""
    if capture is not None:
        if capture.payment_id != payment.pk:
            raise ValueError("A refund pays back a capture of its own payment.")
        return locks.capture_lock(capture_id=capture.pk)
    own = payment.captures.filter(gateway_payment_id=payment.gateway_payment_id).values_list("pk", flat=True).first()
    if payment.gateway_payment_id is None or own is None:
        raise RefundExceedsCaptured()  # nothing was captured for this payment
    return locks.capture_lock(capture_id=own)


# --- asking the gateway -------------------------------------------------------------------


def refund_submit(*, refund_id: int, reschedule: bool = True) -> str:
    """Ask the gateway for an INITIATED refund's money back; call it outside any transaction.

    - accepted: PROCESSING with the gateway refund id (never backwards: a webhook that came
      first and made it REFUNDED stands);
    - a retryable error (network, timeout, 5xx, 409, lost response): attempts and the error are
      recorded and, if `reschedule` and the task backend can defer, the task runs again after
      `refund_retry_delay(attempts)`. Otherwise the refund stays INITIATED for reconciliation;
    - a permanent error (a 4xx): FAILED with Razorpay's description, staff may retry it; unless the
      capture's refunds show one made under this key (accepted, as above) or cannot be read
      (retryable, as above).

    Returns a short description of what happened.
    """
    refund = Refund.objects.select_related("payment__order", "capture").filter(pk=refund_id).first()
    if refund is None:
        return UNKNOWN_REFUND
    if refund.status != RefundStatus.INITIATED:
        return f"refund {refund_id} is {refund.status}; nothing to submit"
    key = refund.idempotency_key
    try:
        gateway_refund = get_gateway().refund_create(
            payment_id=refund.capture.gateway_payment_id,
            amount_paise=to_paise(refund.amount),
            idempotency_key=key,
            notes=refund_notes(refund),
        )
    except GatewayRetryableError as exc:
        return _submit_failed_for_now(refund_id=refund_id, key=key, error=exc, reschedule=reschedule)
    except GatewayPermanentError as exc:
        return _submit_refused_unless_made(refund=refund, key=key, error=exc, reschedule=reschedule)
    return _submit_accepted(refund_id=refund_id, key=key, gateway_refund=gateway_refund)


def gateway_refund_find(refund: Refund) -> GatewayRefund | None:
    """The gateway's refund for this refund's current attempt, found among its capture's refunds by our id
    and key in the notes; None if there is none. A gateway read: call it outside any transaction."""
    for candidate in get_gateway().refunds_fetch(refund.capture.gateway_payment_id):
        if candidate.notes.get("refund_id") == str(refund.pk) and match_by_notes(refund=refund, entity=candidate.raw):
            return candidate
    return None


def _submit_refused_unless_made(*, refund: Refund, key: str, error: GatewayPermanentError, reschedule: bool) -> str:
    """A 4xx: FAILED, unless an earlier request under the same key made the refund after all."""
    try:
        made = gateway_refund_find(refund)
    except PaymentGatewayError as read_error:
        # Cannot tell whether the refund exists: failing it could refund twice on a staff retry.
        logger.warning(
            "refund %s refused (%s), and its capture's refunds could not be read: %s", refund.pk, error, read_error
        )
        return _submit_failed_for_now(refund_id=refund.pk, key=key, error=error, reschedule=reschedule)
    if made is not None:
        logger.warning("refund %s refused (%s), but the gateway already holds it as %s", refund.pk, error, made.id)
        return _submit_accepted(refund_id=refund.pk, key=key, gateway_refund=made)
    return _submit_refused(refund_id=refund.pk, key=key, error=error)


def _submit_accepted(*, refund_id: int, key: str, gateway_refund: GatewayRefund) -> str:
    with transaction.atomic():
        refund, payment, capture = _locked(refund_id=refund_id)
        if refund.idempotency_key != key:
            return f"refund {refund_id} was retried meanwhile; this answer is about an earlier attempt"
        refund.attempts += 1  # `last_error` stays: what went wrong before, for staff
        fields = {"attempts"}
        if refund.gateway_refund_id is None:
            refund.gateway_refund_id = gateway_refund.id
            fields.add("gateway_refund_id")
        # The answer may already be final (a retry after the refund settled): the gateway's word, applied forward.
        to_status = _GATEWAY_STATUS.get(gateway_refund.status, RefundStatus.PROCESSING)
        fields |= _advance(refund=refund, to_status=RefundStatus.PROCESSING)
        fields |= _advance(refund=refund, to_status=to_status)
        _save(refund=refund, payment=payment, capture=capture, fields=fields)
    logger.info("refund %s accepted by the gateway as %s (%s)", refund_id, gateway_refund.id, refund.status)
    return f"refund {refund_id} is {refund.status} as {gateway_refund.id}"


def _submit_failed_for_now(*, refund_id: int, key: str, error: PaymentGatewayError, reschedule: bool) -> str:
    from payments.tasks import refund_submit as refund_submit_task

    with transaction.atomic():
        refund, payment, capture = _locked(refund_id=refund_id)
        if refund.idempotency_key != key or refund.status != RefundStatus.INITIATED:
            return f"refund {refund_id} moved on meanwhile ({refund.status})"
        refund.attempts += 1
        refund.last_error = str(error)
        _save(refund=refund, payment=payment, capture=capture, fields={"attempts", "last_error"})
        backend = refund_submit_task.get_backend()
        if reschedule and refund.attempts < MAX_SUBMIT_ATTEMPTS and backend.supports_defer:
            delay = refund_retry_delay(refund.attempts)
            # The database queue writes the task in this transaction, with the attempt it follows.
            refund_submit_task.using(run_after=timezone.now() + delay).enqueue(refund_id=refund_id)
            outcome = f"retrying in {int(delay.total_seconds())} s"
        else:
            outcome = "left INITIATED for reconciliation"
    logger.warning("refund %s attempt %s failed (%s): %s", refund_id, refund.attempts, error, outcome)
    return f"refund {refund_id}: {error}; {outcome}"


def _submit_refused(*, refund_id: int, key: str, error: PaymentGatewayError) -> str:
    with transaction.atomic():
        refund, payment, capture = _locked(refund_id=refund_id)
        if refund.idempotency_key != key or refund.status != RefundStatus.INITIATED:
            return f"refund {refund_id} moved on meanwhile ({refund.status})"
        refund.attempts += 1
        refund.last_error = str(error)
        failed = _advance(refund=refund, to_status=RefundStatus.FAILED, failure_reason=error.description)
        _save(refund=refund, payment=payment, capture=capture, fields={"attempts", "last_error", *failed})
    logger.error("refund %s refused by the gateway: %s", refund_id, error)
    return f"refund {refund_id} FAILED: {error.description}"


# --- what the gateway tells us ------------------------------------------------------------


def _notes_of(entity: dict[str, Any]) -> dict[str, Any]:
    notes = entity.get("notes")
    return notes if isinstance(notes, dict) else {}


def match_by_notes(*, refund: Refund, entity: dict[str, Any]) -> bool:
    """The entity is the gateway's side of this refund's current attempt: our id, key, payment and amount."""
    notes = _notes_of(entity)
    gateway_id = entity.get("id")
    return (
        isinstance(gateway_id, str)
        and bool(gateway_id)
        and notes.get("refund_key") == refund.idempotency_key
        and refund.gateway_refund_id in (None, gateway_id)
        and entity.get("payment_id") == refund.capture.gateway_payment_id
        and entity.get("amount") == to_paise(refund.amount)
    )


def _refund_id_for(entity: dict[str, Any]) -> tuple[int | None, bool]:
    """(our refund id, whether it was found through the notes rather than the gateway refund id)."""
    gateway_id = entity.get("id")
    if isinstance(gateway_id, str) and gateway_id:
        found = Refund.objects.filter(gateway_refund_id=gateway_id).values_list("pk", flat=True).first()
        if found is not None:
            return found, False
    noted = parse_id(str(_notes_of(entity).get("refund_id") or ""))
    if noted is not None:
        return noted, True
    return None, False


def refund_webhook_apply(*, refund_entity: dict, succeeded: bool) -> Applied:
    """Apply refund.processed (succeeded=True) or refund.failed; returns whether it changed anything, and what.

    The refund is found by gateway refund id, or, when the webhook beats the API response,
    by our refund id and idempotency key in its notes (the gateway id is then stored). State
    only moves forward: a late refund.failed after REFUNDED, or a repeat, changes nothing.
    A refund we do not know changes nothing ("unknown refund").
    """
    if not isinstance(refund_entity, dict):
        return Applied(False, UNKNOWN_REFUND)
    refund_id, by_notes = _refund_id_for(refund_entity)
    if refund_id is None or not Refund.objects.filter(pk=refund_id).exists():
        return Applied(False, UNKNOWN_REFUND)
    event = "refund.processed" if succeeded else "refund.failed"
    with transaction.atomic():
        refund, payment, capture = _locked(refund_id=refund_id)
        fields = set()
        if by_notes:
            if not match_by_notes(refund=refund, entity=refund_entity):
                return Applied(False, UNKNOWN_REFUND)
            if refund.gateway_refund_id is None:
                refund.gateway_refund_id = refund_entity["id"]
                fields.add("gateway_refund_id")
        before = refund.status
        to_status = RefundStatus.REFUNDED if succeeded else RefundStatus.FAILED
        moved = _advance(refund=refund, to_status=to_status)
        _save(refund=refund, payment=payment, capture=capture, fields=fields | moved)
        if not moved:
            return Applied(False, f"refund {refund_id} is already {before}; {event} changes nothing")
    logger.info("refund %s %s by %s", refund_id, to_status, event)
    return Applied(True, f"refund {refund_id} {before} -> {to_status}")


# --- staff --------------------------------------------------------------------------------


def refund_retry(*, refund_id: int, actor: User | None) -> Refund:
    """Send a FAILED refund again, as a new request with a new idempotency key (see the module docstring).

    Refuses anything but FAILED (`refund_not_retryable`, 409), and a retry that the captured
    amount no longer covers (`refund_exceeds_captured`, 409).
    """
    with transaction.atomic():
        refund, payment, capture = _locked(refund_id=refund_id)
        if refund.status != RefundStatus.FAILED:
            raise RefundNotRetryable()
        others = _committed(capture_id=capture.pk, excluding=refund.pk)
        if refund.amount > _refundable_total(capture=capture, payment=payment) - others:
            raise RefundExceedsCaptured()
        earlier = refund.failure_reason or "no reason given"
        if refund.gateway_refund_id:
            earlier += f" (gateway refund {refund.gateway_refund_id})"
        who = actor.get_username() if actor is not None else "the system"
        refund.status = RefundStatus.INITIATED
        refund.idempotency_key = refund_key_new()
        refund.gateway_refund_id = None
        refund.failure_reason = ""
        refund.processed_at = None
        refund.last_error = f"Retried by {who} after: {earlier}"
        refund.save()
        _refunded_sync(capture=capture, payment=payment)
        _submit_enqueue(refund_id=refund.pk)
    logger.info("refund %s retried by %s", refund_id, who)
    return refund
