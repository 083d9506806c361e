from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cart.errors import InvalidQuantity
from cart.models import MAX_QUANTITY, MIN_QUANTITY
from cart.selectors import CartLine
from cart.services import quantity_clean
from joycart.ids import MAX_ID
from joycart.serializers import StrictJSONInput


@extend_schema_field({"type": "integer", "minimum": MIN_QUANTITY, "maximum": MAX_QUANTITY})
class QuantityField(serializers.Field):
    """Any bad quantity (0, 11, -1, "abc", 2.5, null) is the service's `invalid_quantity` error.

    It is raised as the domain error itself, so the API answers `{"detail", "code": "invalid_quantity"}`
    exactly as it does when the service refuses a total above 10.
    """

    def validate_empty_values(self, data):
        if data is None:
            raise InvalidQuantity()
        return super().validate_empty_values(data)

    def to_internal_value(self, data) -> int:
        if isinstance(data, str):
            raise InvalidQuantity()  # JSON carries a number; a form's text is the page's to read
        return quantity_clean(data)

    def to_representation(self, value) -> int:
        return value


class CartItemAddInputSerializer(StrictJSONInput, serializers.Serializer):
    """No price field: the server prices every line from the catalog, so a sent price is ignored.

    `variant_id` names what to add; `product_id` alone does for a product with one variant.
    """

    variant_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    product_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    quantity = QuantityField(default=1)

    def validate(self, attrs):
        if "variant_id" not in attrs and "product_id" not in attrs:
            raise serializers.ValidationError({"variant_id": "Choose the variant to add."})
        return attrs


class CartItemUpdateInputSerializer(StrictJSONInput, serializers.Serializer):
    quantity = QuantityField()


class CartProductSerializer(serializers.Serializer):
    """Built from the whole line (`source="*"`): the thumbnail was picked by the selector."""

    id = serializers.IntegerField(source="product.id")
    slug = serializers.SlugField(source="product.slug")
    title = serializers.CharField(source="product.title")
    thumbnail_url = serializers.SerializerMethodField()

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_thumbnail_url(self, line: CartLine) -> str | None:
        request = self.context.get("request")
        if line.thumbnail_url and request is not None:
            return request.build_absolute_uri(line.thumbnail_url)
        return line.thumbnail_url


class CartVariantSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="variant.id")
    sku = serializers.CharField(source="variant.sku")
    options = serializers.CharField(
        help_text='The option values, e.g. "Size: XL, Colour: Blue"; blank without options.'
    )


class CartLineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    product = CartProductSerializer(source="*")
    variant = CartVariantSerializer(source="*")
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    problem = serializers.CharField(allow_null=True)


class CartSerializer(serializers.Serializer):
    lines = CartLineSerializer(many=True)
    subtotal = serializers.DecimalField(max_digits=14, decimal_places=2)
    item_count = serializers.IntegerField()
    has_problems = serializers.BooleanField()
