"""Background tasks of the payments app; each only calls a service."""

from django.tasks import task

from payments.services import refunds


@task
def refund_submit(*, refund_id: int) -> str:
    """Ask the gateway for the refund's money back (after the cancelling transaction committed)."""
    return refunds.refund_submit(refund_id=refund_id)
