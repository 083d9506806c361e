"""The product page's reviews section and the review pages: who sees what, escaping, forms, query counts."""

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from reviews.models import Review
from reviews.services import review_create, review_hide
from tests.factories import TEST_PASSWORD, UserFactory
from tests.orders.helpers import make_buyer
from tests.reviews.helpers import S, item_at, product_rating

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script>'


def login(client: Client, user) -> Client:
    response = client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.content.decode()
    return client


def page_of(client: Client, product, **params) -> str:
    response = client.get(f"/products/{product.slug}/", params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def text_of(html: str, name: str) -> str:
    """The text of the first element with this data-testid (tags stripped)."""
    match = re.search(rf'data-testid="{name}"[^>]*>(.*?)</(p|div|strong|ol|span)>', html, re.S)
    assert match, f"no {name}"
    return re.sub(r"<[^>]+>|\s+", " ", match.group(1)).strip()


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if not str(m).startswith("Welcome back")]


@pytest.fixture
def reviewer_client(client, reviewer) -> Client:
    return login(client, reviewer)


class TestProductPage:
    def test_average_count_and_a_bar_per_star(self, client, product, verified_buyers):
        for buyer, rating in zip(verified_buyers(3), (5, 4, 4), strict=True):
            review_create(user=buyer, product_id=product.pk, rating=rating, comment=f"{rating} stars from me")
        html = page_of(client, product)
        assert text_of(html, "rating-average") == "4.33"
        assert text_of(html, "rating-count") == "3 ratings"
        bars = re.findall(
            r'data-testid="rating-bar-(\d)".*?<progress max="100" value="(\d+)".*?"rating-bar-count">(\d+)<', html, re.S
        )
        assert bars == [("5", "33", "1"), ("4", "67", "2"), ("3", "0", "0"), ("2", "0", "0"), ("1", "0", "0")]
        assert "★★★★☆" in html  # 4.33 shows four stars

    def test_no_reviews_says_so(self, client, product):
        html = page_of(client, product)
        assert text_of(html, "rating-count") == "No ratings yet."
        assert "No reviews yet" in html

    def test_reviews_are_newest_first_and_paginated_without_hidden_ones(self, client, product, verified_buyers, staff):
        buyers = verified_buyers(12)
        for number, buyer in enumerate(buyers):
            review_create(user=buyer, product_id=product.pk, rating=3, comment=f"Review number {number}")
        review_hide(review_id=Review.objects.get(comment="Review number 11").pk, actor=staff)
        first = page_of(client, product)
        shown = re.findall(r"Review number (\d+)", first)
        assert shown == [str(n) for n in range(10, 0, -1)]
        assert "Page 1 of 2" in first and 'href="?page=2#reviews"' in first
        assert re.findall(r"Review number (\d+)", page_of(client, product, page=2)) == ["0"]
        assert "Review number 11" not in first

    def test_a_script_comment_shows_as_text(self, client, product, reviewer):
        review_create(user=reviewer, product_id=product.pk, rating=1, comment=XSS)
        for html in (page_of(client, product), page_of(login(Client(), reviewer), product)):
            assert XSS not in html
            assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html

    def test_query_count_does_not_grow_with_reviews(self, client, product, verified_buyers, assert_flat_query_count):
        review_create(user=verified_buyers(1)[0], product_id=product.pk, rating=4, comment="First")

        def grow():
            for buyer in verified_buyers(12):
                review_create(user=buyer, product_id=product.pk, rating=2, comment="More")

        assert_flat_query_count(
            lambda: client.get(f"/products/{product.slug}/"), grow, max_queries=8
        )  # with the options and variants

    def test_logged_in_query_count_does_not_grow_with_reviews(self, product, verified_buyers, assert_flat_query_count):
        shopper = login(Client(), verified_buyers(1)[0])
        review_create(user=verified_buyers(1)[0], product_id=product.pk, rating=4, comment="First")

        def grow():
            for buyer in verified_buyers(12):
                review_create(user=buyer, product_id=product.pk, rating=2, comment="More")

        assert_flat_query_count(
            lambda: shopper.get(f"/products/{product.slug}/"), grow, max_queries=11
        )  # with the options and variants

    def test_an_anonymous_visitor_sees_a_new_review_at_once(
        self, client, product, reviewer, django_capture_on_commit_callbacks
    ):
        assert text_of(page_of(client, product), "rating-count") == "No ratings yet."
        with django_capture_on_commit_callbacks(execute=True):
            review_create(user=reviewer, product_id=product.pk, rating=4, comment="Fresh")
        html = page_of(client, product)
        assert text_of(html, "rating-count") == "1 rating" and "Fresh" in html


