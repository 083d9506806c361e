from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class JoyCartAdminConfig(AdminConfig):
    default_site = "joycart.admin_site.JoyCartAdminSite"


class JoyCartConfig(AppConfig):
    """Start-up wiring of the project itself, which no one app owns."""

    name = "joycart"

    def ready(self) -> None:
        from django.core.signals import request_finished
        from django.urls import register_converter

        from joycart.ids import IdPathConverter
        from joycart.request_log import forget_request_id
        from joycart.tasks import request_ids_follow_tasks
        from joycart.text import nul_validator_adopt

        # Before any URLconf is imported: their patterns name the converter.
        register_converter(IdPathConverter, "id")
        nul_validator_adopt()
        request_finished.connect(forget_request_id, dispatch_uid="joycart-forget-request-id")
        request_ids_follow_tasks()
