from django.contrib import admin

from catalog.cache import bump_after_commit
from catalog.models import Category, Product, ProductImage, ProductVariant
from catalog.services.products import product_delete, product_update


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "parent", "slug"]
    list_select_related = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "parent":
            # One level of sub-categories: only top-level categories can be parents.
            kwargs["queryset"] = Category.objects.filter(parent__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # A category's name, parent and return window show on its products' pages and on the listings.
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        bump_after_commit(structure=True)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        bump_after_commit(structure=True)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        bump_after_commit(structure=True)


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ["thumbnail", "alt", "position"]
    readonly_fields = ["thumbnail"]


class ProductVariantInline(admin.TabularInline):
    """Shown, not edited: sellers edit variants in the portal, where every change goes through the
    services that keep stock, SKUs and the product's price summary right."""

    model = ProductVariant
    extra = 0
    fields = ["sku", "option1", "option2", "option3", "price", "mrp", "stock", "is_active", "position"]
    readonly_fields = fields
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """For support staff: sellers manage products in the portal. Stock is read-only here,
    because a form save would overwrite sales made while it was open."""

    list_display = ["title", "store", "category", "price", "price_max", "stock", "is_active", "updated_at"]
    list_filter = ["is_active", "category", "store"]
    list_select_related = ["store", "category"]
    search_fields = ["title", "variants__sku", "brand", "store__name"]
    readonly_fields = [
        "store", "slug", "price", "price_max", "mrp", "stock", "rating_avg", "rating_count", "created_at", "updated_at",
    ]  # fmt: skip
    fields = [
        "store", "title", "slug", "category", "brand", "description", "price", "price_max", "mrp", "stock",
        "is_active", "rating_avg", "rating_count", "created_at", "updated_at",
    ]  # fmt: skip
    inlines = [ProductVariantInline, ProductImageInline]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        # The form has validated the constraints; the service saves, reindexes and refreshes caches.
        product_update(product=obj, **{name: form.cleaned_data[name] for name in form.changed_data})

    # Only a product that never sold reaches these (the admin refuses what orders protect). The service
    # deletes it as the seller's portal does: its pictures' files once the row is gone, the shop's pages after.
    def delete_model(self, request, obj):
        product_delete(product=obj)

    def delete_queryset(self, request, queryset):
        for product in queryset:
            product_delete(product=product)