class TestWhoSeesTheForm:
    def test_anonymous_visitors_are_asked_to_log_in(self, client, product):
        html = page_of(client, product)
        assert 'data-testid="review-form"' not in html
        assert "Log in" in text_of(html, "review-why")
        assert f"/accounts/login/?next=/products/{product.slug}/" in html

    @pytest.mark.parametrize("stage", [None, S.PLACED, S.SHIPPED])
    def test_buyers_without_a_delivered_item_are_told_why(self, client, product, stage):
        buyer = make_buyer()
        if stage is not None:
            item_at(buyer, product, stage)
        html = page_of(login(client, buyer), product)
        assert 'data-testid="review-form"' not in html
        assert text_of(html, "review-why").startswith("Only buyers who have received this product")

    def test_an_eligible_buyer_gets_the_form(self, reviewer_client, product):
        html = page_of(reviewer_client, product)
        assert 'data-testid="review-form"' in html
        assert f'action="/products/{product.slug}/review/"' in html
        assert 'name="csrfmiddlewaretoken"' in html

    def test_a_buyer_who_reviewed_sees_their_review_with_edit_and_delete(self, reviewer_client, reviewer, product):
        review = review_create(user=reviewer, product_id=product.pk, rating=2, comment="Too small.")
        html = page_of(reviewer_client, product)
        assert 'data-testid="review-form"' not in html
        assert text_of(html, "review-why") == "You have already reviewed this product."
        assert text_of(html, "own-review-comment") == "Too small."
        assert f'href="/reviews/{review.pk}/edit/"' in html and f'action="/reviews/{review.pk}/delete/"' in html

    def test_a_hidden_own_review_is_explained(self, reviewer_client, reviewer, product, staff):
        review = review_create(user=reviewer, product_id=product.pk, rating=2, comment="Rude words")
        review_hide(review_id=review.pk, actor=staff)
        html = page_of(reviewer_client, product)
        assert "have hidden this review" in text_of(html, "own-review-hidden")
        assert 'data-testid="review-list"' not in html  # others do not see it

    def test_the_seller_is_told_they_do_not_review_their_own_product(self, client, product):
        html = page_of(login(client, product.store.user), product)
        assert text_of(html, "review-why") == "Sellers do not review their own products."


