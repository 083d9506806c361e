"""The audit of the capture ledger (`manage.py payments_audit`): for a period, every gateway order JoyCart made and
every capture it knows, what became of each, and every capture whose money is unaccounted for.

It writes nothing. Each capture stands in one of the places the ledger allows (`Standing`): it placed its order,
it is refunded in full (or the refund is on its way, or FAILED and waiting for staff), it is flagged for staff, or
staff resolved it by hand. The checks below are the ledger's promises read back from the rows; a capture that
breaks one is "unaccounted for", with a line that says why. With `gateway=True` each gateway order's payments
are read from the gateway too (outside any transaction), and a capture the gateway holds that JoyCart never
recorded is unaccounted for as well (`reconcile_payments` records it, if it still watches that order).

A gateway order belongs to the period when its payment was created in it, or when one of its captures was
recorded, or one of its refunds changed in it: a refund that FAILED today is reported today, whenever its
order was placed.
"""

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from joycart.money import format_inr
from orders.models import OrderItem, OrderItemStatus, PaymentMethod
from payments.gateway import GatewayRetryableError, PaymentGatewayError, get_gateway
from payments.models import CaptureOutcome, GatewayCapture, Payment, PaymentStatus, Refund, RefundStatus

logger = logging.getLogger(__name__)

# Rows read per round trip: the query count grows with a thousand rows, not with one.
CHUNK = 500
DEFAULT_DAYS = 2

Outcome = CaptureOutcome
Status = RefundStatus

# A returned item's refund starts when the seller receives it back; RETURNED says it was REFUNDED.
RETURN_REFUNDED = frozenset({OrderItemStatus.RETURN_RECEIVED, OrderItemStatus.RETURNED})
# The item statuses a refund of one item may pay back: a cancellation's, or a return's.
REFUNDED_ITEM_STATUSES = RETURN_REFUNDED | {OrderItemStatus.CANCELLED}


class Standing(StrEnum):
    """Where a capture's money is, as the audit reports it (the summary counts them in this order)."""

    PLACED = "placed"  # PAID: it paid the order
    REFUNDED = "refunded"  # REFUNDED, and the gateway says its refund went back
    REFUND_PENDING = "refund pending"  # REFUNDED, its refund INITIATED or PROCESSING
    REFUND_FAILED = "refund failed"  # REFUNDED, its refund FAILED: staff must retry it
    FLAGGED = "flagged"  # FLAGGED, awaiting staff
    RESOLVED = "resolved"  # RESOLVED by staff, with a note
    NOT_RECORDED = "not recorded"  # at the gateway only (gateway=True)


@dataclass(frozen=True)
class AuditPeriod:
    """Whole days in the shop's time zone, both included."""

    since: date
    until: date

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, *, today: date | None = None) -> "AuditPeriod":
        today = today or timezone.localdate()
        return cls(since=today - timedelta(days=days - 1), until=today)

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.since, time.min))

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return timezone.make_aware(datetime.combine(self.until + timedelta(days=1), time.min))

    def __str__(self) -> str:
        return f"{self.since:%Y-%m-%d} to {self.until:%Y-%m-%d} ({timezone.get_current_timezone_name()})"


@dataclass
class CaptureReport:
    gateway_payment_id: str
    amount: Decimal
    currency: str
    standing: Standing
    detail: str  # the reason, the refunds, or the staff's note
    problems: list[str] = field(default_factory=list)


