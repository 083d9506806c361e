from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import (
    MAX_ALT_LENGTH,
    MAX_BRAND_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_OPTION_NAME_LENGTH,
    MAX_OPTION_VALUE_LENGTH,
    MAX_OPTIONS,
    MAX_SKU_LENGTH,
    MAX_TITLE_LENGTH,
    MAX_VARIANTS,
    MONEY,
    Category,
    Product,
    ProductImage,
    ProductOption,
    ProductVariant,
)
from catalog.selectors import shopper_variants
from catalog.validators import MAX_STOCK, validate_mrp, validate_mrp_not_below_price, validate_price, validate_sku
from joycart.serializers import StrictJSONInput


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "parent"]


class StoreBriefSerializer(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.SlugField()


class CategoryBriefSerializer(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.SlugField()


class ProductImageSerializer(serializers.ModelSerializer):
    url = serializers.ImageField(source="image", read_only=True)
    thumbnail_url = serializers.ImageField(source="thumbnail", read_only=True)

    class Meta:
        model = ProductImage
        fields = ["id", "url", "thumbnail_url", "alt", "position"]


class ProductListSerializer(serializers.ModelSerializer):
    store = StoreBriefSerializer(read_only=True)
    category = CategoryBriefSerializer(read_only=True)
    in_stock = serializers.BooleanField(read_only=True)
    discount_percent = serializers.IntegerField(read_only=True)
    thumbnail_url = serializers.SerializerMethodField()
    # The listing annotates it (catalog.selectors), so a page of products loads no variants.
    variant_count = serializers.IntegerField(read_only=True, help_text="How many variants a shopper can pick from.")

    class Meta:
        model = Product
        fields = [
            "id", "slug", "title", "brand", "price", "price_max", "mrp", "discount_percent", "in_stock",
            "variant_count", "rating_avg", "rating_count", "category", "store", "thumbnail_url",
        ]  # fmt: skip
        extra_kwargs = {
            "price": {"help_text": "The cheapest active variant's price."},
            "price_max": {"help_text": "The dearest active variant's price; above `price` when they differ."},
            "mrp": {"help_text": "The cheapest active variant's MRP."},
        }

    def get_thumbnail_url(self, product: Product) -> str | None:
        images = product.images.all()  # prefetched, ordered by position
        if not images:
            return None
        url = images[0].thumbnail.url
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class ProductOptionSerializer(serializers.ModelSerializer):
    values = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = ProductOption
        fields = ["name", "values"]


class ShopperVariantSerializer(serializers.ModelSerializer):
    options = serializers.ListField(
        source="option_values", child=serializers.CharField(), read_only=True,
        help_text="This variant's value of each of the product's options, in their order.",
    )  # fmt: skip
    discount_percent = serializers.IntegerField(read_only=True)
    in_stock = serializers.BooleanField(read_only=True)
    image = ProductImageSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ProductVariant
        fields = ["id", "sku", "options", "price", "mrp", "discount_percent", "in_stock", "stock", "image"]
        read_only_fields = fields


class ProductDetailSerializer(ProductListSerializer):
    images = ProductImageSerializer(many=True, read_only=True)
    options = ProductOptionSerializer(many=True, read_only=True)
    variants = serializers.SerializerMethodField()

    class Meta(ProductListSerializer.Meta):
        fields = [
            *ProductListSerializer.Meta.fields,
            "description",
            "stock",
            "images",
            "options",
            "variants",
            "created_at",
        ]

    @extend_schema_field(ShopperVariantSerializer(many=True))
    def get_variants(self, product: Product) -> list[dict]:
        """The active variants: what a shopper can put in a cart (`variant_id`)."""
        return ShopperVariantSerializer(shopper_variants(product), many=True, context=self.context).data


# --- Seller API -----------------------------------------------------------------------


class SellerVariantSerializer(serializers.ModelSerializer):
    """One variant as its seller sees it, inactive ones included."""

    sku = serializers.CharField(read_only=True)
    option_values = serializers.ListField(child=serializers.CharField(), read_only=True)
    is_low_stock = serializers.BooleanField(read_only=True)

    class Meta:
        model = ProductVariant
        fields = [
            "id", "sku", "option_values", "price", "mrp", "stock", "is_low_stock", "is_active", "image", "position",
        ]  # fmt: skip


class SellerProductSerializer(ProductListSerializer):
    """What a seller sees of their own product: everything, including inactive ones.

    `price`, `price_max`, `mrp` and `stock` summarise the active variants; `sku` is the only
    variant's, and null once the product has several (each variant has its own).
    """

    images = ProductImageSerializer(many=True, read_only=True)
    is_low_stock = serializers.BooleanField(read_only=True)
    sku = serializers.SerializerMethodField()
    options = ProductOptionSerializer(many=True, read_only=True)
    variants = SellerVariantSerializer(many=True, read_only=True)

    class Meta(ProductListSerializer.Meta):
        fields = [
            *ProductListSerializer.Meta.fields,
            "price_max", "description", "stock", "sku", "images", "created_at", "is_active", "is_low_stock",
            "updated_at", "options", "variants",
        ]  # fmt: skip

    def get_sku(self, product: Product) -> str | None:
        variants = product.variants.all()  # prefetched
        return variants[0].sku if len(variants) == 1 else None


class ProductOptionInputSerializer(StrictJSONInput, serializers.Serializer):
    name = serializers.CharField(max_length=MAX_OPTION_NAME_LENGTH)
    values = serializers.ListField(
        child=serializers.CharField(max_length=MAX_OPTION_VALUE_LENGTH), min_length=1, max_length=MAX_VARIANTS
    )


class SellerProductInputSerializer(StrictJSONInput, serializers.Serializer):
    """A product's details; on create, `sku`, `price`, `mrp` and `stock` are its first variant's.

    `options` replaces the product's options (see `catalog.services.variants.product_options_set`
    for what may change while it has several variants).
    """

    title = serializers.CharField(max_length=MAX_TITLE_LENGTH)
    description = serializers.CharField(max_length=MAX_DESCRIPTION_LENGTH, required=False, allow_blank=True, default="")
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all())
    brand = serializers.CharField(max_length=MAX_BRAND_LENGTH, required=False, allow_blank=True, default="")
    sku = serializers.CharField(max_length=MAX_SKU_LENGTH, validators=[validate_sku])
    # MONEY's digits are the shape check (DRF's quantize needs them); the validators cap the value.
    price = serializers.DecimalField(**MONEY, validators=[validate_price])
    mrp = serializers.DecimalField(**MONEY, validators=[validate_mrp], required=False, allow_null=True, default=None)
    stock = serializers.IntegerField(min_value=0, max_value=MAX_STOCK, default=0)
    is_active = serializers.BooleanField(required=False, default=True)
    options = ProductOptionInputSerializer(many=True, required=False, max_length=MAX_OPTIONS)

    def validate(self, attrs):
        if self.partial and "stock" in self.initial_data:
            raise serializers.ValidationError(
                {"stock": "Change stock with POST .../stock/ (a delta, or a value with the expected current stock)."},
                code="stock_read_only",
            )
        price = attrs.get("price", getattr(self.instance, "price", None))
        mrp = attrs.get("mrp", getattr(self.instance, "mrp", None))
        try:
            validate_mrp_not_below_price(price=price, mrp=mrp)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"mrp": exc.messages}, code=exc.code) from exc
        return attrs


