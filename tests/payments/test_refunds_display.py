"""Refund status per item: the buyer's API and order page, the seller's API and order list."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client

from orders.services.lifecycle import order_item_cancel
from payments.models import Payment, Refund, RefundStatus
from payments.services.refunds import refund_initiate
from tests.factories import TEST_PASSWORD, ProductFactory, StoreFactory
from tests.orders.helpers import bearer, items_of, make_buyer, order_of
from tests.payments.refund_helpers import apply_refund_webhooks, captured_online_order

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = "/api/v1/orders/"
SELLER_ITEMS = "/api/v1/seller/order-items/"


@pytest.fixture
def sandbox(sandbox_gateway):
    sandbox_gateway.configure(refund_delay=None)
    return sandbox_gateway


@pytest.fixture
def store(db):
    return StoreFactory()


@pytest.fixture
def order(sandbox, store):
    """A captured online order: ₹250 x 2 and ₹99 x 1 from `store`; the first item is cancelled."""
    lamp = ProductFactory(store=store, price=Decimal("250.00"))
    mug = ProductFactory(store=store, price=Decimal("99.00"))
    order = captured_online_order(sandbox, make_buyer(), {lamp: 2, mug: 1})
    order_item_cancel(item_id=items_of(order)[0].pk, actor=order.buyer, reason="found it cheaper")
    return order


def page_client(user) -> Client:
    """Logged in through the login page, as a browser is (JWT cookies, not a Django session)."""
    client = Client()
    response = client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.content.decode()
    return client


def settle(sandbox, *, succeed: bool = True) -> None:
    sandbox.settle_refund(Refund.objects.get().gateway_refund_id, succeed=succeed)
    apply_refund_webhooks(sandbox)


def test_the_buyer_api_shows_each_items_refund(sandbox, order):
    api = bearer(order.buyer)
    cancelled, kept = items_of(order)

    detail = api.get(f"{ORDERS}{order.pk}/").json()
    refunds = {item["id"]: item["refund"] for item in detail["items"]}
    assert refunds == {cancelled.pk: {"status": "PROCESSING", "amount": "500.00"}, kept.pk: None}

    assert detail["payment"]["refunded_amount"] == "500.00"

    settle(sandbox)
    listed = api.get(ORDERS).json()["results"][0]
    assert listed["items"][0]["refund"] == {"status": "REFUNDED", "amount": "500.00"}
    assert listed["payment"]["refunded_amount"] == "500.00"


def test_cancelling_through_the_api_answers_with_the_refund(sandbox, order):
    kept = items_of(order)[1]
    api = bearer(order.buyer)

    response = api.post(f"{ORDERS}{order.pk}/items/{kept.pk}/cancel/", {"reason": "changed my mind"}, format="json")

    assert response.status_code == 200, response.content
    item = next(item for item in response.json()["items"] if item["id"] == kept.pk)
    assert item["status"] == "CANCELLED"
    assert item["refund"]["amount"] == "99.00" and item["refund"]["status"] in ("INITIATED", "PROCESSING")


def test_the_seller_api_shows_the_refund_on_their_items(sandbox, order, store):
    settle(sandbox, succeed=False)

    items = {item["id"]: item["refund"] for item in bearer(store.user).get(SELLER_ITEMS).json()["results"]}

    cancelled, kept = items_of(order)
    assert items == {cancelled.pk: {"status": "FAILED", "amount": "500.00"}, kept.pk: None}


@pytest.mark.parametrize(
    ("settled", "text"),
    [
        (None, "Refund of ₹500.00 in progress: the payment gateway has accepted it."),
        (True, "Refunded ₹500.00 to the original payment method."),
        (False, "Refund of ₹500.00 delayed"),
    ],
)
def test_the_buyer_order_page_shows_the_refund(sandbox, order, settled, text):
    if settled is not None:
        settle(sandbox, succeed=settled)

    html = page_client(order.buyer).get(f"/orders/{order.number}/").content.decode()

    assert html.count('data-testid="item-refund"') == 1
    assert text in " ".join(html.split())


def test_the_payment_card_shows_the_refunded_total(sandbox, order):
    client = page_client(order.buyer)
    card = 'data-testid="payment-refunded">₹500.00</dd>'
    assert card in client.get(f"/orders/{order.number}/").content.decode()

    kept = items_of(order)[1]
    order_item_cancel(item_id=kept.pk, actor=order.buyer, reason="changed my mind")

    assert 'data-testid="payment-refunded">₹599.00</dd>' in client.get(f"/orders/{order.number}/").content.decode()


def test_the_payment_card_shows_a_late_captures_full_refund_which_belongs_to_no_item(sandbox, store):
    """An order that expired before the money came: no item has a refund, the payment card has it all."""
    order = captured_online_order(sandbox, make_buyer(), {ProductFactory(store=store, price=Decimal("120.00")): 1})
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(order=order)
        refund_initiate(payment=payment, amount=payment.captured_amount, reason="payment arrived too late")

    html = page_client(order.buyer).get(f"/orders/{order.number}/").content.decode()

    assert 'data-testid="payment-refunded">₹120.00</dd>' in html
    assert 'data-testid="item-refund"' not in html


def test_the_payment_card_shows_no_refunds_when_there_are_none(sandbox, store):
    paid = captured_online_order(sandbox, make_buyer(), {ProductFactory(store=store): 1})
    cod = order_of(make_buyer(), {ProductFactory(store=store): 1})
    order_item_cancel(item_id=items_of(cod)[0].pk, actor=cod.buyer, reason="changed my mind")

    for order in (paid, cod):
        assert (
            'data-testid="payment-refunded"'
            not in page_client(order.buyer).get(f"/orders/{order.number}/").content.decode()
        )
    assert bearer(paid.buyer).get(f"{ORDERS}{paid.pk}/").json()["payment"]["refunded_amount"] == "0.00"
    assert "refunded_amount" not in bearer(cod.buyer).get(f"{ORDERS}{cod.pk}/").json()["payment"]


def test_cancelling_on_the_order_page_says_the_refund_is_coming(sandbox, order):
    kept = items_of(order)[1]
    client = page_client(order.buyer)

    response = client.post(
        f"/orders/{order.number}/items/{kept.pk}/cancel/", {"reason": "no longer needed"}, follow=True
    )

    assert "Your refund of ₹99.00 is on its way." in response.content.decode()
    assert Refund.objects.get(order_item=kept).status in (RefundStatus.INITIATED, RefundStatus.PROCESSING)


def test_the_seller_order_list_shows_the_refund(sandbox, order, store):
    settle(sandbox)

    html = page_client(store.user).get("/seller/orders/").content.decode()

    assert 'data-testid="seller-item-refund" data-refund-status="REFUNDED">₹500.00 · Refunded</dd>' in html
    assert html.count('data-testid="seller-item-refund"') == 1


def test_cod_items_show_no_refund(sandbox, store):
    order = order_of(make_buyer(), {ProductFactory(store=store): 1})
    order_item_cancel(item_id=items_of(order)[0].pk, actor=order.buyer, reason="changed my mind")

    detail = bearer(order.buyer).get(f"{ORDERS}{order.pk}/").json()
    assert detail["items"][0]["refund"] is None
    assert 'data-testid="item-refund"' not in page_client(order.buyer).get(f"/orders/{order.number}/").content.decode()


def test_showing_refunds_adds_no_queries_per_item(sandbox, store, assert_flat_query_count):
    buyer = make_buyer()
    api, seller_api = bearer(buyer), bearer(store.user)

    def paid_and_cancelled():
        order = captured_online_order(sandbox, buyer, {ProductFactory(store=store): 1, ProductFactory(store=store): 2})
        for item in items_of(order):
            order_item_cancel(item_id=item.pk, actor=buyer, reason="r")
        return order

    first = paid_and_cancelled()
    assert_flat_query_count(lambda: api.get(ORDERS), lambda: [paid_and_cancelled() for _ in range(3)], max_queries=4)
    assert_flat_query_count(lambda: seller_api.get(SELLER_ITEMS), paid_and_cancelled, max_queries=4)
    assert_flat_query_count(lambda: api.get(f"{ORDERS}{first.pk}/"), paid_and_cancelled, max_queries=4)
