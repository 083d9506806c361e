"""Background tasks of the payments app; each only calls a service."""

from django.tasks import task

from payments import notifications, staff_alerts
from payments.services import refunds


@task
def refund_submit(*, refund_id: int) -> str:
    """Ask the gateway for the refund's money back (after the cancelling transaction committed)."""
    return refunds.refund_submit(refund_id=refund_id)


@task
def refund_failed_staff_email_send(*, refund_id: int, attempt_key: str) -> None:
    staff_alerts.refund_failed_send(refund_id=refund_id, attempt_key=attempt_key)


@task
def payout_failed_email_send(*, payout_id: int) -> None:
    notifications.payout_failed_send(payout_id=payout_id)
