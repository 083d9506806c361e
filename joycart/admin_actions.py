"""What the read-only admin screens share: no hand edits, and actions that first ask for what they need.

Money and order states change only through the services, so these screens allow no add, change or
delete. Their writes are actions; one that needs a reason, a note or a UTR first shows a page of its
own (`templates/admin/action_confirmation.html`) and acts when that page is posted back with "apply".
"""

from collections.abc import Iterable, Sequence

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.template.response import TemplateResponse


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AskFirstActionsMixin:
    """For a ModelAdmin whose actions ask first: the page's form, and the page itself."""

    def asking_form(self, request, form_class: type[forms.Form], **kwargs) -> forms.Form:
        """Bound only when the asking page was posted back; the changelist's own POST leaves it unbound."""
        return form_class(request.POST if "apply" in request.POST else None, **kwargs)

    def asking_page(
        self,
        request,
        *,
        action: str,
        title: str,
        template: str,
        form: forms.Form,
        rows: dict[str, Sequence],
        selected_ids: Iterable[int] | None = None,
    ) -> TemplateResponse:
        """The asking page: `rows` names the listed objects for the template; the selection posted back is
        their ids unless the action listed something else than what was selected (an order's items)."""
        (listed,) = rows.values()
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": self.model._meta,
            "form": form,
            **rows,
            "selected_ids": list(selected_ids) if selected_ids is not None else [row.pk for row in listed],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": action,
        }
        return TemplateResponse(request, template, context)
