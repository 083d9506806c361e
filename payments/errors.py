"""Payment and refund errors with stable codes (joycart.errors.DomainError)."""

from joycart.errors import Conflict, DomainError
from joycart.money import format_inr
from payments.gateway import MIN_ORDER_AMOUNT


class RefundExceedsCaptured(Conflict):
    """Refunds that are not FAILED already commit the captured money, so this one would pay back more than we took."""

    code = "refund_exceeds_captured"
    message = "This refund would pay back more than was captured for the order."


class RefundNotRetryable(Conflict):
    code = "refund_not_retryable"
    message = "Only a failed refund can be retried."


# --- online payments --------------------------------------------------------------------


class InvalidSignature(DomainError):
    """A checkout callback or webhook whose HMAC does not match: nothing is changed."""

    code = "invalid_signature"
    message = "The payment signature is not valid."


class InvalidWebhook(DomainError):
    code = "invalid_webhook"
    message = "The webhook body is not a Razorpay event."


class MissingEventId(InvalidWebhook):
    code = "missing_event_id"
    message = "The X-Razorpay-Event-Id header is missing."


class PaymentNotAwaited(Conflict):
    code = "payment_not_awaited"
    message = "This order is no longer awaiting payment."


class PaymentBelowMinimum(Conflict):
    """An online order under the gateway's minimum, placed before checkout refused them: the gateway would
    refuse its gateway order every time, so it is never asked, and the buyer is told instead."""

    code = "amount_below_minimum"
    message = (
        f"This order comes to less than {format_inr(MIN_ORDER_AMOUNT)}, the least that can be paid online, so it "
        "cannot be paid. It is cancelled when its time to pay runs out; order again with Cash on Delivery."
    )


class GatewayUnavailable(DomainError):
    status_code = 503
    code = "gateway_unavailable"
    message = "The payment service is not answering. Your order is kept; try paying again in a minute."


# --- the capture ledger -------------------------------------------------------------------


class CaptureNotFlagged(Conflict):
    """Staff may refund or resolve only a capture waiting for them; the others are settled already."""

    code = "capture_not_flagged"
    message = "Only a capture flagged for staff can be refunded or resolved."


class ResolutionNoteRequired(DomainError):
    code = "resolution_note_required"
    message = "Say in a note (at most 2000 characters) how the capture was settled."


# --- Cash on Delivery payouts of returns -----------------------------------------------------


class InvalidUtr(DomainError):
    code = "invalid_utr"
    message = "Enter the bank's UTR reference: letters and digits, up to 30."


class DuplicateUtr(Conflict):
    code = "duplicate_utr"
    message = "This UTR is already recorded for another payout. Check the bank statement."


class PayoutNotPending(Conflict):
    code = "payout_not_pending"
    message = "This payout is not waiting to be paid."


class ItemAlreadyRefunded(Conflict):
    code = "item_already_refunded"
    message = "This item has been refunded already, so receiving it back refunds nothing more. Ask JoyCart support."
