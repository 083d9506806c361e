"""The shopper's cart over the API. Guests have no API cart: theirs lives in a page cookie."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from cart.errors import CartFull, InvalidQuantity, OutOfStock, OwnProduct, ProductUnavailable
from cart.models import MAX_QUANTITY, MIN_QUANTITY
from cart.selectors import cart_view
from cart.serializers import CartItemAddInputSerializer, CartItemUpdateInputSerializer, CartSerializer
from cart.services import cart_item_add, cart_item_remove, cart_item_update, variant_id_resolve
from catalog.errors import VariantRequired
from joycart.errors import NotFound
from joycart.openapi import api_errors

CART_RULES = (InvalidQuantity, OutOfStock, OwnProduct, ProductUnavailable)


# A plain schema rather than the serializer: drf-spectacular would document a PATCH body as
# partial ("Patched…", nothing required), but the quantity is the whole point of this call.
QUANTITY_BODY = {
    "application/json": {
        "type": "object",
        "properties": {"quantity": {"type": "integer", "minimum": MIN_QUANTITY, "maximum": MAX_QUANTITY}},
        "required": ["quantity"],
    }
}


def _cart_response(request, *, status_code: int = status.HTTP_200_OK) -> Response:
    cart = cart_view(user=request.user)
    return Response(CartSerializer(cart, context={"request": request}).data, status=status_code)


class CartApi(APIView):
    @extend_schema(responses={200: CartSerializer})
    def get(self, request):
        return _cart_response(request)


class CartItemsApi(APIView):
    @extend_schema(request=CartItemAddInputSerializer, responses={201: CartSerializer})
    @api_errors(*CART_RULES, CartFull, VariantRequired)
    def post(self, request):
        """Add a variant, or raise the quantity of its line. Answers with the whole cart.

        `product_id` instead of `variant_id` adds a product that has one variant; a product with
        several answers 400 `variant_required`.
        """
        serializer = CartItemAddInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        variant_id = variant_id_resolve(variant_id=data.get("variant_id"), product_id=data.get("product_id"))
        cart_item_add(user=request.user, variant_id=variant_id, quantity=data["quantity"])
        return _cart_response(request, status_code=status.HTTP_201_CREATED)


class CartItemDetailApi(APIView):
    http_method_names = ["patch", "delete", "options"]

    @extend_schema(
        request=QUANTITY_BODY,
        responses={200: CartSerializer},
    )
    @api_errors(*CART_RULES, NotFound)
    def patch(self, request, item_id: int):
        serializer = CartItemUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cart_item_update(user=request.user, item_id=item_id, **serializer.validated_data)
        return _cart_response(request)

    @extend_schema(responses={204: None})
    @api_errors(NotFound)
    def delete(self, request, item_id: int):
        cart_item_remove(user=request.user, item_id=item_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
