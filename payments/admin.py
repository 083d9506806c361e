from django.contrib import admin

from payments.models import Payment


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    """Read-only: a payment's amount and status follow its order's items (orders.services.lifecycle)."""

    list_display = ["order", "buyer", "method", "status", "amount", "currency", "collected_at", "created_at"]
    list_filter = ["method", "status", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["order__buyer"]
    search_fields = ["order__number", "order__buyer__username", "order__buyer__email"]
    ordering = ["-created_at", "-id"]
    fields = ["order", "method", "status", "amount", "currency", "collected_at", "created_at", "updated_at"]
    readonly_fields = fields

    @admin.display(description="buyer", ordering="order__buyer__username")
    def buyer(self, payment: Payment) -> str:
        return payment.order.buyer.username

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