@dataclass
class GatewayOrderReport:
    order_number: str
    gateway_order_id: str
    amount: Decimal
    currency: str
    payment_status: str
    captures: list[CaptureReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # about the order as a whole
    gateway_error: str = ""  # gateway=True: why its payments could not be read

    def unaccounted(self) -> Iterator[str]:
        """One line per capture with a problem (and one for the order's own): where, and everything wrong there."""
        where = f"{self.order_number} {self.gateway_order_id}"
        if self.problems:
            yield f"{where}: {'; '.join(self.problems)}"
        for capture in self.captures:
            if capture.problems:
                yield f"{where} {capture.gateway_payment_id}: {'; '.join(capture.problems)}"


@dataclass
class Audit:
    period: AuditPeriod
    orders: list[GatewayOrderReport]
    gateway_read: bool = False

    @property
    def captures(self) -> list[CaptureReport]:
        return [capture for order in self.orders for capture in order.captures]

    def unaccounted(self) -> list[str]:
        return [line for order in self.orders for line in order.unaccounted()]

    def unreadable(self) -> list[str]:
        return [f"{o.order_number} {o.gateway_order_id}: {o.gateway_error}" for o in self.orders if o.gateway_error]

    def counts(self) -> dict[Standing, int]:
        """Captures by standing, in `Standing`'s order; "not recorded" only when there is one."""
        counted = Counter(capture.standing for capture in self.captures)
        return {s: counted[s] for s in Standing if counted[s] or s != Standing.NOT_RECORDED}


def money(amount: Decimal, currency: str) -> str:
    return format_inr(amount) if currency == "INR" else f"{currency} {amount:.2f}"


# --- reading the ledger -------------------------------------------------------------------


def _payments_in(period: AuditPeriod) -> QuerySet[Payment]:
    """The online payments with a gateway order that belong to the period, with everything the checks read:
    a fixed number of queries per CHUNK rows."""
    within = {"created_at__gte": period.start, "created_at__lt": period.end}
    touched = Q(**within) | Q(pk__in=GatewayCapture.objects.filter(**within).values("payment_id"))
    touched |= Q(
        pk__in=Refund.objects.filter(updated_at__gte=period.start, updated_at__lt=period.end).values("payment_id")
    )
    refunds = Refund.objects.order_by("pk")
    captures = GatewayCapture.objects.order_by("pk").prefetch_related(Prefetch("refunds", queryset=refunds))
    return (
        Payment.objects.filter(touched, method=PaymentMethod.ONLINE, gateway_order_id__isnull=False)
        .select_related("order")
        .prefetch_related(
            Prefetch("captures", queryset=captures),
            Prefetch("order__items", queryset=OrderItem.objects.order_by("pk")),
        )
        .order_by("created_at", "pk")
    )


def _refunds_line(refunds: Iterable[Refund], currency: str) -> str:
    return ", ".join(f"refund #{r.pk} {money(r.amount, currency)} {r.status}" for r in refunds) or "no refund"


def _standing(capture: GatewayCapture, refunds: list[Refund]) -> Standing:
    if capture.outcome == Outcome.PAID:
        return Standing.PLACED
    if capture.outcome == Outcome.FLAGGED:
        return Standing.FLAGGED
    if capture.outcome == Outcome.RESOLVED:
        return Standing.RESOLVED
    statuses = {refund.status for refund in refunds}
    if Status.FAILED in statuses:
        return Standing.REFUND_FAILED
    if statuses and statuses <= {Status.REFUNDED}:
        return Standing.REFUNDED
    return Standing.REFUND_PENDING  # INITIATED or PROCESSING (or none at all: unaccounted, below)


def _detail(capture: GatewayCapture, refunds: list[Refund]) -> str:
    if capture.outcome == Outcome.PAID:
        item_refunds = [refund for refund in refunds if refund.order_item_id is not None]
        return f"items refunded: {_refunds_line(item_refunds, capture.currency)}" if item_refunds else ""
    reason = capture.get_reason_display().lower()
    if capture.outcome == Outcome.RESOLVED:
        return f"{reason}; resolved: {capture.resolution_note}"
    if capture.outcome == Outcome.FLAGGED:
        return f"{reason}: {capture.detail}"
    return f"{reason}; {_refunds_line(refunds, capture.currency)}"


def _refund_problems(capture: GatewayCapture, refunds: list[Refund]) -> Iterator[str]:
    """What every capture owes, whatever its outcome: refunds that are not FAILED, as its ledger column says."""
    for refund in refunds:
        if refund.status == Status.FAILED:
            yield (
                f"refund #{refund.pk} of {money(refund.amount, capture.currency)} FAILED "
                f"({refund.failure_reason or 'no reason given'}): retry it in the admin"
            )
    committed = sum((r.amount for r in refunds if r.status != Status.FAILED), Decimal("0.00"))
    if committed != capture.refunded_amount:
        yield f"its refunds add up to {committed}, its ledger says {capture.refunded_amount}"
    if committed > capture.amount:
        yield f"refunds of {money(committed, capture.currency)} exceed the {money(capture.amount, capture.currency)} captured"


def _paid_problems(capture: GatewayCapture, refunds: list[Refund], payment: Payment) -> Iterator[str]:
    """A capture that paid the order is the payment's own, and each item is placed, or cancelled or returned and
    refunded."""
    if payment.status != PaymentStatus.CAPTURED or payment.gateway_payment_id != capture.gateway_payment_id:
        yield f"it paid the order, but the payment is {payment.status} as {payment.gateway_payment_id or 'nothing'}"
    if any(refund.order_item_id is None for refund in refunds):
        yield "it paid the order and is refunded in full as well"
    by_item = {refund.order_item_id: refund for refund in refunds if refund.order_item_id is not None}
    for item in payment.order.items.all():
        refund = by_item.get(item.pk)
        if item.status == OrderItemStatus.PENDING_PAYMENT:
            yield f"item {item.pk} still awaits payment although this capture paid the order"
        elif item.status == OrderItemStatus.CANCELLED and refund is None:
            yield f"item {item.pk} is cancelled and nothing refunds its {format_inr(item.line_total)}"
        elif item.status in RETURN_REFUNDED and refund is None:
            yield f"item {item.pk} is {item.status} and nothing refunds its {format_inr(item.line_total)}"
        elif refund is not None and item.status not in REFUNDED_ITEM_STATUSES:
            yield f"item {item.pk} is {item.status} but refund #{refund.pk} pays it back"
        elif item.status == OrderItemStatus.RETURNED and refund.status != Status.REFUNDED:
            yield f"item {item.pk} is RETURNED but its refund #{refund.pk} is {refund.status}"
        elif refund is not None and refund.amount != item.line_total:
            yield f"item {item.pk} cost {format_inr(item.line_total)}; refund #{refund.pk} is {format_inr(refund.amount)}"


def _unpaid_problems(capture: GatewayCapture, refunds: list[Refund]) -> Iterator[str]:
    """A capture that did not pay the order is refunded in full, once; or it waits for (or was settled by) staff."""
    if any(refund.order_item_id is not None for refund in refunds):
        yield "item refunds against a capture that did not pay the order"
    if capture.outcome in (Outcome.FLAGGED, Outcome.RESOLVED):
        if any(refund.status != Status.FAILED for refund in refunds):
            yield (
                f"{capture.get_outcome_display().lower()}, yet refunds are against it: "
                f"{_refunds_line(refunds, capture.currency)}"
            )
        return
    live = [refund for refund in refunds if refund.status != Status.FAILED]
    if not refunds:
        yield f"refunded in full, but no refund of its {money(capture.amount, capture.currency)} exists"
    elif live and sum(r.amount for r in live) != capture.amount:
        total = money(sum(r.amount for r in live), capture.currency)
        yield f"its refunds add up to {total}, not the {money(capture.amount, capture.currency)} captured"
    elif len(live) > 1:
        yield f"refunded more than once: {_refunds_line(live, capture.currency)}"


def _capture_report(capture: GatewayCapture, payment: Payment) -> CaptureReport:
    refunds = list(capture.refunds.all())
    problems = list(_refund_problems(capture, refunds))
    if capture.outcome == Outcome.PAID:
        problems += _paid_problems(capture, refunds, payment)
    else:
        problems += _unpaid_problems(capture, refunds)
    return CaptureReport(
        gateway_payment_id=capture.gateway_payment_id,
        amount=capture.amount,
        currency=capture.currency,
        standing=_standing(capture, refunds),
        detail=_detail(capture, refunds),
        problems=problems,
    )


def _order_problems(payment: Payment, captures: list[GatewayCapture]) -> Iterator[str]:
    paid = [capture for capture in captures if capture.outcome == Outcome.PAID]
    if len(paid) > 1:
        yield f"{len(paid)} captures paid the order: {', '.join(c.gateway_payment_id for c in paid)}"
    own = next((c for c in captures if c.gateway_payment_id == payment.gateway_payment_id), None)
    if payment.status == PaymentStatus.CAPTURED and own is None:
        yield f"the payment is CAPTURED as {payment.gateway_payment_id}, but no such capture is recorded"
    elif payment.status == PaymentStatus.CAPTURED and own.outcome not in (Outcome.PAID, Outcome.REFUNDED):
        yield f"the payment is CAPTURED as {own.gateway_payment_id}, which is {own.outcome}"
    elif own is not None and payment.captured_amount != own.amount:
        yield f"the payment says {format_inr(payment.captured_amount)} captured; its capture {format_inr(own.amount)}"
    placed = [
        item.pk
        for item in payment.order.items.all()
        if item.status not in (OrderItemStatus.PENDING_PAYMENT, OrderItemStatus.CANCELLED)
    ]
    if placed and not paid:
        yield f"item(s) {', '.join(map(str, placed))} placed, but no capture paid the order"


def _order_report(payment: Payment) -> GatewayOrderReport:
    captures = list(payment.captures.all())
    return GatewayOrderReport(
        order_number=payment.order.number or f"order {payment.order_id}",
        gateway_order_id=payment.gateway_order_id,
        amount=payment.amount,
        currency=payment.currency,
        payment_status=payment.status,
        captures=[_capture_report(capture, payment) for capture in captures],
        problems=list(_order_problems(payment, captures)),
    )


# --- asking the gateway -------------------------------------------------------------------


def _gateway_captures_add(orders: list[GatewayOrderReport]) -> None:
    """Add the captures the gateway holds for each gateway order that JoyCart has not recorded.

    After a timeout or a server error the rest are not asked (an outage costs one timeout, not one per
    order); they are reported as not read, as is a gateway order the gateway refuses to show.
    """
    gateway, down = get_gateway(), ""
    for order in orders:
        if down:
            order.gateway_error = f"not read: {down}"
            continue
        try:
            attempts = gateway.order_payments(order.gateway_order_id)
        except GatewayRetryableError as exc:
            down = f"the gateway did not answer ({exc})"
            order.gateway_error = down
            continue
        except PaymentGatewayError as exc:
            order.gateway_error = f"the gateway refused to show it ({exc})"
            continue
        recorded = {capture.gateway_payment_id for capture in order.captures}
        for attempt in attempts:
            if attempt.captured and attempt.id not in recorded:
                problem = "captured at the gateway, never recorded by JoyCart: run reconcile_payments"
                order.captures.append(
                    CaptureReport(attempt.id, attempt.amount, attempt.currency, Standing.NOT_RECORDED, "", [problem])
                )


def payments_audit(*, period: AuditPeriod, gateway: bool = False) -> Audit:
    """Every gateway order and capture of the period, what became of each, and what is unaccounted for.

    Call it outside any transaction when `gateway` is set: it then reads each gateway order's payments.
    """
    orders = [_order_report(payment) for payment in _payments_in(period).iterator(chunk_size=CHUNK)]
    if gateway:
        _gateway_captures_add(orders)
    audit = Audit(period=period, orders=orders, gateway_read=gateway)
    for line in audit.unaccounted():
        logger.error("payments audit: unaccounted for: %s", line)
    return audit
