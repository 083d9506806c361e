"""Releasing the stock of online orders that were never paid.

An online order reserves its stock at checkout. If no capture arrives within
ORDER_PAYMENT_TIMEOUT_MINUTES, its items are cancelled ("payment not received"), the stock goes
back on sale and the payment is NOT_REQUIRED. A capture that still comes later is refunded in
full (`payments.services.online.payment_capture_apply`).

A buyer may pay a minute before the deadline while the webhook is late, or stored and not yet
processed. So before expiring an order that has a gateway order, the expiry processes the webhooks
stored for it, then reads that gateway order's payments from the gateway (outside any transaction)
and applies every capture as the webhook would: only what is still unpaid after that is expired.
While the gateway cannot be reached the order waits for the next run, up to
ORDER_PAYMENT_HARD_TIMEOUT_MINUTES after checkout; then it is expired anyway.

Cron (`manage.py expire_unpaid_orders`), the worker's deferred task and captures may all reach
one order at once. Each order is handled in its own transaction that takes the order's row
lock with SKIP LOCKED and re-checks it: an order being captured or expired by someone else
right now is skipped (the next run sees it settled), so exactly one of them wins.
"""

import logging
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.locks import order_items_lock, order_lock
from orders.models import Order, OrderItemStatus, OrderStatus, PaymentMethod
from orders.services.lifecycle import order_item_transition
from payments import locks
from payments.gateway import GatewayPayment, GatewayRetryableError, PaymentGatewayError, get_gateway
from payments.models import PaymentStatus, WebhookEvent, WebhookOutcome
from payments.services.captures import payment_captures_settle
from payments.services.online import payment_capture_apply
from payments.services.webhooks import webhook_event_process

logger = logging.getLogger(__name__)

EXPIRED_REASON = "payment not received"
# How soon the worker asks the gateway again about an order it could not ask.
GATEWAY_RETRY_AFTER = timedelta(minutes=1)


class ExpiryOutcome(StrEnum):
    EXPIRED = "expired"  # cancelled, its stock back on sale
    CAPTURED = "captured"  # paid at the last moment: a capture the webhooks had not brought yet placed it
    DEFERRED = "deferred"  # the gateway could not be asked: left for the next run
    UNCHANGED = "unchanged"  # not due, settled already, or being settled by someone else right now


def _timeout() -> timedelta:
    return timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES)


def _deadline(order: Order) -> datetime:
    return order.created_at + _timeout()


def _hard_deadline(order: Order) -> datetime:
    return order.created_at + timedelta(minutes=settings.ORDER_PAYMENT_HARD_TIMEOUT_MINUTES)


def _expirable(*, now: datetime):
    return Order.objects.filter(
        payment_method=PaymentMethod.ONLINE, status=OrderStatus.PENDING_PAYMENT, created_at__lte=now - _timeout()
    )


def order_expire_unpaid(*, order_id: int, now: datetime | None = None) -> bool:
    """Cancel one online order still awaiting payment past its deadline. True if this call expired it."""
    now = now or timezone.now()
    with transaction.atomic():
        order = order_lock(order_id=order_id, among=_expirable(now=now), skip_locked=True)
        if order is None:
            return False  # paid, already expired, not due yet, or being settled by someone else right now
        payment = locks.payment_lock(order_id=order.pk)
        if payment.status != PaymentStatus.PENDING:
            return False
        for item in order_items_lock(order_id=order.pk):
            if item.status == OrderItemStatus.PENDING_PAYMENT:
                order_item_transition(
                    item_id=item.pk, to_status=OrderItemStatus.CANCELLED, actor=None, reason=EXPIRED_REASON
                )
        payment.status = PaymentStatus.NOT_REQUIRED
        payment.save(update_fields=["status", "updated_at"])
        payment_captures_settle(payment=payment)
    logger.info("Expired unpaid %s", order)
    return True


class _GatewayReads:
    """The gateway reads of one sweep. After a read that timed out or met a server error, the rest of the
    sweep asks no more: with Razorpay down a run costs one timeout, not one per order. A refusal about one
    gateway order (a 4xx) does not stop the others."""

    def __init__(self) -> None:
        self.down = False

    def order_payments(self, gateway_order_id: str) -> list[GatewayPayment] | None:
        """That gateway order's payment attempts; None if the gateway could not be asked."""
        if self.down:
            return None
        try:
            return get_gateway().order_payments(gateway_order_id)
        except GatewayRetryableError:
            self.down = True
            logger.warning("The expiry could not reach the gateway about %s", gateway_order_id, exc_info=True)
        except PaymentGatewayError:
            logger.warning("The gateway refused the expiry's read of %s", gateway_order_id, exc_info=True)
        return None


def _stored_webhooks_process(*, gateway_order_id: str) -> bool:
    """Process the webhooks stored for this gateway order and not processed yet (the drain is behind, or its
    worker down), through the drain's own processing; True if one of them changed something."""
    stored = WebhookEvent.objects.filter(
        outcome=WebhookOutcome.PENDING, payload__payload__payment__entity__order_id=gateway_order_id
    )
    changed = False
    for event_pk in list(stored.order_by("received_at", "pk").values_list("pk", flat=True)):
        changed |= webhook_event_process(event_pk=event_pk).outcome == WebhookOutcome.PROCESSED
    return changed


