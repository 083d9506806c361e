from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsSeller
from catalog import selectors
from catalog.errors import (
    DuplicateSku,
    InvalidCategory,
    InvalidImage,
    InvalidOptions,
    InvalidPrice,
    InvalidSku,
    InvalidStock,
    InvalidVariant,
    ProductHasOpenOrders,
    StockConflict,
    TooManyImages,
    VariantRequired,
)
from catalog.filters import ProductFilter
from catalog.models import Product
from catalog.serializers import (
    CategorySerializer,
    ImageUploadSerializer,
    ProductDetailSerializer,
    ProductImageSerializer,
    ProductListSerializer,
    SellerProductInputSerializer,
    SellerProductSerializer,
    SellerVariantInputSerializer,
    SellerVariantSerializer,
    StockChangeSerializer,
    StockOutputSerializer,
)
from catalog.services.images import product_image_add, product_image_delete
from catalog.services.products import product_delete
from catalog.services.stock import only_variant, variant_stock_adjust, variant_stock_set
from catalog.services.variants import (
    product_create_with_options,
    product_update_with_options,
    variant_create,
    variant_deactivate,
    variant_update,
)
from joycart.openapi import api_errors
from joycart.pagination import PageNumberPagination

PRODUCTS_PER_PAGE = 24
PRODUCT_RULES = (DuplicateSku, InvalidSku, InvalidPrice, InvalidCategory, InvalidStock, InvalidOptions)
VARIANT_RULES = (DuplicateSku, InvalidSku, InvalidPrice, InvalidStock, InvalidVariant)


class CatalogPagination(PageNumberPagination):
    page_size = PRODUCTS_PER_PAGE
    page_size_query_param = None  # a fixed page, so the shared response cache holds one copy of each


class ProductListApi(generics.ListAPIView):
    """Visible products, filtered, searched and sorted. See the urls for the shared response cache."""

    permission_classes = [AllowAny]
    serializer_class = ProductListSerializer
    filterset_class = ProductFilter
    pagination_class = CatalogPagination

    def get_queryset(self):
        return selectors.product_listing()


class ProductDetailApi(generics.RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = ProductDetailSerializer

    def get_queryset(self):
        return selectors.product_for_shoppers()


class CategoryListApi(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = CategorySerializer
    filter_backends = []

    def get_queryset(self):
        return selectors.categories()


# --- Seller API -----------------------------------------------------------------------

DEACTIVATED = "deactivated"
DEACTIVATED_INSTEAD = inline_serializer(
    "DeactivatedInstead", {"detail": serializers.CharField(), "code": serializers.ChoiceField(choices=[DEACTIVATED])}
)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="Search title, SKU and brand."),
            OpenApiParameter("status", str, enum=list(selectors.SELLER_PRODUCT_FILTERS)),
        ]
    )
)
class SellerProductViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """The seller's own products. Another seller's product answers 404."""

    permission_classes = [IsSeller]
    serializer_class = SellerProductSerializer
    filter_backends = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_converter = "id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Product.objects.none()
        status_wanted = self.request.query_params.get("status", "")
        if status_wanted and status_wanted not in selectors.SELLER_PRODUCT_FILTERS:
            raise ValidationError({"status": [f"Choose one of: {', '.join(selectors.SELLER_PRODUCT_FILTERS)}."]})
        return selectors.seller_products(
            store=self.request.user.store, search=self.request.query_params.get("q", "")[:100], status=status_wanted
        ).prefetch_related("options")

    def get_object(self):
        return selectors.seller_product_get(store=self.request.user.store, product_id=int(self.kwargs["pk"]))

    @extend_schema(request=SellerProductInputSerializer, responses={201: SellerProductSerializer})
    @api_errors(*PRODUCT_RULES)
    def create(self, request):
        serializer = SellerProductInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = product_create_with_options(store=request.user.store, **serializer.validated_data)
        product = selectors.seller_product_get(store=request.user.store, product_id=product.pk)
        return Response(self.get_serializer(product).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SellerProductInputSerializer, responses={200: SellerProductSerializer})
    @api_errors(*PRODUCT_RULES, VariantRequired)
    def partial_update(self, request, pk=None):
        """Edit the details and options; `sku`, `price` and `mrp` only while the product has one variant."""
        product = self.get_object()
        serializer = SellerProductInputSerializer(instance=product, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        product_update_with_options(product=product, **serializer.validated_data)
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(responses={204: None, 200: DEACTIVATED_INSTEAD})
    @api_errors(ProductHasOpenOrders)
    def destroy(self, request, pk=None):
        """Delete a product that never sold; one that sold is deactivated instead (200)."""
        if product_delete(product=self.get_object()):
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(
            {"detail": "This product has sales, so it was deactivated instead of deleted.", "code": DEACTIVATED}
        )

    @extend_schema(request=ImageUploadSerializer, responses={201: ProductImageSerializer})
    @api_errors(InvalidImage, TooManyImages)
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser], url_path="images")
    def images(self, request, pk=None):
        """Upload an image (multipart: `image`, optional `alt`). JPEG, PNG or WebP, up to 5 MB."""
        product = self.get_object()
        serializer = ImageUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        image = product_image_add(
            product=product, upload=serializer.validated_data["image"], alt=serializer.validated_data["alt"]
        )
        return Response(
            ProductImageSerializer(image, context={"request": request}).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(responses={204: None})
    @action(detail=True, methods=["delete"], url_path="images/<id:image_id>")
    def image_delete(self, request, pk=None, image_id=None):
        image = selectors.seller_image_get(store=request.user.store, product_id=int(pk), image_id=int(image_id))
        product_image_delete(image=image)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=StockChangeSerializer, responses={200: StockOutputSerializer})
    @api_errors(StockConflict, VariantRequired)
    @action(detail=True, methods=["post"])
    def stock(self, request, pk=None):
        """Change the stock of a product with one variant; one with several answers `variant_required`
        (use POST /api/v1/seller/variants/{id}/stock/)."""
        product = self.get_object()
        variant_stock_change(variant=only_variant(product), data=request.data)
        product.refresh_from_db(fields=["stock"])
        return Response(StockOutputSerializer(product).data)


