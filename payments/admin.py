"""Payments, refunds and gateway webhooks for staff: read-only, because money moves only through the services
(orders.services.lifecycle, payments.services); the one write is retrying failed refunds."""

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from joycart.errors import DomainError
from payments.models import Payment, Refund, RefundStatus, WebhookEvent
from payments.services.refunds import refund_retry


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class RefundInline(admin.TabularInline):
    model = Refund
    fk_name = "payment"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["order_item", "amount", "status", "gateway_refund_id", "attempts", "failure_reason", "created_at"]
    readonly_fields = fields
    ordering = ["created_at", "id"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_item")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    """A payment's amount and status follow its order's items (orders.services.lifecycle) and the gateway."""

    list_display = [
        "order",
        "buyer",
        "method",
        "status",
        "amount",
        "captured_amount",
        "refunded_amount",
        "flagged",
        "created_at",
    ]
    list_filter = ["method", "status", "flagged", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["order__buyer"]
    search_fields = [
        "order__number",
        "order__buyer__username",
        "order__buyer__email",
        "gateway_order_id",
        "gateway_payment_id",
    ]
    ordering = ["-created_at", "-id"]
    fieldsets = [
        (None, {"fields": ["order", "method", "status", "amount", "currency", "collected_at"]}),
        (
            "Gateway",
            {
                "fields": [
                    "gateway_order_id",
                    "gateway_payment_id",
                    "captured_amount",
                    "refunded_amount",
                    "captured_at",
                    "verified_at",
                    "failure_code",
                    "failure_reason",
                    "failed_at",
                    "gateway_checked_at",
                ]
            },
        ),
        ("Review", {"fields": ["flagged", "flag_reason"]}),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]
    inlines = [RefundInline]

    @admin.display(description="buyer", ordering="order__buyer__username")
    def buyer(self, payment: Payment) -> str:
        return payment.order.buyer.username


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    """`refunded_amount` on the payment counts every refund here that is not FAILED (payments.services.refunds)."""

    list_display = [
        "id",
        "order_number",
        "item",
        "amount",
        "status",
        "attempts",
        "gateway_refund_id",
        "failure_reason",
        "created_at",
        "updated_at",
    ]
    list_filter = ["status", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["payment__order", "order_item"]
    search_fields = ["payment__order__number", "gateway_refund_id", "idempotency_key", "payment__gateway_payment_id"]
    ordering = ["-created_at", "-id"]
    fields = [
        "payment",
        "order_item",
        "amount",
        "status",
        "reason",
        "idempotency_key",
        "gateway_refund_id",
        "attempts",
        "last_error",
        "failure_reason",
        "processed_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    actions = ["retry_failed_refunds"]

    @admin.display(description="order", ordering="payment__order__number")
    def order_number(self, refund: Refund) -> str:
        return str(refund.payment.order)

    @admin.display(description="item")
    def item(self, refund: Refund) -> str:
        return refund.order_item.title if refund.order_item else "whole payment"

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("payments.change_refund")

    @admin.action(description="Retry failed refunds", permissions=["retry"])
    def retry_failed_refunds(self, request, queryset) -> None:
        """Each FAILED refund goes to the gateway again as a new request; the others are left alone."""
        retried, problems = 0, []
        for refund in queryset.order_by("pk"):
            if refund.status != RefundStatus.FAILED:
                problems.append(f"#{refund.pk} is {refund.get_status_display().lower()}, not failed")
                continue
            try:
                refund_retry(refund_id=refund.pk, actor=request.user)
            except DomainError as exc:
                problems.append(f"#{refund.pk}: {exc.message}")
                continue
            retried += 1
            self.log_change(request, refund, "Retried the failed refund")
        if retried:
            self.message_user(request, f"Retried {retried} failed refund{'s' if retried != 1 else ''}.")
        if problems:
            self.message_user(request, "Not retried: " + "; ".join(problems) + ".", level=messages.WARNING)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    """Every verified delivery, as received; `manage.py replay_webhooks` processes failed ones again."""

    list_display = ["event_id", "event_type", "outcome", "attempts", "received_at", "processed_at"]
    list_filter = ["event_type", "outcome", ("received_at", admin.DateFieldListFilter)]
    search_fields = ["event_id", "detail"]
    ordering = ["-received_at", "-id"]
    fields = [
        "event_id",
        "event_type",
        "outcome",
        "detail",
        "attempts",
        "received_at",
        "processed_at",
        "payload_pretty",
    ]
    readonly_fields = fields

    @admin.display(description="payload")
    def payload_pretty(self, event: WebhookEvent) -> str:
        text = json.dumps(event.payload, indent=2, sort_keys=True, ensure_ascii=False)
        return format_html('<pre class="webhook-payload">{}</pre>', text)
