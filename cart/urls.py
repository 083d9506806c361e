from django.urls import path

from cart import views

app_name = "cart"

urlpatterns = [
    path("", views.cart_detail, name="detail"),
    path("add/", views.cart_add, name="add"),
    path("items/<id:item_id>/update/", views.item_update, name="item_update"),
    path("items/<id:item_id>/remove/", views.item_remove, name="item_remove"),
    # A guest's lines live in a cookie and are named by their variant id.
    path("guest-items/<id:variant_id>/update/", views.guest_item_update, name="guest_item_update"),
    path("guest-items/<id:variant_id>/remove/", views.guest_item_remove, name="guest_item_remove"),
]
