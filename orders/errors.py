"""Checkout and lifecycle errors. Cart rules (quantity, stock, own product) reuse `cart.errors`."""

from joycart.errors import Conflict, DomainError, PermissionDenied


class InvalidCheckout(DomainError):
    code = "invalid_checkout"
    message = "Choose where to check out from: your cart, or Buy now with one product."


class InvalidAddress(DomainError):
    """400, not 404: the address is part of the request body, and the message is the same
    whether it does not exist or belongs to someone else, so nothing leaks."""

    code = "invalid_address"
    message = "Choose one of your saved delivery addresses."


class CartEmpty(DomainError):
    code = "cart_empty"
    message = "Your cart is empty. Add something before checking out."


class AmountTooLarge(DomainError):
    """An amount the order's columns cannot store: refused before anything is written."""

    code = "amount_too_large"
    message = "This order comes to more than one order can hold. Split it into smaller orders."


class AmountBelowMinimum(DomainError):
    """The payment gateway takes no order below its minimum: such an online order could never be paid,
    and would only hold its stock until it expired. Refused before anything is written."""

    code = "amount_below_minimum"
    message = "This order is too small to pay online. Choose Cash on Delivery, or add more to your order."


class PaymentMethodUnavailable(DomainError):
    code = "payment_method_unavailable"
    message = "Choose Cash on Delivery or Online payment."


class IdempotencyKeyRequired(DomainError):
    code = "idempotency_key_required"
    message = "Send an Idempotency-Key header (1 to 100 printable characters) with each checkout."


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was already used for a different checkout. Use a new key for a new order."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    message = "This item cannot make that move from its current status."


class TransitionNotAllowed(PermissionDenied):
    code = "transition_not_allowed"
    message = "You cannot make that change to this item."


class ReasonRequired(DomainError):
    code = "reason_required"
    message = "Give a reason for cancelling (up to 500 characters)."


class InvalidShipment(DomainError):
    code = "invalid_shipment"
    message = "The carrier and tracking number can each be at most 60 characters."


# --- Returns ------------------------------------------------------------------------------


class ReturnWindowClosed(Conflict):
    code = "return_window_closed"
    message = "The return window for this item has closed."


class NotReturnable(Conflict):
    code = "not_returnable"
    message = "This item cannot be returned."


class InvalidReturnReason(DomainError):
    code = "invalid_return_reason"
    message = (
        "Choose why you are returning it: damaged, wrong item, not as described, size or fit, changed mind, or other."
    )


class RefundAccountRequired(DomainError):
    code = "refund_account_required"
    message = "You paid cash on delivery: give a UPI id, or a bank account with its IFSC, for the refund."


class InvalidRefundAccount(DomainError):
    code = "invalid_refund_account"
    message = (
        "Enter a UPI id like name@bank, or a bank account: the name on it, its number, and its IFSC (like HDFC0001234)."
    )


class AlreadyEscalated(Conflict):
    code = "already_escalated"
    message = "You have already asked JoyCart to look at this return. Support's decision is final."


class ResellableRequired(DomainError):
    code = "resellable_required"
    message = "Say whether the returned item can be sold again."
