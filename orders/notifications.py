"""E-mails about orders: to the buyer when an order is placed and when an item ships, is
delivered or is cancelled; to a seller when new items arrive and when someone else cancels one.
Returns: the buyer hears every decision on their return and where its money is; the seller hears
of a request, an escalation or a withdrawal, and of every decision made for them (by staff, or by
the SLA job approving a request they left unanswered).

Services call the `*_notify` functions inside their transaction. They enqueue a background
task with the data (joycart.tasks), so a rolled-back order never mails anyone and the request
never waits for a mail server. The task builds the mail from fresh rows. A mail server that is
down must not undo or fail an order, so send errors are logged and swallowed.
"""

import logging
from itertools import groupby
from smtplib import SMTPException

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from joycart.tasks import enqueue_with_transaction
from orders.models import DELIVERED_STATUSES, ActorRole, Order, OrderEvent, OrderItemStatus, ReturnRequest

logger = logging.getLogger(__name__)

S = OrderItemStatus
BUYER_MAIL_ON = frozenset(
    {
        S.SHIPPED,
        S.DELIVERED,
        S.CANCELLED,
        S.RETURN_APPROVED,
        S.RETURN_REJECTED,
        S.RETURN_RECEIVED,
        S.RETURNED,
    }
)
BUYER_SUBJECTS = {S.RETURNED: "Refund complete"}
# Return moves the seller hears of whoever made them (the buyer did), and those they hear of unless they made them.
SELLER_MAIL_ON_RETURN = frozenset({S.RETURN_REQUESTED, S.RETURN_ESCALATED})
SELLER_MAIL_ON_DECISION = frozenset({S.RETURN_APPROVED, S.RETURN_REJECTED, S.RETURN_RECEIVED})


def order_placed_notify(*, order_id: int) -> None:
    from orders.tasks import order_placed_email_send

    enqueue_with_transaction(order_placed_email_send, order_id=order_id)


def order_item_moved_notify(*, event: OrderEvent) -> None:
    """Queue the mails of a move, if it mails anyone (placing or confirming an item does not)."""
    from orders.tasks import order_item_moved_email_send

    if _buyer_told(event) or _seller_told(event):
        enqueue_with_transaction(order_item_moved_email_send, event_id=event.pk)


def _withdrawn(event: OrderEvent) -> bool:
    """The buyer took a return request back: the item is DELIVERED again, but nothing was delivered."""
    return event.to_status == S.DELIVERED and event.from_status == S.RETURN_REQUESTED


def _about_a_return(event: OrderEvent) -> bool:
    return event.to_status in DELIVERED_STATUSES and event.from_status != S.SHIPPED


def _buyer_told(event: OrderEvent) -> bool:
    return event.to_status in BUYER_MAIL_ON and not _withdrawn(event)


def _seller_told(event: OrderEvent) -> bool:
    """A cancellation the seller did not make, of an item they had been told about (it was placed); a
    buyer's return request, escalation or withdrawal; a return decided by someone else."""
    if event.to_status == S.CANCELLED:
        return event.actor_role != ActorRole.SELLER and event.from_status != S.PENDING_PAYMENT
    if event.to_status in SELLER_MAIL_ON_DECISION:
        return event.actor_role != ActorRole.SELLER
    return event.to_status in SELLER_MAIL_ON_RETURN or _withdrawn(event)


def _seller_mail(event: OrderEvent, item) -> tuple[str, str]:
    """The seller's template and subject for a move they are told of."""
    number = event.order.number
    if event.to_status == S.CANCELLED:
        return "seller_item_cancelled", f"Order {number}: {item.title} was cancelled"
    if _withdrawn(event):
        return "seller_return_withdrawn", f"Order {number}: the return of {item.title} was withdrawn"
    subjects = {
        S.RETURN_REQUESTED: f"Order {number}: return requested for {item.title}",
        S.RETURN_ESCALATED: f"Order {number}: the buyer asked JoyCart to review your refusal of {item.title}",
        S.RETURN_APPROVED: f"Order {number}: the return of {item.title} is approved",
        S.RETURN_REJECTED: f"Order {number}: the return of {item.title} is refused",
        S.RETURN_RECEIVED: f"Order {number}: the return of {item.title} is received",
    }
    return f"seller_{event.to_status.lower()}", subjects[event.to_status]


def _return_context(item) -> dict:
    """What a return's mails say besides the move: the request, and where the money is (payout or refund)."""
    from payments.models import Payout, Refund

    return {
        "return_request": ReturnRequest.objects.filter(item=item).first(),
        "payout": Payout.objects.filter(order_item=item).first(),
        "refund": Refund.objects.filter(order_item=item).first(),
        "sla_days": settings.RETURN_SELLER_SLA_DAYS,
    }


def _send(*, template: str, subject: str, to: str, context: dict) -> None:
    if not to:
        return
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"orders/email/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    message.attach_alternative(render_to_string(f"orders/email/{template}.html", context), "text/html")
    try:
        message.send()
    except (SMTPException, OSError):
        logger.exception("Could not send the %r e-mail to %s", template, to)


def order_placed_send(*, order_id: int) -> None:
    order = (
        Order.objects.select_related("buyer", "payment")
        .prefetch_related("items__seller__user")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        return
    items = list(order.items.all())
    _send(
        template="order_placed",
        subject=f"Your JoyCart order {order.number} is placed",
        to=order.buyer.email,
        context={"order": order, "items": items, "name": order.buyer.display_name},
    )
    for _seller_id, group in groupby(sorted(items, key=lambda item: item.seller_id), key=lambda item: item.seller_id):
        seller_items = list(group)
        store = seller_items[0].seller
        count = sum(item.quantity for item in seller_items)
        _send(
            template="seller_new_items",
            subject=f"New order {order.number}: {count} item{'s' if count != 1 else ''} to confirm",
            to=store.user.email,
            context={"order": order, "items": seller_items, "store": store, "name": store.user.display_name},
        )


def item_moved_send(*, event_id: int) -> None:
    event = OrderEvent.objects.select_related("order__buyer", "item__seller__user", "actor").filter(pk=event_id).first()
    if event is None or event.item is None:
        return
    order, item = event.order, event.item
    context = {"order": order, "item": item, "event": event}
    if _about_a_return(event):
        context |= _return_context(item)
    if _buyer_told(event):
        label = BUYER_SUBJECTS.get(event.to_status) or OrderItemStatus(event.to_status).label
        _send(
            template=f"item_{event.to_status.lower()}",
            subject=f"{label}: {item.title} ({order.number})",
            to=order.buyer.email,
            context={**context, "name": order.buyer.display_name},
        )
    if _seller_told(event):
        seller = item.seller.user
        template, subject = _seller_mail(event, item)
        _send(template=template, subject=subject, to=seller.email, context={**context, "name": seller.display_name})
