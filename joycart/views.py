from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from joycart.health import DOWN, readiness_report


def ping(request):
    """The cheapest response through the full middleware stack: the benchmark's ceiling."""
    return HttpResponse("pong", content_type="text/plain")


@never_cache
def healthz(request):
    """Liveness, for the load balancer: the process answers. It checks no dependency on purpose: a
    database or Redis outage hits every process alike, and taking them all out of rotation, or
    restarting them, only turns a degraded shop into no shop (`readyz` reports dependencies)."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    """Readiness, for deploys and monitoring: 503 only when the database does not answer; Redis and
    the task queue can only make it `degraded` (joycart.health)."""
    report = readiness_report()
    return JsonResponse(report, status=503 if report["status"] == DOWN else 200)


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
