"""Orders for support staff: read-only, because every change goes through the lifecycle service.

The one thing staff can do is cancel items that are still open, with a reason the buyer
sees, through `order_item_cancel` as STAFF (the action below). Totals, statuses and
snapshots are never edited by hand.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.template.response import TemplateResponse

from joycart.errors import DomainError
from orders import selectors
from orders.models import ActorRole, Order, OrderEvent, OrderItem, OrderItemStatus
from orders.services.lifecycle import MAX_REASON_LENGTH, order_item_cancel
from payments.models import Payment


class _ReadOnlyInline:
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class OrderItemInline(_ReadOnlyInline, admin.TabularInline):
    """The snapshots taken at checkout, and where each item is now."""

    model = OrderItem
    fields = [
        "title",
        "options",
        "sku",
        "seller",
        "unit_price",
        "quantity",
        "line_total",
        "status",
        "carrier",
        "tracking_number",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("seller")

    @admin.display(description="line total")
    def line_total(self, item: OrderItem):
        return item.line_total


class PaymentInline(_ReadOnlyInline, admin.StackedInline):
    model = Payment
    verbose_name_plural = "payment"
    fields = ["method", "status", "amount", "currency", "collected_at", "updated_at"]
    readonly_fields = fields


class OrderEventInline(_ReadOnlyInline, admin.TabularInline):
    """The timeline, oldest first: every move of every item, with who made it and why."""

    model = OrderEvent
    fields = ["created_at", "item", "actor", "actor_role", "from_status", "to_status", "reason"]
    readonly_fields = fields
    verbose_name = "timeline event"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor", "item").order_by("created_at", "id")


class StaffCancelForm(forms.Form):
    reason = forms.CharField(
        label="Reason (the buyer and the sellers see it)",
        max_length=MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "buyer",
        "buyer_email",
        "status",
        "payment_method",
        "payment_status",
        "total",
        "created_at",
    ]
    list_filter = ["status", "payment_method", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["buyer", "payment"]
    search_fields = ["number", "buyer__username", "buyer__email"]
    ordering = ["-created_at", "-id"]
    ADDRESS_FIELDS = ["ship_name", "ship_phone", "ship_line1", "ship_line2", "ship_city", "ship_state", "ship_pincode"]
    fieldsets = [
        (None, {"fields": ["number", "buyer", "status", "payment_method", "total", "created_at", "updated_at"]}),
        ("Delivery address (as at checkout)", {"fields": ADDRESS_FIELDS}),
        ("Checkout request", {"classes": ["collapse"], "fields": ["idempotency_key", "request_fingerprint"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]
    inlines = [OrderItemInline, PaymentInline, OrderEventInline]
    actions = ["cancel_open_items"]

    @admin.display(description="buyer e-mail", ordering="buyer__email")
    def buyer_email(self, order: Order) -> str:
        return order.buyer.email

    @admin.display(description="payment")
    def payment_status(self, order: Order) -> str:
        payment = getattr(order, "payment", None)
        return payment.get_status_display() if payment else "—"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_cancel_items_permission(self, request) -> bool:
        return request.user.is_staff and request.user.has_perm("orders.change_order")

    @admin.action(description="Cancel selected orders' open items", permissions=["cancel_items"])
    def cancel_open_items(self, request, queryset: QuerySet[Order]):
        """First a page that asks for the reason; then every open item goes through the service."""
        order_ids = list(queryset.values_list("pk", flat=True))
        items = list(
            selectors.order_items_movable(
                order_ids=order_ids, to_status=OrderItemStatus.CANCELLED, role=ActorRole.STAFF
            )
        )
        if not items:
            self.message_user(
                request, "None of the selected orders has an item that can still be cancelled.", messages.WARNING
            )
            return None
        form = StaffCancelForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._cancel(request, items, reason=form.cleaned_data["reason"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Cancel open items",
            "subtitle": None,
            "opts": self.model._meta,
            "form": form,
            "items": items,
            "selected_ids": order_ids,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": "cancel_open_items",
        }
        return TemplateResponse(request, "admin/orders/order/cancel_items.html", context)

    def _cancel(self, request, items: list[OrderItem], *, reason: str) -> None:
        done = 0
        for item in items:
            try:
                order_item_cancel(item_id=item.pk, actor=request.user, role=ActorRole.STAFF, reason=reason)
            except DomainError as exc:
                # Moved on since the page was shown (shipped, or cancelled by someone else).
                self.message_user(request, f"{item.order.number} “{item.title}”: {exc.message}", messages.ERROR)
                continue
            self.log_change(request, item.order, f"Cancelled “{item.title}”: {reason}")
            done += 1
        if done:
            self.message_user(request, f"Cancelled {done} item(s); their stock is back on sale.", messages.SUCCESS)
