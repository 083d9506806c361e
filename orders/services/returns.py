"""Returns after delivery: the request within the category's window, the seller's (or staff's) decision,
the receipt, and the money back.

Every move goes through `order_item_transition` (the table in `orders.transitions`, the order and item
locks, the timeline event, the e-mails); the functions here add what a return needs under those same
locks, through its `effect`:

- a request checks the window (from the item's delivery, `OrderItem.return_window_days` as sold) and,
  for Cash on Delivery, keeps the account the money goes back to, encrypted;
- a receipt restocks the variant if the item can be sold again (once: the move happens once), and
  starts the money back: an online item's refund through the refund pipeline (one refund per item,
  whatever the path), a Cash on Delivery item's `Payout` for staff to pay;
- the item becomes RETURNED when that money is final (`return_complete`: the refund's webhook, or
  staff marking the payout paid).
"""

import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from catalog.services.stock import stock_return
from joycart.crypto import encrypt
from orders.errors import (
    AlreadyEscalated,
    InvalidRefundAccount,
    InvalidReturnReason,
    InvalidTransition,
    NotReturnable,
    RefundAccountRequired,
    ReturnWindowClosed,
)
from orders.models import (
    ActorRole,
    Order,
    OrderItem,
    OrderItemStatus,
    PaymentMethod,
    RefundTo,
    ReturnReason,
    ReturnRequest,
)
from orders.services.lifecycle import TRANSITION_ERRORS, order_item_transition

Status = OrderItemStatus

# What asking for a return can answer over the API: any move's refusals, the window, the refund account.
# Not `InvalidReturnReason`: the API's input takes only `ReturnReason`'s values.
RETURN_ERRORS = (*TRANSITION_ERRORS, ReturnWindowClosed, NotReturnable, RefundAccountRequired, InvalidRefundAccount)

MAX_COMMENT_LENGTH = ReturnRequest._meta.get_field("comment").max_length
UPI_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-_]{1,255}@[A-Za-z][A-Za-z0-9]{1,63}", re.ASCII)
IFSC_RE = re.compile(r"[A-Z]{4}0[A-Z0-9]{6}", re.ASCII)
ACCOUNT_NUMBER_RE = re.compile(r"\d{9,18}", re.ASCII)
MAX_ACCOUNT_NAME_LENGTH = 100


def return_deadline(item: OrderItem) -> datetime | None:
    """The last moment a return may be asked for; None if the item was never delivered or is not returnable."""
    if item.delivered_at is None or item.return_window_days == 0:
        return None
    return item.delivered_at + timedelta(days=item.return_window_days)


def return_window_refusal(item: OrderItem, *, now: datetime | None = None) -> Exception | None:
    """Why the item cannot be returned now for its window, or None. The last second of the window is inside."""
    if item.return_window_days == 0:
        return NotReturnable()
    deadline = return_deadline(item)
    if deadline is None or (now or timezone.now()) > deadline:
        return ReturnWindowClosed()
    return None


def refund_account_clean(value: object) -> tuple[str, dict[str, str], str]:
    """(kind, the account, its masked form) from `{upi_id}` or `{account_name, account_number, ifsc}`.

    Checked in shape only (a UPI handle `name@bank`; an IFSC `AAAA0XXXXXX`): whether the account exists
    is the bank's to say when staff pay it.
    """
    if not isinstance(value, Mapping):
        raise InvalidRefundAccount()
    fields = {key: value[key].strip() for key in value if isinstance(value[key], str)}
    if set(value) == {"upi_id"} and UPI_ID_RE.fullmatch(fields.get("upi_id", "")):
        upi_id = fields["upi_id"]
        handle = upi_id.rsplit("@", 1)[1]
        return RefundTo.UPI, {"upi_id": upi_id}, f"UPI ••••@{handle}"
    if set(value) == {"account_name", "account_number", "ifsc"} and len(fields) == 3:
        name, number, ifsc = fields["account_name"], fields["account_number"].replace(" ", ""), fields["ifsc"].upper()
        if 0 < len(name) <= MAX_ACCOUNT_NAME_LENGTH and ACCOUNT_NUMBER_RE.fullmatch(number) and IFSC_RE.fullmatch(ifsc):
            account = {"account_name": name, "account_number": number, "ifsc": ifsc}
            return RefundTo.BANK, account, f"A/c ••••{number[-4:]} ({ifsc})"
    raise InvalidRefundAccount()


def _reason_clean(reason: object) -> str:
    if reason not in ReturnReason.values:
        raise InvalidReturnReason()
    return reason


def _timeline_reason(reason: str, comment: str) -> str:
    label = ReturnReason(reason).label
    return f"{label}: {comment}"[:500] if comment else label


def order_item_return_request(
    *, item_id: int, buyer: User, reason: str, comment: str = "", refund_to: object = None
) -> OrderItem:
    """The buyer asks to return a delivered item, within its window. Cash on Delivery needs `refund_to`."""
    reason = _reason_clean(reason)
    comment = comment.strip()[:MAX_COMMENT_LENGTH] if isinstance(comment, str) else ""
    account = refund_account_clean(refund_to) if refund_to not in (None, {}) else None

    def effect(order: Order, item: OrderItem) -> None:
        refusal = return_window_refusal(item)
        if refusal is not None:
            raise refusal
        fields = {}
        if order.payment_method == PaymentMethod.COD:
            if account is None:
                raise RefundAccountRequired()
            kind, details, masked = account
            fields = {
                "refund_to_kind": kind,
                "refund_to_encrypted": encrypt(json.dumps(details)),
                "refund_to_masked": masked,
            }
        ReturnRequest.objects.create(item=item, reason=reason, comment=comment, **fields)

    return order_item_transition(
        item_id=item_id,
        to_status=Status.RETURN_REQUESTED,
        actor=buyer,
        role=ActorRole.BUYER,
        reason=_timeline_reason(reason, comment),
        effect=effect,
    )


