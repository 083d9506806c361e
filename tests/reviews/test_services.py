"""The review rules: who may review, once per product, and the product's rating after every change."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from catalog.cache import listing_version, product_versions
from joycart.errors import InvalidText, NotFound
from orders.services import lifecycle
from orders.services.lifecycle import order_item_cancel
from reviews.errors import AlreadyReviewed, CommentTooLong, InvalidComment, InvalidRating, NotEligible
from reviews.models import Review
from reviews.selectors import ReviewStanding, rating_distribution, review_standing
from reviews.services import review_create, review_delete, review_hide, review_unhide, review_update
from tests.factories import ProductFactory, UserFactory
from tests.reviews.helpers import S, item_at, product_rating, review_of

pytestmark = pytest.mark.django_db


def write(user, product, rating=5, comment="Lovely."):
    return review_create(user=user, product_id=product.pk, rating=rating, comment=comment)


class TestEligibility:
    def test_a_buyer_may_review_only_once_an_item_is_delivered(self, buyer, product):
        def standing() -> str:
            return review_standing(user=buyer, product_id=product.pk, seller_user_id=product.store.user_id).state

        # No order at all.
        assert standing() == ReviewStanding.NOT_ELIGIBLE
        with pytest.raises(NotEligible):
            write(buyer, product)
        # Placed, then confirmed, then shipped: still not received.
        item = item_at(buyer, product, S.PLACED)
        for mover in ("confirm", "ship"):
            assert standing() == ReviewStanding.NOT_ELIGIBLE
            with pytest.raises(NotEligible) as refused:
                write(buyer, product)
            assert refused.value.code == "not_eligible" and refused.value.status_code == 403
            item = getattr(lifecycle, f"order_item_{mover}")(item_id=item.pk, actor=product.store.user)
        assert item.status == S.SHIPPED
        assert standing() == ReviewStanding.NOT_ELIGIBLE
        with pytest.raises(NotEligible):
            write(buyer, product)
        # Delivered: now they may.
        lifecycle.order_item_deliver(item_id=item.pk, actor=product.store.user)
        assert standing() == ReviewStanding.CAN_REVIEW
        review = write(buyer, product, rating=4)
        assert (review.rating, review.user, review.product_id) == (4, buyer, product.pk)
        assert standing() == ReviewStanding.REVIEWED

    def test_a_cancelled_item_does_not_make_a_reviewer(self, buyer, product):
        item = item_at(buyer, product, S.PLACED)
        order_item_cancel(item_id=item.pk, actor=buyer, reason="Changed my mind.")
        with pytest.raises(NotEligible):
            write(buyer, product)

    def test_a_delivery_of_another_product_does_not_count(self, buyer, product):
        item_at(buyer, ProductFactory(store=product.store))
        with pytest.raises(NotEligible):
            write(buyer, product)

    def test_someone_else_receiving_it_does_not_count(self, reviewer, buyer, product):
        with pytest.raises(NotEligible):
            write(buyer, product)
        assert Review.objects.count() == 0

    def test_the_seller_is_told_they_do_not_review_their_own_product(self, product):
        seller = product.store.user
        assert (
            review_standing(user=seller, product_id=product.pk, seller_user_id=seller.pk).state
            == ReviewStanding.OWN_PRODUCT
        )


class TestOneReviewPerProduct:
    def test_a_second_review_is_refused_with_a_conflict(self, reviewer, product):
        write(reviewer, product, rating=5)
        with pytest.raises(AlreadyReviewed) as refused:
            write(reviewer, product, rating=1)
        assert refused.value.status_code == 409 and refused.value.code == "already_reviewed"
        assert Review.objects.filter(user=reviewer).count() == 1
        assert product_rating(product) == ("5.00", 1)

    def test_two_deliveries_still_make_one_review(self, reviewer, product):
        item_at(reviewer, product)
        write(reviewer, product)
        with pytest.raises(AlreadyReviewed):
            write(reviewer, product)

    def test_the_database_refuses_a_twin_that_skipped_the_service(self, reviewer, product):
        write(reviewer, product)
        with pytest.raises(IntegrityError), transaction.atomic():
            Review.objects.create(user=reviewer, product=product, rating=3)

    def test_the_database_refuses_a_rating_outside_1_to_5(self, reviewer, product):
        for rating in (0, 6):
            with pytest.raises(IntegrityError), transaction.atomic():
                Review.objects.create(user=reviewer, product=product, rating=rating)

    def test_the_database_refuses_a_comment_over_2000_characters(self, reviewer, product):
        with pytest.raises(IntegrityError), transaction.atomic():
            Review.objects.create(user=reviewer, product=product, rating=3, comment="x" * 2001)

    def test_after_deleting_it_the_buyer_may_review_again(self, reviewer, product):
        review = write(reviewer, product, rating=2)
        review_delete(user=reviewer, review_id=review.pk)
        write(reviewer, product, rating=4)
        assert product_rating(product) == ("4.00", 1)


class TestValidation:
    @pytest.mark.parametrize("rating", [0, 6, -1, 4.5, "4.5", "five", None, True, "", [5]])
    def test_ratings_other_than_1_to_5_are_refused(self, reviewer, product, rating):
        with pytest.raises(InvalidRating):
            write(reviewer, product, rating=rating)
        assert not Review.objects.exists()

    def test_a_rating_typed_as_text_is_accepted(self, reviewer, product):
        assert write(reviewer, product, rating=" 3 ").rating == 3

    def test_the_comment_may_be_2000_characters_but_not_2001(self, reviewer, product):
        with pytest.raises(CommentTooLong) as refused:
            write(reviewer, product, comment="é" * 2001)
        assert refused.value.code == "comment_too_long"
        assert len(write(reviewer, product, comment="é" * 2000).comment) == 2000

    def test_a_comment_that_is_not_text_is_refused(self, reviewer, product):
        with pytest.raises(InvalidComment):
            write(reviewer, product, comment={"html": "<b>"})

    def test_a_comment_with_a_nul_character_is_refused_whatever_the_door(self, reviewer, product):
        """PostgreSQL cannot store NUL: the service refuses it, not only the form and the API parser."""
        with pytest.raises(InvalidText) as refused:
            write(reviewer, product, comment="Lovely\x00")
        assert refused.value.code == "invalid_text"
        assert review_of(reviewer, product) is None

    def test_the_comment_is_stored_as_typed_without_surrounding_space(self, reviewer, product):
        review = write(reviewer, product, comment="  <script>alert(1)</script> & more\n")
        assert review.comment == "<script>alert(1)</script> & more"

    def test_a_refused_edit_changes_nothing(self, reviewer, product):
        review = write(reviewer, product, rating=5, comment="Good.")
        with pytest.raises(InvalidRating):
            review_update(user=reviewer, review_id=review.pk, rating=9, comment="Changed")
        review.refresh_from_db()
        assert (review.rating, review.comment, review.edited_at) == (5, "Good.", None)


class TestOwnReviewsOnly:
    def test_another_users_review_cannot_be_edited_or_deleted(self, reviewer, product):
        review = write(reviewer, product, rating=5)
        intruder = UserFactory()
        with pytest.raises(NotFound):
            review_update(user=intruder, review_id=review.pk, rating=1)
        with pytest.raises(NotFound):
            review_delete(user=intruder, review_id=review.pk)
        review.refresh_from_db()
        assert review.rating == 5
        assert product_rating(product) == ("5.00", 1)

    def test_the_author_edits_and_the_edit_is_dated(self, reviewer, product):
        review = write(reviewer, product, rating=5, comment="Good.")
        edited = review_update(user=reviewer, review_id=review.pk, comment="Faded after one wash.")
        assert (edited.rating, edited.comment) == (5, "Faded after one wash.")
        assert edited.edited_at is not None and edited.edited_at >= edited.created_at


class TestProductRating:
    def test_average_and_count_follow_create_edit_delete_hide_and_unhide(self, product, verified_buyers, staff):
        first, second, third = verified_buyers(3)
        assert product_rating(product) == ("0.00", 0)

        a = write(first, product, rating=5)
        assert product_rating(product) == ("5.00", 1)
        b = write(second, product, rating=4)
        c = write(third, product, rating=4)
        assert product_rating(product) == ("4.33", 3)  # 13 / 3, rounded half up

        review_update(user=second, review_id=b.pk, rating=1)
        assert product_rating(product) == ("3.33", 3)

        review_hide(review_id=c.pk, actor=staff)
        assert product_rating(product) == ("3.00", 2)
        c.refresh_from_db()
        assert c.is_hidden and c.hidden_by == staff and c.hidden_at is not None

        review_delete(user=first, review_id=a.pk)
        assert product_rating(product) == ("1.00", 1)

        review_unhide(review_id=c.pk, actor=staff)
        assert product_rating(product) == ("2.50", 2)
        c.refresh_from_db()
        assert not c.is_hidden and c.hidden_by is None and c.hidden_at is None

        review_delete(user=second, review_id=b.pk)
        review_hide(review_id=c.pk, actor=staff)
        assert product_rating(product) == ("0.00", 0)

    def test_an_edit_of_a_hidden_review_does_not_count(self, reviewer, product, staff):
        review = write(reviewer, product, rating=5)
        review_hide(review_id=review.pk, actor=staff)
        review_update(user=reviewer, review_id=review.pk, rating=1)
        assert product_rating(product) == ("0.00", 0)
        assert Review.objects.get(pk=review.pk).is_hidden

    def test_hiding_twice_changes_nothing_more(self, reviewer, product, staff):
        review = write(reviewer, product)
        first = review_hide(review_id=review.pk, actor=staff)
        again = review_hide(review_id=review.pk, actor=UserFactory(is_staff=True))
        assert again.hidden_at == first.hidden_at and again.hidden_by == staff

    def test_the_rating_never_touches_the_sellers_fields(self, reviewer, product):
        product.refresh_from_db()
        before = (product.updated_at, product.stock, product.price, product.title)
        write(reviewer, product)
        product.refresh_from_db()
        assert (product.updated_at, product.stock, product.price, product.title) == before
        assert product.rating_avg == Decimal("5.00")

    def test_the_distribution_counts_visible_reviews_per_star(self, product, verified_buyers, staff):
        buyers = verified_buyers(4)
        for buyer, rating in zip(buyers, (5, 5, 3, 1), strict=True):
            write(buyer, product, rating=rating)
        review_hide(review_id=review_of(buyers[3], product).pk, actor=staff)
        bars = rating_distribution(product_id=product.pk)
        assert [(bar.stars, bar.count, bar.percent) for bar in bars] == [
            (5, 2, 67),
            (4, 0, 0),
            (3, 1, 33),
            (2, 0, 0),
            (1, 0, 0),
        ]


class TestCaches:
    def test_every_review_change_refreshes_the_product_page_and_the_listings(
        self, reviewer, product, staff, django_capture_on_commit_callbacks
    ):
        def versions():
            return listing_version(), product_versions(product.pk)

        steps = [
            lambda: write(reviewer, product, rating=3),
            lambda: review_update(user=reviewer, review_id=review_of(reviewer, product).pk, rating=4),
            lambda: review_hide(review_id=review_of(reviewer, product).pk, actor=staff),
            lambda: review_unhide(review_id=review_of(reviewer, product).pk, actor=staff),
            lambda: review_delete(user=reviewer, review_id=review_of(reviewer, product).pk),
        ]
        for step in steps:
            before = versions()
            with django_capture_on_commit_callbacks(execute=True):
                step()
            after = versions()
            assert after[0] != before[0], "the listing shows stars and sorts by rating"
            assert after[1][1] != before[1][1], "the product page shows the reviews"
