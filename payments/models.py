"""Payments: one per order, refunds per cancelled item, and every gateway webhook we received.

Cash on Delivery waits, and is collected for the delivered items. Online payments go through
Razorpay: a gateway order per JoyCart order, captured when the gateway says so (webhook or
reconciliation), never because a browser said so. Money only moves forward.
"""

from django.db import models
from django.utils import timezone

from catalog.models import MONEY
from orders.models import Order, OrderItem, PaymentMethod


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

    # Online only.
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
    # A capture we could not accept (amount or currency not ours): staff must look.
    flagged = models.BooleanField(default=False, db_index=True)
    flag_reason = models.CharField(max_length=500, blank=True)
    # When reconciliation last read this payment from the gateway: an expired order's payment is
    # watched for a late capture for days, so it is read again only now and then, not every minute.
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


class RefundStatus(models.TextChoices):
    INITIATED = "INITIATED", "Initiated"  # written with the cancellation; the gateway is not asked yet
    PROCESSING = "PROCESSING", "Processing"  # the gateway accepted it
    REFUNDED = "REFUNDED", "Refunded"  # the gateway says the money went back (webhook or reconciliation)
    FAILED = "FAILED", "Failed"  # the gateway refused it or it failed there; staff may retry


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    # The cancelled item it pays back; empty for a full refund of a capture that came too late.
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
