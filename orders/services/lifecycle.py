"""Moving order items along the lifecycle in `orders.transitions`, and what follows from a move.

`order_item_transition` is the only writer of an item's status after checkout, but for
`order_items_place_paid`: a capture places all of an order's items in one move. It locks
the order, then its items, then (to restore stock) the product, in the global lock order of docs/architecture.md.
Every move of any item of one order therefore runs one after another, so a double cancel
or a cancel racing a ship has exactly one winner; the loser re-reads the item's new
status and gets `invalid_transition` (409).

Who may act:
- a user who is neither the order's buyer, nor the item's seller, nor staff gets 404
  (`not_found`): the item's existence does not leak;
- a related user whose role may never make that move (a buyer shipping) gets 403
  (`transition_not_allowed`), whatever the item's status;
- an allowed role asking for a move the item's status does not allow (cancelling a
  shipped item) gets 409 (`invalid_transition`).
"""

from collections.abc import Callable, Iterable
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.errors import AccountBlocked
from accounts.models import User
from catalog.services.stock import stock_return
from joycart.errors import NotFound
from joycart.ids import is_valid_id
from orders import notifications
from orders.errors import InvalidShipment, InvalidTransition, ReasonRequired, TransitionNotAllowed
from orders.locks import order_items_lock, order_lock
from orders.models import (
    DELIVERED_STATUSES,
    ActorRole,
    Order,
    OrderEvent,
    OrderItem,
    OrderItemStatus,
    OrderStatus,
    PaymentMethod,
)
from orders.transitions import REASON_REQUIRED, RESTORES_STOCK, role_may_reach, transition_allowed
from payments.locks import payment_lock
from payments.models import Payment, PaymentStatus
from payments.services.refunds import refund_initiate

# Every refusal of a move, whoever asks, for the API's documentation of the item actions.
TRANSITION_ERRORS = (NotFound, InvalidTransition, TransitionNotAllowed, AccountBlocked)

MAX_REASON_LENGTH = OrderEvent._meta.get_field("reason").max_length
MAX_SHIPMENT_FIELD_LENGTH = OrderItem._meta.get_field("tracking_number").max_length

_VERBS = {
    OrderItemStatus.PLACED: "placed",
    OrderItemStatus.CONFIRMED: "confirmed",
    OrderItemStatus.SHIPPED: "shipped",
    OrderItemStatus.DELIVERED: "marked delivered",
    OrderItemStatus.RETURN_REQUESTED: "returned",
    OrderItemStatus.RETURN_APPROVED: "approved for return",
    OrderItemStatus.RETURN_REJECTED: "refused a return",
    OrderItemStatus.RETURN_ESCALATED: "escalated",
    OrderItemStatus.RETURN_RECEIVED: "received back",
    OrderItemStatus.RETURNED: "marked returned",
    OrderItemStatus.CANCELLED: "cancelled",
}


def order_status_derive(statuses: Iterable[str]) -> str:
    """The order's status from its items' statuses.

    - PENDING_PAYMENT while any item awaits payment (an online order's items move together);
    - CANCELLED when every item is cancelled;
    - COMPLETED when every item that is not cancelled was delivered (at least one was), returns included;
    - PARTIALLY_CANCELLED when some items are cancelled and the rest are not all delivered yet;
    - PLACED otherwise: nothing cancelled, something still on its way.
    """
    statuses = list(statuses)
    if OrderItemStatus.PENDING_PAYMENT in statuses:
        return OrderStatus.PENDING_PAYMENT
    live = [status for status in statuses if status != OrderItemStatus.CANCELLED]
    if not live:
        return OrderStatus.CANCELLED
    if all(status in DELIVERED_STATUSES for status in live):
        return OrderStatus.COMPLETED
    if len(live) < len(statuses):
        return OrderStatus.PARTIALLY_CANCELLED
    return OrderStatus.PLACED


