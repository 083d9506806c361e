"""Reads of reviews: what a product page and the API show, and where a user stands."""

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from orders.models import DELIVERED_STATUSES, OrderItem
from reviews.models import MAX_RATING, MIN_RATING, Review

REVIEWS_PER_PAGE = 10
# A buyer may review a product once an item of it reached them, whatever became of it since: a returned
# item was still received, and a return is often what a review is about.
REVIEWABLE_STATUSES = DELIVERED_STATUSES


def product_reviews(*, product_id: int) -> QuerySet[Review]:
    """The reviews shoppers see, newest first: hidden ones never leave the database."""
    return (
        Review.objects.filter(product_id=product_id, is_hidden=False)
        .select_related("user")
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class RatingBar:
    stars: int
    count: int
    percent: int


def rating_distribution(*, product_id: int) -> list[RatingBar]:
    """How many visible reviews gave each rating, 5★ first, in one query."""
    counts = dict(
        Review.objects.filter(product_id=product_id, is_hidden=False)
        .values_list("rating")
        .annotate(count=Count("id"))
        .order_by()
    )
    total = sum(counts.values())
    return [
        RatingBar(stars, counts.get(stars, 0), round(100 * counts.get(stars, 0) / total) if total else 0)
        for stars in range(MAX_RATING, MIN_RATING - 1, -1)
    ]


def review_is_eligible(*, user: User, product_id: int) -> bool:
    """Has the user received at least one item of this product?"""
    return OrderItem.objects.filter(order__buyer=user, product_id=product_id, status__in=REVIEWABLE_STATUSES).exists()


def item_invites_review(item: OrderItem) -> bool:
    """Whether the buyer's order page offers a review of this item's product."""
    return item.status in REVIEWABLE_STATUSES


@dataclass(frozen=True)
class ReviewStanding:
    """Whether the user may review the product now and, if not, why."""

    SIGN_IN = "sign_in"
    OWN_PRODUCT = "own_product"
    NOT_ELIGIBLE = "not_eligible"
    CAN_REVIEW = "can_review"
    REVIEWED = "reviewed"

    state: str
    own_review: Review | None = None

    @property
    def can_review(self) -> bool:
        return self.state == self.CAN_REVIEW


def review_standing(*, user: User | AnonymousUser, product_id: int, seller_user_id: int) -> ReviewStanding:
    """At most two queries, whatever the number of reviews."""
    if not user.is_authenticated:
        return ReviewStanding(ReviewStanding.SIGN_IN)
    if user.pk == seller_user_id:
        return ReviewStanding(ReviewStanding.OWN_PRODUCT)
    own = Review.objects.filter(user=user, product_id=product_id).first()
    if own is not None:
        return ReviewStanding(ReviewStanding.REVIEWED, own_review=own)
    if review_is_eligible(user=user, product_id=product_id):
        return ReviewStanding(ReviewStanding.CAN_REVIEW)
    return ReviewStanding(ReviewStanding.NOT_ELIGIBLE)


def user_review_get(*, user: User, review_id: int) -> Review:
    """The user's own review; anyone else's answers 404."""
    return get_object_or_404(Review.objects.select_related("product", "user"), pk=review_id, user=user)
