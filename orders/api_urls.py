from django.urls import path

from orders import api

urlpatterns = [
    path("checkout/", api.CheckoutApi.as_view(), name="checkout"),
    path("orders/", api.OrderListApi.as_view(), name="order-list"),
    path("orders/<int:order_id>/", api.OrderDetailApi.as_view(), name="order-detail"),
    path(
        "orders/<int:order_id>/items/<int:item_id>/cancel/",
        api.OrderItemCancelApi.as_view(),
        name="order-item-cancel",
    ),
    path("seller/order-items/", api.SellerOrderItemListApi.as_view(), name="seller-order-item-list"),
    path(
        "seller/order-items/<int:item_id>/confirm/",
        api.SellerOrderItemConfirmApi.as_view(),
        name="seller-order-item-confirm",
    ),
    path("seller/order-items/<int:item_id>/ship/", api.SellerOrderItemShipApi.as_view(), name="seller-order-item-ship"),
    path(
        "seller/order-items/<int:item_id>/deliver/",
        api.SellerOrderItemDeliverApi.as_view(),
        name="seller-order-item-deliver",
    ),
    path(
        "seller/order-items/<int:item_id>/cancel/",
        api.SellerOrderItemCancelApi.as_view(),
        name="seller-order-item-cancel",
    ),
]
