"""The seller portal under /seller/, in the one "seller" namespace. Each app adds its pages here."""

from django.urls import path

from analytics import views as analytics_views
from catalog import seller_urls as catalog_seller
from orders import seller_urls as orders_seller

app_name = "seller"

urlpatterns = [
    path("", analytics_views.seller_dashboard, name="home"),
    *catalog_seller.urlpatterns,
    *orders_seller.urlpatterns,
]
