from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from joycart import views
from payments.api import razorpay_webhook

# The benchmark's "ping" row: the cheapest response through all of JoyCart's middleware. Only a process the
# bench starts (DJANGO_BENCH_PING=1) serves it; production has no such page.
bench_patterns = [path("ping", views.ping, name="ping")] if settings.BENCH_PING else []

urlpatterns = [
    # First: Razorpay's bursts of webhooks are matched before the shop's ~190 other patterns.
    path("api/v1/payments/razorpay/webhook/", razorpay_webhook, name="razorpay-webhook"),
    path("", include("catalog.urls")),
    path("cart/", include("cart.urls")),
    path("", include("orders.urls")),
    path("", include("payments.urls")),
    path("", include("reviews.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    *bench_patterns,
    path("accounts/", include("accounts.urls")),
    path("seller/", include("joycart.seller_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/v1/docs/",
        # The split view serves its script as a file; Swagger UI still sets inline styles.
        csp_override({**settings.SECURE_CSP, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    path("api/v1/", include("joycart.api_urls")),
]

if settings.MEDIA_SERVED_BY_APP:
    urlpatterns.append(path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", views.media_file, name="media-file"))

handler400 = "joycart.views.bad_request"
handler403 = "joycart.views.permission_denied"
handler404 = "joycart.views.page_not_found"
handler500 = "joycart.views.server_error"
