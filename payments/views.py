"""The pay page and the page callback of Razorpay Checkout (or the sandbox's checkout page).

- `/orders/<number>/pay/` makes sure the order has its gateway order and opens the checkout:
  a plain link to the sandbox's page in sandbox mode (the site's CSP allows forms to post only
  to itself), or Razorpay's checkout.js with real keys, with a CSP widened for this page only.
  An order that stopped awaiting payment, before or while the page loaded, goes back to its
  own page with a message saying what became of it.
- `/payments/razorpay/callback/` takes the checkout's POST. It comes from the gateway's origin
  without the buyer's cookies (SameSite=Lax), so it is CSRF-exempt and finds the payment by
  the gateway order id we stored, never by the session. A success only marks the payment
  verified; a failure is believed only when the gateway, asked directly, says so.
"""

import json
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.csp import CSP
from django.views.decorators.cache import never_cache
from django.views.decorators.csp import csp_override
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from joycart.errors import NotFound
from joycart.text import refuse_nul
from orders import selectors as order_selectors
from orders.models import PaymentMethod
from payments.errors import GatewayUnavailable, InvalidSignature, PaymentBelowMinimum, PaymentNotAwaited
from payments.gateway import GatewayPayment, PaymentGatewayError, get_gateway
from payments.models import Payment, PaymentStatus
from payments.selectors import payment_deadline, razorpay_checkout_options
from payments.services.attempts import payment_attempt_open
from payments.services.online import payment_failure_apply, payment_signature_verify

logger = logging.getLogger(__name__)

RAZORPAY = "https://*.razorpay.com"
CHECKOUT_SCRIPT = "https://checkout.razorpay.com/v1/checkout.js"
# Razorpay's checkout.js: its script, its iframes and calls, its images and inline styles, and
# the form it posts to api.razorpay.com before sending the buyer back to our callback.
PAY_PAGE_CSP = {
    **settings.SECURE_CSP,
    "script-src": [*settings.SECURE_CSP["script-src"], "https://checkout.razorpay.com"],
    "frame-src": [RAZORPAY],
    "connect-src": [*settings.SECURE_CSP["connect-src"], RAZORPAY],
    "img-src": [*settings.SECURE_CSP["img-src"], RAZORPAY],
    "style-src": [*settings.SECURE_CSP["style-src"], CSP.UNSAFE_INLINE],
    "form-action": [*settings.SECURE_CSP["form-action"], "https://api.razorpay.com"],
}


@login_required
@never_cache
@csp_override(PAY_PAGE_CSP)
def order_pay(request, number: str):
    order = order_selectors.buyer_order_get(buyer=request.user, number=number)
    if order.payment_method != PaymentMethod.ONLINE:
        return redirect("orders:detail", number=number)
    try:
        payment_attempt_open(order=order)
    except PaymentNotAwaited:
        return _no_longer_awaited(request, number=number)
    except PaymentBelowMinimum as exc:
        context = {"order": order, "below_minimum": exc.message, "pay_by": payment_deadline(order=order)}
        return render(request, "payments/pay.html", context, status=409)
    except GatewayUnavailable as exc:
        context = {"order": order, "unavailable": exc.message, "pay_by": payment_deadline(order=order)}
        return render(request, "payments/pay.html", context, status=503)
    order = order_selectors.buyer_order_get(buyer=request.user, number=number)
    options = razorpay_checkout_options(order=order, request=request)
    if options is None:  # the deadline passed in the instant since
        return _no_longer_awaited(request, number=number)
    checkout = {
        "key": options["key_id"],
        "order_id": options["order_id"],
        "amount": options["amount"],
        "currency": options["currency"],
        "name": options["name"],
        "description": options["description"],
        "callback_url": options["callback_url"],
        "redirect": True,
        "prefill": {"name": order.ship_name, "email": request.user.email, "contact": order.ship_phone},
        "notes": {"order_id": str(order.pk), "order_number": order.number},
    }
    context = {
        "order": order,
        "pay_by": payment_deadline(order=order),
        "options": options,
        "checkout": checkout,
        "sandbox": settings.PAYMENTS_SANDBOX,
        "checkout_script": CHECKOUT_SCRIPT,
    }
    return render(request, "payments/pay.html", context)


def _no_longer_awaited(request, *, number: str):
    """Back to the order, saying what became of it: it may have changed while this page was loading."""
    order = order_selectors.buyer_order_get(buyer=request.user, number=number)
    if order.payment.status == PaymentStatus.CAPTURED:
        messages.success(request, f"Order {order.number} is paid. Thank you!")
    else:
        messages.info(
            request,
            f"Order {order.number} is no longer awaiting payment: its time to pay ran out, so it cannot be paid now.",
        )
    return redirect("orders:detail", number=number)


def _failed_attempt(payment: Payment, metadata: str) -> GatewayPayment | None:
    """The failed attempt the callback names, as the gateway reports it (the browser's word is not enough)."""
    try:
        payment_id = json.loads(metadata).get("payment_id")
    except (ValueError, AttributeError):
        return None
    if not isinstance(payment_id, str) or not payment_id or len(payment_id) > 64:
        return None
    try:
        attempt = get_gateway().payment_fetch(payment_id)
    except PaymentGatewayError:
        logger.warning("Could not read failed attempt %s from the gateway", payment_id, exc_info=True)
        return None
    if attempt.order_id != payment.gateway_order_id or attempt.status != "failed":
        return None
    return attempt


def _gateway_order_id(post) -> str:
    if "razorpay_order_id" in post:
        return post.get("razorpay_order_id", "")
    try:
        order_id = json.loads(post.get("error[metadata]", "")).get("order_id")
    except (ValueError, AttributeError):
        return ""
    return order_id if isinstance(order_id, str) else ""


@csrf_exempt
@require_POST
def razorpay_callback(request):
    gateway_order_id = _gateway_order_id(request.POST)
    # Looked up below, so refused here: a NUL posted as is, or spelt \\u0000 in a failure's JSON metadata.
    refuse_nul(gateway_order_id)
    payment = (
        Payment.objects.select_related("order")
        .filter(method=PaymentMethod.ONLINE, gateway_order_id=gateway_order_id)
        .first()
        if gateway_order_id
        else None
    )
    if payment is None:
        messages.error(request, "We could not match that payment to an order. If money left your account, write to us.")
        return redirect("orders:list")
    number = payment.order.number
    if "razorpay_payment_id" in request.POST:
        try:
            payment_signature_verify(
                gateway_order_id=gateway_order_id,
                gateway_payment_id=request.POST.get("razorpay_payment_id", ""),
                signature=request.POST.get("razorpay_signature", ""),
            )
        except (InvalidSignature, NotFound):
            messages.error(request, "We could not verify this payment. If it went through, we will confirm it shortly.")
        return redirect("orders:detail", number=number)
    attempt = _failed_attempt(payment, request.POST.get("error[metadata]", ""))
    if attempt is not None:
        payment_failure_apply(gateway_payment=attempt)
    return redirect("orders:detail", number=number)
