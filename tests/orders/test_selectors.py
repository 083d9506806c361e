"""Order reads are scoped to who asks: buyers, sellers and staff each see their part."""

import pytest
from django.http import Http404

from orders.models import ActorRole, OrderItemStatus
from orders.selectors import (
    buyer_order_get,
    buyer_order_item_get,
    buyer_orders,
    checkout_preview,
    order_events_visible,
    order_items_movable,
    seller_order_item_counts,
    seller_order_item_get,
    seller_order_items,
)
from orders.services.lifecycle import order_item_confirm, order_item_ship
from tests.factories import ProductFactory, StoreFactory, UserFactory, only_variant
from tests.orders.helpers import buy_now, items_of, make_buyer, order_of, put_in_cart

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_seller_order(buyer):
    """One order with an item from each of two stores, both confirmed (two events per item)."""
    mine, theirs = ProductFactory(), ProductFactory()
    order = order_of(buyer, {mine: 1, theirs: 1})
    for item in items_of(order):
        order_item_confirm(item_id=item.pk, actor=item.seller.user)
    return order, mine.store, theirs.store


def test_buyer_orders_are_their_own_newest_first(buyer, product):
    older, newer = buy_now(buyer, product), buy_now(buyer, product)
    buy_now(make_buyer(), product)
    assert list(buyer_orders(buyer=buyer)) == [newer, older]


def test_an_order_is_found_by_id_or_number_only_by_its_buyer(buyer, product):
    order = buy_now(buyer, product)
    assert buyer_order_get(buyer=buyer, order_id=order.pk) == order
    assert buyer_order_get(buyer=buyer, number=order.number) == order
    stranger = make_buyer()
    for lookup in ({"order_id": order.pk}, {"number": order.number}):
        with pytest.raises(Http404):
            buyer_order_get(buyer=stranger, **lookup)
    for lookup in ({"order_id": 2**70}, {"number": ""}, {"number": "JC-999999"}, {}):
        with pytest.raises(Http404):
            buyer_order_get(buyer=buyer, **lookup)


def test_an_item_must_belong_to_the_named_order_of_the_buyer(buyer, product):
    first, second = buy_now(buyer, product), buy_now(buyer, product)
    item = items_of(first)[0]
    assert buyer_order_item_get(buyer=buyer, order_id=first.pk, item_id=item.pk) == item
    with pytest.raises(Http404):
        buyer_order_item_get(buyer=buyer, order_id=second.pk, item_id=item.pk)
    with pytest.raises(Http404):
        buyer_order_item_get(buyer=make_buyer(), order_id=first.pk, item_id=item.pk)


def test_sellers_see_only_their_items(two_seller_order):
    _order, mine, theirs = two_seller_order
    [item] = seller_order_items(store=mine)
    assert item.seller == mine
    assert seller_order_item_get(store=mine, item_id=item.pk) == item
    with pytest.raises(Http404):
        seller_order_item_get(store=theirs, item_id=item.pk)
    assert list(seller_order_items(store=mine, status="CONFIRMED")) == [item]
    assert list(seller_order_items(store=mine, status="PLACED")) == []
    assert list(seller_order_items(store=StoreFactory())) == []


def test_the_timeline_shows_each_viewer_their_part(two_seller_order, buyer):
    order, mine, _theirs = two_seller_order
    everything = set(order.events.values_list("pk", flat=True))
    assert len(everything) == 4
    assert set(order_events_visible(order=order, viewer=buyer).values_list("pk", flat=True)) == everything
    staff = UserFactory(is_staff=True)
    assert set(order_events_visible(order=order, viewer=staff).values_list("pk", flat=True)) == everything
    seller_view = list(order_events_visible(order=order, viewer=mine.user))
    assert len(seller_view) == 2 and {event.item.seller for event in seller_view} == {mine}
    assert list(order_events_visible(order=order, viewer=make_buyer())) == []


# --- The checkout page's preview ------------------------------------------------------------


def test_preview_groups_cart_lines_by_seller_with_checkouts_own_refusals(buyer):
    kanchi, own = StoreFactory(), StoreFactory(user=buyer)
    fine, short, mine = ProductFactory(store=kanchi), ProductFactory(store=kanchi, stock=1), ProductFactory(store=own)
    for product in (fine, mine, short):
        put_in_cart(buyer, product, 2)
    preview = checkout_preview(buyer=buyer, source="cart")
    assert [group.store for group in preview.groups] == [kanchi, own]
    assert [line.product for line in preview.groups[0].lines] == [fine, short]
    problems = {line.product: line.problem for line in preview.lines}
    assert problems == {
        fine: None,
        short: f"Only 1 of {short.title} left in stock.",
        mine: f"{mine.title} is sold by your store, so you cannot buy it.",
    }
    assert preview.total == fine.price * 2
    assert not preview.can_place


@pytest.mark.parametrize(
    ("variant_id", "quantity", "problem"),
    [
        (None, 1, "This product is no longer available."),
        (2**70, 1, "This product is no longer available."),
        ("own", "1", None),
        ("ok", "0", "Choose a quantity from 1 to 10."),
        ("ok", "ten", "Choose a quantity from 1 to 10."),
    ],
)
def test_preview_of_buy_now(buyer, product, variant_id, quantity, problem):
    own = ProductFactory(store=StoreFactory(user=buyer))
    target = {"ok": only_variant(product).pk, "own": only_variant(own).pk}.get(variant_id, variant_id)
    preview = checkout_preview(buyer=buyer, source="buy_now", variant_id=target, quantity=quantity)
    assert preview.problem == problem
    if variant_id == "own":
        assert preview.lines[0].problem.endswith("so you cannot buy it.")
        assert not preview.can_place


def test_preview_of_an_empty_cart_or_an_unknown_source(buyer):
    assert checkout_preview(buyer=buyer, source="cart").problem.startswith("Your cart is empty")
    assert checkout_preview(buyer=buyer, source="wishlist").problem.startswith("Choose where to check out from")


def test_seller_counts_and_what_staff_may_still_cancel(two_seller_order, buyer):
    order, mine, _theirs = two_seller_order
    shipped = items_of(order)[0]
    order_item_ship(item_id=shipped.pk, actor=shipped.seller.user)
    assert seller_order_item_counts(store=mine) == {"SHIPPED": 1}
    movable = order_items_movable(order_ids=[order.pk], to_status=OrderItemStatus.CANCELLED, role=ActorRole.STAFF)
    assert list(movable) == items_of(order)[1:]
