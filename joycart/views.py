import logging

from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        logger.exception("Health check: database is down")
        return False
    return True


def _cache_ok() -> bool:
    try:
        cache.set("healthz", "ok", timeout=10)
        return cache.get("healthz") == "ok"
    except Exception:
        logger.exception("Health check: cache is down")
        return False


def ping(request):
    """The cheapest response through the full middleware stack: the benchmark's ceiling."""
    return HttpResponse("pong", content_type="text/plain")


@never_cache
def healthz(request):
    """For load balancers and uptime checks: 200 when every dependency answers, 503 naming what is down."""
    checks = {"database": _database_ok(), "cache": _cache_ok()}
    down = [name for name, ok in checks.items() if not ok]
    body = {name: "ok" if ok else "down" for name, ok in checks.items()}
    body["status"] = "ok" if not down else "down: " + ", ".join(down)
    return JsonResponse(body, status=503 if down else 200)


class ApiRoot(APIView):
    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request, format=None):
        def link(name: str) -> str:
            return reverse(name, request=request, format=format)

        return Response(
            {
                "docs": link("api-docs"),
                "schema": link("api-schema"),
                "auth": {
                    "register": link("api:auth-register"),
                    "login": link("api:auth-login"),
                    "logout": link("api:auth-logout"),
                    "me": link("api:auth-me"),
                    "token": link("api:auth-token"),
                    "token_refresh": link("api:auth-token-refresh"),
                },
                "stores": link("api:store-create"),
                "addresses": link("api:address-list"),
                "products": link("api:product-list"),
                "categories": link("api:category-list"),
                "cart": link("api:cart"),
                "seller_products": link("api:seller-product-list"),
            }
        )
