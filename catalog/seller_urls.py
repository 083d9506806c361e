"""Seller-portal pages of the catalog (included by joycart/seller_urls.py)."""

from django.urls import path

from catalog import seller_views as views

urlpatterns = [
    path("products/", views.product_list, name="products"),
    path("products/new/", views.product_new, name="product_create"),
    path("products/export.csv", views.products_export, name="products_export"),
    path("products/import/", views.products_import, name="products_import"),
    path("products/<id:product_id>/edit/", views.product_edit, name="product_edit"),
    path("products/<id:product_id>/stock/", views.product_stock, name="product_stock"),
    path("products/<id:product_id>/options/", views.product_options, name="product_options"),
    path("products/<id:product_id>/variants/", views.product_variants, name="product_variants"),
    path("products/<id:product_id>/variants/new/", views.product_variant_add, name="product_variant_add"),
    path("products/<id:product_id>/variants/<id:variant_id>/stock/", views.variant_stock, name="variant_stock"),
    path("products/<id:product_id>/toggle-active/", views.product_toggle_active, name="product_toggle_active"),
    path("products/<id:product_id>/delete/", views.product_delete_view, name="product_delete"),
    path("products/<id:product_id>/images/", views.product_image_upload, name="product_image_upload"),
    path(
        "products/<id:product_id>/images/<id:image_id>/move/",
        views.product_image_move_view,
        name="product_image_move",
    ),
    path(
        "products/<id:product_id>/images/<id:image_id>/delete/",
        views.product_image_delete_view,
        name="product_image_delete",
    ),
]
