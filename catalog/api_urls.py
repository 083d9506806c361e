from django.urls import path
from rest_framework.routers import SimpleRouter

from catalog import api

seller_router = SimpleRouter(use_regex_path=False)
seller_router.register("seller/products", api.SellerProductViewSet, basename="seller-product")

urlpatterns = [
    path("products/", api.ProductListApi.as_view(), name="product-list"),
    path("products/<int:pk>/", api.ProductDetailApi.as_view(), name="product-detail"),
    path("categories/", api.CategoryListApi.as_view(), name="category-list"),
    *seller_router.urls,
]
