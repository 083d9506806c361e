"""E-mails to staff about money that needs a person: a refund the gateway failed.

As with the buyers' mails (orders.notifications), the service queues a task in its own
transaction, so a rolled-back change mails nobody; the task builds the mail from fresh rows
after commit, and a mail server that is down is logged, never raised into the refund.
"""

import logging
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.selectors import staff_alert_emails
from joycart.money import format_inr
from joycart.tasks import enqueue_with_transaction
from payments.models import Refund, RefundStatus

logger = logging.getLogger(__name__)


def refund_failed_notify(*, refund: Refund) -> None:
    """Queue the staff's mail about a refund that has just become FAILED (inside that transaction)."""
    from payments.tasks import refund_failed_staff_email_send

    enqueue_with_transaction(refund_failed_staff_email_send, refund_id=refund.pk, attempt_key=refund.idempotency_key)


def refund_failed_send(*, refund_id: int, attempt_key: str) -> None:
    """Mail the staff about a FAILED refund: what it is, whose it is, the gateway's reason, and where to retry it.

    `attempt_key` names the failed attempt (each staff retry gets a new key): a mail about an
    attempt already retried when the task runs is not sent, so each failure mails once.
    """
    refund = (
        Refund.objects.select_related("payment__order__buyer", "order_item")
        .filter(pk=refund_id, status=RefundStatus.FAILED, idempotency_key=attempt_key)
        .first()
    )
    if refund is None:
        return
    recipients = staff_alert_emails()
    if not recipients:
        logger.error("Refund %s FAILED and no staff address is configured: set JOYCART_STAFF_EMAILS", refund_id)
        return
    order = refund.payment.order
    site = settings.JOYCART_SITE_URL
    context = {
        "refund": refund,
        "order": order,
        "buyer": order.buyer,
        "refund_url": site + reverse("admin:payments_refund_change", args=[refund.pk]),
        "failed_url": site + reverse("admin:payments_refund_changelist") + "?status__exact=FAILED",
    }
    message = EmailMessage(
        subject=f"Refund #{refund.pk} of {format_inr(refund.amount)} for {order.number} failed: retry it",
        body=render_to_string("payments/email/refund_failed_staff.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    try:
        message.send()
    except (SMTPException, OSError):
        logger.exception("Could not mail the staff about FAILED refund %s", refund_id)
