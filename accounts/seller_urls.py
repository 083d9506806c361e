"""The seller portal under /seller/. Later apps add their seller pages here."""

from django.urls import path

from accounts import views

app_name = "seller"

urlpatterns = [
    path("", views.seller_home, name="home"),
]
