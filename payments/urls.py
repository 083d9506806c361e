from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("orders/<str:number>/pay/", views.order_pay, name="pay"),
    path("payments/razorpay/callback/", views.razorpay_callback, name="razorpay_callback"),
]
