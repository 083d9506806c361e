"""Returns over the API: the buyer asks, withdraws, escalates and fixes a failed payout's account; the seller
approves, rejects and receives. The refund account never comes back in full from any endpoint."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import Category
from orders.models import OrderItem, OrderItemStatus, ReturnRequest
from orders.serializers import SELLER_ACTIONS
from orders.services.returns import (
    order_item_return_approve,
    order_item_return_reject,
    order_item_return_request,
)
from payments.models import Payout, PayoutStatus
from payments.services.returns import payout_account, payout_mark_failed
from tests.factories import ProductFactory, StoreFactory, UserFactory, only_variant
from tests.orders.helpers import bearer, buy_now, items_of, make_buyer
from tests.payments.refund_helpers import captured_online_order
from tests.returns.helpers import BANK, UPI, deliver, delivered_ago, delivered_items, received_with_payout

pytestmark = pytest.mark.django_db
S = OrderItemStatus
ORDERS = "/api/v1/orders/"
SELLER_ITEMS = "/api/v1/seller/order-items/"
NEW_BANK = {"account_name": "Meera Iyer", "account_number": "000123456789012", "ifsc": "SBIN0004321"}
# What must never leave the server: the accounts in full (their masked forms keep a handle or 4 digits).
RAW_ACCOUNT_DETAILS = ("meera.iyer", UPI["upi_id"], BANK["account_number"], NEW_BANK["account_number"])


@pytest.fixture(autouse=True)
def _no_response_shows_an_account(monkeypatch):
    """Every response of every test here, whatever the endpoint or the outcome, is searched for the accounts."""
    original = Client.request

    def checked(self, **environ):
        response = original(self, **environ)
        body = response.content.decode()
        for raw in RAW_ACCOUNT_DETAILS:
            assert raw not in body, f"{environ['PATH_INFO']} answered the account in full"
        return response

    monkeypatch.setattr(Client, "request", checked)


@pytest.fixture
def buyer():
    return make_buyer()


@pytest.fixture
def product():
    return ProductFactory(price=Decimal("499.00"), stock=10)


@pytest.fixture
def cod_item(buyer, product) -> OrderItem:
    """Two units, delivered just now, paid by Cash on Delivery."""
    return deliver(items_of(buy_now(buyer, product, 2))[0])


@pytest.fixture
def buyer_api(buyer):
    return bearer(buyer)


@pytest.fixture
def seller_api(cod_item):
    return bearer(cod_item.seller.user)


def return_url(item: OrderItem, action: str = "") -> str:
    return f"{ORDERS}{item.order_id}/items/{item.pk}/return/{action + '/' if action else ''}"


def seller_action(item: OrderItem, action: str) -> str:
    return f"{SELLER_ITEMS}{item.pk}/{action}/"


def item_of(body: dict, item: OrderItem) -> dict:
    return next(row for row in body["items"] if row["id"] == item.pk)


def status_of(item: OrderItem) -> str:
    return OrderItem.objects.values_list("status", flat=True).get(pk=item.pk)


def assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["code"] == code


def ask(api, item: OrderItem, **body):
    return api.post(return_url(item), {"reason": "size_fit", **body}, format="json")


# --- The buyer ------------------------------------------------------------------------------


class TestAsking:
    def test_a_delivered_item_shows_its_window_and_can_be_returned(self, buyer_api, cod_item):
        row = item_of(buyer_api.get(f"{ORDERS}{cod_item.order_id}/").json(), cod_item)
        assert datetime.fromisoformat(row["return_window_ends_at"]) == cod_item.delivered_at + timedelta(days=7)
        assert (row["can_return"], row["can_cancel"], row["return"]) == (True, False, None)

    def test_cash_on_delivery_to_upi_answers_the_order_with_the_return_masked(self, buyer_api, cod_item):
        response = ask(buyer_api, cod_item, comment="Too tight at the shoulders", refund_to=UPI)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["id"] == cod_item.order_id
        row = item_of(body, cod_item)
        assert row["status"] == S.RETURN_REQUESTED
        assert (row["can_return"], row["can_withdraw_return"], row["can_escalate_return"]) == (False, True, False)
        assert {key: value for key, value in row["return"].items() if key != "requested_at"} == {
            "reason": "size_fit",
            "comment": "Too tight at the shoulders",
            "rejection_reason": "",
            "escalated": False,
            "resellable": None,
            "refund_to": "UPI ••••@okaxis",
            "payout": None,
        }
        assert (body["events"][-1]["to_status"], body["events"][-1]["reason"]) == (
            S.RETURN_REQUESTED,
            "Size or fit: Too tight at the shoulders",
        )
        request = ReturnRequest.objects.get(item=cod_item)
        assert "meera.iyer" not in request.refund_to_encrypted

    def test_a_bank_account_is_shown_by_its_last_four_digits_and_ifsc(self, buyer_api, cod_item):
        response = ask(buyer_api, cod_item, refund_to={**BANK, "ifsc": "hdfc0001234"})
        assert response.status_code == 200, response.content
        assert item_of(response.json(), cod_item)["return"]["refund_to"] == "A/c ••••6789 (HDFC0001234)"

    def test_an_online_item_needs_no_account_and_its_refund_shows_once_received(self, sandbox_gateway, buyer):
        order = captured_online_order(sandbox_gateway, buyer, {ProductFactory(price=Decimal("250.00")): 2})
        [item] = delivered_items(order)
        response = ask(bearer(buyer), item, reason="damaged")
        assert response.status_code == 200, response.content
        assert item_of(response.json(), item)["return"]["refund_to"] is None
        seller_api = bearer(item.seller.user)
        seller_api.post(seller_action(item, "return-approve"))
        received = seller_api.post(seller_action(item, "return-receive"), {"resellable": False}, format="json")
        assert received.status_code == 200, received.content
        assert received.json()["refund"]["amount"] == "500.00"
        assert received.json()["return"]["payout"] is None
        row = item_of(bearer(buyer).get(f"{ORDERS}{order.pk}/").json(), item)
        assert (row["status"], row["refund"]["amount"]) == (S.RETURN_RECEIVED, "500.00")

    def test_after_the_window_it_is_return_window_closed(self, buyer_api, cod_item):
        delivered_ago(cod_item, timedelta(days=7, seconds=1))
        row = item_of(buyer_api.get(f"{ORDERS}{cod_item.order_id}/").json(), cod_item)
        assert row["can_return"] is False and row["return_window_ends_at"] is not None
        assert_refused(ask(buyer_api, cod_item, refund_to=UPI), 409, "return_window_closed")
        assert status_of(cod_item) == S.DELIVERED

    def test_a_category_without_returns_is_not_returnable(self, buyer_api, buyer):
        category = Category.objects.create(name="Innerwear", slug="innerwear", return_window_days=0)
        item = deliver(items_of(buy_now(buyer, ProductFactory(category=category)))[0])
        row = item_of(buyer_api.get(f"{ORDERS}{item.order_id}/").json(), item)
        assert (row["can_return"], row["return_window_ends_at"]) == (False, None)
        assert_refused(ask(buyer_api, item, refund_to=UPI), 409, "not_returnable")

    def test_an_item_not_delivered_yet_is_invalid_transition(self, buyer_api, buyer, product):
        item = items_of(buy_now(buyer, product))[0]
        assert_refused(ask(buyer_api, item, refund_to=UPI), 409, "invalid_transition")

    def test_asking_twice_is_invalid_transition(self, buyer_api, cod_item):
        ask(buyer_api, cod_item, refund_to=UPI)
        assert_refused(ask(buyer_api, cod_item, refund_to=UPI), 409, "invalid_transition")
        assert ReturnRequest.objects.count() == 1

    @pytest.mark.parametrize("body", [{"reason": "bored"}, {"reason": ""}, {"reason": 1}, {"reason": None}, {}])
    def test_a_reason_outside_the_list_is_a_field_error(self, buyer_api, cod_item, body):
        response = buyer_api.post(return_url(cod_item), {**body, "refund_to": UPI}, format="json")
        assert_refused(response, 400, "invalid")
        assert "reason" in response.json()
        assert status_of(cod_item) == S.DELIVERED

    def test_cash_on_delivery_without_an_account_is_refund_account_required(self, buyer_api, cod_item):
        assert_refused(ask(buyer_api, cod_item), 400, "refund_account_required")
        assert not ReturnRequest.objects.exists()

    @pytest.mark.parametrize(
        "refund_to",
        [
            {"upi_id": "meera.iyer"},  # no handle
            {"upi_id": "meera.iyer@"},
            {**BANK, "ifsc": "HDFC1234"},  # too short, no 0 in fifth place
            {**BANK, "ifsc": "HDFC1001234"},
            {**BANK, "account_number": "12ab5678901"},
            {**BANK, "account_number": "1234"},
            {**BANK, "account_name": "  "},
            {**UPI, **BANK},  # both
            {"account_number": BANK["account_number"], "ifsc": BANK["ifsc"]},  # no name
            {**UPI, "note": "quick please"},
        ],
    )
    def test_a_malformed_account_is_invalid_refund_account(self, buyer_api, cod_item, refund_to):
        assert_refused(ask(buyer_api, cod_item, refund_to=refund_to), 400, "invalid_refund_account")
        assert not ReturnRequest.objects.exists()

    def test_an_account_sent_as_a_string_is_asked_for_as_an_object(self, buyer_api, cod_item):
        response = ask(buyer_api, cod_item, refund_to=f"{UPI['upi_id']}")
        assert response.json()["refund_to"] == ["Send an object: {upi_id} or {account_name, account_number, ifsc}."]

    @pytest.mark.parametrize(
        "body",
        [
            {"refund_to": UPI["upi_id"]},  # a string, not an object
            {"refund_to": {}},
            {"refund_to": None},
            {"refund_to": {"account_name": "Meera", "account_number": 50100123456789, "ifsc": "HDFC0001234"}},
            {"refund_to": UPI, "comment": "x" * 1001},
            {"refund_to": UPI, "comment": 5},
        ],
    )
    def test_values_of_the_wrong_json_type_or_size_are_field_errors(self, buyer_api, cod_item, body):
        response = ask(buyer_api, cod_item, **body)
        assert_refused(response, 400, "invalid")
        assert set(response.json()) & {"refund_to", "comment"}
        assert status_of(cod_item) == S.DELIVERED


class TestWithdrawAndEscalate:
    def test_withdrawing_answers_the_order_delivered_again_and_returnable(self, buyer_api, cod_item):
        ask(buyer_api, cod_item, refund_to=UPI)
        response = buyer_api.post(return_url(cod_item, "withdraw"))
        assert response.status_code == 200, response.content
        row = item_of(response.json(), cod_item)
        assert (row["status"], row["return"], row["can_return"], row["can_withdraw_return"]) == (
            S.DELIVERED,
            None,
            True,
            False,
        )
        assert not ReturnRequest.objects.exists()

    def test_withdrawing_an_approved_return_is_invalid_transition(self, buyer_api, cod_item):
        ask(buyer_api, cod_item, refund_to=UPI)
        order_item_return_approve(item_id=cod_item.pk, actor=cod_item.seller.user)
        assert_refused(buyer_api.post(return_url(cod_item, "withdraw")), 409, "invalid_transition")
        assert status_of(cod_item) == S.RETURN_APPROVED

    def test_escalating_a_rejection_once(self, buyer_api, cod_item):
        staff = UserFactory(is_staff=True)
        ask(buyer_api, cod_item, refund_to=UPI)
        assert_refused(buyer_api.post(return_url(cod_item, "escalate"), {}, format="json"), 409, "invalid_transition")
        order_item_return_reject(item_id=cod_item.pk, actor=cod_item.seller.user, reason="Worn and washed")
        row = item_of(buyer_api.get(f"{ORDERS}{cod_item.order_id}/").json(), cod_item)
        assert (row["return"]["rejection_reason"], row["can_escalate_return"]) == ("Worn and washed", True)

        response = buyer_api.post(return_url(cod_item, "escalate"), {"comment": "Never worn"}, format="json")
        assert response.status_code == 200, response.content
        row = item_of(response.json(), cod_item)
        assert (row["status"], row["return"]["escalated"], row["can_escalate_return"]) == (
            S.RETURN_ESCALATED,
            True,
            False,
        )
        assert response.json()["events"][-1]["reason"] == "Never worn"

        order_item_return_reject(item_id=cod_item.pk, actor=staff, reason="Photos show wear")
        row = item_of(buyer_api.get(f"{ORDERS}{cod_item.order_id}/").json(), cod_item)
        assert (row["status"], row["can_escalate_return"]) == (S.RETURN_REJECTED, False)
        assert_refused(buyer_api.post(return_url(cod_item, "escalate")), 409, "already_escalated")

    def test_an_escalation_comment_is_text_of_at_most_500_characters(self, buyer_api, cod_item):
        ask(buyer_api, cod_item, refund_to=UPI)
        order_item_return_reject(item_id=cod_item.pk, actor=cod_item.seller.user, reason="Worn")
        for comment in (["list"], "x" * 501):
            response = buyer_api.post(return_url(cod_item, "escalate"), {"comment": comment}, format="json")
            assert_refused(response, 400, "invalid")
        assert status_of(cod_item) == S.RETURN_REJECTED


class TestRefundAccount:
    def test_a_failed_payout_takes_a_new_account_and_waits_again(self, buyer_api, buyer, cod_item):
        received_with_payout(cod_item, buyer)
        payout = Payout.objects.get(order_item=cod_item)
        row = item_of(buyer_api.get(f"{ORDERS}{cod_item.order_id}/").json(), cod_item)
        assert row["return"]["payout"] == {
            "status": PayoutStatus.PENDING,
            "amount": "998.00",
            "failure_reason": "",
            "paid_at": None,
        }
        url = return_url(cod_item, "refund-account")
        assert_refused(buyer_api.post(url, {"refund_to": NEW_BANK}, format="json"), 409, "payout_not_pending")

        payout_mark_failed(payout_id=payout.pk, reason="Account closed", staff=UserFactory(is_staff=True))
        row = item_of(buyer_api.get(f"{ORDERS}{cod_item.order_id}/").json(), cod_item)
        assert (row["return"]["payout"]["status"], row["return"]["payout"]["failure_reason"]) == (
            PayoutStatus.FAILED,
            "Account closed",
        )
        assert_refused(
            buyer_api.post(url, {"refund_to": {**NEW_BANK, "ifsc": "SBIN4321"}}, format="json"),
            400,
            "invalid_refund_account",
        )
        assert_refused(buyer_api.post(url, {}, format="json"), 400, "invalid")

        response = buyer_api.post(url, {"refund_to": NEW_BANK}, format="json")
        assert response.status_code == 200, response.content
        returned = item_of(response.json(), cod_item)["return"]
        assert (returned["payout"]["status"], returned["payout"]["failure_reason"]) == (PayoutStatus.PENDING, "")
        assert returned["refund_to"] == "A/c ••••9012 (SBIN0004321)"  # where the money goes now
        payout.refresh_from_db()
        assert payout.refund_to_masked == "A/c ••••9012 (SBIN0004321)"
        assert payout_account(payout) == NEW_BANK

    def test_an_item_without_a_payout_is_payout_not_pending(self, buyer_api, cod_item):
        response = buyer_api.post(return_url(cod_item, "refund-account"), {"refund_to": UPI}, format="json")
        assert_refused(response, 409, "payout_not_pending")


class TestBuyerIsolation:
    def test_another_buyers_item_or_a_mismatched_order_is_404_and_changes_nothing(self, buyer, cod_item):
        order_item_return_request(item_id=cod_item.pk, buyer=buyer, reason="damaged", refund_to=UPI)
        stranger = make_buyer()
        their_own = deliver(items_of(buy_now(stranger, ProductFactory()))[0])
        stranger_api = bearer(stranger)
        mismatched = f"{ORDERS}{their_own.order_id}/items/{cod_item.pk}/return/"
        for url, body in (
            (return_url(cod_item), {"reason": "damaged", "refund_to": UPI}),
            (return_url(cod_item, "withdraw"), None),
            (return_url(cod_item, "escalate"), {}),
            (return_url(cod_item, "refund-account"), {"refund_to": UPI}),
            (mismatched, {"reason": "damaged", "refund_to": UPI}),
            (f"{mismatched}withdraw/", None),
        ):
            assert_refused(stranger_api.post(url, body, format="json"), 404, "not_found")
        assert status_of(cod_item) == S.RETURN_REQUESTED
        assert status_of(their_own) == S.DELIVERED


# --- The seller -----------------------------------------------------------------------------


class TestSeller:
    def test_the_list_shows_the_request_and_the_return_actions(self, buyer_api, seller_api, cod_item):
        row = seller_api.get(SELLER_ITEMS).json()["results"][0]
        assert (row["actions"], row["can_return"], row["return"]) == ([], True, None)
        ask(buyer_api, cod_item, comment="Too tight", refund_to=UPI)
        [row] = seller_api.get(SELLER_ITEMS, {"status": "RETURN_REQUESTED"}).json()["results"]
        assert row["actions"] == ["return-approve", "return-reject"]
        assert (row["return"]["reason"], row["return"]["comment"], row["return"]["refund_to"]) == (
            "size_fit",
            "Too tight",
            "UPI ••••@okaxis",
        )

    def test_approve_then_receive_resellable_restocks_and_starts_the_payout(
        self, buyer, buyer_api, seller_api, cod_item, product
    ):
        ask(buyer_api, cod_item, refund_to=UPI)
        approved = seller_api.post(seller_action(cod_item, "return-approve"))
        assert approved.status_code == 200, approved.content
        assert (approved.json()["status"], approved.json()["actions"]) == (S.RETURN_APPROVED, ["return-receive"])

        received = seller_api.post(seller_action(cod_item, "return-receive"), {"resellable": True}, format="json")
        assert received.status_code == 200, received.content
        body = received.json()
        assert (body["status"], body["actions"], body["return"]["resellable"]) == (S.RETURN_RECEIVED, [], True)
        assert body["return"]["payout"]["status"] == PayoutStatus.PENDING
        assert only_variant(product).stock == 10  # 2 sold, 2 back
        row = item_of(buyer_api.get(f"{ORDERS}{cod_item.order_id}/").json(), cod_item)
        assert row["return"]["payout"]["amount"] == "998.00"

    def test_a_received_item_that_cannot_be_sold_again_stays_off_sale(self, buyer, seller_api, cod_item, product):
        order_item_return_request(item_id=cod_item.pk, buyer=buyer, reason="damaged", refund_to=UPI)
        seller_api.post(seller_action(cod_item, "return-approve"))
        received = seller_api.post(seller_action(cod_item, "return-receive"), {"resellable": False}, format="json")
        assert (received.status_code, received.json()["return"]["resellable"]) == (200, False)
        assert only_variant(product).stock == 8

    def test_reject_needs_a_reason_the_buyer_then_sees(self, buyer, buyer_api, seller_api, cod_item):
        order_item_return_request(item_id=cod_item.pk, buyer=buyer, reason="changed_mind", refund_to=UPI)
        for body in ({}, {"reason": "   "}):
            assert_refused(
                seller_api.post(seller_action(cod_item, "return-reject"), body, format="json"), 400, "reason_required"
            )
        response = seller_api.post(seller_action(cod_item, "return-reject"), {"reason": "Tags removed"}, format="json")
        assert response.status_code == 200, response.content
        assert (response.json()["status"], response.json()["actions"]) == (S.RETURN_REJECTED, [])
        assert response.json()["return"]["rejection_reason"] == "Tags removed"
        row = item_of(buyer_api.get(f"{ORDERS}{cod_item.order_id}/").json(), cod_item)
        assert (row["return"]["rejection_reason"], row["can_escalate_return"]) == ("Tags removed", True)

    def test_moves_the_status_does_not_allow_are_invalid_transition(self, buyer, seller_api, cod_item):
        assert_refused(seller_api.post(seller_action(cod_item, "return-approve")), 409, "invalid_transition")
        order_item_return_request(item_id=cod_item.pk, buyer=buyer, reason="damaged", refund_to=UPI)
        response = seller_api.post(seller_action(cod_item, "return-receive"), {"resellable": True}, format="json")
        assert_refused(response, 409, "invalid_transition")
        assert status_of(cod_item) == S.RETURN_REQUESTED

    @pytest.mark.parametrize("body", [{"resellable": "true"}, {"resellable": 1}, {"resellable": None}, {}])
    def test_resellable_is_a_required_json_boolean(self, buyer, seller_api, cod_item, product, body):
        order_item_return_request(item_id=cod_item.pk, buyer=buyer, reason="damaged", refund_to=UPI)
        order_item_return_approve(item_id=cod_item.pk, actor=cod_item.seller.user)
        response = seller_api.post(seller_action(cod_item, "return-receive"), body, format="json")
        assert_refused(response, 400, "invalid")
        assert "resellable" in response.json()
        assert status_of(cod_item) == S.RETURN_APPROVED
        assert only_variant(product).stock == 8

    def test_another_sellers_item_is_404_and_changes_nothing(self, buyer, cod_item):
        order_item_return_request(item_id=cod_item.pk, buyer=buyer, reason="damaged", refund_to=UPI)
        stranger = bearer(StoreFactory().user)
        for action, body in (
            ("return-approve", None),
            ("return-reject", {"reason": "No"}),
            ("return-receive", {"resellable": True}),
        ):
            assert_refused(stranger.post(seller_action(cod_item, action), body, format="json"), 404, "not_found")
        assert status_of(cod_item) == S.RETURN_REQUESTED

    def test_the_buyer_cannot_use_the_seller_actions(self, buyer, buyer_api, cod_item):
        order_item_return_request(item_id=cod_item.pk, buyer=buyer, reason="damaged", refund_to=UPI)
        assert buyer_api.post(seller_action(cod_item, "return-approve")).status_code == 403
        assert status_of(cod_item) == S.RETURN_REQUESTED


def test_every_action_an_item_can_list_is_a_route():
    """The seller's `actions` name paths: each one must be served, however the table grows."""
    for action in SELLER_ACTIONS.values():
        assert reverse(f"api:seller-order-item-{action}", kwargs={"item_id": 1}) == f"{SELLER_ITEMS}1/{action}/"


