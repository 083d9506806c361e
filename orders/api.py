"""Checkout, the buyer's orders and the seller's order items over the API.

Views check the shape of the input, call one service and render the result; every rule
lives in `orders.services`. Another buyer's order and another seller's item answer 404.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsSeller
from cart.services import variant_id_resolve
from joycart.errors import NotFound
from joycart.openapi import api_errors
from orders import selectors
from orders.errors import (
    InvalidShipment,
    ReasonRequired,
)
from orders.models import ActorRole, Order, OrderItem, OrderItemStatus
from orders.serializers import (
    CancelInputSerializer,
    CheckoutInputSerializer,
    OrderDetailSerializer,
    OrderSerializer,
    SellerOrderItemSerializer,
    ShipInputSerializer,
)
from orders.services.checkout import CHECKOUT_ERRORS, SOURCE_BUY_NOW, checkout_place, idempotency_key_clean
from orders.services.lifecycle import (
    TRANSITION_ERRORS,
    order_item_cancel,
    order_item_confirm,
    order_item_deliver,
    order_item_ship,
)

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="A new random key (1 to 100 printable characters) per order. Retrying with the same key and "
    "body returns the same order (200); the same key with another body is refused (409).",
)


def _order_response(request, *, order_id: int, status_code: int = status.HTTP_200_OK) -> Response:
    order = selectors.buyer_order_get(buyer=request.user, order_id=order_id)
    return Response(OrderDetailSerializer(order, context={"request": request}).data, status=status_code)


class CheckoutApi(APIView):
    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=CheckoutInputSerializer,
        responses={
            201: OrderDetailSerializer,
            200: OpenApiResponse(OrderDetailSerializer, description="A retry: the order this key already placed."),
        },
    )
    @api_errors(*CHECKOUT_ERRORS)
    def post(self, request):
        """Place an order from your cart, or buy one product now. Prices come from the catalog.

        With `payment_method: "ONLINE"` the items await payment (stock reserved until `payment.pay_by`)
        and `payment.razorpay` holds the Checkout options; it is null if the gateway could not be
        reached: retry with `POST /api/v1/orders/{id}/pay/`.
        """
        key = idempotency_key_clean(request.headers.get("Idempotency-Key"))
        serializer = CheckoutInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        product_id, variant_id = data.pop("product_id", None), data.pop("variant_id", None)
        if data["source"] == SOURCE_BUY_NOW:
            variant_id = variant_id_resolve(variant_id=variant_id, product_id=product_id)
        order, created = checkout_place(buyer=request.user, idempotency_key=key, variant_id=variant_id, **data)
        return _order_response(
            request, order_id=order.pk, status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class OrderListApi(generics.ListAPIView):
    """Your orders, newest first."""

    serializer_class = OrderSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        return selectors.buyer_orders(buyer=self.request.user)


class OrderDetailApi(APIView):
    @extend_schema(responses={200: OrderDetailSerializer})
    @api_errors(NotFound)
    def get(self, request, order_id: int):
        """One of your orders with its items, payment, delivery address and timeline."""
        return _order_response(request, order_id=order_id)


class OrderItemCancelApi(APIView):
    @extend_schema(
        request=CancelInputSerializer,
        responses={200: OrderDetailSerializer},
    )
    @api_errors(*TRANSITION_ERRORS, ReasonRequired)
    def post(self, request, order_id: int, item_id: int):
        """Cancel a placed or confirmed item of your order, with a reason. Its stock goes back on sale."""
        item = selectors.buyer_order_item_get(buyer=request.user, order_id=order_id, item_id=item_id)
        serializer = CancelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_item_cancel(
            item_id=item.pk, actor=request.user, role=ActorRole.BUYER, reason=serializer.validated_data["reason"]
        )
        return _order_response(request, order_id=order_id)


# --- Seller -----------------------------------------------------------------------------


@extend_schema(
    parameters=[
        OpenApiParameter(
            "status", str, enum=OrderItemStatus.values, description="Only items in this status (case-insensitive)."
        )
    ]
)
class SellerOrderItemListApi(generics.ListAPIView):
    """Items ordered from your store, newest first."""

    permission_classes = [IsSeller]
    serializer_class = SellerOrderItemSerializer
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return OrderItem.objects.none()
        wanted = self.request.query_params.get("status", "").strip().upper()
        if wanted and wanted not in OrderItemStatus.values:
            raise ValidationError({"status": [f"Choose one of: {', '.join(OrderItemStatus.values)}."]})
        return selectors.seller_order_items(store=self.request.user.active_store, status=wanted or None)


class _SellerOrderItemActionApi(APIView):
    permission_classes = [IsSeller]

    def _item(self, request, item_id: int) -> OrderItem:
        return selectors.seller_order_item_get(store=request.user.active_store, item_id=item_id)

    def _respond(self, request, item_id: int) -> Response:
        return Response(SellerOrderItemSerializer(self._item(request, item_id)).data)


SELLER_ACTION_RESPONSES = {200: SellerOrderItemSerializer}


class SellerOrderItemConfirmApi(_SellerOrderItemActionApi):
    @extend_schema(request=None, responses=SELLER_ACTION_RESPONSES)
    @api_errors(*TRANSITION_ERRORS)
    def post(self, request, item_id: int):
        """Accept a placed item: you will ship it."""
        item = self._item(request, item_id)
        order_item_confirm(item_id=item.pk, actor=request.user, role=ActorRole.SELLER)
        return self._respond(request, item_id)


class SellerOrderItemShipApi(_SellerOrderItemActionApi):
    @extend_schema(request=ShipInputSerializer, responses=SELLER_ACTION_RESPONSES)
    @api_errors(*TRANSITION_ERRORS, InvalidShipment)
    def post(self, request, item_id: int):
        """Mark a confirmed item shipped, with the carrier and tracking number if you have them."""
        item = self._item(request, item_id)
        serializer = ShipInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_item_ship(item_id=item.pk, actor=request.user, role=ActorRole.SELLER, **serializer.validated_data)
        return self._respond(request, item_id)


class SellerOrderItemDeliverApi(_SellerOrderItemActionApi):
    @extend_schema(request=None, responses=SELLER_ACTION_RESPONSES)
    @api_errors(*TRANSITION_ERRORS)
    def post(self, request, item_id: int):
        """Mark a shipped item delivered. For Cash on Delivery, the last delivery collects the payment."""
        item = self._item(request, item_id)
        order_item_deliver(item_id=item.pk, actor=request.user, role=ActorRole.SELLER)
        return self._respond(request, item_id)


class SellerOrderItemCancelApi(_SellerOrderItemActionApi):
    @extend_schema(
        request=CancelInputSerializer,
        responses=SELLER_ACTION_RESPONSES,
    )
    @api_errors(*TRANSITION_ERRORS, ReasonRequired)
    def post(self, request, item_id: int):
        """Cancel a placed or confirmed item, with a reason the buyer will see. Its stock comes back."""
        item = self._item(request, item_id)
        serializer = CancelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_item_cancel(
            item_id=item.pk, actor=request.user, role=ActorRole.SELLER, reason=serializer.validated_data["reason"]
        )
        return self._respond(request, item_id)
