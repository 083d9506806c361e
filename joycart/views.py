import mimetypes
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotModified, JsonResponse
from django.utils.http import http_date
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.static import was_modified_since
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from joycart.errors import API_PREFIX, api_error_response
from joycart.health import DOWN, readiness_report


def ping(request):
    """The cheapest response through the full middleware stack, for the benchmark's "ping" row."""
    return HttpResponse("pong", content_type="text/plain")


@never_cache
def healthz(request):
    """Liveness, for the load balancer: the process answers. It checks no dependency on purpose: a
    database or Redis outage hits every process alike, and taking them all out of rotation, or
    restarting them, only turns a degraded shop into no shop (`readyz` reports dependencies)."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    """Readiness, for deploys and monitoring: 503 only when the database does not answer; Redis,
    the task queue and read replicas can only make it `degraded` (joycart.health)."""
    report = readiness_report()
    return JsonResponse(report, status=503 if report["status"] == DOWN else 200)


# Uploaded names never change content (storage adds a suffix rather than overwrite), but a
# deleted image should not outlive a day in browsers and shared caches.
MEDIA_MAX_AGE_SECONDS = 24 * 60 * 60


@require_safe
def media_file(request, path: str):
    """An uploaded file from MEDIA_ROOT, when no Cloudinary stores them (development, one-machine deployments).

    Only a regular file inside MEDIA_ROOT: `..`, absolute paths, dot-files, directories and symlinks
    leading out are all a plain 404, so nothing says what exists outside. Product images are checked
    by content on upload; anything else that lands here is offered as a download, never rendered.
    """
    root = Path(settings.MEDIA_ROOT).resolve()
    try:
        candidate = (root / path).resolve()
        if not candidate.is_relative_to(root) or not candidate.is_file():
            raise Http404("No such file.")
        if any(part.startswith(".") for part in candidate.relative_to(root).parts):
            raise Http404("No such file.")
        modified = candidate.stat().st_mtime
        if not was_modified_since(request.META.get("HTTP_IF_MODIFIED_SINCE"), modified):
            return HttpResponseNotModified()
        opened = candidate.open("rb")
    except (OSError, RuntimeError) as error:  # a name too long, a symlink loop, unreadable: no file either
        raise Http404("No such file.") from error
    content_type = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
    inline = content_type.startswith("image/") and content_type != "image/svg+xml"
    response = FileResponse(opened, content_type=content_type, as_attachment=not inline)
    response["Last-Modified"] = http_date(modified)
    response["Cache-Control"] = f"public, max-age={MEDIA_MAX_AGE_SECONDS}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


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


# --- Errors Django answers before (or instead of) a view: JSON in the API's format under /api/ ---


def bad_request(request, exception):
    if request.path.startswith(API_PREFIX):
        return api_error_response(status_code=400, code="bad_request")
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if request.path.startswith(API_PREFIX):
        return api_error_response(status_code=403, code="permission_denied")
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    """A path no URL matches, e.g. `/api/v1/orders/abc/`: DRF never sees it."""
    if request.path.startswith(API_PREFIX):
        return api_error_response(status_code=404, code="not_found")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith(API_PREFIX):
        return api_error_response(status_code=500, code="server_error")
    return defaults.server_error(request)
