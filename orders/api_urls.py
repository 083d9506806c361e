from django.urls import path

from orders import api

ORDER_ITEM = "orders/<id:order_id>/items/<id:item_id>/"

urlpatterns = [
    path("checkout/", api.CheckoutApi.as_view(), name="checkout"),
    path("orders/", api.OrderListApi.as_view(), name="order-list"),
    path("orders/<id:order_id>/", api.OrderDetailApi.as_view(), name="order-detail"),
    path(f"{ORDER_ITEM}cancel/", api.OrderItemCancelApi.as_view(), name="order-item-cancel"),
    path(f"{ORDER_ITEM}return/", api.OrderItemReturnApi.as_view(), name="order-item-return"),
    path(f"{ORDER_ITEM}return/withdraw/", api.OrderItemReturnWithdrawApi.as_view(), name="order-item-return-withdraw"),
    path(f"{ORDER_ITEM}return/escalate/", api.OrderItemReturnEscalateApi.as_view(), name="order-item-return-escalate"),
    path(
        f"{ORDER_ITEM}return/refund-account/",
        api.OrderItemRefundAccountApi.as_view(),
        name="order-item-return-refund-account",
    ),
    path("seller/order-items/", api.SellerOrderItemListApi.as_view(), name="seller-order-item-list"),
    # One route per action an item's `actions` list can name: confirm, ship, deliver, cancel, return-approve...
    *(
        path(f"seller/order-items/<id:item_id>/{action}/", view.as_view(), name=f"seller-order-item-{action}")
        for action, view in api.SELLER_ACTION_VIEWS.items()
    ),
]
