from django.urls import path

from cart import api

urlpatterns = [
    path("cart/", api.CartApi.as_view(), name="cart"),
    path("cart/items/", api.CartItemsApi.as_view(), name="cart-items"),
    path("cart/items/<id:item_id>/", api.CartItemDetailApi.as_view(), name="cart-item-detail"),
]