def _gateway_captures_apply(attempts: list[GatewayPayment]) -> bool:
    """Every captured attempt, oldest first, through the webhook's service; True if one changed something.

    A failed attempt is not applied: it cannot keep an order from expiring.
    """
    changed = False
    for attempt in sorted((a for a in attempts if a.captured), key=lambda a: a.created_at):
        changed |= payment_capture_apply(gateway_payment=attempt).changed
    return changed


def _paid(*, order_id: int) -> bool:
    return (
        Order.objects.filter(pk=order_id)
        .exclude(status__in=[OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELLED])
        .exists()
    )


def order_expire_unless_paid(
    *, order_id: int, now: datetime | None = None, reads: _GatewayReads | None = None
) -> ExpiryOutcome:
    """Expire one online order past its deadline, unless the gateway says it was paid.

    Call it outside any transaction: it reads the gateway. An order with a gateway order first gets its
    stored, unprocessed webhooks processed, then the gateway's list of that gateway order's payments
    applied (each capture places the order, or is refunded, as its webhook would). If the gateway cannot
    be asked, the order is DEFERRED to the next run, until ORDER_PAYMENT_HARD_TIMEOUT_MINUTES after
    checkout: then it is expired anyway, and a capture that comes later is refunded in full. An order
    without a gateway order never reached the pay page, so there is nothing to ask.
    """
    now = now or timezone.now()
    order = _expirable(now=now).filter(pk=order_id).select_related("payment").first()
    if order is None:
        return ExpiryOutcome.UNCHANGED
    gateway_order_id = order.payment.gateway_order_id
    changed = False
    if gateway_order_id:
        changed = _stored_webhooks_process(gateway_order_id=gateway_order_id)
        if changed and _paid(order_id=order_id):
            return ExpiryOutcome.CAPTURED  # a stored capture placed it: nothing to ask
        attempts = (reads or _GatewayReads()).order_payments(gateway_order_id)
        if attempts is None and now < _hard_deadline(order):
            return ExpiryOutcome.DEFERRED
        changed |= _gateway_captures_apply(attempts or [])
    if order_expire_unpaid(order_id=order_id, now=now):
        return ExpiryOutcome.EXPIRED
    return ExpiryOutcome.CAPTURED if changed and _paid(order_id=order_id) else ExpiryOutcome.UNCHANGED


def order_expire_when_due(*, order_id: int, now: datetime | None = None) -> ExpiryOutcome:
    """The worker's per-order task: expire the order if its deadline passed (unless the gateway says it was
    paid), else come back at its deadline.

    The deadline follows ORDER_PAYMENT_TIMEOUT_MINUTES as it is now. If it was raised after checkout
    queued this task, the order is not due when the task runs: it is left alone and the task queues
    itself again for the new deadline, so a deployment without the cron line still expires it, on time.
    When the gateway could not be asked, the task comes back GATEWAY_RETRY_AFTER later, and at the
    latest at the hard deadline, when the order is expired anyway.
    """
    now = now or timezone.now()
    outcome = order_expire_unless_paid(order_id=order_id, now=now)
    if outcome in (ExpiryOutcome.EXPIRED, ExpiryOutcome.CAPTURED):
        return outcome
    order = Order.objects.filter(
        pk=order_id, payment_method=PaymentMethod.ONLINE, status=OrderStatus.PENDING_PAYMENT
    ).first()
    if order is None:
        return outcome
    if outcome == ExpiryOutcome.DEFERRED:
        order_expiry_schedule(order=order, run_after=min(now + GATEWAY_RETRY_AFTER, _hard_deadline(order)))
    elif _deadline(order) > now:  # due but unchanged means someone else holds it: they settle it, or cron does
        order_expiry_schedule(order=order)
    return outcome


def orders_expire_unpaid(*, now: datetime | None = None) -> dict[str, int]:
    """Expire every online order whose payment deadline passed, unless the gateway says it was paid.

    Counts what this call did: expired, captured (found paid at the last moment) and deferred (the
    gateway could not be asked; the next run asks again).
    """
    now = now or timezone.now()
    order_ids = list(_expirable(now=now).order_by("pk").values_list("pk", flat=True))
    counts = {outcome.value: 0 for outcome in (ExpiryOutcome.EXPIRED, ExpiryOutcome.CAPTURED, ExpiryOutcome.DEFERRED)}
    reads = _GatewayReads()
    for order_id in order_ids:
        outcome = order_expire_unless_paid(order_id=order_id, now=now, reads=reads)
        if outcome in counts:
            counts[outcome] += 1
    return counts


def order_expiry_schedule(*, order: Order, run_after: datetime | None = None) -> None:
    """At checkout, in its transaction (and from the task, when the deadline moved or the gateway could not
    be asked): have the worker expire this order at its deadline, or at `run_after`.

    Only backends that can defer a task (the database queue) do this; where tasks run at once,
    `manage.py expire_unpaid_orders` from cron is the only sweeper.
    """
    from payments.tasks_online import order_payment_expire

    if not order_payment_expire.get_backend().supports_defer:
        return
    order_payment_expire.using(run_after=run_after or _deadline(order)).enqueue(order_id=order.pk)
