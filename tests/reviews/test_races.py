"""Real threads racing on PostgreSQL: one review per buyer and product, and a rating that adds up."""

import pytest

from reviews.models import Review
from reviews.services import review_create, review_hide, review_update
from tests.factories import ProductFactory, UserFactory
from tests.orders.helpers import bearer, make_buyer, run_concurrently
from tests.reviews.helpers import item_at, product_rating

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_six_concurrent_posts_by_one_buyer_make_exactly_one_review():
    product = ProductFactory(stock=20)
    buyer = make_buyer()
    item_at(buyer, product)
    clients = [bearer(buyer) for _ in range(6)]

    responses = run_concurrently(
        lambda i: clients[i].post(
            f"/api/v1/products/{product.pk}/reviews/", {"rating": i % 5 + 1, "comment": f"try {i}"}, format="json"
        ),
        6,
    )

    statuses = sorted(getattr(response, "status_code", response) for response in responses)
    assert statuses == [201] + [409] * 5, [getattr(r, "content", r) for r in responses]
    assert all(r.json()["code"] == "already_reviewed" for r in responses if r.status_code == 409)
    assert Review.objects.filter(user=buyer, product=product).count() == 1
    winner = Review.objects.get(user=buyer, product=product)
    assert product_rating(product) == (f"{winner.rating}.00", 1)


def test_concurrent_reviews_edits_and_hides_leave_the_rating_of_the_visible_reviews():
    product = ProductFactory(stock=40)
    staff = UserFactory(is_staff=True)
    early = [make_buyer() for _ in range(4)]
    late = [make_buyer() for _ in range(8)]
    for buyer in early + late:
        item_at(buyer, product)
    reviews = [review_create(user=buyer, product_id=product.pk, rating=5) for buyer in early]

    def act(i: int):
        if i < len(late):
            return review_create(user=late[i], product_id=product.pk, rating=i % 5 + 1)
        j = i - len(late)
        if j < 2:
            return review_update(user=early[j], review_id=reviews[j].pk, rating=1)
        return review_hide(review_id=reviews[j].pk, actor=staff)

    results = run_concurrently(act, len(late) + len(early))

    assert not [result for result in results if isinstance(result, Exception)], results
    visible = list(Review.objects.filter(product=product, is_hidden=False).values_list("rating", flat=True))
    assert len(visible) == 10
    expected = f"{sum(visible) / len(visible):.2f}"
    assert product_rating(product) == (expected, 10)
