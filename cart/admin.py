from django.contrib import admin
from django.db.models import Count, Sum

from cart.models import Cart, CartItem


class CartItemInline(admin.TabularInline):
    """Read-only: a cart is the shopper's to change, through the cart rules."""

    model = CartItem
    fields = ["variant", "quantity", "added_at", "updated_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant__product")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ["user", "lines", "items", "updated_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email"]
    readonly_fields = ["user", "created_at", "updated_at"]
    inlines = [CartItemInline]
    ordering = ["-updated_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(line_count=Count("items"), item_total=Sum("items__quantity"))

    @admin.display(description="lines", ordering="line_count")
    def lines(self, cart: Cart) -> int:
        return cart.line_count

    @admin.display(description="items", ordering="item_total")
    def items(self, cart: Cart) -> int:
        return cart.item_total or 0

    def has_add_permission(self, request) -> bool:
        return False
