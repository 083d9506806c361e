"""Seller-portal pages of the orders app (included by joycart/seller_urls.py)."""

from django.urls import path

from orders import seller_views as views

urlpatterns = [
    path("orders/", views.order_list, name="orders"),
    *(
        path(
            f"orders/items/<id:item_id>/{action}/", views.order_item_action, {"action": action}, name=f"order_{action}"
        )
        for action in ("confirm", "ship", "deliver", "cancel")
    ),
    path("returns/", views.return_list, name="returns"),
    *(
        path(f"returns/items/<id:item_id>/{action}/", views.return_action, {"action": action}, name=f"return_{action}")
        for action in ("approve", "reject", "receive")
    ),
]
