"""A returned item was still received: its buyer may review the product, whatever became of the return."""

import pytest

from orders.models import DELIVERED_STATUSES, OrderItem
from orders.services.returns import (
    order_item_return_approve,
    order_item_return_receive,
    order_item_return_reject,
    order_item_return_request,
)
from payments.models import Payout
from payments.services.returns import payout_mark_paid
from reviews.errors import NotEligible
from reviews.selectors import ReviewStanding, item_invites_review, review_standing
from reviews.services import review_create
from tests.factories import UserFactory
from tests.returns.helpers import UPI
from tests.reviews.helpers import S, item_at

pytestmark = pytest.mark.django_db


def standing(buyer, product) -> str:
    return review_standing(user=buyer, product_id=product.pk, seller_user_id=product.store.user_id).state


def test_a_buyer_who_returned_the_item_may_review_it(buyer, product):
    item = item_at(buyer, product)
    seller = product.store.user
    order_item_return_request(item_id=item.pk, buyer=buyer, reason="not_as_described", refund_to=UPI)
    order_item_return_approve(item_id=item.pk, actor=seller)
    order_item_return_receive(item_id=item.pk, actor=seller, resellable=False)
    payout_mark_paid(payout_id=Payout.objects.get().pk, utr="UTR31337", staff=UserFactory(is_staff=True))
    item.refresh_from_db()
    assert item.status == S.RETURNED

    assert standing(buyer, product) == ReviewStanding.CAN_REVIEW
    assert item_invites_review(item)
    review = review_create(user=buyer, product_id=product.pk, rating=2, comment="Nothing like the photos.")
    assert (review.rating, review.user) == (2, buyer)


def test_a_rejected_return_leaves_the_buyer_able_to_review(buyer, product):
    item = item_at(buyer, product)
    order_item_return_request(item_id=item.pk, buyer=buyer, reason="size_fit", refund_to=UPI)
    order_item_return_reject(item_id=item.pk, actor=product.store.user, reason="Worn")
    assert standing(buyer, product) == ReviewStanding.CAN_REVIEW
    review_create(user=buyer, product_id=product.pk, rating=1)


@pytest.mark.parametrize("status", sorted(DELIVERED_STATUSES))
def test_every_status_after_delivery_makes_a_reviewer(buyer, product, status):
    item = item_at(buyer, product)
    OrderItem.objects.filter(pk=item.pk).update(status=status)
    item.refresh_from_db()
    assert item_invites_review(item)
    assert standing(buyer, product) == ReviewStanding.CAN_REVIEW


@pytest.mark.parametrize("status", sorted(set(S.values) - DELIVERED_STATUSES))
def test_no_status_before_delivery_makes_a_reviewer(buyer, product, status):
    item = item_at(buyer, product, S.PLACED)
    OrderItem.objects.filter(pk=item.pk).update(status=status)
    item.refresh_from_db()
    assert not item_invites_review(item)
    with pytest.raises(NotEligible):
        review_create(user=buyer, product_id=product.pk, rating=5)
