"""Every admin action says which permission it needs, so staff who may only view cannot run it."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from tests.accounts.helpers import superuser


@pytest.mark.django_db
def test_every_admin_action_declares_the_permission_it_needs():
    request = RequestFactory().get("/admin/")
    request.user = superuser()  # sees every action
    undeclared = [
        f"{model._meta.label}.{name}"
        for model, model_admin in admin.site._registry.items()
        for name, action in model_admin.get_actions(request).items()
        if not getattr(action.func, "allowed_permissions", None)
    ]
    assert undeclared == []
