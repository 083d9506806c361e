"""Refund reconciliation: what `manage.py reconcile_payments` does for refunds whose webhook, or task,
never came. It reads the gateway and applies what it says through the services the webhooks use
(`payments.services.refunds`), so its outcome is the webhook's, however the two interleave."""

import logging
from datetime import timedelta

from django.utils import timezone

from payments.gateway import GatewayRefund, PaymentGatewayError, get_gateway
from payments.models import Refund, RefundStatus
from payments.services.refunds import gateway_refund_find, refund_submit, refund_webhook_apply

logger = logging.getLogger(__name__)


def _gateway_refund_of(refund: Refund) -> GatewayRefund | None:
    """The gateway's record of the refund's current attempt, by id, else among its capture's refunds by notes."""
    if refund.gateway_refund_id:
        return get_gateway().refund_fetch(refund.gateway_refund_id)
    return gateway_refund_find(refund)


def refunds_reconcile(*, older_than: timedelta, dry_run: bool = False) -> dict[str, int]:
    """Repair refunds whose webhook or task never came: untouched for `older_than`, still INITIATED
    (submitted again, with the same key) or PROCESSING (read from the gateway and applied through
    `refund_webhook_apply`). Safe to run concurrently with itself, the task and webhooks.

    With `dry_run` nothing is written and nothing is asked of the gateway but reads; the
    counts say what would be done.
    """
    cutoff = timezone.now() - older_than
    stale = Refund.objects.filter(updated_at__lt=cutoff).order_by("pk")
    initiated = list(stale.filter(status=RefundStatus.INITIATED).values_list("pk", flat=True))
    processing = list(stale.filter(status=RefundStatus.PROCESSING).select_related("capture"))
    stats = dict.fromkeys(("checked", "resubmitted", "refunded", "failed", "pending", "errors"), 0)
    stats["checked"] = len(initiated) + len(processing)

    for refund_id in initiated:
        stats["resubmitted"] += 1
        if dry_run:
            continue
        refund_submit(refund_id=refund_id, reschedule=False)
        status = Refund.objects.filter(pk=refund_id).values_list("status", flat=True).first()
        if status == RefundStatus.INITIATED:
            stats["errors"] += 1
        elif status == RefundStatus.REFUNDED:
            stats["refunded"] += 1
        elif status == RefundStatus.FAILED:
            stats["failed"] += 1
        else:
            stats["pending"] += 1

    for refund in processing:
        try:
            gateway_refund = _gateway_refund_of(refund)
        except PaymentGatewayError as exc:
            logger.warning("reconciling refund %s: the gateway did not answer: %s", refund.pk, exc)
            stats["errors"] += 1
            continue
        if gateway_refund is None:
            stats["errors"] += 1
            continue
        if gateway_refund.status not in ("processed", "failed"):
            stats["pending"] += 1
            if not dry_run:
                # Razorpay takes days over a normal-speed refund: ask again in `older_than`, not every minute.
                Refund.objects.filter(pk=refund.pk, status=RefundStatus.PROCESSING).update(updated_at=timezone.now())
            continue
        succeeded = gateway_refund.status == "processed"
        stats["refunded" if succeeded else "failed"] += 1
        if not dry_run:
            detail = refund_webhook_apply(refund_entity=gateway_refund.raw, succeeded=succeeded).detail
            logger.info("reconciled refund %s: %s", refund.pk, detail)
    return stats
