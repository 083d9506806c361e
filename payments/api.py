"""Online payment over the API: paying (again), the checkout's signature, and Razorpay's webhooks.

The webhook endpoint is Razorpay's, not a user's: no authentication, no CSRF, no throttling;
its HMAC signature is the proof, checked over the raw body before anything else.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from orders import selectors
from orders.serializers import OrderDetailSerializer
from payments.serializers import RazorpayVerifyInputSerializer
from payments.services.online import payment_attempt_prepare, payment_signature_verify
from payments.services.webhooks import webhook_receive

ERROR = inline_serializer("PaymentError", {"detail": serializers.CharField(), "code": serializers.CharField()})
NOT_FOUND = OpenApiResponse(ERROR, description="No such order or payment, or not yours.")


def _order_response(request, *, order_id: int) -> Response:
    order = selectors.buyer_order_get(buyer=request.user, order_id=order_id)
    return Response(OrderDetailSerializer(order, context={"request": request}).data)


class OrderPayApi(APIView):
    @extend_schema(
        request=None,
        responses={
            200: OrderDetailSerializer,
            404: NOT_FOUND,
            409: OpenApiResponse(ERROR, description="payment_not_awaited: paid, cancelled or expired."),
            503: OpenApiResponse(ERROR, description="gateway_unavailable: try again shortly; the order is kept."),
        },
    )
    def post(self, request, order_id: int):
        """Pay (or try again) for your online order while it awaits payment: the order, with `payment.razorpay`.

        Creates the gateway order if checkout could not; the same gateway order serves every attempt.
        """
        order = selectors.buyer_order_get(buyer=request.user, order_id=order_id)
        payment_attempt_prepare(order=order)
        return _order_response(request, order_id=order.pk)


class RazorpayVerifyApi(APIView):
    @extend_schema(
        request=RazorpayVerifyInputSerializer,
        responses={
            200: OrderDetailSerializer,
            400: OpenApiResponse(ERROR, description="invalid_signature; nothing changed."),
            404: NOT_FOUND,
        },
    )
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


class RazorpayWebhookApi(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []
    parser_classes = []  # the raw body is verified; DRF never parses it

    @extend_schema(
        request={"application/json": {"type": "object"}},
        parameters=[
            OpenApiParameter("X-Razorpay-Signature", str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter("X-Razorpay-Event-Id", str, OpenApiParameter.HEADER, required=True),
        ],
        responses={
            200: inline_serializer(
                "WebhookAck", {"event_id": serializers.CharField(), "outcome": serializers.CharField()}
            ),
            400: OpenApiResponse(ERROR, description="invalid_signature, invalid_webhook or missing_event_id."),
        },
    )
    def post(self, request):
        """Razorpay's webhooks. Stored once per event id and answered; processed once in the background
        (`outcome` PENDING until then); a failure is kept for a replay."""
        received = webhook_receive(
            body=request.body,
            signature=request.headers.get("X-Razorpay-Signature"),
            event_id=request.headers.get("X-Razorpay-Event-Id"),
        )
        return Response({"event_id": received.event_id, "outcome": received.outcome})
