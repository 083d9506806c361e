"""seed_demo's reviews: written by the demo shoppers for what was delivered to them, once."""

import pytest
from django.core.management import call_command

from orders.models import OrderItem, OrderItemStatus
from reviews.demo import DEMO_REVIEWS, seed_reviews
from reviews.models import Review


@pytest.mark.django_db
def test_seed_demo_writes_each_demo_review_once_on_a_delivered_item():
    call_command("seed_demo")
    reviews = list(Review.objects.select_related("user", "product"))
    assert len(reviews) == len(DEMO_REVIEWS) == 2
    for review in reviews:
        assert OrderItem.objects.filter(
            order__buyer=review.user, product=review.product, status=OrderItemStatus.DELIVERED
        ).exists()
        review.product.refresh_from_db()
        assert (review.product.rating_count, review.product.rating_avg) == (1, review.rating)
    assert {review.user.username for review in reviews} == {"arjun", "meera"}

    seed_reviews()
    call_command("seed_demo")
    assert sorted(Review.objects.values_list("pk", "rating", "comment")) == sorted(
        (review.pk, review.rating, review.comment) for review in reviews
    )
