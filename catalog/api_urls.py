from django.urls import path
from rest_framework.routers import SimpleRouter

from catalog import api
from catalog.response_cache import listing_response_key, product_exact_stock_response_key, shared_response_cache

seller_router = SimpleRouter(use_regex_path=False)
seller_router.register("seller/products", api.SellerProductViewSet, basename="seller-product")

urlpatterns = [
    path("products/", shared_response_cache(listing_response_key)(api.ProductListApi.as_view()), name="product-list"),
    path(
        "products/<id:pk>/",
        shared_response_cache(product_exact_stock_response_key)(api.ProductDetailApi.as_view()),
        name="product-detail",
    ),
    path("categories/", api.CategoryListApi.as_view(), name="category-list"),
    *seller_router.urls,
    path("seller/products/<id:product_id>/variants/", api.SellerVariantListApi.as_view(), name="seller-variant-list"),
    path(
        "seller/products/<id:product_id>/variants/<id:variant_id>/",
        api.SellerVariantDetailApi.as_view(),
        name="seller-variant-detail",
    ),
    path("seller/variants/<id:variant_id>/stock/", api.SellerVariantStockApi.as_view(), name="seller-variant-stock"),
]
