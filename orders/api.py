"""Checkout, the buyer's orders and the seller's order items over the API.

Views check the shape of the input, call one service and render the result; every rule
lives in `orders.services`. Another buyer's order and another seller's item answer 404.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsSeller
from cart.services import variant_id_resolve
from joycart.errors import NotFound
from joycart.openapi import api_errors
from orders import selectors
from orders.errors import AlreadyEscalated, InvalidRefundAccount, InvalidShipment, ReasonRequired
from orders.models import ActorRole, Order, OrderItem, OrderItemStatus
from orders.serializers import (
    SELLER_ACTIONS,
    CancelInputSerializer,
    CheckoutInputSerializer,
    EscalateInputSerializer,
    OrderDetailSerializer,
    OrderSerializer,
    RefundAccountInputSerializer,
    ReturnInputSerializer,
    ReturnReceiveInputSerializer,
    ReturnRejectInputSerializer,
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
from orders.services.returns import (
    RETURN_ERRORS,
    order_item_return_approve,
    order_item_return_escalate,
    order_item_return_receive,
    order_item_return_reject,
    order_item_return_request,
    order_item_return_withdraw,
)
from payments.errors import ItemAlreadyRefunded, PayoutNotPending
from payments.services.returns import payout_account_replace

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
        if created:
            # The new order comes with everything the detail shows: no need to read it back.
            data = OrderDetailSerializer(order, context={"request": request}).data
            return Response(data, status=status.HTTP_201_CREATED)
        return _order_response(request, order_id=order.pk)


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


class OrderItemReturnApi(APIView):
    @extend_schema(request=ReturnInputSerializer, responses={200: OrderDetailSerializer})
    @api_errors(*RETURN_ERRORS)
    def post(self, request, order_id: int, item_id: int):
        """Ask to return a delivered item, until its `return_window_ends_at`. The seller approves or rejects it.

        Paid by Cash on Delivery, `refund_to` is required: the UPI id or bank account the money goes back
        to. It is stored encrypted and shown masked. Paid online, the money goes back to the payment.
        """
        item = selectors.buyer_order_item_get(buyer=request.user, order_id=order_id, item_id=item_id)
        serializer = ReturnInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_item_return_request(item_id=item.pk, buyer=request.user, **serializer.validated_data)
        return _order_response(request, order_id=order_id)


class OrderItemReturnWithdrawApi(APIView):
    @extend_schema(request=None, responses={200: OrderDetailSerializer})
    @api_errors(*TRANSITION_ERRORS)
    def post(self, request, order_id: int, item_id: int):
        """Take back a return request the seller has not answered yet; the item is simply delivered again."""
        item = selectors.buyer_order_item_get(buyer=request.user, order_id=order_id, item_id=item_id)
        order_item_return_withdraw(item_id=item.pk, buyer=request.user)
        return _order_response(request, order_id=order_id)


class OrderItemReturnEscalateApi(APIView):
    @extend_schema(request=EscalateInputSerializer, responses={200: OrderDetailSerializer})
    @api_errors(*TRANSITION_ERRORS, AlreadyEscalated)
    def post(self, request, order_id: int, item_id: int):
        """Ask JoyCart to look again at a rejected return, once. Staff approve it or reject it for good."""
        item = selectors.buyer_order_item_get(buyer=request.user, order_id=order_id, item_id=item_id)
        serializer = EscalateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_item_return_escalate(item_id=item.pk, buyer=request.user, **serializer.validated_data)
        return _order_response(request, order_id=order_id)


class OrderItemRefundAccountApi(APIView):
    @extend_schema(request=RefundAccountInputSerializer, responses={200: OrderDetailSerializer})
    @api_errors(InvalidRefundAccount, PayoutNotPending)
    def post(self, request, order_id: int, item_id: int):
        """Name another account for a returned item's FAILED payout (Cash on Delivery); it is paid again."""
        item = selectors.buyer_order_item_get(buyer=request.user, order_id=order_id, item_id=item_id)
        serializer = RefundAccountInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payout_account_replace(item_id=item.pk, buyer=request.user, refund_to=serializer.validated_data["refund_to"])
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


SELLER_ACTION_RESPONSES = {200: SellerOrderItemSerializer}


class _SellerOrderItemActionApi(APIView):
    """One move of one of the seller's items, served at `seller/order-items/{id}/<SELLER_ACTIONS[to_status]>/`:
    the path the item's `actions` list names, so the list and the routes cannot drift apart. Each move's class
    says what it takes (`input_serializer`, also in its schema), what it does (`act`), and, in its docstring,
    what the API reference shows."""

    permission_classes = [IsSeller]
    to_status: str
    input_serializer: type[serializers.Serializer] | None = None

    def act(self, request, item: OrderItem, **data) -> None:
        raise NotImplementedError

    def post(self, request, item_id: int):
        # No docstring: the operation's description is the action class's own.
        item = self._item(request, item_id)
        data = {}
        if self.input_serializer is not None:
            serializer = self.input_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
        self.act(request, item, **data)
        return Response(SellerOrderItemSerializer(self._item(request, item_id)).data)

    def _item(self, request, item_id: int) -> OrderItem:
        return selectors.seller_order_item_get(store=request.user.active_store, item_id=item_id)


