"""The seller portal under /seller/, in the one "seller" namespace. Each app adds its pages here."""

from django.urls import path

from accounts import views as accounts_views
from catalog import seller_urls as catalog_seller
from orders import seller_urls as orders_seller

app_name = "seller"

urlpatterns = [
    path("", accounts_views.seller_home, name="home"),
    *catalog_seller.urlpatterns,
    *orders_seller.urlpatterns,
]
