from django.urls import path

from catalog import views
from catalog.response_cache import listing_response_key, product_response_key, shared_response_cache

# A listing page reads nothing of a logged-in shopper but their nav, so theirs is kept too.
shared_listing = shared_response_cache(listing_response_key, per_user=True)

urlpatterns = [
    path("", shared_listing(views.product_list), name="home"),
    path(
        "products/<slug:slug>/",
        shared_response_cache(product_response_key)(views.product_detail),
        name="product_detail",
    ),
    path("categories/<slug:slug>/", shared_listing(views.category_detail), name="category_detail"),
]