def order_payment_recompute(*, order: Order, items: list[OrderItem]) -> Payment:
    """Cash on Delivery is settled per order, never flipped by a single item.

    The courier collects the sum of the items that are not cancelled; the payment is
    COLLECTED once the last of them is delivered, and NOT_REQUIRED when all are cancelled. A
    return does not undo a collection: its money goes back by a payout (`payments.models.Payout`).
    Online payments are settled by the gateway and its webhooks, and are left alone here.
    """
    payment = Payment.objects.get(order=order)
    if payment.method != PaymentMethod.COD:
        return payment
    live = [item for item in items if item.status != OrderItemStatus.CANCELLED]
    payment.amount = sum((item.line_total for item in live), Decimal("0.00"))
    if not live:
        payment.status, payment.collected_at = PaymentStatus.NOT_REQUIRED, None
    elif all(item.status in DELIVERED_STATUSES for item in live):
        payment.status, payment.collected_at = PaymentStatus.COLLECTED, payment.collected_at or timezone.now()
    else:
        payment.status, payment.collected_at = PaymentStatus.PENDING, None
    payment.save(update_fields=["amount", "status", "collected_at", "updated_at"])
    return payment


def _clean_text(value: str, *, max_length: int, error: type) -> str:
    if not isinstance(value, str):
        raise error()
    value = value.strip()
    if len(value) > max_length:
        raise error()
    return value


def _role_resolve(*, actor: User | None, role: str | None, order: Order, item: OrderItem) -> str:
    """The role the actor plays for this item; someone with no relation to it gets 404."""
    if actor is None:
        if role in (None, ActorRole.SYSTEM):
            return ActorRole.SYSTEM
        raise ValueError("Only the system acts without a user.")
    is_buyer = order.buyer_id == actor.pk
    is_seller = item.seller.user_id == actor.pk
    if role is None:
        role = (
            ActorRole.BUYER
            if is_buyer
            else ActorRole.SELLER
            if is_seller
            else ActorRole.STAFF
            if actor.is_staff
            else None
        )
    related = {
        ActorRole.BUYER: is_buyer,
        ActorRole.SELLER: is_seller,
        ActorRole.STAFF: actor.is_staff,
        ActorRole.SYSTEM: False,
    }
    if role is None or not related.get(role, False):
        raise NotFound("No such order item.")
    return role


def _stock_restore(*, item: OrderItem) -> None:
    """Put the item's quantity back on its variant, under the product's row lock."""
    stock_return(variant_id=item.variant_id, product_id=item.product_id, quantity=item.quantity)


def _refund_if_paid(*, order: Order, item: OrderItem, from_status: str, reason: str) -> None:
    """A cancelled item of a captured online order is paid back, in the cancelling transaction.

    The Payment is locked after the Order and its items, as everywhere else. An item that was still
    awaiting payment (reservation expiry) had nothing captured for it; COD needs no refund.
    """
    if order.payment_method != PaymentMethod.ONLINE or from_status == OrderItemStatus.PENDING_PAYMENT:
        return
    payment = payment_lock(order_id=order.pk)
    if payment.status == PaymentStatus.CAPTURED:
        refund_initiate(payment=payment, amount=item.line_total, reason=reason, order_item=item)


