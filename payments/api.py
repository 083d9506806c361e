"""Online payment over the API: paying (again), the checkout's signature, and Razorpay's webhooks.

The webhook endpoint is Razorpay's, not a user's: no authentication, no CSRF, no throttling;
its HMAC signature is the proof, checked over the raw body before anything else.
"""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from joycart.errors import DomainError, InvalidText, NotFound, api_error_response
from joycart.openapi import api_errors, error_code, error_response
from orders import selectors
from orders.serializers import OrderDetailSerializer
from payments.errors import (
    GatewayUnavailable,
    InvalidSignature,
    InvalidWebhook,
    MissingEventId,
    PaymentBelowMinimum,
    PaymentNotAwaited,
)
from payments.serializers import RazorpayVerifyInputSerializer
from payments.services.attempts import payment_attempt_open
from payments.services.online import payment_signature_verify
from payments.services.webhooks import webhook_receive


def _order_response(request, *, order_id: int) -> Response:
    order = selectors.buyer_order_get(buyer=request.user, order_id=order_id)
    return Response(OrderDetailSerializer(order, context={"request": request}).data)


class OrderPayApi(APIView):
    @extend_schema(
        request=None,
        responses={200: OrderDetailSerializer},
    )
    @api_errors(NotFound, PaymentNotAwaited, PaymentBelowMinimum, GatewayUnavailable)
    def post(self, request, order_id: int):
        """Pay (or try again) for your online order while it awaits payment: the order, with `payment.razorpay`.

        Creates the gateway order if checkout could not; the same gateway order serves every attempt.
        """
        order = selectors.buyer_order_get(buyer=request.user, order_id=order_id)
        payment_attempt_open(order=order)
        return _order_response(request, order_id=order.pk)


class RazorpayVerifyApi(APIView):
    @extend_schema(
        request=RazorpayVerifyInputSerializer,
        responses={200: OrderDetailSerializer},
    )
    @api_errors(InvalidSignature, NotFound, PaymentNotAwaited)
    def post(self, request):
        """Check Razorpay Checkout's success signature for one of your orders. 200 means "received, confirming":
        the order is placed when Razorpay confirms the capture (`payment.status` CAPTURED), never by this call."""
        serializer = RazorpayVerifyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        payment = payment_signature_verify(
            buyer=request.user,
            gateway_order_id=data["razorpay_order_id"],
            gateway_payment_id=data["razorpay_payment_id"],
            signature=data["razorpay_signature"],
        )
        return _order_response(request, order_id=payment.order_id)


# Razorpay's webhooks: a plain Django view, not a DRF one. Nobody logs in, nothing is parsed by
# DRF and the answer is a fixed JSON object, so DRF's request wrapping, authentication, content
# negotiation and rendering would only add to the one request here that comes in bursts (its
# target: p99 under 100 ms at concurrency 16, `make bench`). Errors keep the API's format: {"detail", "code"}.
# The OpenAPI schema has it from `webhook_schema_append`, a drf-spectacular postprocessing hook.
@csrf_exempt
def razorpay_webhook(request: HttpRequest) -> JsonResponse:
    """Razorpay's webhooks. Stored once per event id and answered; processed once in the background
    (`outcome` PENDING until then); a failure is kept for a replay."""
    if request.method != "POST":
        response = api_error_response(
            status_code=405, code="method_not_allowed", detail=f'Method "{request.method}" not allowed.'
        )
        response["Allow"] = "POST"
        return response
    try:
        received = webhook_receive(
            body=request.body,
            signature=request.headers.get("X-Razorpay-Signature"),
            event_id=request.headers.get("X-Razorpay-Event-Id"),
        )
    except DomainError as exc:
        return api_error_response(status_code=exc.status_code, code=exc.code, detail=exc.message)
    return JsonResponse({"event_id": received.event_id, "outcome": received.outcome})


WEBHOOK_SCHEMA = {
    "/api/v1/payments/razorpay/webhook/": {
        "post": {
            "operationId": "payments_razorpay_webhook_create",
            "description": (razorpay_webhook.__doc__ or "").replace("\n    ", " "),
            "tags": ["payments"],
            "security": [],
            "parameters": [
                {"in": "header", "name": name, "schema": {"type": "string"}, "required": True}
                for name in ("X-Razorpay-Signature", "X-Razorpay-Event-Id")
            ],
            "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}, "required": True},
            "responses": {
                "200": {
                    "description": "Stored (or stored before); `outcome` is PENDING until processed.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"event_id": {"type": "string"}, "outcome": {"type": "string"}},
                                "required": ["event_id", "outcome"],
                            }
                        }
                    },
                },
                "400": error_response(
                    400,
                    [
                        error_code(error.status_code, error.code)
                        for error in (InvalidSignature, InvalidWebhook, MissingEventId, InvalidText)
                    ],
                ),
                "405": error_response(405, [error_code(405, "method_not_allowed")]),
            },
        }
    }
}


def webhook_schema_append(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook (settings): the webhook's entry in the OpenAPI schema."""
    result.setdefault("paths", {}).update(WEBHOOK_SCHEMA)
    return result
