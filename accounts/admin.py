from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef
from django.http import HttpResponseRedirect
from django.urls import reverse

from accounts.errors import AdminAccountProtected
from accounts.models import Address, Store, User
from accounts.services.stores import store_save
from accounts.services.users import (
    announce_user_renamed,
    user_block,
    user_demote_admin,
    user_is_admin_account,
    user_manageable_by,
    user_may_grant_permissions,
    user_promote_to_admin,
    user_require_manageable,
    user_unblock,
)
from joycart.errors import DomainError


class IsSellerFilter(admin.SimpleListFilter):
    title = "seller"
    parameter_name = "seller"

    def lookups(self, request, model_admin):
        return [("yes", "Sellers"), ("no", "Shoppers only")]

    def queryset(self, request, queryset):
        has_store = Exists(Store.objects.filter(user=OuterRef("pk"), is_active=True))
        if self.value() == "yes":
            return queryset.filter(has_store)
        if self.value() == "no":
            return queryset.exclude(has_store)
        return queryset


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "store_name", "is_staff", "is_blocked", "date_joined", "last_login"]
    list_filter = [IsSellerFilter, "is_staff", "is_blocked", "is_active"]
    list_select_related = ["store"]
    search_fields = ["username", "email", "first_name", "last_name"]
    ordering = ["-date_joined"]
    # Blocking and admin rights change only through the actions below, which enforce the rules.
    readonly_fields = [
        "is_staff", "is_superuser", "is_blocked", "blocked_at", "last_login", "date_joined", "created_at", "updated_at",
    ]  # fmt: skip
    actions = ["block_users", "unblock_users", "promote_to_admin", "demote_admin"]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "email", "usable_password", "password1", "password2"]}),
    ]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        ("Blocking", {"fields": ["is_blocked", "blocked_at"]}),
        ("Timestamps", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="store", ordering="store__name")
    def store_name(self, user: User) -> str:
        store = getattr(user, "store", None)
        return store.name if store else "—"

    def get_readonly_fields(self, request, obj=None):
        readonly = [*super().get_readonly_fields(request, obj)]
        if not user_may_grant_permissions(actor=request.user):
            readonly += ["groups", "user_permissions"]
        if obj is not None and user_is_admin_account(obj):
            # Deactivating an admin would bypass the last-superuser rule: demote them first.
            readonly.append("is_active")
        return readonly

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and {"username", "first_name", "last_name"} & set(form.changed_data):
            announce_user_renamed(obj)

    def has_change_permission(self, request, obj=None) -> bool:
        # Also guards the password form, which asks this with the account it would change.
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or user_manageable_by(actor=request.user, user=obj))

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or user_manageable_by(actor=request.user, user=obj))

    def _refuse_protected_account(self, request, object_id: str) -> HttpResponseRedirect | None:
        """Staff who may change users, sent to change an admin account: explain, instead of a bare 403."""
        user = self.get_object(request, unquote(object_id))
        if user is None or not super().has_change_permission(request, user):
            return None
        try:
            user_require_manageable(actor=request.user, user=user)
        except AdminAccountProtected as exc:
            self.message_user(request, f"{exc.message} Nothing was changed.", level=messages.ERROR)
            return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))
        return None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST" and (refused := self._refuse_protected_account(request, object_id)):
            return refused
        return super().change_view(request, object_id, form_url, extra_context)

    def user_change_password(self, request, id, form_url=""):
        if refused := self._refuse_protected_account(request, id):
            return refused
        return super().user_change_password(request, id, form_url)

    def _apply(self, request, queryset, service, verb: str) -> None:
        """Run a service on each selected user; refusals are reported, the rest are logged."""
        done = 0
        for user in queryset:
            try:
                service(actor=request.user, user=user)
            except DomainError as exc:
                self.message_user(request, exc.message, level=messages.ERROR)
                continue
            self.log_change(request, user, f"{verb.capitalize()} via admin action.")
            done += 1
        if done:
            self.message_user(request, f"{verb.capitalize()} {done} user(s).", level=messages.SUCCESS)

    @admin.action(description="Block selected users", permissions=["change"])
    def block_users(self, request, queryset):
        self._apply(request, queryset, user_block, "blocked")

    @admin.action(description="Unblock selected users", permissions=["change"])
    def unblock_users(self, request, queryset):
        self._apply(request, queryset, user_unblock, "unblocked")

    @admin.action(description="Promote selected users to admin", permissions=["change"])
    def promote_to_admin(self, request, queryset):
        self._apply(request, queryset, user_promote_to_admin, "promoted")

    @admin.action(description="Demote selected admins", permissions=["change"])
    def demote_admin(self, request, queryset):
        self._apply(request, queryset, user_demote_admin, "demoted")


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "is_active", "created_at"]
    list_filter = ["is_active"]
    list_select_related = ["user"]
    search_fields = ["name", "slug", "user__username", "user__email"]
    prepopulated_fields = {"slug": ["name"]}
    raw_id_fields = ["user"]
    readonly_fields = ["created_at"]

    def save_model(self, request, obj, form, change):
        store_save(store=obj, changed_fields=form.changed_data)


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "city", "state", "pincode", "is_default"]
    list_filter = ["state", "is_default"]
    list_select_related = ["user"]
    search_fields = ["name", "user__username", "city", "pincode"]
    raw_id_fields = ["user"]


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    def get_readonly_fields(self, request, obj=None):
        readonly = [*super().get_readonly_fields(request, obj)]
        if not user_may_grant_permissions(actor=request.user):
            # A staff member in a group could otherwise give that group every permission.
            readonly.append("permissions")
        return readonly
