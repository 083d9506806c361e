"""Reads about online payments: whether an order still awaits payment, what the page shows, and
the options the buyer's checkout (Razorpay's or the sandbox's) opens with."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from orders.models import Order, OrderStatus, PaymentMethod
from payments.gateway import sandbox_checkout_url, to_paise
from payments.models import Payment, PaymentStatus, Refund, RefundStatus

# How many FAILED refunds the admin's home page lists by name; the rest are counted and linked.
FAILED_REFUNDS_LISTED = 5


def payment_deadline(*, order: Order) -> datetime:
    """Until when an online order keeps its stock reserved for the payment."""
    return order.created_at + timedelta(minutes=settings.ORDER_PAYMENT_TIMEOUT_MINUTES)


def payment_awaiting(*, payment: Payment, order: Order, now: datetime | None = None) -> bool:
    """Whether the buyer may (still) pay: online, not captured, items reserved, before the deadline."""
    return (
        payment.method == PaymentMethod.ONLINE
        and payment.status == PaymentStatus.PENDING
        and order.status == OrderStatus.PENDING_PAYMENT
        and (now or timezone.now()) < payment_deadline(order=order)
    )


@dataclass(frozen=True)
class OnlinePaymentState:
    """What the order page says about an online payment."""

    awaiting: bool  # the buyer may pay now: "Pay now"
    confirming: bool  # the browser brought a valid signature, the gateway has not confirmed yet
    failed: bool  # the last attempt failed: "Try again"
    failure_reason: str
    pay_by: datetime


def online_payment_state(*, order: Order, now: datetime | None = None) -> OnlinePaymentState | None:
    """None for Cash on Delivery. `order.payment` is expected to be loaded (select_related)."""
    payment = order.payment
    if payment.method != PaymentMethod.ONLINE:
        return None
    awaiting = payment_awaiting(payment=payment, order=order, now=now)
    pending = payment.status == PaymentStatus.PENDING and order.status == OrderStatus.PENDING_PAYMENT
    confirming = pending and payment.verified_at is not None
    # A failure older than the verified success is an earlier attempt's, not news.
    failed = (
        awaiting
        and payment.failed_at is not None
        and (payment.verified_at is None or payment.failed_at > payment.verified_at)
    )
    return OnlinePaymentState(
        awaiting=awaiting and not confirming,
        confirming=confirming,
        failed=failed,
        failure_reason=payment.failure_reason if failed else "",
        pay_by=payment_deadline(order=order),
    )


def razorpay_checkout_options(*, order: Order, request: HttpRequest | None = None) -> dict[str, Any] | None:
    """Razorpay Checkout's options for an order awaiting payment that has its gateway order, else None.

    `callback_url` is the page callback, and in sandbox mode `checkout_url` is the sandbox's own
    checkout page for this order; both need the request to build absolute URLs.
    """
    payment = order.payment
    if not payment.gateway_order_id or not payment_awaiting(payment=payment, order=order):
        return None
    callback_url = checkout_url = None
    if request is not None:
        callback_url = request.build_absolute_uri(reverse("payments:razorpay_callback"))
        if settings.PAYMENTS_SANDBOX:
            cancel_url = request.build_absolute_uri(reverse("orders:detail", args=[order.number]))
            checkout_url = sandbox_checkout_url(
                payment.gateway_order_id, callback_url=callback_url, cancel_url=cancel_url
            )
    return {
        "key_id": settings.RAZORPAY_KEY_ID,
        "order_id": payment.gateway_order_id,
        "amount": to_paise(payment.amount),
        "currency": payment.currency,
        "name": "JoyCart",
        "description": f"Order {order.number}",
        "callback_url": callback_url,
        "checkout_url": checkout_url,
    }


@dataclass(frozen=True)
class FailedRefunds:
    """The FAILED refunds waiting for staff: how many, and the newest few."""

    count: int
    newest: list[Refund]


def refunds_failed_waiting(*, limit: int = FAILED_REFUNDS_LISTED) -> FailedRefunds:
    """FAILED refunds stay here until staff retry them (a retry moves them back to INITIATED). Two queries."""
    failed = Refund.objects.filter(status=RefundStatus.FAILED)
    newest = list(failed.select_related("payment__order").order_by("-updated_at", "-id")[:limit])
    return FailedRefunds(count=failed.count(), newest=newest)
