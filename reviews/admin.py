"""Review moderation. Staff hide or show reviews through the service, so each product's rating
follows at once; nothing else is edited here, and reviews are deleted only by their authors."""

from django.contrib import admin, messages
from django.db.models import QuerySet

from reviews.models import Review
from reviews.services import review_hide, review_unhide


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["product", "user", "rating", "short_comment", "is_hidden", "created_at", "edited_at"]
    list_filter = ["rating", "is_hidden", "created_at"]
    search_fields = ["product__title", "product__variants__sku", "user__username", "user__email", "comment"]
    list_select_related = ["product", "user"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    actions = ["hide_reviews", "unhide_reviews"]
    fields = [
        "product",
        "user",
        "rating",
        "comment",
        "created_at",
        "edited_at",
        "is_hidden",
        "hidden_at",
        "hidden_by",
    ]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # A bulk delete would bypass the service and leave the products' ratings wrong.
        return False

    @admin.display(description="comment")
    def short_comment(self, review: Review) -> str:
        return review.comment if len(review.comment) <= 80 else f"{review.comment[:79]}…"

    def _moderate(self, request, queryset: QuerySet[Review], *, hide: bool) -> None:
        service = review_hide if hide else review_unhide
        changed = 0
        for review_id, was_hidden in queryset.values_list("pk", "is_hidden"):
            if was_hidden != hide:
                service(review_id=review_id, actor=request.user)
                changed += 1
        verb = "hidden" if hide else "shown again"
        self.message_user(request, f"{changed} review{'s' if changed != 1 else ''} {verb}.", messages.SUCCESS)

    # Moderation changes what shoppers see and the ratings: staff who may only view reviews get no actions.
    @admin.action(description="Hide the selected reviews (they stop counting in the rating)", permissions=["change"])
    def hide_reviews(self, request, queryset):
        self._moderate(request, queryset, hide=True)

    @admin.action(description="Show the selected reviews again", permissions=["change"])
    def unhide_reviews(self, request, queryset):
        self._moderate(request, queryset, hide=False)
