from django.contrib import admin
from django.urls import path

from accounts.forms import AdminLoginForm
from analytics.views import analytics_page


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

    def get_urls(self):
        # admin_view: staff only (anyone else goes to the admin login), CSRF-protected, never cached.
        return [path("analytics/", self.admin_view(self.analytics_view), name="analytics"), *super().get_urls()]

    def analytics_view(self, request):
        return analytics_page(request, site=self)
