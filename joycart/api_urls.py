"""Everything under /api/v1/, in the one "api" namespace. Each app adds its routes here."""

from django.urls import path

from accounts import api_urls as accounts_api
from cart import api_urls as cart_api
from catalog import api_urls as catalog_api
from joycart import views
from orders import api_urls as orders_api
from payments import api_urls as payments_api
from reviews import api_urls as reviews_api

app_name = "api"

urlpatterns = [
    path("", views.ApiRoot.as_view(), name="root"),
    *accounts_api.urlpatterns,
    *catalog_api.urlpatterns,
    *cart_api.urlpatterns,
    *orders_api.urlpatterns,
    *payments_api.urlpatterns,
    *reviews_api.urlpatterns,
]