def order_item_transition(
    *,
    item_id: int,
    to_status: str,
    actor: User | None,
    role: str | None = None,
    reason: str = "",
    carrier: str = "",
    tracking_number: str = "",
    effect: Callable[[Order, OrderItem], None] | None = None,
) -> OrderItem:
    """Move one item to `to_status` if the table allows it for the actor's role.

    `role` says in which capacity the actor acts (the seller API passes SELLER); left out,
    it is worked out from the actor's relation to the item. `actor=None` is the system.
    `effect(order, item)` runs under the order and item locks once the move is allowed, before it
    is saved: it may refuse the move by raising (nothing is written) or write what goes with it.
    Returns the item, its `order` updated with the derived status.
    """
    if to_status not in OrderItemStatus.values:
        raise ValueError(f"Unknown order item status: {to_status!r}")
    reason = _clean_text(reason, max_length=MAX_REASON_LENGTH, error=ReasonRequired)
    if to_status in REASON_REQUIRED and not reason:
        raise ReasonRequired()
    carrier = _clean_text(carrier, max_length=MAX_SHIPMENT_FIELD_LENGTH, error=InvalidShipment)
    tracking_number = _clean_text(tracking_number, max_length=MAX_SHIPMENT_FIELD_LENGTH, error=InvalidShipment)
    if actor is not None and actor.is_blocked:
        raise AccountBlocked()
    order_id = (
        OrderItem.objects.filter(pk=item_id).values_list("order_id", flat=True).first()
        if is_valid_id(item_id)
        else None
    )
    if order_id is None:
        raise NotFound("No such order item.")

    with transaction.atomic():
        order = order_lock(order_id=order_id)
        items = order_items_lock(order_id=order_id)
        item = next((item for item in items if item.pk == item_id), None)
        if order is None or item is None:
            raise NotFound("No such order item.")
        role = _role_resolve(actor=actor, role=role, order=order, item=item)
        if not role_may_reach(to_status=to_status, role=role):
            raise TransitionNotAllowed()
        from_status = item.status
        if not transition_allowed(from_status=from_status, to_status=to_status, role=role):
            raise InvalidTransition(
                f"“{item.title}” is {item.get_status_display().lower()} and cannot be {_VERBS[to_status]} now."
            )

        if effect is not None:
            effect(order, item)
        item.status = to_status
        fields = ["status", "updated_at"]
        if to_status == OrderItemStatus.SHIPPED:
            item.carrier, item.tracking_number = carrier, tracking_number
            fields += ["carrier", "tracking_number"]
        if from_status == OrderItemStatus.SHIPPED and to_status == OrderItemStatus.DELIVERED:
            item.delivered_at = timezone.now()
            fields.append("delivered_at")
        item.save(update_fields=fields)
        event = OrderEvent.objects.create(
            order=order,
            item=item,
            actor=actor,
            actor_role=role,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
        )
        if to_status in RESTORES_STOCK:
            _stock_restore(item=item)
        order.status = order_status_derive(i.status for i in items)
        order.save(update_fields=["status", "updated_at"])
        order_payment_recompute(order=order, items=items)
        if to_status == OrderItemStatus.CANCELLED:
            _refund_if_paid(order=order, item=item, from_status=from_status, reason=reason)
        notifications.order_item_moved_notify(event=event)
    item.order = order
    return item


def order_items_place_paid(*, order: Order, items: list[OrderItem]) -> int:
    """The payment was captured: move every item of the order awaiting it to PLACED, as one move.

    The caller holds the locks, taken in the global order (`payment_capture_apply` locks the
    order, its payment and its items). One update and one insert of timeline events, whatever
    the number of items: a capture is one fact about the whole order. Returns how many moved.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("order_items_place_paid needs the caller's transaction and locks.")
    pending = [item for item in items if item.status == OrderItemStatus.PENDING_PAYMENT]
    if not pending:
        return 0
    if not transition_allowed(
        from_status=OrderItemStatus.PENDING_PAYMENT, to_status=OrderItemStatus.PLACED, role=ActorRole.SYSTEM
    ):
        raise InvalidTransition("A capture may not place items awaiting payment.")
    now = timezone.now()
    OrderItem.objects.filter(pk__in=[item.pk for item in pending]).update(status=OrderItemStatus.PLACED, updated_at=now)
    for item in pending:
        item.status, item.updated_at = OrderItemStatus.PLACED, now
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order=order,
            item=item,
            actor=None,
            actor_role=ActorRole.SYSTEM,
            from_status=OrderItemStatus.PENDING_PAYMENT,
            to_status=OrderItemStatus.PLACED,
        )
        for item in pending
    )
    order.status = order_status_derive(item.status for item in items)
    order.save(update_fields=["status", "updated_at"])
    return len(pending)


def order_item_confirm(*, item_id: int, actor: User, role: str | None = None) -> OrderItem:
    return order_item_transition(item_id=item_id, to_status=OrderItemStatus.CONFIRMED, actor=actor, role=role)


def order_item_ship(
    *, item_id: int, actor: User, role: str | None = None, carrier: str = "", tracking_number: str = ""
) -> OrderItem:
    return order_item_transition(
        item_id=item_id,
        to_status=OrderItemStatus.SHIPPED,
        actor=actor,
        role=role,
        carrier=carrier,
        tracking_number=tracking_number,
    )


def order_item_deliver(*, item_id: int, actor: User, role: str | None = None) -> OrderItem:
    return order_item_transition(item_id=item_id, to_status=OrderItemStatus.DELIVERED, actor=actor, role=role)


def order_item_cancel(*, item_id: int, actor: User | None, reason: str, role: str | None = None) -> OrderItem:
    return order_item_transition(
        item_id=item_id, to_status=OrderItemStatus.CANCELLED, actor=actor, role=role, reason=reason
    )
