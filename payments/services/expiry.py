"""Releasing the stock of online orders that were never paid.

An online order reserves its stock at checkout. If no capture arrives within
ORDER_PAYMENT_TIMEOUT_MINUTES, its items are cancelled ("payment not received"), the stock goes
back on sale and the payment is NOT_REQUIRED. A capture that still comes later is refunded in
full (`payments.services.online.payment_capture_apply`).

Cron (`manage.py expire_unpaid_orders`), the worker's deferred task and captures may all reach
one order at once. Each order is handled in its own transaction that takes the order's row
lock with SKIP LOCKED and re-checks it: an order being captured or expired by someone else
right now is skipped (the next run sees it settled), so exactly one of them wins.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.models import Order, OrderItem, OrderItemStatus, OrderStatus, PaymentMethod
from orders.services.lifecycle import order_item_transition
from payments.models import Payment, PaymentStatus
from payments.services.captures import payment_captures_settle

logger = logging.getLogger(__name__)

EXPIRED_REASON = "payment not received"


def _timeout() -> timedelta:
    return timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES)


def _deadline(order: Order) -> datetime:
    return order.created_at + _timeout()


def _expirable(*, now: datetime):
    return Order.objects.filter(
        payment_method=PaymentMethod.ONLINE, status=OrderStatus.PENDING_PAYMENT, created_at__lte=now - _timeout()
    )


def order_expire_unpaid(*, order_id: int, now: datetime | None = None) -> bool:
    """Cancel one online order still awaiting payment past its deadline. True if this call expired it."""
    now = now or timezone.now()
    with transaction.atomic():
        order = _expirable(now=now).select_for_update(skip_locked=True).filter(pk=order_id).first()
        if order is None:
            return False  # paid, already expired, not due yet, or being settled by someone else right now
        payment = Payment.objects.select_for_update().get(order=order)
        if payment.status != PaymentStatus.PENDING:
            return False
        items = OrderItem.objects.select_for_update().filter(order=order, status=OrderItemStatus.PENDING_PAYMENT)
        for item_id in items.order_by("pk").values_list("pk", flat=True):
            order_item_transition(
                item_id=item_id, to_status=OrderItemStatus.CANCELLED, actor=None, reason=EXPIRED_REASON
            )
        payment.status = PaymentStatus.NOT_REQUIRED
        payment.save(update_fields=["status", "updated_at"])
        payment_captures_settle(payment=payment)
    logger.info("Expired unpaid %s", order)
    return True


def order_expire_when_due(*, order_id: int, now: datetime | None = None) -> bool:
    """The worker's per-order task: expire the order if its deadline passed, else come back at its deadline.

    The deadline follows ORDER_PAYMENT_TIMEOUT_MINUTES as it is now. If it was raised after checkout
    queued this task, the order is not due when the task runs: it is left alone and the task queues
    itself again for the new deadline, so a deployment without the cron line still expires it, on time.
    """
    now = now or timezone.now()
    if order_expire_unpaid(order_id=order_id, now=now):
        return True
    order = Order.objects.filter(
        pk=order_id, payment_method=PaymentMethod.ONLINE, status=OrderStatus.PENDING_PAYMENT
    ).first()
    # Due but not expired here means someone else holds it right now: they settle it, or cron does.
    if order is not None and _deadline(order) > now:
        order_expiry_schedule(order=order)
    return False


def orders_expire_unpaid(*, now: datetime | None = None) -> int:
    """Expire every online order whose payment deadline passed. Returns how many this call expired."""
    now = now or timezone.now()
    order_ids = list(_expirable(now=now).order_by("pk").values_list("pk", flat=True))
    return sum(order_expire_unpaid(order_id=order_id, now=now) for order_id in order_ids)


def order_expiry_schedule(*, order: Order) -> None:
    """At checkout, in its transaction (and from the task, when the deadline moved): have the worker
    expire this order at its deadline.

    Only backends that can defer a task (the database queue) do this; where tasks run at once,
    `manage.py expire_unpaid_orders` from cron is the only sweeper.
    """
    from payments.tasks_online import order_payment_expire

    if not order_payment_expire.get_backend().supports_defer:
        return
    order_payment_expire.using(run_after=_deadline(order)).enqueue(order_id=order.pk)
