from django.contrib import admin
from django.urls import path

from accounts.forms import AdminLoginForm
from analytics.views import analytics_page
from payments.models import Refund
from payments.selectors import refunds_failed_waiting


class JoyCartAdminSite(admin.AdminSite):
    site_header = "JoyCart administration"
    site_title = "JoyCart admin"
    index_title = "Shop administration"
    # Staff log in through the same throttled credential check as the site and the API.
    login_form = AdminLoginForm

    def has_permission(self, request) -> bool:
        # A blocked account keeps no access anywhere, even if it still holds a staff session.
        return super().has_permission(request) and not request.user.is_blocked

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        throttled = getattr(form, "throttled", None)
        if throttled is not None:
            # The form shows the message; the status tells scripts and monitoring what happened.
            response.status_code = 429
            response["Retry-After"] = str(throttled.retry_after)
        return response

    def index(self, request, extra_context=None):
        context = {"failed_refunds": self._failed_refunds(request), **(extra_context or {})}
        return super().index(request, context)

    def _failed_refunds(self, request):
        """FAILED refunds wait for a person until retried: listed on the home page to staff who may see refunds."""
        refund_admin = self._registry.get(Refund)
        if refund_admin is None or not refund_admin.has_view_permission(request):
            return None
        return refunds_failed_waiting()

    def get_urls(self):
        # admin_view: staff only (anyone else goes to the admin login), CSRF-protected, never cached.
        return [path("analytics/", self.admin_view(self.analytics_view), name="analytics"), *super().get_urls()]

    def analytics_view(self, request):
        return analytics_page(request, site=self)
