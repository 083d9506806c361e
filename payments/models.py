"""Payments: one per order, every capture the gateway made for it, refunds, and every gateway webhook we received.

Cash on Delivery waits, and is collected for the delivered items. Online payments go through
Razorpay: a gateway order per JoyCart order, captured when the gateway says so (webhook or
reconciliation), never because a browser said so. Money only moves forward.

One gateway order may be captured more than once (a slow attempt succeeding after another did,
an amount that is not ours): each capture is a `GatewayCapture` row, and each ends in exactly one
outcome (`CAPTURE_MOVES`), so no money the gateway holds for us is ever unaccounted for.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from catalog.models import MONEY
from orders.models import Order, OrderItem, PaymentMethod, RefundTo


class PaymentStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"  # COD: not yet collected; online: not yet captured
    COLLECTED = "COLLECTED", "Collected"  # COD: cash taken for every delivered item
    CAPTURED = "CAPTURED", "Captured"  # online: the gateway confirmed the money is ours
    NOT_REQUIRED = "NOT_REQUIRED", "Not required"  # every item was cancelled before payment


class Payment(models.Model):
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="payment")
    method = models.CharField(max_length=10, choices=PaymentMethod.choices)
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    # COD: what the courier collects, the sum of the non-cancelled items; recomputed per order.
    # Online: the order total, asked of the gateway in paise.
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="INR")
    collected_at = models.DateTimeField(null=True, blank=True)

    # Online only. The capture fields describe the payment's own capture: the first one that matched
    # the order (its gateway order, amount and currency), whether it paid the order or came after the
    # order was cancelled and was refunded. Every capture, this one included, is also a GatewayCapture.
    gateway_order_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    gateway_payment_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    captured_amount = models.DecimalField(default=0, **MONEY)
    refunded_amount = models.DecimalField(default=0, **MONEY)
    captured_at = models.DateTimeField(null=True, blank=True)
    # The browser brought back a valid signature: "payment received, confirming".
    verified_at = models.DateTimeField(null=True, blank=True)
    # The last failed attempt; the buyer may try again while the reservation lasts.
    failure_code = models.CharField(max_length=64, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    # When reconciliation last read this payment from the gateway: a payment that is no longer
    # pending is watched for another capture for RECONCILE_LOOKBACK_HOURS, so it is read again only
    # now and then, not every minute.
    gateway_checked_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="payments_payment_amount_not_negative"),
            models.CheckConstraint(
                condition=models.Q(refunded_amount__gte=0, refunded_amount__lte=models.F("captured_amount")),
                name="payments_payment_refunds_within_captured",
            ),
        ]
        indexes = [models.Index(fields=["method", "status", "created_at"], name="payments_method_status_created")]

    def __str__(self) -> str:
        return f"{self.get_method_display()} for {self.order}: {self.get_status_display()}"

    @property
    def refundable_amount(self):
        return self.captured_amount - self.refunded_amount


class CaptureOutcome(models.TextChoices):
    """What became of a capture; `payments.services.captures.CAPTURE_MOVES` says which may follow which."""

    PAID = "PAID", "Paid the order"
    REFUNDED = "REFUNDED", "Refunded in full"  # its refund row says how far the money is on its way back
    FLAGGED = "FLAGGED", "Flagged for staff"  # refunded by itself once the order no longer awaits payment
    RESOLVED = "RESOLVED", "Resolved by staff"  # settled by hand, with a note


class CaptureReason(models.TextChoices):
    """Why a capture did not pay the order (blank when it did): shown to staff, and told to the buyer."""

    ORDER_CLOSED = "ORDER_CLOSED", "Order no longer awaiting payment"
    ALREADY_PAID = "ALREADY_PAID", "Order already paid by another capture"
    MISMATCH = "MISMATCH", "Not the order's amount, currency or gateway order"


class GatewayCapture(models.Model):
    """A payment the gateway captured for one of our gateway orders, recorded before anything is decided about it.

    The gateway holds this money for us whatever else happens, so every capture ends in one outcome:
    it paid the order, it was refunded in full against its own gateway payment id, it waits for staff
    (FLAGGED), or staff settled it by hand (RESOLVED).
    """

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="captures")
    gateway_payment_id = models.CharField(max_length=64, unique=True)
    gateway_order_id = models.CharField(max_length=64)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    captured_at = models.DateTimeField()  # when the buyer made the attempt, by the gateway's clock
    outcome = models.CharField(max_length=10, choices=CaptureOutcome.choices)
    reason = models.CharField(max_length=20, choices=CaptureReason.choices, blank=True)
    detail = models.CharField(max_length=500, blank=True)  # for staff: the amounts and ids that decided it
    # What is committed to this capture's refunds that are not FAILED, kept under the Payment lock
    # like `Payment.refunded_amount`, so the database itself refuses to pay back more than it holds.
    refunded_amount = models.DecimalField(default=0, **MONEY)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payments_capture_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(refunded_amount__gte=0, refunded_amount__lte=models.F("amount")),
                name="payments_capture_refunds_within_amount",
            ),
            models.CheckConstraint(
                condition=models.Q(outcome__in=CaptureOutcome.values), name="payments_capture_outcome_known"
            ),
            models.CheckConstraint(
                condition=models.Q(outcome=CaptureOutcome.PAID, reason="")
                | (~models.Q(outcome=CaptureOutcome.PAID) & models.Q(reason__in=CaptureReason.values)),
                name="payments_capture_reason_unless_paid",
            ),
            models.CheckConstraint(
                condition=~models.Q(outcome=CaptureOutcome.RESOLVED)
                | (models.Q(resolved_at__isnull=False) & ~models.Q(resolution_note="")),
                name="payments_capture_resolved_with_note",
            ),
            models.UniqueConstraint(
                fields=["payment"],
                condition=models.Q(outcome=CaptureOutcome.PAID),
                name="payments_capture_one_pays_the_order",
            ),
        ]

    def __str__(self) -> str:
        return f"Capture {self.gateway_payment_id} of {self.currency} {self.amount}: {self.get_outcome_display()}"


class RefundStatus(models.TextChoices):
    INITIATED = "INITIATED", "Initiated"  # written with the cancellation; the gateway is not asked yet
    PROCESSING = "PROCESSING", "Processing"  # the gateway accepted it
    REFUNDED = "REFUNDED", "Refunded"  # the gateway says the money went back (webhook or reconciliation)
    FAILED = "FAILED", "Failed"  # the gateway refused it or it failed there; staff may retry


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    # The capture whose money it pays back: the gateway is asked against its gateway payment id.
    capture = models.ForeignKey(GatewayCapture, on_delete=models.PROTECT, related_name="refunds")
    # The cancelled item it pays back; empty for a full refund of a capture that did not pay the order.
    order_item = models.ForeignKey(OrderItem, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(**MONEY)
    status = models.CharField(max_length=20, choices=RefundStatus.choices, default=RefundStatus.INITIATED)
    reason = models.CharField(max_length=500, blank=True)
    # Sent as X-Refund-Idempotency on every attempt, so a retry never refunds twice. Never changes.
    idempotency_key = models.CharField(max_length=64, unique=True)
    gateway_refund_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payments_refund_amount_positive"),
            models.UniqueConstraint(
                fields=["order_item"],
                condition=models.Q(order_item__isnull=False),
                name="payments_refund_one_per_item",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund of ₹{self.amount} for {self.payment.order}: {self.get_status_display()}"


class PayoutStatus(models.TextChoices):
    PENDING = "PENDING", "To pay"  # staff pay it from the bank, outside JoyCart
    PAID = "PAID", "Paid"  # with the bank's UTR reference
    FAILED = "FAILED", "Failed"  # the bank refused the account; the buyer is asked for new details


class Payout(models.Model):
    """The money of a returned Cash on Delivery item, paid by staff to the account the buyer named.

    The account is copied, still encrypted, from the return request; a FAILED payout takes the buyer's
    new details and is PENDING again. The item becomes RETURNED when its payout is PAID.
    """

    order_item = models.OneToOneField(OrderItem, on_delete=models.PROTECT, related_name="payout")
    amount = models.DecimalField(**MONEY)
    status = models.CharField(max_length=10, choices=PayoutStatus.choices, default=PayoutStatus.PENDING)
    refund_to_kind = models.CharField(max_length=4, choices=RefundTo.choices)
    refund_to_encrypted = models.TextField(editable=False)
    refund_to_masked = models.CharField(max_length=80)
    utr = models.CharField("UTR", max_length=30, unique=True, null=True, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payments_payout_amount_positive"),
            models.CheckConstraint(
                condition=~models.Q(status="PAID") | models.Q(utr__isnull=False),
                name="payments_payout_paid_has_utr",
            ),
        ]

    def __str__(self) -> str:
        return f"Payout of ₹{self.amount} for {self.order_item}: {self.get_status_display()}"


class WebhookOutcome(models.TextChoices):
    PENDING = "PENDING", "Pending"  # stored, not processed yet (or processing crashed: replay it)
    PROCESSED = "PROCESSED", "Processed"
    IGNORED = "IGNORED", "Ignored"  # unknown type, or nothing to change
    FAILED = "FAILED", "Failed"  # processing raised; `manage.py replay_webhooks --failed`


class WebhookEvent(models.Model):
    """Every verified delivery, stored once per gateway event id before it is processed."""

    event_id = models.CharField(max_length=100, unique=True)
    event_type = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=10, choices=WebhookOutcome.choices, default=WebhookOutcome.PENDING, db_index=True
    )
    detail = models.TextField(blank=True)  # what processing did, or the error
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class WebhookDrain(models.Model):
    """The marker of a drain of the PENDING webhook events queued and not started yet (one row at most).

    Deliveries look here, not in the task queue, before queueing a drain (payments.services.webhooks):
    a look at a table of one row, where the queue's waiting tasks include every order's payment
    deadline. A drain deletes the row when it starts; a row older than a minute (its task lost)
    no longer counts.
    """

    ONLY = 1  # the primary key of the one row: a second delivery's insert fails, so it queues nothing

    queued_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Webhook drain queued at {self.queued_at:%Y-%m-%d %H:%M:%S}"