class TestWritingFromThePage:
    def test_an_eligible_buyer_publishes_a_review(self, reviewer_client, reviewer, product):
        response = reviewer_client.post(f"/products/{product.slug}/review/", {"rating": "4", "comment": "Solid."})
        assert response.status_code == 302 and response["Location"] == f"/products/{product.slug}/#reviews"
        assert flashes(response) == ["Thank you! Your review is published."]
        assert Review.objects.get(user=reviewer).comment == "Solid."
        html = page_of(reviewer_client, product)
        assert text_of(html, "rating-average") == "4.00"

    @pytest.mark.parametrize(
        ("data", "error"),
        [
            ({}, "This field is required."),
            ({"rating": "", "comment": "x"}, "This field is required."),
            ({"rating": "9", "comment": "x"}, "Select a valid choice."),
            ({"rating": "3", "comment": "x" * 2001}, "Keep your review to 2,000 characters."),
        ],
    )
    def test_bad_input_shows_the_form_again_with_the_error(self, reviewer_client, product, data, error):
        response = reviewer_client.post(f"/products/{product.slug}/review/", data)
        assert response.status_code == 200
        html = response.content.decode()
        assert error in html and 'data-testid="review-form"' in html
        assert not Review.objects.exists()

    def test_a_second_review_from_a_stale_page_is_refused_with_a_message(self, reviewer_client, reviewer, product):
        review = review_create(user=reviewer, product_id=product.pk, rating=5)
        response = reviewer_client.post(f"/products/{product.slug}/review/", {"rating": "1"})
        assert response.status_code == 302 and response["Location"] == f"/reviews/{review.pk}/edit/"
        assert Review.objects.get().rating == 5

    def test_a_buyer_without_a_delivery_cannot_post(self, client, product):
        buyer = make_buyer()
        item_at(buyer, product, S.SHIPPED)
        response = login(client, buyer).post(f"/products/{product.slug}/review/", {"rating": "5"})
        assert response.status_code == 302
        assert flashes(response) == ["Only buyers who have received this product can review it."]
        assert not Review.objects.exists()

    def test_anonymous_posts_go_to_the_login_page(self, client, product):
        response = client.post(f"/products/{product.slug}/review/", {"rating": "5"})
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")

    def test_posts_without_the_csrf_token_are_refused(self, reviewer, product):
        browser = Client(enforce_csrf_checks=True)
        browser.cookies = login(Client(), reviewer).cookies
        assert 'data-testid="review-form"' in page_of(browser, product)  # logged in
        response = browser.post(f"/products/{product.slug}/review/", {"rating": "5"})
        assert response.status_code == 403
        assert not Review.objects.exists()


class TestEditAndDeleteFromThePage:
    @pytest.fixture
    def review(self, reviewer, product):
        return review_create(user=reviewer, product_id=product.pk, rating=5, comment="Great.")

    def test_the_edit_page_is_prefilled_and_saves(self, reviewer_client, product, review):
        html = reviewer_client.get(f"/reviews/{review.pk}/edit/").content.decode()
        assert 'value="5"' in html and "checked" in html and "Great.</textarea>" in html
        response = reviewer_client.post(f"/reviews/{review.pk}/edit/", {"rating": "2", "comment": "Broke."})
        assert response.status_code == 302 and flashes(response) == ["Your review is updated."]
        review.refresh_from_db()
        assert (review.rating, review.comment) == (2, "Broke.")
        assert product_rating(product) == ("2.00", 1)

    def test_a_bad_edit_shows_the_error(self, reviewer_client, review):
        response = reviewer_client.post(f"/reviews/{review.pk}/edit/", {"rating": "3", "comment": "y" * 2001})
        assert response.status_code == 200 and "Keep your review to 2,000 characters." in response.content.decode()
        review.refresh_from_db()
        assert review.rating == 5

    def test_delete(self, reviewer_client, product, review):
        response = reviewer_client.post(f"/reviews/{review.pk}/delete/")
        assert response.status_code == 302 and flashes(response) == ["Your review is deleted."]
        assert not Review.objects.exists()
        assert product_rating(product) == ("0.00", 0)
        assert 'data-testid="review-form"' in page_of(reviewer_client, product)  # may review again

    def test_delete_needs_a_post(self, reviewer_client, review):
        assert reviewer_client.get(f"/reviews/{review.pk}/delete/").status_code == 405
        assert Review.objects.exists()

    def test_another_users_review_answers_404(self, client, review):
        intruder = login(client, UserFactory())
        assert intruder.get(f"/reviews/{review.pk}/edit/").status_code == 404
        assert intruder.post(f"/reviews/{review.pk}/edit/", {"rating": "1"}).status_code == 404
        assert intruder.post(f"/reviews/{review.pk}/delete/").status_code == 404
        review.refresh_from_db()
        assert review.rating == 5