def order_item_return_withdraw(*, item_id: int, buyer: User) -> OrderItem:
    """Before a decision, the buyer takes the request back; the item is simply delivered again."""

    def effect(order: Order, item: OrderItem) -> None:
        ReturnRequest.objects.filter(item=item).delete()

    return order_item_transition(
        item_id=item_id, to_status=Status.DELIVERED, actor=buyer, role=ActorRole.BUYER, effect=effect
    )


def order_item_return_approve(*, item_id: int, actor: User | None, role: str | None = None) -> OrderItem:
    """The seller or staff accept the return (staff also overturn a rejection); `actor=None` is the SLA job."""
    return order_item_transition(
        item_id=item_id,
        to_status=Status.RETURN_APPROVED,
        actor=actor,
        role=ActorRole.SYSTEM if actor is None else role,
    )


def order_item_return_reject(*, item_id: int, actor: User, reason: str, role: str | None = None) -> OrderItem:
    def effect(order: Order, item: OrderItem) -> None:
        ReturnRequest.objects.filter(item=item).update(rejection_reason=reason.strip()[:500])

    return order_item_transition(
        item_id=item_id, to_status=Status.RETURN_REJECTED, actor=actor, role=role, reason=reason, effect=effect
    )


def order_item_return_escalate(*, item_id: int, buyer: User, comment: str = "") -> OrderItem:
    """The buyer asks JoyCart's staff to look again at a rejection, once."""

    def effect(order: Order, item: OrderItem) -> None:
        request = ReturnRequest.objects.get(item=item)
        if request.escalated_at is not None:
            raise AlreadyEscalated()
        request.escalated_at = timezone.now()
        request.save(update_fields=["escalated_at", "updated_at"])

    comment = comment.strip()[:MAX_COMMENT_LENGTH] if isinstance(comment, str) else ""
    return order_item_transition(
        item_id=item_id,
        to_status=Status.RETURN_ESCALATED,
        actor=buyer,
        role=ActorRole.BUYER,
        reason=comment[:500],
        effect=effect,
    )


def order_item_return_receive(*, item_id: int, actor: User, resellable: bool, role: str | None = None) -> OrderItem:
    """The item is back. If it can be sold again its units go back on its variant's shelf; the money goes back
    by the way it came: an online refund, or a payout to the buyer's account for Cash on Delivery."""
    from payments.services.returns import return_money_back_start

    if not isinstance(resellable, bool):
        raise ValueError("resellable must be True or False")

    def effect(order: Order, item: OrderItem) -> None:
        request = ReturnRequest.objects.get(item=item)
        request.resellable = resellable
        request.save(update_fields=["resellable", "updated_at"])
        if resellable:
            stock_return(variant_id=item.variant_id, product_id=item.product_id, quantity=item.quantity)
        return_money_back_start(order=order, item=item, request=request)

    return order_item_transition(
        item_id=item_id,
        to_status=Status.RETURN_RECEIVED,
        actor=actor,
        role=role,
        reason="Can be sold again" if resellable else "Cannot be sold again",
        effect=effect,
    )


def return_complete(*, item_id: int, actor: User | None = None) -> OrderItem | None:
    """RETURNED, once the item's money is back for good: its refund REFUNDED, or its payout PAID.

    Safe to call at any time and more than once (the refund webhook's task, staff paying a payout, the
    periodic job): it does nothing, and returns None, unless the item waits in RETURN_RECEIVED with
    its money final.
    """
    from payments.services.returns import return_money_back_final

    finished: list[OrderItem] = []

    def effect(order: Order, item: OrderItem) -> None:
        if not return_money_back_final(item=item):
            raise _NotYet()
        finished.append(item)

    try:
        return order_item_transition(
            item_id=item_id,
            to_status=Status.RETURNED,
            actor=actor,
            role=ActorRole.SYSTEM if actor is None else ActorRole.STAFF,
            effect=effect,
        )
    except (_NotYet, InvalidTransition):
        return None


class _NotYet(Exception):
    """The money is not back yet: the move waits, and nothing is written."""


def returns_auto_approve(*, now: datetime | None = None) -> int:
    """Approve the requests a seller left unanswered for `RETURN_SELLER_SLA_DAYS`; how many it approved.

    Idempotent and safe to run twice at once: each item moves under its order's lock, and an item
    another run (or the seller) moved meanwhile is no longer RETURN_REQUESTED, so it is skipped.
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.RETURN_SELLER_SLA_DAYS)
    stale = ReturnRequest.objects.filter(item__status=Status.RETURN_REQUESTED, requested_at__lte=cutoff).values_list(
        "item_id", flat=True
    )
    approved = 0
    for item_id in list(stale):
        try:
            order_item_return_approve(item_id=item_id, actor=None)
        except InvalidTransition:
            continue
        approved += 1
    return approved


def returns_complete_settled() -> int:
    """RETURNED for the received items whose refund is already REFUNDED; how many it completed.

    The refund's webhook queues `return_complete`; this catches an item whose task was lost. Each item
    moves under its order's lock, so a run beside the task or another run completes it once.
    """
    from payments.models import Refund, RefundStatus

    settled = Refund.objects.filter(
        status=RefundStatus.REFUNDED, order_item__status=Status.RETURN_RECEIVED
    ).values_list("order_item_id", flat=True)
    return sum(return_complete(item_id=item_id) is not None for item_id in list(settled))
