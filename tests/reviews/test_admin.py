"""Review moderation in the admin: filters, search, and hide/unhide through the service."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from reviews.models import Review
from reviews.services import review_create
from tests.factories import UserFactory
from tests.reviews.helpers import product_rating

pytestmark = pytest.mark.django_db

LIST = "/admin/reviews/review/"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def reviews(product, verified_buyers):
    buyers = verified_buyers(3)
    return [
        review_create(user=buyer, product_id=product.pk, rating=rating, comment=comment)
        for buyer, rating, comment in zip(
            buyers, (5, 4, 1), ("Lovely colours", "Good value", "Buy from elsewhere, see my blog"), strict=True
        )
    ]


def listed(response) -> list[int]:
    assert response.status_code == 200
    return sorted(review.pk for review in response.context["cl"].result_list)


def test_filters_and_search(admin_client, reviews):
    five, four, one = reviews
    assert listed(admin_client.get(LIST, {"rating": "5"})) == [five.pk]
    assert listed(admin_client.get(LIST, {"q": "value"})) == [four.pk]
    assert listed(admin_client.get(LIST)) == sorted(r.pk for r in reviews)
    assert listed(admin_client.get(LIST, {"rating": "1"})) == [one.pk]
    assert listed(admin_client.get(LIST, {"q": "blog"})) == [one.pk]
    assert listed(admin_client.get(LIST, {"is_hidden__exact": "1"})) == []
    assert listed(admin_client.get(LIST, {"created_at__gte": "2000-01-01 00:00:00+00:00"})) == sorted(
        r.pk for r in reviews
    )


def test_hide_and_unhide_actions_update_the_rating_and_the_page(
    admin_client, admin_user, product, reviews, django_capture_on_commit_callbacks
):
    spam = reviews[2]
    anonymous = Client()
    assert "see my blog" in anonymous.get(f"/products/{product.slug}/").content.decode()
    assert product_rating(product) == ("3.33", 3)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(LIST, {"action": "hide_reviews", "_selected_action": [spam.pk]}, follow=True)
    assert "1 review hidden." in response.content.decode()
    spam.refresh_from_db()
    assert spam.is_hidden and spam.hidden_by == admin_user
    assert product_rating(product) == ("4.50", 2)
    assert "see my blog" not in anonymous.get(f"/products/{product.slug}/").content.decode()
    assert listed(admin_client.get(LIST, {"is_hidden__exact": "1"})) == [spam.pk]

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            LIST, {"action": "unhide_reviews", "_selected_action": [r.pk for r in reviews]}, follow=True
        )
    assert "1 review shown again." in response.content.decode()
    assert product_rating(product) == ("3.33", 3)
    assert "see my blog" in anonymous.get(f"/products/{product.slug}/").content.decode()


def test_reviews_cannot_be_added_edited_or_deleted_by_hand(admin_client, reviews):
    review = reviews[0]
    assert admin_client.get(f"{LIST}add/").status_code == 403
    assert admin_client.get(f"{LIST}{review.pk}/delete/").status_code == 403
    admin_client.post(f"{LIST}{review.pk}/change/", {"rating": "1", "comment": "changed"})
    review.refresh_from_db()
    assert (review.rating, review.comment) == (5, "Lovely colours")
    response = admin_client.post(LIST, {"action": "delete_selected", "_selected_action": [review.pk]})
    assert Review.objects.filter(pk=review.pk).exists(), response.status_code


def test_the_list_has_flat_queries(admin_client, reviews, product, verified_buyers, assert_flat_query_count):
    def grow():
        for buyer in verified_buyers(10):
            review_create(user=buyer, product_id=product.pk, rating=3)

    assert_flat_query_count(lambda: admin_client.get(LIST), grow, max_queries=12)


def test_non_staff_get_no_moderation(client, reviewer):
    client.force_login(reviewer)
    response = client.get(LIST)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_staff_who_may_only_view_reviews_cannot_hide_or_unhide_them(client, reviews, product):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_review"))
    client.force_login(viewer)
    visible, hidden = reviews[0], reviews[2]
    Review.objects.filter(pk=hidden.pk).update(is_hidden=True)

    listing = client.get(LIST)
    assert listing.status_code == 200
    assert "hide_reviews" not in listing.content.decode()
    client.post(LIST, {"action": "hide_reviews", "_selected_action": [visible.pk]})  # forged
    client.post(LIST, {"action": "unhide_reviews", "_selected_action": [hidden.pk]})

    assert list(Review.objects.filter(is_hidden=True).values_list("pk", flat=True)) == [hidden.pk]
    assert product_rating(product) == ("3.33", 3)
