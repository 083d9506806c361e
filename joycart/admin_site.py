from django.contrib import admin
from django.urls import path

from analytics.views import analytics_page


class JoyCartAdminSite(admin.AdminSite):
    site_header = "JoyCart administration"
    site_title = "JoyCart admin"
    index_title = "Shop administration"

    def has_permission(self, request) -> bool:
        # A blocked account keeps no access anywhere, even if it still holds a staff session.
        return super().has_permission(request) and not request.user.is_blocked

    def get_urls(self):
        # admin_view: staff only (anyone else goes to the admin login), CSRF-protected, never cached.
        return [path("analytics/", self.admin_view(self.analytics_view), name="analytics"), *super().get_urls()]

    def analytics_view(self, request):
        return analytics_page(request, site=self)
