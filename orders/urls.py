from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/buy-now/", views.buy_now, name="buy_now"),
    path("orders/", views.order_list, name="list"),
    path("orders/<str:number>/", views.order_detail, name="detail"),
    path("orders/<str:number>/items/<id:item_id>/cancel/", views.order_item_cancel_view, name="item_cancel"),
    path("orders/<str:number>/items/<id:item_id>/return/", views.order_item_return_view, name="item_return"),
    path(
        "orders/<str:number>/items/<id:item_id>/return/withdraw/",
        views.order_item_return_withdraw_view,
        name="item_return_withdraw",
    ),
    path(
        "orders/<str:number>/items/<id:item_id>/return/escalate/",
        views.order_item_return_escalate_view,
        name="item_return_escalate",
    ),
    path(
        "orders/<str:number>/items/<id:item_id>/refund-account/",
        views.order_item_refund_account_view,
        name="item_refund_account",
    ),
]
