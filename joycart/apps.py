from django.contrib.admin.apps import AdminConfig


class JoyCartAdminConfig(AdminConfig):
    default_site = "joycart.admin_site.JoyCartAdminSite"
