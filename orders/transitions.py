"""The order item lifecycle: every allowed move, and who may make it. Nothing else decides.

    PENDING_PAYMENT --payment captured (system)--> PLACED
    PENDING_PAYMENT --reservation expired (system)--> CANCELLED
    PLACED --seller--> CONFIRMED --seller--> SHIPPED --seller or staff--> DELIVERED
    PLACED | CONFIRMED --buyer, the item's seller or staff, with a reason--> CANCELLED

After delivery, a return (`orders.services.returns` adds the window, the refund and the restock):

    DELIVERED --buyer, within the window--> RETURN_REQUESTED --buyer withdraws--> DELIVERED
    RETURN_REQUESTED --seller, staff, or the system after the seller's SLA--> RETURN_APPROVED
    RETURN_REQUESTED --seller or staff, with a reason--> RETURN_REJECTED
    RETURN_REJECTED --buyer, once--> RETURN_ESCALATED --staff--> RETURN_APPROVED (overturned) | RETURN_REJECTED
    RETURN_REJECTED --staff--> RETURN_APPROVED (overturned without an escalation)
    RETURN_APPROVED --seller or staff, saying if it can be sold again--> RETURN_RECEIVED
    RETURN_RECEIVED --the system (refund webhook) or staff (payout paid), when the money is back--> RETURNED

`orders.services.lifecycle.order_item_transition` is the one service that applies it;
pages and the API ask `allowed_targets` which buttons to offer.
"""

from types import MappingProxyType

from orders.models import ActorRole, OrderItemStatus

Status = OrderItemStatus
Role = ActorRole

TRANSITIONS: MappingProxyType[tuple[str, str], frozenset[str]] = MappingProxyType(
    {
        (Status.PENDING_PAYMENT, Status.PLACED): frozenset({Role.SYSTEM}),
        (Status.PENDING_PAYMENT, Status.CANCELLED): frozenset({Role.SYSTEM}),
        (Status.PLACED, Status.CONFIRMED): frozenset({Role.SELLER}),
        (Status.CONFIRMED, Status.SHIPPED): frozenset({Role.SELLER}),
        (Status.SHIPPED, Status.DELIVERED): frozenset({Role.SELLER, Role.STAFF}),
        (Status.PLACED, Status.CANCELLED): frozenset({Role.BUYER, Role.SELLER, Role.STAFF}),
        (Status.CONFIRMED, Status.CANCELLED): frozenset({Role.BUYER, Role.SELLER, Role.STAFF}),
        (Status.DELIVERED, Status.RETURN_REQUESTED): frozenset({Role.BUYER}),
        (Status.RETURN_REQUESTED, Status.DELIVERED): frozenset({Role.BUYER}),
        (Status.RETURN_REQUESTED, Status.RETURN_APPROVED): frozenset({Role.SELLER, Role.STAFF, Role.SYSTEM}),
        (Status.RETURN_REQUESTED, Status.RETURN_REJECTED): frozenset({Role.SELLER, Role.STAFF}),
        (Status.RETURN_REJECTED, Status.RETURN_ESCALATED): frozenset({Role.BUYER}),
        (Status.RETURN_REJECTED, Status.RETURN_APPROVED): frozenset({Role.STAFF}),
        (Status.RETURN_ESCALATED, Status.RETURN_APPROVED): frozenset({Role.STAFF}),
        (Status.RETURN_ESCALATED, Status.RETURN_REJECTED): frozenset({Role.STAFF}),
        (Status.RETURN_APPROVED, Status.RETURN_RECEIVED): frozenset({Role.SELLER, Role.STAFF}),
        # Staff make it when they mark a Cash on Delivery payout paid.
        (Status.RETURN_RECEIVED, Status.RETURNED): frozenset({Role.SYSTEM, Role.STAFF}),
    }
)

# Moves that need a reason on the timeline.
REASON_REQUIRED = frozenset({Status.CANCELLED, Status.RETURN_REJECTED})
# Moves that put the item's quantity back on the shelf.
RESTORES_STOCK = frozenset({Status.CANCELLED})


def transition_allowed(*, from_status: str, to_status: str, role: str) -> bool:
    return role in TRANSITIONS.get((from_status, to_status), frozenset())


def role_may_reach(*, to_status: str, role: str) -> bool:
    """Whether `role` may ever move an item to `to_status`, from any status.

    It separates "never yours to do" (a buyer shipping: 403) from "not now" (cancelling a
    shipped item: 409), so the answer to a refused move does not depend on the item's state.
    """
    return any(role in roles for (_, target), roles in TRANSITIONS.items() if target == to_status)


def allowed_targets(*, from_status: str, role: str) -> list[str]:
    """The moves `role` may make from `from_status` now, in lifecycle order."""
    return [target for (source, target), roles in TRANSITIONS.items() if source == from_status and role in roles]


def sources_for(*, to_status: str, role: str) -> list[str]:
    """The statuses from which `role` may move an item to `to_status` (what staff can still cancel, say)."""
    return [source for (source, target), roles in TRANSITIONS.items() if target == to_status and role in roles]
