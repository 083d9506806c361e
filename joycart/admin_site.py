from django.contrib import admin


class JoyCartAdminSite(admin.AdminSite):
    site_header = "JoyCart administration"
    site_title = "JoyCart admin"
    index_title = "Shop administration"

    def has_permission(self, request) -> bool:
        # A blocked account keeps no access anywhere, even if it still holds a staff session.
        return super().has_permission(request) and not request.user.is_blocked
