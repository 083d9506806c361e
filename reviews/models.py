"""Reviews: one per buyer and product, written only by buyers with a delivered item of it.

The product's `rating_avg` and `rating_count` are kept by `reviews.services`, from the
visible (not hidden) reviews only.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual

from catalog.models import Product

MIN_RATING = 1
MAX_RATING = 5
MAX_COMMENT_LENGTH = 2_000


class Review(models.Model):
    # PROTECT both ways: deleting a reviewer or a product would silently change a product's
    # average without going through the service. Reviewers are buyers, whose orders protect them anyway.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="reviews")
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True, max_length=MAX_COMMENT_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True, help_text="When the author last changed it.")

    # Moderation: a hidden review is not shown and does not count in the product's rating.
    is_hidden = models.BooleanField(default=False)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "product"], name="reviews_review_one_per_user_product"),
            models.CheckConstraint(
                condition=models.Q(rating__gte=MIN_RATING, rating__lte=MAX_RATING), name="reviews_review_rating_1_to_5"
            ),
            # The same limit as the form and the API, so no other path can store a longer text.
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("comment"), MAX_COMMENT_LENGTH),
                name="reviews_review_comment_max_length",
            ),
        ]
        indexes = [models.Index(fields=["product", "is_hidden", "-created_at"], name="reviews_review_product_newest")]

    def __str__(self) -> str:
        return f"{self.rating}★ for {self.product_id} by {self.user_id}"

    @property
    def author_name(self) -> str:
        """First name and last initial: enough to be a person, not enough to find them."""
        first, last = self.user.first_name.strip(), self.user.last_name.strip()
        if first:
            return f"{first} {last[0]}." if last else first
        return self.user.username
