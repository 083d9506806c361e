"""The reviews API: public reads, buyer writes, own-review edits, stable error codes."""

import pytest
from rest_framework.test import APIClient

from catalog.services.products import product_set_active
from reviews.models import Review
from reviews.services import review_create, review_hide
from tests.conftest import api_login, csrf_token
from tests.factories import ProductFactory, UserFactory
from tests.orders.helpers import bearer, make_buyer
from tests.reviews.helpers import S, item_at, product_rating

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def reviews_url(product_id: int) -> str:
    return f"/api/v1/products/{product_id}/reviews/"


def review_url(review_id: int) -> str:
    return f"/api/v1/reviews/{review_id}/"


def post_review(client, product, **body):
    return client.post(reviews_url(product.pk), {"rating": 5, "comment": "Lovely.", **body}, format="json")


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["code"] == code, response.json()
    assert response.json()["detail"]


class TestReading:
    def test_anyone_reads_a_products_reviews_newest_first_without_hidden_ones(self, product, verified_buyers, staff):
        first, second, third = verified_buyers(3)
        old = review_create(user=first, product_id=product.pk, rating=2, comment="Meh.")
        hidden = review_create(user=second, product_id=product.pk, rating=1, comment="Spam spam.")
        new = review_create(user=third, product_id=product.pk, rating=5, comment="Great.")
        review_hide(review_id=hidden.pk, actor=staff)

        response = APIClient().get(reviews_url(product.pk))

        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 2
        assert [r["id"] for r in body["results"]] == [new.pk, old.pk]
        assert body["results"][0] == {
            "id": new.pk,
            "product_id": product.pk,
            "author": third.first_name,
            "rating": 5,
            "comment": "Great.",
            "created_at": body["results"][0]["created_at"],
            "edited_at": None,
        }

    def test_the_list_is_paginated(self, product, verified_buyers):
        for buyer in verified_buyers(3):
            review_create(user=buyer, product_id=product.pk, rating=4)
        body = APIClient().get(reviews_url(product.pk), {"page_size": 2}).json()
        assert (body["count"], len(body["results"])) == (3, 2) and body["next"]
        assert len(APIClient().get(body["next"]).json()["results"]) == 1

    def test_the_author_is_a_first_name_and_initial_never_the_full_name_or_email(self, product, reviewer):
        review_create(user=reviewer, product_id=product.pk, rating=4)
        body = APIClient().get(reviews_url(product.pk)).text
        assert '"author":"Meera I."' in body
        assert "Iyer" not in body and reviewer.email not in body and reviewer.username not in body

    def test_a_comment_comes_back_as_the_plain_text_typed(self, logged_in_client, user, product):
        item_at(user, product)
        assert post_review(logged_in_client, product, comment=XSS).json()["comment"] == XSS
        response = APIClient().get(reviews_url(product.pk))
        assert response["Content-Type"] == "application/json"
        assert response.json()["results"][0]["comment"] == XSS

    def test_an_unknown_or_hidden_product_answers_404(self, product):
        assert APIClient().get(reviews_url(product.pk + 1000)).status_code == 404
        product_set_active(product=product, is_active=False)
        assert APIClient().get(reviews_url(product.pk)).status_code == 404

    def test_a_cached_anonymous_list_shows_a_new_review_at_once(
        self, product, reviewer, django_capture_on_commit_callbacks
    ):
        anonymous = APIClient()
        assert anonymous.get(reviews_url(product.pk)).json()["count"] == 0
        with django_capture_on_commit_callbacks(execute=True):
            response = bearer(reviewer).post(reviews_url(product.pk), {"rating": 3}, format="json")
        assert response.status_code == 201
        assert anonymous.get(reviews_url(product.pk)).json()["count"] == 1

    def test_query_count_does_not_grow_with_reviews(self, product, verified_buyers, assert_flat_query_count):
        review_create(user=verified_buyers(1)[0], product_id=product.pk, rating=4)

        def grow():
            for buyer in verified_buyers(4):
                review_create(user=buyer, product_id=product.pk, rating=3, comment="More.")

        assert_flat_query_count(lambda: APIClient().get(reviews_url(product.pk)), grow, max_queries=3)