def test_the_schema_documents_the_return_endpoints_and_links_them_from_checkout(api_client):
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    item = "/api/v1/orders/{order_id}/items/{item_id}/return/"
    expected = {
        item: {"409": {"invalid_transition", "not_returnable", "return_window_closed"}},
        f"{item}withdraw/": {"409": {"invalid_transition"}},
        f"{item}escalate/": {"409": {"invalid_transition", "already_escalated"}},
        f"{item}refund-account/": {"409": {"payout_not_pending"}},
        "/api/v1/seller/order-items/{item_id}/return-approve/": {"409": {"invalid_transition"}},
        "/api/v1/seller/order-items/{item_id}/return-reject/": {"400": {"reason_required"}},
        "/api/v1/seller/order-items/{item_id}/return-receive/": {"409": {"invalid_transition"}},
    }
    for path, statuses in expected.items():
        responses = paths[path]["post"]["responses"]
        for status, codes in statuses.items():
            assert codes <= set(
                responses[status]["content"]["application/json"]["schema"]["properties"]["code"]["enum"]
            )
    assert {"refund_account_required", "invalid_refund_account"} <= set(
        paths[item]["post"]["responses"]["400"]["content"]["application/json"]["schema"]["properties"]["code"]["enum"]
    )
    links = paths["/api/v1/checkout/"]["post"]["responses"]["201"]["links"]
    assert {"ReturnItem", "WithdrawReturn", "EscalateReturn", "SellerApproveReturn", "SellerReceiveReturn"} <= set(
        links
    )
