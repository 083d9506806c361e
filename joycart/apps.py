from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class JoyCartAdminConfig(AdminConfig):
    default_site = "joycart.admin_site.JoyCartAdminSite"


class JoyCartConfig(AppConfig):
    """Start-up wiring of the project itself, which no one app owns."""

    name = "joycart"

    def ready(self) -> None:
        from joycart.text import nul_validator_adopt

        nul_validator_adopt()
