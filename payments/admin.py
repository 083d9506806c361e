"""Payments, captures, refunds and gateway webhooks for staff: read-only, because money moves only through the
services (orders.services.lifecycle, payments.services). The writes are actions that call them: retrying failed
refunds, refunding or resolving captures flagged for review, and marking return payouts paid or failed."""

import csv
import json
from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpResponse
from django.utils import timezone
from django.utils.html import format_html

from joycart.admin_actions import AskFirstActionsMixin, ReadOnlyAdmin
from joycart.crypto import InvalidToken
from joycart.errors import DomainError
from joycart.spreadsheet import csv_cell
from orders.models import RefundTo
from payments.models import (
    CaptureOutcome,
    GatewayCapture,
    Payment,
    Payout,
    PayoutStatus,
    Refund,
    RefundStatus,
    WebhookEvent,
)
from payments.services.captures import NOTE_LENGTH, capture_refund, capture_resolve, capture_review_allowed
from payments.services.refunds import refund_retry
from payments.services.returns import MAX_UTR_LENGTH, payout_account, payout_mark_failed, payout_mark_paid


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["created_at", "id"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class RefundInline(_ReadOnlyInline):
    model = Refund
    fields = [
        "order_item",
        "capture",
        "amount",
        "status",
        "gateway_refund_id",
        "attempts",
        "failure_reason",
        "created_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_item", "capture")


class CaptureInline(_ReadOnlyInline):
    """Every payment the gateway captured for the order, and what became of it."""

    model = GatewayCapture
    fields = ["gateway_payment_id", "amount", "currency", "outcome", "reason", "detail", "created_at"]
    readonly_fields = fields


class FlaggedCaptureFilter(admin.SimpleListFilter):
    """Payments holding a capture that waits for staff (its amount, currency or gateway order is not the order's)."""

    title = "flagged"
    parameter_name = "flagged"

    def lookups(self, request, model_admin):
        return [("1", "Yes"), ("0", "No")]

    def queryset(self, request, queryset):
        flagged = GatewayCapture.objects.filter(outcome=CaptureOutcome.FLAGGED).values("payment_id")
        if self.value() == "1":
            return queryset.filter(pk__in=flagged)
        if self.value() == "0":
            return queryset.exclude(pk__in=flagged)
        return queryset


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
        "created_at",
    ]
    list_filter = ["method", "status", FlaggedCaptureFilter, ("created_at", admin.DateFieldListFilter)]
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
        (None, {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]
    inlines = [CaptureInline, RefundInline]

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
    search_fields = ["payment__order__number", "gateway_refund_id", "idempotency_key", "capture__gateway_payment_id"]
    ordering = ["-created_at", "-id"]
    fields = [
        "payment",
        "capture",
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
        return refund.order_item.title if refund.order_item else "whole capture"

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


class CaptureResolveForm(forms.Form):
    note = forms.CharField(
        label="How was it settled? (kept with the capture)",
        max_length=NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )


class CaptureRefundInline(_ReadOnlyInline):
    model = Refund
    fields = ["amount", "status", "reason", "gateway_refund_id", "failure_reason", "created_at"]
    readonly_fields = fields


@admin.register(GatewayCapture)
class GatewayCaptureAdmin(AskFirstActionsMixin, ReadOnlyAdmin):
    """The capture ledger: every payment the gateway captured for one of our orders and what became of it
    (payments.services.captures). Staff settle the FLAGGED ones: refund them now, or mark them resolved."""

    list_display = [
        "gateway_payment_id",
        "order_number",
        "amount",
        "currency",
        "outcome",
        "reason",
        "refund_status",
        "created_at",
        "resolved_by",
    ]
    list_filter = ["outcome", "reason", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["payment__order", "resolved_by"]
    search_fields = ["gateway_payment_id", "gateway_order_id", "payment__order__number"]
    ordering = ["-created_at", "-id"]
    fieldsets = [
        (None, {"fields": ["payment", "gateway_payment_id", "gateway_order_id", "amount", "currency", "captured_at"]}),
        ("Outcome", {"fields": ["outcome", "reason", "detail", "refunded_amount"]}),
        ("Staff", {"fields": ["resolved_by", "resolved_at", "resolution_note"]}),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]
    inlines = [CaptureRefundInline]
    actions = ["refund_flagged_now", "mark_resolved"]

    def get_queryset(self, request):
        latest_refund = Refund.objects.filter(capture=OuterRef("pk")).order_by("-created_at", "-id")
        return super().get_queryset(request).annotate(latest_refund_status=Subquery(latest_refund.values("status")[:1]))

    @admin.display(description="order", ordering="payment__order__number")
    def order_number(self, capture: GatewayCapture) -> str:
        return str(capture.payment.order)

    @admin.display(description="refund")
    def refund_status(self, capture: GatewayCapture) -> str:
        status = capture.latest_refund_status
        return RefundStatus(status).label if status else "—"

    def has_review_permission(self, request) -> bool:
        return capture_review_allowed(user=request.user)

    @admin.action(description="Refund this capture now", permissions=["review"])
    def refund_flagged_now(self, request, queryset: QuerySet[GatewayCapture]) -> None:
        """Each FLAGGED capture is refunded in full against its own gateway payment id; the others are left alone."""
        self._review(
            request,
            queryset,
            done_message="Refunded {count} capture{s} in full.",
            act=lambda capture: self._refund_one(request, capture),
        )

    @admin.action(description="Mark resolved (with a note)", permissions=["review"])
    def mark_resolved(self, request, queryset: QuerySet[GatewayCapture]):
        """First a page that asks how the capture was settled; then each FLAGGED one is marked RESOLVED with it."""
        form = self.asking_form(request, CaptureResolveForm)
        if form.is_bound and form.is_valid():
            note = form.cleaned_data["note"]
            self._review(
                request,
                queryset,
                done_message="Marked {count} capture{s} resolved.",
                act=lambda capture: self._resolve_one(request, capture, note),
            )
            return None
        return self.asking_page(
            request,
            action="mark_resolved",
            title="Mark captures resolved",
            template="admin/payments/gatewaycapture/resolve.html",
            form=form,
            rows={"captures": list(queryset.select_related("payment__order").order_by("pk"))},
        )

    def _refund_one(self, request, capture: GatewayCapture) -> None:
        capture_refund(capture_id=capture.pk, actor=request.user)
        self.log_change(request, capture, "Refunded the flagged capture in full")

    def _resolve_one(self, request, capture: GatewayCapture, note: str) -> None:
        capture_resolve(capture_id=capture.pk, actor=request.user, note=note)
        self.log_change(request, capture, f"Marked the flagged capture resolved: {note}")

    def _review(self, request, queryset, *, done_message: str, act: Callable[[GatewayCapture], None]) -> None:
        """`act` on each selected capture through its service; a capture that is not FLAGGED is left alone, and said so."""
        done, problems = 0, []
        for capture in queryset.order_by("pk"):
            try:
                act(capture)
            except DomainError as exc:
                problems.append(f"{capture.gateway_payment_id}: {exc.message}")
                continue
            done += 1
        if done:
            self.message_user(request, done_message.format(count=done, s="s" if done != 1 else ""))
        if problems:
            self.message_user(request, "Left alone: " + "; ".join(problems), level=messages.WARNING)


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


# --- Return payouts (Cash on Delivery) ---------------------------------------------------------------------

# What a bank's bulk-upload template asks for, one payment a row; the reference comes back on the statement.
BANK_EXPORT_COLUMNS = ["Payment mode", "Beneficiary name", "Account number or UPI id", "IFSC", "Amount", "Reference"]


def payout_reference(payout: Payout) -> str:
    """Short and alphanumeric with dashes, as banks accept it: the payout and its order."""
    return f"PAYOUT-{payout.pk}-{payout.order_item.order.number}"


def may_pay_payouts(user) -> bool:
    """Staff who pay payouts, and only they, see a buyer's account in full."""
    return user.is_staff and user.has_perm("payments.change_payout")


class PayoutPaidForm(forms.Form):
    """One UTR per payout: the bank's reference for each payment, as its statement shows it."""

    def __init__(self, *args, payouts: list[Payout], **kwargs):
        super().__init__(*args, **kwargs)
        for payout in payouts:
            self.fields[f"utr_{payout.pk}"] = forms.CharField(
                label=f"UTR for {payout_reference(payout)} ({payout.amount} to {payout.refund_to_masked})",
                max_length=MAX_UTR_LENGTH,
            )


class PayoutFailedForm(forms.Form):
    reason = forms.CharField(
        label="Why did the bank refuse it? (the buyer reads it, and is asked for new details)",
        max_length=Payout._meta.get_field("failure_reason").max_length,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )


@admin.register(Payout)
class PayoutAdmin(AskFirstActionsMixin, ReadOnlyAdmin):
    """The money of returned Cash on Delivery items, which staff pay from the bank (payments.services.returns).

    The list shows the account masked; the payout's own page and the bank export show it in full, only to
    staff who may pay payouts (`payments.change_payout`).
    """

    list_display = [
        "id",
        "order_number",
        "item",
        "amount",
        "status",
        "age",
        "refund_to_masked",
        "utr",
        "failure_reason",
        "created_at",
        "paid_at",
    ]
    list_filter = ["status", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["order_item__order"]
    search_fields = ["order_item__order__number", "utr", "order_item__order__buyer__email"]
    ordering = ["created_at", "id"]  # the oldest waits longest
    fields = [
        "order_item",
        "amount",
        "status",
        "refund_to_kind",
        "refund_to_masked",
        "utr",
        "failure_reason",
        "paid_at",
        "paid_by",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    actions = ["mark_paid", "mark_failed", "export_for_bank"]

    def get_fields(self, request, obj=None):
        return [*self.fields, "account_in_full"] if may_pay_payouts(request.user) else self.fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description="account in full")
    def account_in_full(self, payout: Payout) -> str:
        try:
            account = payout_account(payout)
        except InvalidToken:
            return "Cannot be decrypted: a key in FIELD_ENCRYPTION_KEYS is missing."
        return ", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in account.items())

    @admin.display(description="order", ordering="order_item__order__number")
    def order_number(self, payout: Payout) -> str:
        return payout.order_item.order.number

    @admin.display(description="item")
    def item(self, payout: Payout) -> str:
        return payout.order_item.name

    @admin.display(description="age (days)", ordering="created_at")
    def age(self, payout: Payout) -> int:
        """Days since the item was received back; how long the buyer has been waiting for the money."""
        return (timezone.now() - payout.created_at).days

    def has_pay_permission(self, request) -> bool:
        return may_pay_payouts(request.user)

    @admin.action(description="Mark paid (with each payment's UTR)", permissions=["pay"])
    def mark_paid(self, request, queryset: QuerySet[Payout]):
        """First a page that asks for each pending payout's UTR; then each is marked paid through the service."""
        payouts = list(queryset.filter(status=PayoutStatus.PENDING).select_related("order_item__order").order_by("pk"))
        if not payouts:
            self.message_user(request, "None of the selected payouts is waiting to be paid.", messages.WARNING)
            return None
        form = self.asking_form(request, PayoutPaidForm, payouts=payouts)
        if form.is_bound and form.is_valid():
            self._each(
                request,
                payouts,
                done_message="Marked {count} payout{s} paid; the items are returned.",
                act=lambda payout: self._pay_one(request, payout, form.cleaned_data[f"utr_{payout.pk}"]),
            )
            return None
        return self._confirmation(request, payouts, form=form, action="mark_paid", title="Mark payouts paid")

    @admin.action(description="Mark failed (the buyer is asked for new details)", permissions=["pay"])
    def mark_failed(self, request, queryset: QuerySet[Payout]):
        payouts = list(queryset.filter(status=PayoutStatus.PENDING).select_related("order_item__order").order_by("pk"))
        if not payouts:
            self.message_user(request, "None of the selected payouts is waiting to be paid.", messages.WARNING)
            return None
        form = self.asking_form(request, PayoutFailedForm)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            self._each(
                request,
                payouts,
                done_message="Marked {count} payout{s} failed; the buyers are asked for new details.",
                act=lambda payout: self._fail_one(request, payout, reason),
            )
            return None
        return self._confirmation(request, payouts, form=form, action="mark_failed", title="Mark payouts failed")

    @admin.action(description="Export pending payouts for bank bulk upload", permissions=["pay"])
    def export_for_bank(self, request, queryset: QuerySet[Payout]) -> HttpResponse:
        """A CSV of the selected payouts still to pay, accounts in full, text escaped against formula injection."""
        payouts = queryset.filter(status=PayoutStatus.PENDING).select_related("order_item__order__buyer")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="joycart-payouts-{timezone.localdate():%Y%m%d}.csv"'
        writer = csv.writer(response)
        writer.writerow(BANK_EXPORT_COLUMNS)
        unreadable = []
        for payout in payouts.order_by("created_at", "pk"):
            try:
                account = payout_account(payout)
            except InvalidToken:
                unreadable.append(payout_reference(payout))
                continue
            if payout.refund_to_kind == RefundTo.UPI:
                mode, name, number, ifsc = "UPI", payout.order_item.order.buyer.display_name, account["upi_id"], ""
            else:
                mode, name, number, ifsc = "NEFT", account["account_name"], account["account_number"], account["ifsc"]
            writer.writerow(
                [*map(csv_cell, [mode, name, number, ifsc]), f"{payout.amount:.2f}", csv_cell(payout_reference(payout))]
            )
            self.log_change(request, payout, "Exported for bank bulk upload")
        if unreadable:
            self.message_user(
                request,
                "Left out (the account cannot be decrypted: restore its key): " + ", ".join(unreadable) + ".",
                messages.ERROR,
            )
        return response

    def _pay_one(self, request, payout: Payout, utr: str) -> None:
        payout_mark_paid(payout_id=payout.pk, utr=utr, staff=request.user)
        self.log_change(request, payout, f"Marked paid, UTR {utr}")

    def _fail_one(self, request, payout: Payout, reason: str) -> None:
        payout_mark_failed(payout_id=payout.pk, reason=reason, staff=request.user)
        self.log_change(request, payout, f"Marked failed: {reason}")

    def _confirmation(self, request, payouts: list[Payout], *, form, action: str, title: str):
        return self.asking_page(
            request,
            action=action,
            title=title,
            template=f"admin/payments/payout/{action}.html",
            form=form,
            rows={"payouts": payouts},
        )

    def _each(self, request, payouts: list[Payout], *, done_message: str, act: Callable[[Payout], None]) -> None:
        """`act` on each payout through its service; one refused (a UTR already used, paid meanwhile) changes nothing."""
        done = 0
        for payout in payouts:
            try:
                act(payout)
            except DomainError as exc:
                self.message_user(request, f"{payout_reference(payout)}: {exc.message}", messages.ERROR)
                continue
            done += 1
        if done:
            self.message_user(request, done_message.format(count=done, s="s" if done != 1 else ""), messages.SUCCESS)
