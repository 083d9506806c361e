"""Background tasks of online payments; each only calls a service.

(payments/tasks.py holds the refund tasks.)
"""

from django.tasks import task

from payments import notifications
from payments.gateway import GatewayPayment
from payments.services import expiry, online, webhooks


@task
def order_payment_expire(*, order_id: int) -> None:
    """Deferred to the order's payment deadline at checkout (backends that support `run_after`)."""
    expiry.order_expire_when_due(order_id=order_id)


@task
def capture_refund_email_send(*, capture_id: int) -> None:
    notifications.capture_refund_send(capture_id=capture_id)


@task
def payment_capture_resolve(*, payment: dict) -> str:
    """A `payment.captured` for a gateway order whose id we never stored: read that order's notes (outside the
    webhook's transaction) to find ours."""
    return online.payment_capture_resolve(gateway_payment=GatewayPayment.from_razorpay(payment)).detail


@task
def webhook_events_drain() -> int:
    """The stored webhook events still PENDING, processed after their deliveries were answered; returns how many."""
    return webhooks.webhook_events_drain()
