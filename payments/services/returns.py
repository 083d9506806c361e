"""The money of a returned item: an online item's refund through the refund pipeline, a Cash on Delivery
item's payout that staff pay from the bank.

`return_money_back_start` runs when the item is received (under the order and item locks, in the
receipt's transaction); `return_money_back_final` says whether the item may become RETURNED. A payout
is paid or failed by staff here; the buyer replaces a failed payout's account.
"""

import json

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from joycart.crypto import decrypt, encrypt
from orders.errors import InvalidTransition, ReasonRequired
from orders.models import ActorRole, Order, OrderItem, OrderItemStatus, PaymentMethod, ReturnRequest
from payments import locks, notifications
from payments.errors import DuplicateUtr, InvalidUtr, ItemAlreadyRefunded, PayoutNotPending
from payments.models import Payout, PayoutStatus, Refund, RefundStatus
from payments.services.refunds import refund_initiate

MAX_UTR_LENGTH = Payout._meta.get_field("utr").max_length


def return_money_back_start(*, order: Order, item: OrderItem, request: ReturnRequest) -> None:
    """Refund the item's amount, never more: one refund per item (a database constraint), so an item
    cancelled and refunded before can never be refunded again here."""
    if order.payment_method == PaymentMethod.ONLINE:
        payment = locks.payment_lock(order_id=order.pk)
        if Refund.objects.filter(order_item=item).exists():  # refunded by hand before: never twice
            raise ItemAlreadyRefunded()
        refund_initiate(payment=payment, amount=item.line_total, reason=f"Return of {item.name}", order_item=item)
        return
    Payout.objects.create(
        order_item=item,
        amount=item.line_total,
        refund_to_kind=request.refund_to_kind,
        refund_to_encrypted=request.refund_to_encrypted,
        refund_to_masked=request.refund_to_masked,
    )


def return_money_back_final(*, item: OrderItem) -> bool:
    if Payout.objects.filter(order_item=item, status=PayoutStatus.PAID).exists():
        return True
    return Refund.objects.filter(order_item=item, status=RefundStatus.REFUNDED).exists()


def payout_account(payout: Payout) -> dict[str, str]:
    """The account in full, for the staff who pay it (the admin and the bank export); nowhere else."""
    return json.loads(decrypt(payout.refund_to_encrypted))


def _utr_clean(utr: object) -> str:
    value = utr.strip().upper() if isinstance(utr, str) else ""
    if not (0 < len(value) <= MAX_UTR_LENGTH and value.isascii() and value.isalnum()):
        raise InvalidUtr()
    return value


def payout_mark_paid(*, payout_id: int, utr: str, staff: User) -> Payout:
    """Staff paid it from the bank: record the bank's UTR (required, unique) and the item becomes RETURNED.

    One move of the item (`order_item_transition`, under its order's lock), which locks the payout too.
    """
    from orders.services.lifecycle import order_item_transition

    utr = _utr_clean(utr)
    item_id = Payout.objects.filter(pk=payout_id).values_list("order_item_id", flat=True).first()
    if item_id is None:
        raise PayoutNotPending("No such payout.")
    paid: list[Payout] = []

    def pay(order: Order, item: OrderItem) -> None:
        payout = locks.payout_lock(payout_id=payout_id)
        if payout.status != PayoutStatus.PENDING:
            raise PayoutNotPending()
        if Payout.objects.filter(utr=utr).exists():
            raise DuplicateUtr()
        payout.status, payout.utr, payout.paid_at, payout.paid_by = PayoutStatus.PAID, utr, timezone.now(), staff
        payout.save(update_fields=["status", "utr", "paid_at", "paid_by", "updated_at"])
        paid.append(payout)

    try:
        order_item_transition(
            item_id=item_id, to_status=OrderItemStatus.RETURNED, actor=staff, role=ActorRole.STAFF, effect=pay
        )
    except IntegrityError as exc:  # the same UTR recorded by another payout at the same moment
        raise DuplicateUtr() from exc
    except InvalidTransition as exc:
        # Paid a moment ago (the item is RETURNED already): say so about the payout, not the item.
        if Payout.objects.filter(pk=payout_id).exclude(status=PayoutStatus.PENDING).exists():
            raise PayoutNotPending() from exc
        raise
    return paid[0]


def payout_mark_failed(*, payout_id: int, reason: str, staff: User) -> Payout:
    """The bank refused the account: the buyer is asked for new details (the item stays RETURN_RECEIVED).

    The payout row is locked alone: nothing else is held with it.
    """
    reason = reason.strip()[:500] if isinstance(reason, str) else ""
    if not reason:
        raise ReasonRequired("Say why the payout failed: the buyer is told, to fix their account details.")
    with transaction.atomic():
        payout = locks.payout_lock(payout_id=payout_id)
        if payout is None or payout.status != PayoutStatus.PENDING:
            raise PayoutNotPending()
        payout.status, payout.failure_reason = PayoutStatus.FAILED, reason
        payout.save(update_fields=["status", "failure_reason", "updated_at"])
        notifications.payout_failed_notify(payout_id=payout.pk)  # the buyer is asked for new details
    return payout


def payout_account_replace(*, item_id: int, buyer: User, refund_to: object) -> Payout:
    """The buyer names a new account for a failed payout, which is PENDING again."""
    from orders.services.returns import refund_account_clean

    kind, details, masked = refund_account_clean(refund_to)
    with transaction.atomic():
        payout = locks.payout_lock(item_id=item_id, buyer_id=buyer.pk)  # another buyer's item: None
        if payout is None or payout.status != PayoutStatus.FAILED:
            raise PayoutNotPending("There is no failed payout to fix for this item.")
        payout.refund_to_kind, payout.refund_to_encrypted, payout.refund_to_masked = (
            kind,
            encrypt(json.dumps(details)),
            masked,
        )
        payout.status, payout.failure_reason = PayoutStatus.PENDING, ""
        payout.save(
            update_fields=[
                "refund_to_kind",
                "refund_to_encrypted",
                "refund_to_masked",
                "status",
                "failure_reason",
                "updated_at",
            ]
        )
    return payout
