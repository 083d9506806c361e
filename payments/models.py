"""Payments: one per order. Cash on Delivery now; the Razorpay issue adds online states."""

from django.db import models

from catalog.models import MONEY
from orders.models import Order, PaymentMethod


class PaymentStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    COLLECTED = "COLLECTED", "Collected"  # COD: cash taken for every delivered item
    NOT_REQUIRED = "NOT_REQUIRED", "Not required"  # every item was cancelled


class Payment(models.Model):
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="payment")
    method = models.CharField(max_length=10, choices=PaymentMethod.choices)
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    # COD: what the courier collects, the sum of the non-cancelled items; recomputed per order.
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="INR")
    collected_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="payments_payment_amount_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} for {self.order}: {self.get_status_display()}"
