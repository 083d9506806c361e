"""Every write of a review, and the product rating that follows from them.

Each write locks the product row first and recomputes the product's `rating_avg` and
`rating_count` from its visible reviews with one aggregate, in the same transaction. Every
review write of one product therefore runs one after the other, so two writers can never
store averages computed from different sets of reviews.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Avg, Count
from django.utils import timezone

from accounts.models import User
from catalog.cache import bump_after_commit
from catalog.locks import product_lock
from catalog.models import Product
from joycart.errors import NotFound
from joycart.numbers import bounded_int
from joycart.text import refuse_nul
from reviews.errors import AlreadyReviewed, CommentTooLong, InvalidComment, InvalidRating, NotEligible
from reviews.models import MAX_COMMENT_LENGTH, MAX_RATING, MIN_RATING, Review
from reviews.selectors import review_is_eligible

_NO_CHANGE = object()


def rating_clean(value: object) -> int:
    """A rating from any input (JSON, form text) as an int from 1 to 5, or `InvalidRating`."""
    rating = bounded_int(value, low=MIN_RATING, high=MAX_RATING)
    if rating is None:
        raise InvalidRating()
    return rating


def comment_clean(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidComment()
    refuse_nul(value)
    value = value.strip()
    if len(value) > MAX_COMMENT_LENGTH:
        raise CommentTooLong()
    return value


def _product_lock(product_id: int) -> None:
    if not product_lock(product_id=product_id):
        raise NotFound("No such product.")


def product_rating_recompute(*, product_id: int) -> None:
    """Store the product's average and count of visible reviews. Call with the product row locked."""
    figures = Review.objects.filter(product_id=product_id, is_hidden=False).aggregate(
        average=Avg("rating"), count=Count("id")
    )
    average = Decimal(figures["average"] or 0).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    # update(): never a read-modify-write of the product, and its `updated_at` stays the seller's.
    Product.objects.filter(pk=product_id).update(rating_avg=average, rating_count=figures["count"])
    # The product page, and every listing (card stars, the "rating" sort), show these figures.
    bump_after_commit(product_ids=[product_id], listing=True)


def author_renamed(*, user: User, **_signal_kwargs) -> None:
    """Receiver: the pages of the products the user reviewed show their name."""
    product_ids = list(Review.objects.filter(user=user).values_list("product_id", flat=True))
    bump_after_commit(product_ids=product_ids, listing=False)


def review_create(*, user: User, product_id: int, rating: object, comment: object = "") -> Review:
    rating, comment = rating_clean(rating), comment_clean(comment)
    if not review_is_eligible(user=user, product_id=product_id):
        raise NotEligible()
    with transaction.atomic():
        _product_lock(product_id)
        # Under the lock an earlier review is always visible here; the constraint below still
        # guards any path that does not take the lock.
        if Review.objects.filter(user=user, product_id=product_id).exists():
            raise AlreadyReviewed()
        try:
            with transaction.atomic():  # a savepoint: the outer transaction survives the refusal
                review = Review.objects.create(user=user, product_id=product_id, rating=rating, comment=comment)
        except IntegrityError as exc:
            # Rating and length were checked above, so the one rule left to break is one per user and product.
            raise AlreadyReviewed() from exc
        product_rating_recompute(product_id=product_id)
    return review


def _own_review(*, user: User, review_id: int) -> Review:
    """Another user's review answers 404, like a review that does not exist."""
    review = Review.objects.filter(pk=review_id, user=user).first()
    if review is None:
        raise NotFound("No such review.")
    return review


def review_update(*, user: User, review_id: int, rating: object = _NO_CHANGE, comment: object = _NO_CHANGE) -> Review:
    """The author edits their own review; leave out what stays as it is."""
    changes = {}
    if rating is not _NO_CHANGE:
        changes["rating"] = rating_clean(rating)
    if comment is not _NO_CHANGE:
        changes["comment"] = comment_clean(comment)
    review = _own_review(user=user, review_id=review_id)
    if not changes:
        return review
    with transaction.atomic():
        _product_lock(review.product_id)
        review = _own_review(user=user, review_id=review_id)  # again, under the lock: it may be gone
        for name, value in changes.items():
            setattr(review, name, value)
        review.edited_at = timezone.now()
        review.save(update_fields=[*changes, "edited_at"])
        product_rating_recompute(product_id=review.product_id)
    return review


def review_delete(*, user: User, review_id: int) -> None:
    """The author deletes their own review; they may then write a new one."""
    review = _own_review(user=user, review_id=review_id)
    with transaction.atomic():
        _product_lock(review.product_id)
        deleted, _ = Review.objects.filter(pk=review_id, user=user).delete()
        if not deleted:
            raise NotFound("No such review.")
        product_rating_recompute(product_id=review.product_id)


def review_set_hidden(*, review_id: int, hidden: bool, actor: User) -> Review:
    """Moderation: hide a review (it stops showing and counting) or show it again."""
    review = Review.objects.filter(pk=review_id).first()
    if review is None:
        raise NotFound("No such review.")
    with transaction.atomic():
        _product_lock(review.product_id)
        review = Review.objects.filter(pk=review_id).first()
        if review is None:  # deleted by its author meanwhile
            raise NotFound("No such review.")
        if review.is_hidden == hidden:
            return review
        review.is_hidden = hidden
        review.hidden_at = timezone.now() if hidden else None
        review.hidden_by = actor if hidden else None
        review.save(update_fields=["is_hidden", "hidden_at", "hidden_by"])
        product_rating_recompute(product_id=review.product_id)
    return review


def review_hide(*, review_id: int, actor: User) -> Review:
    return review_set_hidden(review_id=review_id, hidden=True, actor=actor)


def review_unhide(*, review_id: int, actor: User) -> Review:
    return review_set_hidden(review_id=review_id, hidden=False, actor=actor)
