"""Reviews in the browser: a buyer whose item was delivered reviews it on the product page."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from catalog.services.products import product_create
from reviews.models import Review
from reviews.services import review_create
from tests.e2e.test_csp import violations_on
from tests.factories import CategoryFactory, StoreFactory
from tests.orders.helpers import make_buyer
from tests.reviews.helpers import item_at

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

XSS = "<script>document.title='pwned'</script>"


@pytest.fixture
def lamp():
    return product_create(
        store=StoreFactory(name="Diya Works"),
        title="Brass diya lamp",
        brand="",
        price=Decimal("799.00"),
        category=CategoryFactory(name="Home", slug="home"),
        sku="DW-1",
        stock=20,
    )


def test_a_buyer_reviews_a_delivered_item_and_sees_the_average_change(page, login, shot, lamp):
    earlier = make_buyer(first_name="Arjun", last_name="Rao")
    item_at(earlier, lamp)
    review_create(user=earlier, product_id=lamp.pk, rating=2, comment="Smaller than I thought.")
    buyer = make_buyer(first_name="Meera", last_name="Iyer")
    item_at(buyer, lamp)

    login(buyer)
    page.goto(f"/products/{lamp.slug}/")
    expect(page.get_by_test_id("rating-average")).to_have_text("2.00")
    expect(page.get_by_test_id("rating-count")).to_have_text("1 rating")

    form = page.get_by_test_id("review-form")
    form.get_by_label("5 stars").check()
    form.get_by_label("Your review").fill(f"Glows beautifully. {XSS}")
    shot("review-form")
    form.get_by_test_id("review-submit").click()

    expect(page.locator(".messages")).to_contain_text("Your review is published")
    expect(page.get_by_test_id("rating-average")).to_have_text("3.50")
    expect(page.get_by_test_id("rating-count")).to_have_text("2 ratings")
    expect(page.get_by_test_id("rating-bar-5")).to_contain_text("1")
    newest = page.get_by_test_id("review").first
    expect(newest).to_contain_text("Meera I.")
    expect(newest.get_by_test_id("review-comment")).to_have_text(f"Glows beautifully. {XSS}")  # shown as text
    expect(page).not_to_have_title("pwned")
    expect(page.get_by_test_id("review-why")).to_have_text("You have already reviewed this product.")
    shot("review-published")

    # Edit it down to 3 stars: the average follows.
    page.get_by_test_id("review-edit").click()
    page.get_by_label("3 stars").check()
    page.get_by_test_id("review-submit").click()
    expect(page.locator(".messages")).to_contain_text("Your review is updated")
    expect(page.get_by_test_id("rating-average")).to_have_text("2.50")
    assert Review.objects.get(user=buyer).rating == 3


def test_review_pages_load_without_csp_violations(page, login, lamp):
    buyer = make_buyer()
    item_at(buyer, lamp)
    login(buyer)
    assert violations_on(page, [f"/products/{lamp.slug}/"]) == {}
    review = review_create(user=buyer, product_id=lamp.pk, rating=4, comment="Nice")
    assert violations_on(page, [f"/products/{lamp.slug}/", f"/reviews/{review.pk}/edit/"]) == {}
