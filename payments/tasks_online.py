"""Background tasks of online payments; each only calls a service.

(payments/tasks.py holds the refund tasks.)
"""

from django.tasks import task

from payments import notifications
from payments.services import expiry, webhooks


@task
def order_payment_expire(*, order_id: int) -> None:
    """Deferred to the order's payment deadline at checkout (backends that support `run_after`)."""
    expiry.order_expire_when_due(order_id=order_id)


@task
def late_capture_refund_email_send(*, order_id: int) -> None:
    notifications.late_capture_refund_send(order_id=order_id)


@task
def webhook_events_drain() -> int:
    """The stored webhook events still PENDING, processed after their deliveries were answered; returns how many."""
    return webhooks.webhook_events_drain()