# --- Seller API: variants ----------------------------------------------------------------


def variant_stock_change(*, variant, data) -> None:
    """`{"delta": ±N}` adjusts; `{"set": N, "expected": M}` sets only while the stock is still M."""
    serializer = StockChangeSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    change = serializer.validated_data
    if "delta" in change:
        variant_stock_adjust(variant=variant, delta=change["delta"])
    else:
        variant_stock_set(variant=variant, value=change["set"], expected=change["expected"])


class SellerVariantListApi(APIView):
    """The variants of one of your products, inactive ones included (at most MAX_VARIANTS, so one page)."""

    permission_classes = [IsSeller]

    def _product(self, request, product_id: int) -> Product:
        return selectors.seller_product_get(store=request.user.store, product_id=product_id)

    @extend_schema(responses={200: SellerVariantSerializer(many=True)})
    def get(self, request, product_id: int):
        variants = selectors.seller_variants(product=self._product(request, product_id))
        return Response(SellerVariantSerializer(variants, many=True).data)

    @extend_schema(request=SellerVariantInputSerializer, responses={201: SellerVariantSerializer})
    @api_errors(*VARIANT_RULES)
    def post(self, request, product_id: int):
        """Add a variant: one value per product option, in the options' order, with its SKU, prices and stock."""
        product = self._product(request, product_id)
        serializer = SellerVariantInputSerializer(data=request.data, product=product)
        serializer.is_valid(raise_exception=True)
        variant = variant_create(product=product, **serializer.validated_data)
        return Response(SellerVariantSerializer(variant).data, status=status.HTTP_201_CREATED)


class SellerVariantDetailApi(APIView):
    """One variant of one of your products. Another seller's answers 404."""

    permission_classes = [IsSeller]

    def _variant(self, request, product_id: int, variant_id: int):
        return selectors.seller_variant_get(store=request.user.store, product_id=product_id, variant_id=variant_id)

    @extend_schema(responses={200: SellerVariantSerializer})
    def get(self, request, product_id: int, variant_id: int):
        return Response(SellerVariantSerializer(self._variant(request, product_id, variant_id)).data)

    @extend_schema(request=SellerVariantInputSerializer, responses={200: SellerVariantSerializer})
    @api_errors(*VARIANT_RULES)
    def patch(self, request, product_id: int, variant_id: int):
        """Edit the SKU, prices, option values, image, position or active flag. Stock: POST .../stock/."""
        variant = self._variant(request, product_id, variant_id)
        serializer = SellerVariantInputSerializer(
            instance=variant, data=request.data, partial=True, product=variant.product
        )
        serializer.is_valid(raise_exception=True)
        variant = variant_update(variant=variant, **serializer.validated_data)
        return Response(SellerVariantSerializer(variant).data)

    @extend_schema(responses={200: SellerVariantSerializer})
    def delete(self, request, product_id: int, variant_id: int):
        """Deactivate the variant (200, the variant): its row stays, as the orders that sold it point at it."""
        variant = variant_deactivate(variant=self._variant(request, product_id, variant_id))
        return Response(SellerVariantSerializer(variant).data)


class SellerVariantStockApi(APIView):
    """Change one variant's stock: `{"delta": ±N}`, or `{"set": N, "expected": M}`, which only applies
    if the stock is still M, so a sale in between is never lost."""

    permission_classes = [IsSeller]

    @extend_schema(request=StockChangeSerializer, responses={200: StockOutputSerializer})
    @api_errors(StockConflict)
    def post(self, request, variant_id: int):
        variant = selectors.seller_variant_get(store=request.user.store, variant_id=variant_id)
        variant_stock_change(variant=variant, data=request.data)
        return Response(StockOutputSerializer(variant).data)
