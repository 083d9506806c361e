from django.urls import path

from catalog.response_cache import product_response_key, shared_response_cache
from reviews import api

urlpatterns = [
    # Anonymous reads are cached whole under the product's version, which every review write bumps.
    path(
        "products/<id:pk>/reviews/",
        shared_response_cache(product_response_key)(api.ProductReviewListCreateApi.as_view()),
        name="product-reviews",
    ),
    path("reviews/<id:review_id>/", api.ReviewDetailApi.as_view(), name="review-detail"),
]
