from django.urls import path

from payments import api

urlpatterns = [
    path("orders/<id:order_id>/pay/", api.OrderPayApi.as_view(), name="order-pay"),
    path("payments/razorpay/verify/", api.RazorpayVerifyApi.as_view(), name="razorpay-verify"),
]
