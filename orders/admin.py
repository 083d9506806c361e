"""Orders for support staff: read-only, because every change goes through the lifecycle service.

Staff cancel items that are still open, with a reason the buyer sees, through `order_item_cancel`
as STAFF (the action below), and decide returns under Returns: approve (overturning a refusal too),
refuse with a reason, or mark received, through `orders.services.returns` as STAFF. Totals,
statuses and snapshots are never edited by hand.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from joycart.admin_actions import AskFirstActionsMixin, ReadOnlyAdmin
from joycart.errors import DomainError
from orders import selectors
from orders.models import ActorRole, Order, OrderEvent, OrderItem, OrderItemStatus, ReturnRequest
from orders.services.lifecycle import MAX_REASON_LENGTH, order_item_cancel
from orders.services.returns import order_item_return_approve, order_item_return_receive, order_item_return_reject
from orders.transitions import sources_for
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
class OrderAdmin(AskFirstActionsMixin, ReadOnlyAdmin):
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
        ("Returns", {"fields": ["returns"]}),
        ("Checkout request", {"classes": ["collapse"], "fields": ["idempotency_key", "request_fingerprint"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]
    inlines = [OrderItemInline, PaymentInline, OrderEventInline]
    actions = ["cancel_open_items"]

    @admin.display(description="buyer e-mail", ordering="buyer__email")
    def buyer_email(self, order: Order) -> str:
        return order.buyer.email

    @admin.display(description="return requests")
    def returns(self, order: Order) -> str:
        """Each item's return request as the seller sees it: the refund account masked, never in full."""
        requests = ReturnRequest.objects.filter(item__order=order).select_related("item").order_by("item_id")
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:orders_returnrequest_change", args=[request.pk]),
                    request.item.name,
                    request.item.get_status_display(),
                    request.get_reason_display() + (f": {request.comment}" if request.comment else ""),
                    request.refund_to_masked or "Original payment",
                    request.rejection_reason or "—",
                    "Yes" if request.escalated_at else "No",
                    _resellable_label(request.resellable),
                )
                for request in requests
            ),
        )
        if not rows:
            return "None"
        return format_html(
            "<table><thead><tr><th>Item</th><th>Status</th><th>Reason</th><th>Refund to</th><th>Refused because</th>"
            "<th>Escalated</th><th>Resellable</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="payment")
    def payment_status(self, order: Order) -> str:
        payment = getattr(order, "payment", None)
        return payment.get_status_display() if payment else "—"

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
        form = self.asking_form(request, StaffCancelForm)
        if form.is_bound and form.is_valid():
            self._cancel(request, items, reason=form.cleaned_data["reason"])
            return None
        return self.asking_page(
            request,
            action="cancel_open_items",
            title="Cancel open items",
            template="admin/orders/order/cancel_items.html",
            form=form,
            rows={"items": items},
            selected_ids=order_ids,
        )

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


# --- Returns --------------------------------------------------------------------------------------------

RETURN_STATUSES = [
    OrderItemStatus.RETURN_REQUESTED,
    OrderItemStatus.RETURN_ESCALATED,
    OrderItemStatus.RETURN_REJECTED,
    OrderItemStatus.RETURN_APPROVED,
    OrderItemStatus.RETURN_RECEIVED,
    OrderItemStatus.RETURNED,
]


def _resellable_label(resellable: bool | None) -> str:
    return {True: "Yes", False: "No", None: "—"}[resellable]


class ReturnStatusFilter(admin.SimpleListFilter):
    """Where the returned item is now: escalated requests wait for staff."""

    title = "return status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(status.value, status.label) for status in RETURN_STATUSES]

    def queryset(self, request, queryset):
        return queryset.filter(item__status=self.value()) if self.value() else queryset


class ReturnRejectForm(forms.Form):
    reason = forms.CharField(
        label="Reason (the buyer and the seller see it)",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )


class ReturnReceiveForm(forms.Form):
    resellable = forms.TypedChoiceField(
        label="Can the items be sold again?",
        choices=[("yes", "Yes: their units go back on sale"), ("no", "No: the stock stays as it is")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )


@admin.register(ReturnRequest)
class ReturnRequestAdmin(AskFirstActionsMixin, ReadOnlyAdmin):
    """One row per item a buyer asked to return. Staff decide it through `orders.services.returns` as STAFF;
    the refund account is shown masked here (the payout screen shows it in full to staff who pay it)."""

    list_display = [
        "order_number",
        "item_name",
        "seller",
        "item_status",
        "reason",
        "refund_to_masked",
        "escalated_at",
        "requested_at",
    ]
    list_filter = [ReturnStatusFilter, "reason", ("requested_at", admin.DateFieldListFilter)]
    list_select_related = ["item__order", "item__seller"]
    search_fields = ["item__order__number", "item__title", "item__sku", "item__order__buyer__email"]
    ordering = ["-requested_at", "-id"]
    fields = [
        "order_link",
        "item_name",
        "seller",
        "item_status",
        "reason",
        "comment",
        "refund_to_kind",
        "refund_to_masked",
        "rejection_reason",
        "escalated_at",
        "resellable",
        "requested_at",
        "updated_at",
    ]
    readonly_fields = fields
    actions = ["approve_returns", "reject_returns", "receive_returns"]

    @admin.display(description="order", ordering="item__order__number")
    def order_number(self, request: ReturnRequest) -> str:
        return request.item.order.number

    @admin.display(description="order")
    def order_link(self, request: ReturnRequest) -> str:
        order = request.item.order
        return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[order.pk]), order.number)

    @admin.display(description="item")
    def item_name(self, request: ReturnRequest) -> str:
        return request.item.name

    @admin.display(description="seller")
    def seller(self, request: ReturnRequest) -> str:
        return request.item.seller.name

    @admin.display(description="status", ordering="item__status")
    def item_status(self, request: ReturnRequest) -> str:
        return request.item.get_status_display()

    def has_decide_permission(self, request) -> bool:
        return request.user.is_staff and request.user.has_perm("orders.change_order")

    @admin.action(description="Approve the selected returns (overturns a refusal too)", permissions=["decide"])
    def approve_returns(self, request, queryset: QuerySet[ReturnRequest]) -> None:
        self._decide(
            request,
            queryset,
            to_status=OrderItemStatus.RETURN_APPROVED,
            act=lambda item: order_item_return_approve(item_id=item.pk, actor=request.user, role=ActorRole.STAFF),
            log=lambda item: f"Approved the return of “{item.title}”",
            done="Approved {count} return(s).",
        )
        return None

    @admin.action(description="Refuse the selected returns (with a reason)", permissions=["decide"])
    def reject_returns(self, request, queryset: QuerySet[ReturnRequest]):
        """First a page that asks for the reason the buyer reads; then each request goes through the service."""
        form = self.asking_form(request, ReturnRejectForm)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            self._decide(
                request,
                queryset,
                to_status=OrderItemStatus.RETURN_REJECTED,
                act=lambda item: order_item_return_reject(
                    item_id=item.pk, actor=request.user, reason=reason, role=ActorRole.STAFF
                ),
                log=lambda item: f"Refused the return of “{item.title}”: {reason}",
                done="Refused {count} return(s).",
            )
            return None
        return self._confirmation(
            request, queryset, form=form, action="reject_returns", title="Refuse returns", template="reject.html"
        )

    @admin.action(description="Mark the selected returns received", permissions=["decide"])
    def receive_returns(self, request, queryset: QuerySet[ReturnRequest]):
        """First a page that asks whether the items can be sold again (their stock comes back if so)."""
        form = self.asking_form(request, ReturnReceiveForm)
        if form.is_bound and form.is_valid():
            resellable = form.cleaned_data["resellable"]
            self._decide(
                request,
                queryset,
                to_status=OrderItemStatus.RETURN_RECEIVED,
                act=lambda item: order_item_return_receive(
                    item_id=item.pk, actor=request.user, resellable=resellable, role=ActorRole.STAFF
                ),
                log=lambda item: (
                    f"Received the return of “{item.title}” ({'resellable' if resellable else 'not resellable'})"
                ),
                done="Marked {count} return(s) received; the money goes back to the buyers.",
            )
            return None
        return self._confirmation(
            request,
            queryset,
            form=form,
            action="receive_returns",
            title="Mark returns received",
            template="receive.html",
        )

    def _confirmation(self, request, queryset, *, form, action: str, title: str, template: str):
        requests = list(queryset.select_related("item__order", "item__seller").order_by("pk"))
        return self.asking_page(
            request,
            action=action,
            title=title,
            template=f"admin/orders/returnrequest/{template}",
            form=form,
            rows={"requests": requests},
        )

    def _decide(self, request, queryset, *, to_status: str, act, log, done: str) -> None:
        """`act` on each selected request's item the staff may move to `to_status` now; the others are named."""
        movable = set(sources_for(to_status=to_status, role=ActorRole.STAFF))
        count, problems = 0, []
        for return_request in queryset.select_related("item__order").order_by("pk"):
            item = return_request.item
            label = f"{item.order.number} “{item.title}”"
            if item.status not in movable:
                problems.append(f"{label} is {item.get_status_display().lower()}")
                continue
            try:
                act(item)
            except DomainError as exc:  # moved on since the list was shown
                problems.append(f"{label}: {exc.message}")
                continue
            self.log_change(request, item.order, log(item))
            count += 1
        if count:
            self.message_user(request, done.format(count=count), messages.SUCCESS)
        if problems:
            self.message_user(request, "Left alone: " + "; ".join(problems) + ".", messages.WARNING)
