"""The return pages: the product page's policy, the buyer's return form and state on the order page, and the
seller portal's Returns tab. The services behind them are tested in test_core.py."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from catalog.models import Category
from orders.errors import AlreadyEscalated, InvalidRefundAccount, InvalidReturnReason, ReturnWindowClosed
from orders.models import Order, OrderItem, OrderItemStatus, PaymentMethod, ReturnRequest
from orders.services.returns import (
    order_item_return_approve,
    order_item_return_receive,
    order_item_return_reject,
    order_item_return_request,
)
from payments.models import Payout, PayoutStatus
from payments.services.returns import payout_account, payout_mark_failed, payout_mark_paid
from tests.factories import CategoryFactory, ProductFactory, StoreFactory, UserFactory, only_variant
from tests.orders.helpers import buy_now, items_of, make_buyer
from tests.orders.test_views import flashes, html_of, login, strict
from tests.returns.helpers import BANK, UPI, deliver, delivered_ago

pytestmark = pytest.mark.django_db
S = OrderItemStatus
FULL_ACCOUNT_PARTS = ("meera.iyer", "50100123456789", "Meera Iyer")


@pytest.fixture
def buyer():
    return make_buyer()


@pytest.fixture
def shopper(client, buyer) -> Client:
    return login(client, buyer)


@pytest.fixture
def item(buyer) -> OrderItem:
    """A delivered Cash on Delivery item: 2 of ₹499.00 of a product with 10 in stock."""
    return deliver(items_of(buy_now(buyer, ProductFactory(price=Decimal("499.00"), stock=10), 2))[0])


def page_of(client, item) -> str:
    return html_of(client.get(f"/orders/{item.order.number}/"))


def post(client, item, action: str = "return", **data):
    return client.post(f"/orders/{item.order.number}/items/{item.pk}/{action}/", data)


def status_of(item) -> str:
    return OrderItem.objects.values_list("status", flat=True).get(pk=item.pk)


def online(item) -> OrderItem:
    """The same item as if its order had been paid online: no refund account is asked for."""
    Order.objects.filter(pk=item.order_id).update(payment_method=PaymentMethod.ONLINE)
    return OrderItem.objects.select_related("order").get(pk=item.pk)


def received(item, *, buyer, refund_to=UPI) -> Payout:
    seller = item.seller.user
    order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged", refund_to=refund_to)
    order_item_return_approve(item_id=item.pk, actor=seller)
    order_item_return_receive(item_id=item.pk, actor=seller, resellable=True)
    return Payout.objects.get(order_item=item)


class TestProductPage:
    @pytest.mark.parametrize(
        ("parent_days", "own_days", "says"),
        [
            (None, None, "7-day return"),
            (None, 0, "Not returnable"),
            (0, None, "Not returnable"),
            (14, None, "14-day return"),
            (0, 30, "30-day return"),
        ],
    )
    def test_says_the_categorys_window(self, client, parent_days, own_days, says):
        parent = CategoryFactory(return_window_days=parent_days)
        category = CategoryFactory(parent=parent, return_window_days=own_days)
        product = ProductFactory(category=category)
        html = html_of(client.get(f"/products/{product.slug}/"))
        policy = re.search(r'data-testid="return-policy">(.*?)</p>', html).group(1)
        assert says in policy
        assert ("Not returnable" in policy) == (says == "Not returnable")


class TestReturnForm:
    def test_a_delivered_item_offers_a_return_until_its_date(self, shopper, item):
        html = page_of(shopper, item)
        deadline = timezone.localtime(item.delivered_at + timedelta(days=7))
        assert f'data-testid="return-by">Return by {deadline:%-d %b %Y}' in html
        assert 'data-testid="return-form"' in html
        assert 'name="upi_id"' in html and 'name="account_number"' in html and 'name="ifsc"' in html
        for reason in ("Arrived damaged", "Wrong item sent", "Size or fit", "Changed my mind"):
            assert reason in html

    def test_an_online_item_is_not_asked_for_an_account(self, shopper, item):
        html = page_of(shopper, online(item))
        assert 'data-testid="return-form"' in html and 'name="upi_id"' not in html

    def test_an_item_not_yet_delivered_offers_no_return(self, shopper, buyer):
        order = buy_now(buyer, ProductFactory())
        html = html_of(shopper.get(f"/orders/{order.number}/"))
        assert 'data-testid="return-form"' not in html and "Return by" not in html

    def test_returning_with_a_upi_id(self, shopper, buyer, item):
        response = post(shopper, item, reason="size_fit", comment="Too small", refund_to="upi", upi_id=UPI["upi_id"])
        assert response.status_code == 302 and response["Location"] == f"/orders/{item.order.number}/"
        assert flashes(response) == [f"Return requested for “{item.title}”. {item.seller.name} will answer soon."]
        request = ReturnRequest.objects.get(item=item)
        assert (request.reason, request.comment, request.refund_to_masked) == (
            "size_fit",
            "Too small",
            "UPI ••••@okaxis",
        )
        html = page_of(shopper, item)
        assert 'data-return-status="RETURN_REQUESTED"' in html
        assert "Refund to UPI ••••@okaxis" in html and 'data-testid="return-withdraw"' in html
        assert 'data-testid="return-form"' not in html

    def test_returning_to_a_bank_account_ignores_the_upi_field(self, shopper, item):
        post(shopper, item, reason="damaged", refund_to="bank", upi_id="junk", **BANK)
        request = ReturnRequest.objects.get(item=item)
        assert request.refund_to_masked == "A/c ••••6789 (HDFC0001234)"
        assert "A/c ••••6789 (HDFC0001234)" in page_of(shopper, item)

    def test_an_online_return_needs_only_a_reason(self, shopper, item):
        item = online(item)
        post(shopper, item, reason="wrong_item")
        assert status_of(item) == S.RETURN_REQUESTED
        assert ReturnRequest.objects.get(item=item).refund_to_kind == ""

    @pytest.mark.parametrize(
        ("data", "field", "message"),
        [
            ({"refund_to": "upi", "upi_id": UPI["upi_id"]}, "reason", InvalidReturnReason.message),
            ({"reason": "bogus", "refund_to": "upi", "upi_id": UPI["upi_id"]}, "reason", InvalidReturnReason.message),
            ({"reason": "damaged", "refund_to": "upi", "upi_id": ""}, "upi_id", "Enter your UPI id, like name@okaxis."),
            ({"reason": "damaged", "refund_to": "upi", "upi_id": "meera"}, "upi_id", InvalidRefundAccount.message),
            ({"reason": "damaged", "refund_to": "bank", **BANK, "ifsc": ""}, "ifsc", "Enter the branch's IFSC"),
            (
                {"reason": "damaged", "refund_to": "bank", **BANK, "ifsc": "HDFC1234"},
                None,
                InvalidRefundAccount.message,
            ),
            ({"reason": "damaged", "refund_to": "paypal", "upi_id": UPI["upi_id"]}, "refund_to", "Select a valid"),
            (
                {"reason": "damaged", "comment": "x" * 1001, "refund_to": "upi", **UPI},
                "comment",
                "Ensure this value has at most 1000",
            ),
        ],
    )
    def test_bad_input_is_a_form_error_beside_its_field(self, shopper, item, data, field, message):
        response = post(shopper, item, **data)
        html = html_of(response)  # the order page again, not a redirect and never a 500
        escaped = re.escape(message.replace("'", "&#x27;"))
        where = (
            'class="errorlist nonfield"' if field is None else f'class="errorlist" id="return-{item.pk}-{field}_error"'
        )
        assert re.search(rf"<ul {where}><li>{escaped}", html)
        assert '<details class="return-box" open>' in html  # the form is shown open, with its errors
        assert status_of(item) == S.DELIVERED and not ReturnRequest.objects.exists()

    def test_what_was_typed_comes_back(self, shopper, item):
        html = html_of(post(shopper, item, reason="damaged", refund_to="upi", upi_id="meera", comment="Broken zip"))
        assert 'value="meera"' in html and "Broken zip" in html


class TestWindowEdge:
    def test_no_return_after_the_window_and_a_forged_post_is_a_form_error(self, shopper, item):
        delivered_ago(item, timedelta(days=7, seconds=1))
        html = page_of(shopper, item)
        assert 'data-testid="return-form"' not in html and "Return by" not in html
        assert "Return window closed on" in html
        response = post(shopper, item, reason="damaged", refund_to="upi", **UPI)
        assert response.status_code == 302 and flashes(response) == [ReturnWindowClosed.message]
        assert status_of(item) == S.DELIVERED

    def test_the_last_minute_is_inside(self, shopper, item):
        delivered_ago(item, timedelta(days=7) - timedelta(minutes=1))
        assert 'data-testid="return-form"' in page_of(shopper, item)
        post(shopper, item, reason="damaged", refund_to="upi", **UPI)
        assert status_of(item) == S.RETURN_REQUESTED

    def test_a_category_with_no_window_says_not_returnable(self, shopper, buyer):
        category = CategoryFactory(return_window_days=0)
        item = deliver(items_of(buy_now(buyer, ProductFactory(category=category)))[0])
        html = page_of(shopper, item)
        assert 'data-testid="return-closed">Not returnable<' in html and 'data-testid="return-form"' not in html


class TestReturnStates:
    def test_withdrawing_before_a_decision_offers_the_form_again(self, shopper, buyer, item):
        order_item_return_request(item_id=item.pk, buyer=buyer, reason="changed_mind", refund_to=UPI)
        response = post(shopper, item, "return/withdraw")
        assert flashes(response) == [f"You withdrew the return of “{item.title}”. It is yours to keep."]
        assert status_of(item) == S.DELIVERED
        assert 'data-testid="return-form"' in page_of(shopper, item)

    def test_withdrawing_after_approval_is_refused_with_a_message(self, shopper, buyer, item):
        order_item_return_request(item_id=item.pk, buyer=buyer, reason="changed_mind", refund_to=UPI)
        order_item_return_approve(item_id=item.pk, actor=item.seller.user)
        html = page_of(shopper, item)
        assert "send it back to" in html and 'data-testid="return-withdraw"' not in html
        response = post(shopper, item, "return/withdraw")
        assert response.status_code == 302 and "cannot" in flashes(response)[0]
        assert status_of(item) == S.RETURN_APPROVED

    def test_a_refusal_shows_the_sellers_reason_and_can_be_escalated_once(self, shopper, buyer, item):
        order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged", refund_to=UPI)
        order_item_return_reject(item_id=item.pk, actor=item.seller.user, reason="Worn <b>and</b> washed")
        html = page_of(shopper, item)
        assert 'data-testid="return-rejection">Worn &lt;b&gt;and&lt;/b&gt; washed<' in html
        assert 'data-testid="escalate-form"' in html
        response = post(shopper, item, "return/escalate", comment="It was never worn")
        assert response.status_code == 302
        assert status_of(item) == S.RETURN_ESCALATED
        html = page_of(shopper, item)
        assert "JoyCart is reviewing your return." in html and 'data-testid="escalate-form"' not in html
        order_item_return_reject(item_id=item.pk, actor=UserFactory(is_staff=True), reason="Photos show wear")
        html = page_of(shopper, item)
        assert "after JoyCart's review" in html and "Photos show wear" in html
        assert 'data-testid="escalate-form"' not in html
        response = post(shopper, item, "return/escalate")
        assert flashes(response) == [AlreadyEscalated.message]
        assert status_of(item) == S.RETURN_REJECTED

    def test_cod_money_pending_then_paid(self, shopper, buyer, item):
        payout = received(item, buyer=buyer)
        html = page_of(shopper, item)
        assert "Refund to UPI ••••@okaxis: on its way (₹998.00)." in html
        payout_mark_paid(payout_id=payout.pk, utr="UTR0001", staff=UserFactory(is_staff=True))
        html = page_of(shopper, item)
        assert "Refunded to UPI ••••@okaxis: ₹998.00" in html
        assert 'data-return-status="RETURNED"' in html and "UTR0001" not in html

    def test_a_failed_payout_says_why_and_takes_new_details(self, shopper, buyer, item):
        payout = received(item, buyer=buyer)
        payout_mark_failed(payout_id=payout.pk, reason="Beneficiary account closed", staff=UserFactory(is_staff=True))
        html = page_of(shopper, item)
        assert "The bank could not pay UPI ••••@okaxis: Beneficiary account closed" in html
        assert 'data-testid="account-form"' in html

        html = html_of(post(shopper, item, "refund-account", refund_to="bank", **{**BANK, "account_number": "12"}))
        assert InvalidRefundAccount.message in html and 'data-testid="account-form"' in html
        assert Payout.objects.get(pk=payout.pk).status == PayoutStatus.FAILED

        response = post(shopper, item, "refund-account", refund_to="bank", **BANK)
        assert flashes(response) == ["Thank you. Your refund will be paid to A/c ••••6789 (HDFC0001234)."]
        payout.refresh_from_db()
        assert (payout.status, payout_account(payout)) == (PayoutStatus.PENDING, BANK)
        html = page_of(shopper, item)
        assert "Refund to A/c ••••6789 (HDFC0001234): on its way" in html and 'data-testid="account-form"' not in html

    def test_a_new_account_without_a_failed_payout_is_a_form_error(self, shopper, buyer, item):
        received(item, buyer=buyer)
        response = post(shopper, item, "refund-account", refund_to="upi", upi_id="new@ybl")
        assert flashes(response) == ["There is no failed payout to fix for this item."]
        assert Payout.objects.get(order_item=item).refund_to_masked == "UPI ••••@okaxis"


class TestMaskingCsrfIsolation:
    def test_the_full_account_never_appears_on_any_page(self, shopper, buyer, item, store_client):
        other = deliver(items_of(buy_now(buyer, ProductFactory(store=item.seller), 1))[0])
        post(shopper, item, reason="damaged", refund_to="upi", **UPI)
        post(shopper, other, reason="damaged", refund_to="bank", **BANK)
        order_item_return_approve(item_id=item.pk, actor=item.seller.user)
        order_item_return_receive(item_id=item.pk, actor=item.seller.user, resellable=False)
        seller = store_client(item.seller)
        pages = [
            page_of(shopper, item),
            page_of(shopper, other),
            html_of(shopper.get("/orders/")),
            html_of(seller.get("/seller/returns/")),
            html_of(seller.get("/seller/orders/")),
        ]
        for html in pages:
            for part in FULL_ACCOUNT_PARTS:
                assert part not in html

    def test_every_return_form_needs_the_csrf_token(self, buyer, item):
        client = strict(login(Client(), buyer))
        for action in ("return", "return/withdraw", "return/escalate", "refund-account"):
            assert post(client, item, action, reason="damaged", refund_to="upi", **UPI).status_code == 403
            assert client.get(f"/orders/{item.order.number}/items/{item.pk}/{action}/").status_code == 405
        assert status_of(item) == S.DELIVERED

    def test_another_buyers_item_is_not_found(self, client, item):
        intruder = login(client, make_buyer())
        for action in ("return", "return/withdraw", "return/escalate", "refund-account"):
            assert post(intruder, item, action, reason="damaged", refund_to="upi", **UPI).status_code == 404
        assert intruder.get(f"/orders/{item.order.number}/").status_code == 404
        assert status_of(item) == S.DELIVERED

    def test_an_item_named_under_another_order_is_not_found(self, shopper, buyer, item):
        other_order = buy_now(buyer, ProductFactory())
        response = shopper.post(f"/orders/{other_order.number}/items/{item.pk}/return/", {"reason": "damaged", **UPI})
        assert response.status_code == 404


# --- The seller's Returns tab ------------------------------------------------------------------


@pytest.fixture
def store_client():
    return lambda store: login(Client(), store.user)


def seller_post(client, item, action: str, **data):
    return client.post(f"/seller/returns/items/{item.pk}/{action}/", data)


class TestSellerReturns:
    def test_the_portal_links_to_returns_and_an_empty_tab_says_what_happens(self, store_client):
        client = store_client(StoreFactory())
        html = html_of(client.get("/seller/"))
        assert 'href="/seller/returns/" data-testid="portal-returns"' in html
        assert 'data-testid="returns-to-answer"' in html
        assert 'data-testid="seller-returns-empty"' in html_of(client.get("/seller/returns/"))

    def test_lists_only_this_sellers_returns_with_the_buyers_reason(self, buyer, item, store_client):
        order_item_return_request(
            item_id=item.pk, buyer=buyer, reason="size_fit", comment="Runs <i>small</i>", refund_to=UPI
        )
        stranger = deliver(items_of(buy_now(buyer, ProductFactory(title="Someone else's lamp"), 1))[0])
        order_item_return_request(item_id=stranger.pk, buyer=buyer, reason="damaged", refund_to=UPI)
        kept = deliver(items_of(buy_now(buyer, ProductFactory(store=item.seller, title="Kept kurta"), 1))[0])
        html = html_of(store_client(item.seller).get("/seller/returns/?status=requested"))
        assert html.count('data-testid="seller-return-item"') == 1
        assert "Someone else" not in html and "Kept kurta" not in html and kept.title not in html
        assert "Size or fit" in html and 'data-testid="seller-return-comment">“Runs &lt;i&gt;small&lt;/i&gt;”<' in html
        assert 'data-testid="seller-return-answer-by"' in html
        assert 'data-testid="return-approve"' in html and 'data-testid="return-reject"' in html
        assert 'data-testid="receive-form"' not in html

    def test_tabs_filter_by_where_the_return_is(self, buyer, item, store_client):
        order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged", refund_to=UPI)
        order_item_return_approve(item_id=item.pk, actor=item.seller.user)
        client = store_client(item.seller)
        assert 'data-testid="seller-return-item"' not in html_of(client.get("/seller/returns/?status=requested"))
        html = html_of(client.get("/seller/returns/?status=approved"))
        assert (
            'data-testid="receive-form"' in html
            and 'aria-current="page">\n            To receive <span class="badge">1' in html
        )
        assert 'data-testid="seller-return-item"' in html_of(client.get("/seller/returns/?status=bogus"))

    def test_approve_then_receive_restocks_and_starts_the_payout(self, buyer, item, store_client):
        client = store_client(item.seller)
        order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged", refund_to=UPI)
        response = seller_post(client, item, "approve", next="/seller/returns/?status=requested")
        assert response["Location"] == "/seller/returns/?status=requested"
        assert flashes(response) == [
            f"{item.order.number}: “{item.title}” return approved: the buyer will send it back."
        ]
        response = seller_post(client, item, "receive")
        assert "Say whether the returned item can be sold again." in flashes(response)[-1]
        assert status_of(item) == S.RETURN_APPROVED
        seller_post(client, item, "receive", resellable="yes")
        assert status_of(item) == S.RETURN_RECEIVED
        assert only_variant(item.product).stock == 10
        assert Payout.objects.get(order_item=item).status == PayoutStatus.PENDING
        html = html_of(client.get("/seller/returns/?status=received"))
        assert "Back in stock" in html and "₹998.00 · JoyCart pays it" in html

    def test_receiving_as_not_resellable_keeps_the_stock(self, buyer, item, store_client):
        client = store_client(item.seller)
        order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged", refund_to=UPI)
        order_item_return_approve(item_id=item.pk, actor=item.seller.user)
        seller_post(client, item, "receive", resellable="no")
        assert status_of(item) == S.RETURN_RECEIVED and only_variant(item.product).stock == 8

    def test_a_refusal_needs_a_reason(self, buyer, item, store_client):
        client = store_client(item.seller)
        order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged", refund_to=UPI)
        response = seller_post(client, item, "reject", reason="  ")
        assert "the return was not refused" in flashes(response)[0]
        assert status_of(item) == S.RETURN_REQUESTED
        seller_post(client, item, "reject", reason="Tag removed")
        assert status_of(item) == S.RETURN_REJECTED
        assert ReturnRequest.objects.get(item=item).rejection_reason == "Tag removed"

    def test_a_move_the_status_does_not_allow_is_a_flash_message(self, item, store_client):
        response = seller_post(store_client(item.seller), item, "approve")
        assert response.status_code == 302 and flashes(response)
        assert status_of(item) == S.DELIVERED

    @pytest.mark.parametrize("action", ["approve", "reject", "receive"])
    def test_another_sellers_item_is_not_found(self, buyer, item, store_client, action):
        order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged", refund_to=UPI)
        response = seller_post(store_client(StoreFactory()), item, action, reason="No", resellable="yes")
        assert response.status_code == 404
        assert status_of(item) == S.RETURN_REQUESTED

    def test_actions_need_post_and_the_csrf_token(self, buyer, item, store_client):
        order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged", refund_to=UPI)
        client = strict(store_client(item.seller))
        assert client.get(f"/seller/returns/items/{item.pk}/approve/").status_code == 405
        assert seller_post(client, item, "approve").status_code == 403
        assert status_of(item) == S.RETURN_REQUESTED

    def test_the_orders_tab_sends_a_return_to_the_returns_tab(self, buyer, item, store_client):
        order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged", refund_to=UPI)
        html = html_of(store_client(item.seller).get("/seller/orders/"))
        assert 'data-testid="seller-item-return-link">Answer the return request<' in html
        assert 'data-testid="confirm-item"' not in html

    def test_query_count_does_not_grow_with_returns(self, buyer, item, store_client, assert_flat_query_count):
        client = store_client(item.seller)
        order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged", refund_to=UPI)

        def grow():
            for step in range(6):
                extra = deliver(items_of(buy_now(make_buyer(), ProductFactory(store=item.seller), 1))[0])
                order_item_return_request(
                    item_id=extra.pk, buyer=extra.order.buyer, reason="damaged", comment="c", refund_to=UPI
                )
                if step % 2:
                    order_item_return_approve(item_id=extra.pk, actor=item.seller.user)
                    order_item_return_receive(item_id=extra.pk, actor=item.seller.user, resellable=False)

        assert_flat_query_count(lambda: client.get("/seller/returns/"), grow, max_queries=6)


def test_the_category_window_at_checkout_is_what_the_order_page_keeps(shopper, buyer):
    category = CategoryFactory(return_window_days=3)
    item = deliver(items_of(buy_now(buyer, ProductFactory(category=category)))[0])
    Category.objects.filter(pk=category.pk).update(return_window_days=0)  # a later change of policy
    deadline = timezone.localtime(item.delivered_at + timedelta(days=3))
    assert f"Return by {deadline:%-d %b %Y}" in page_of(shopper, item)