class StockChangeSerializer(StrictJSONInput, serializers.Serializer):
    """Either {"delta": ±N} or {"set": N, "expected": M}."""

    delta = serializers.IntegerField(required=False, min_value=-MAX_STOCK, max_value=MAX_STOCK)
    set = serializers.IntegerField(required=False, min_value=0, max_value=MAX_STOCK)
    expected = serializers.IntegerField(required=False, min_value=0, max_value=MAX_STOCK)

    def validate(self, attrs):
        has_delta, has_set = "delta" in attrs, "set" in attrs
        if has_delta == has_set:
            raise serializers.ValidationError("Send either delta, or set with expected.", code="invalid_stock_change")
        if has_set and "expected" not in attrs:
            raise serializers.ValidationError({"expected": "Send the stock you expect to replace."}, code="required")
        if has_delta and attrs["delta"] == 0:
            raise serializers.ValidationError({"delta": "A delta of 0 changes nothing."}, code="invalid")
        return attrs


class SellerVariantInputSerializer(StrictJSONInput, serializers.Serializer):
    """A variant: one value per product option, in the options' order; stock only when creating it."""

    sku = serializers.CharField(max_length=MAX_SKU_LENGTH, validators=[validate_sku])
    price = serializers.DecimalField(**MONEY, validators=[validate_price])
    mrp = serializers.DecimalField(**MONEY, validators=[validate_mrp], required=False, allow_null=True, default=None)
    stock = serializers.IntegerField(min_value=0, max_value=MAX_STOCK, default=0)
    option_values = serializers.ListField(
        child=serializers.CharField(max_length=MAX_OPTION_VALUE_LENGTH), max_length=MAX_OPTIONS, default=list
    )
    is_active = serializers.BooleanField(required=False, default=True)
    image = serializers.PrimaryKeyRelatedField(queryset=ProductImage.objects.none(), required=False, allow_null=True)
    position = serializers.IntegerField(min_value=0, max_value=MAX_VARIANTS, required=False)

    def __init__(self, *args, product: Product | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Only this product's images exist for its variants: another product's id reads as unknown.
        if product is not None:
            self.fields["image"].queryset = product.images.all()

    def validate(self, attrs):
        if self.partial and "stock" in self.initial_data:
            raise serializers.ValidationError(
                {"stock": "Change stock with POST /api/v1/seller/variants/{id}/stock/."}, code="stock_read_only"
            )
        price = attrs.get("price", getattr(self.instance, "price", None))
        mrp = attrs.get("mrp", getattr(self.instance, "mrp", None))
        try:
            validate_mrp_not_below_price(price=price, mrp=mrp)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"mrp": exc.messages}, code=exc.code) from exc
        return attrs


class StockOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    stock = serializers.IntegerField()
    is_low_stock = serializers.BooleanField()


class ImageUploadSerializer(StrictJSONInput, serializers.Serializer):
    # A plain FileField: the service checks the bytes with Pillow and answers `invalid_image`.
    image = serializers.FileField()
    alt = serializers.CharField(max_length=MAX_ALT_LENGTH, required=False, allow_blank=True, default="")
