from django.urls import path

from catalog import views

urlpatterns = [
    path("", views.product_list, name="home"),
    path("products/<slug:slug>/", views.product_detail, name="product_detail"),
    path("categories/<slug:slug>/", views.category_detail, name="category_detail"),
]