class TestWriting:
    def test_a_buyer_with_a_delivered_item_reviews_it(self, logged_in_client, user, product):
        item_at(user, product)
        response = post_review(logged_in_client, product, rating=4, comment="Sturdy.")
        assert response.status_code == 201, response.content
        assert response.json()["rating"] == 4 and response.json()["comment"] == "Sturdy."
        assert Review.objects.get(user=user, product=product).rating == 4
        assert product_rating(product) == ("4.00", 1)

    def test_the_comment_is_optional(self, logged_in_client, user, product):
        item_at(user, product)
        response = logged_in_client.post(reviews_url(product.pk), {"rating": 3}, format="json")
        assert response.status_code == 201 and response.json()["comment"] == ""

    @pytest.mark.parametrize("stage", [None, S.PLACED, S.CONFIRMED, S.SHIPPED])
    def test_anyone_without_a_delivered_item_gets_403_not_eligible(self, logged_in_client, user, product, stage):
        if stage is not None:
            item_at(user, product, stage)
        assert_error(post_review(logged_in_client, product), 403, "not_eligible")
        assert not Review.objects.exists()

    def test_a_second_review_gets_409_already_reviewed(self, logged_in_client, user, product):
        item_at(user, product)
        assert post_review(logged_in_client, product, rating=5).status_code == 201
        assert_error(post_review(logged_in_client, product, rating=1), 409, "already_reviewed")
        assert product_rating(product) == ("5.00", 1)

    @pytest.mark.parametrize("rating", [0, 6, 4.5, "abc", None, True, [], {}])
    def test_a_bad_rating_gets_400_invalid_rating(self, logged_in_client, user, product, rating):
        item_at(user, product)
        assert_error(post_review(logged_in_client, product, rating=rating), 400, "invalid_rating")

    def test_a_missing_rating_is_a_field_error(self, logged_in_client, user, product):
        item_at(user, product)
        response = logged_in_client.post(reviews_url(product.pk), {"comment": "No stars"}, format="json")
        assert response.status_code == 400 and "rating" in response.json()

    def test_a_comment_over_2000_characters_gets_400_comment_too_long(self, logged_in_client, user, product):
        item_at(user, product)
        assert_error(post_review(logged_in_client, product, comment="x" * 2001), 400, "comment_too_long")
        assert post_review(logged_in_client, product, comment="x" * 2000).status_code == 201

    def test_a_comment_that_is_not_text_gets_400(self, logged_in_client, user, product):
        item_at(user, product)
        assert_error(post_review(logged_in_client, product, comment=["a"]), 400, "invalid_comment")

    def test_anonymous_posts_get_401(self, product):
        response = APIClient().post(reviews_url(product.pk), {"rating": 5}, format="json")
        assert response.status_code == 401

    def test_cookie_posts_need_the_csrf_token(self, api_client, user, product):
        item_at(user, product)
        api_login(api_client, user)
        assert_error(post_review(api_client, product), 403, "permission_denied")
        api_client.credentials(HTTP_X_CSRFTOKEN=csrf_token(api_client))
        assert post_review(api_client, product).status_code == 201

    def test_a_hidden_product_cannot_be_reviewed(self, reviewer, product):
        product_set_active(product=product, is_active=False)
        assert bearer(reviewer).post(reviews_url(product.pk), {"rating": 5}, format="json").status_code == 404


class TestOwnReview:
    @pytest.fixture
    def review(self, reviewer, product):
        return review_create(user=reviewer, product_id=product.pk, rating=5, comment="Great.")

    def test_the_author_edits_rating_and_comment(self, reviewer, product, review):
        response = bearer(reviewer).patch(review_url(review.pk), {"rating": 2}, format="json")
        assert response.status_code == 200, response.content
        assert (response.json()["rating"], response.json()["comment"]) == (2, "Great.")
        assert response.json()["edited_at"]
        response = bearer(reviewer).patch(review_url(review.pk), {"comment": "Broke."}, format="json")
        assert (response.json()["rating"], response.json()["comment"]) == (2, "Broke.")
        assert product_rating(product) == ("2.00", 1)

    def test_a_bad_edit_gets_the_same_codes(self, reviewer, review):
        client = bearer(reviewer)
        assert_error(client.patch(review_url(review.pk), {"rating": 7}, format="json"), 400, "invalid_rating")
        assert_error(
            client.patch(review_url(review.pk), {"comment": "x" * 2001}, format="json"), 400, "comment_too_long"
        )

    def test_the_author_deletes_it(self, reviewer, product, review):
        assert bearer(reviewer).delete(review_url(review.pk)).status_code == 204
        assert not Review.objects.exists()
        assert product_rating(product) == ("0.00", 0)

    def test_another_users_review_answers_404_and_stays(self, product, review):
        other = bearer(UserFactory())
        assert other.patch(review_url(review.pk), {"rating": 1}, format="json").status_code == 404
        assert other.delete(review_url(review.pk)).status_code == 404
        another_reviewer = make_buyer()
        item_at(another_reviewer, product)
        assert bearer(another_reviewer).delete(review_url(review.pk)).status_code == 404
        review.refresh_from_db()
        assert review.rating == 5
        assert product_rating(product) == ("5.00", 1)

    def test_anonymous_edits_get_401(self, review):
        assert APIClient().patch(review_url(review.pk), {"rating": 1}, format="json").status_code == 401
        assert APIClient().delete(review_url(review.pk)).status_code == 401

    def test_an_unknown_review_answers_404(self, reviewer, review):
        assert bearer(reviewer).delete(review_url(review.pk + 100)).status_code == 404


def test_the_schema_documents_the_review_endpoints(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    reviews = schema["paths"]["/api/v1/products/{id}/reviews/"]
    assert set(reviews) >= {"get", "post"}
    assert set(reviews["post"]["responses"]) >= {"201", "400", "403", "409"}
    assert set(schema["paths"]["/api/v1/reviews/{review_id}/"]) >= {"patch", "delete"}


def test_the_listing_sorts_by_the_new_rating_at_once(store, django_capture_on_commit_callbacks):
    anonymous = APIClient()
    older, newer = ProductFactory(store=store, title="Older"), ProductFactory(store=store, title="Newer")
    fans = [make_buyer() for _ in range(2)]

    def by_rating() -> list[str]:
        response = anonymous.get("/api/v1/products/", {"ordering": "-rating_avg"})
        return [(p["title"], p["rating_avg"]) for p in response.json()["results"]]

    assert [title for title, _ in by_rating()] == ["Newer", "Older"]  # unrated: newest first
    with django_capture_on_commit_callbacks(execute=True):
        for fan, product, rating in zip(fans, (older, newer), (5, 2), strict=True):
            item_at(fan, product)
            review_create(user=fan, product_id=product.pk, rating=rating)
    assert by_rating() == [("Older", "5.00"), ("Newer", "2.00")]