@extend_schema(request=None, responses=SELLER_ACTION_RESPONSES)
@api_errors(*TRANSITION_ERRORS)
class SellerOrderItemConfirmApi(_SellerOrderItemActionApi):
    """Accept a placed item: you will ship it."""

    to_status = OrderItemStatus.CONFIRMED

    def act(self, request, item: OrderItem) -> None:
        order_item_confirm(item_id=item.pk, actor=request.user, role=ActorRole.SELLER)


@extend_schema(request=ShipInputSerializer, responses=SELLER_ACTION_RESPONSES)
@api_errors(*TRANSITION_ERRORS, InvalidShipment)
class SellerOrderItemShipApi(_SellerOrderItemActionApi):
    """Mark a confirmed item shipped, with the carrier and tracking number if you have them."""

    to_status = OrderItemStatus.SHIPPED
    input_serializer = ShipInputSerializer

    def act(self, request, item: OrderItem, **shipment) -> None:
        order_item_ship(item_id=item.pk, actor=request.user, role=ActorRole.SELLER, **shipment)


@extend_schema(request=None, responses=SELLER_ACTION_RESPONSES)
@api_errors(*TRANSITION_ERRORS)
class SellerOrderItemDeliverApi(_SellerOrderItemActionApi):
    """Mark a shipped item delivered. For Cash on Delivery, the last delivery collects the payment."""

    to_status = OrderItemStatus.DELIVERED

    def act(self, request, item: OrderItem) -> None:
        order_item_deliver(item_id=item.pk, actor=request.user, role=ActorRole.SELLER)


@extend_schema(request=CancelInputSerializer, responses=SELLER_ACTION_RESPONSES)
@api_errors(*TRANSITION_ERRORS, ReasonRequired)
class SellerOrderItemCancelApi(_SellerOrderItemActionApi):
    """Cancel a placed or confirmed item, with a reason the buyer will see. Its stock comes back."""

    to_status = OrderItemStatus.CANCELLED
    input_serializer = CancelInputSerializer

    def act(self, request, item: OrderItem, *, reason: str) -> None:
        order_item_cancel(item_id=item.pk, actor=request.user, role=ActorRole.SELLER, reason=reason)


@extend_schema(request=None, responses=SELLER_ACTION_RESPONSES)
@api_errors(*TRANSITION_ERRORS)
class SellerOrderItemReturnApproveApi(_SellerOrderItemActionApi):
    """Accept the buyer's return request: arrange the pickup, then mark it received."""

    to_status = OrderItemStatus.RETURN_APPROVED

    def act(self, request, item: OrderItem) -> None:
        order_item_return_approve(item_id=item.pk, actor=request.user, role=ActorRole.SELLER)


@extend_schema(request=ReturnRejectInputSerializer, responses=SELLER_ACTION_RESPONSES)
@api_errors(*TRANSITION_ERRORS, ReasonRequired)
class SellerOrderItemReturnRejectApi(_SellerOrderItemActionApi):
    """Refuse the buyer's return request, with a reason they will see. They may ask JoyCart to look again."""

    to_status = OrderItemStatus.RETURN_REJECTED
    input_serializer = ReturnRejectInputSerializer

    def act(self, request, item: OrderItem, *, reason: str) -> None:
        order_item_return_reject(item_id=item.pk, actor=request.user, role=ActorRole.SELLER, reason=reason)


@extend_schema(request=ReturnReceiveInputSerializer, responses=SELLER_ACTION_RESPONSES)
@api_errors(*TRANSITION_ERRORS, ItemAlreadyRefunded)
class SellerOrderItemReturnReceiveApi(_SellerOrderItemActionApi):
    """The returned item is back with you. Resellable, its units go back on sale; the buyer's money goes back."""

    to_status = OrderItemStatus.RETURN_RECEIVED
    input_serializer = ReturnReceiveInputSerializer

    def act(self, request, item: OrderItem, *, resellable: bool) -> None:
        order_item_return_receive(item_id=item.pk, actor=request.user, role=ActorRole.SELLER, resellable=resellable)


# Each seller action's view, by its path: every path an item's `actions` list can name.
SELLER_ACTION_VIEWS: dict[str, type[_SellerOrderItemActionApi]] = {
    SELLER_ACTIONS[view.to_status]: view
    for view in (
        SellerOrderItemConfirmApi,
        SellerOrderItemShipApi,
        SellerOrderItemDeliverApi,
        SellerOrderItemCancelApi,
        SellerOrderItemReturnApproveApi,
        SellerOrderItemReturnRejectApi,
        SellerOrderItemReturnReceiveApi,
    )
}
