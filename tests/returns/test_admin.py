"""Staff decide returns and pay Cash on Delivery payouts in the admin, through the return services."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.core import mail

from orders.models import ActorRole, OrderEvent, OrderItem, OrderItemStatus, ReturnRequest
from orders.services.returns import (
    order_item_return_approve,
    order_item_return_escalate,
    order_item_return_receive,
    order_item_return_reject,
    order_item_return_request,
)
from payments.models import Payout, PayoutStatus
from payments.services.returns import payout_mark_paid
from tests.accounts.helpers import staff_member
from tests.factories import ProductFactory, only_variant
from tests.orders.helpers import buy_now, make_buyer
from tests.returns.helpers import BANK, UPI, deliver

pytestmark = pytest.mark.django_db

S = OrderItemStatus
RETURNS = "/admin/orders/returnrequest/"
PAYOUTS = "/admin/payments/payout/"


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def flashes(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def status_of(item) -> str:
    return OrderItem.objects.values_list("status", flat=True).get(pk=item.pk)


def delivered(buyer=None, *, title="Cotton kurta", price="499.00", quantity=2) -> OrderItem:
    buyer = buyer or make_buyer()
    product = ProductFactory(title=title, price=Decimal(price), stock=10)
    return deliver(buy_now(buyer, product, quantity).items.get())


def returned(to: str = S.RETURN_REQUESTED, *, refund_to=UPI, comment="Too tight", **kwargs) -> OrderItem:
    """A delivered COD item moved through the services as far as `to`."""
    item = delivered(**kwargs)
    buyer, seller = item.order.buyer, item.seller.user
    order_item_return_request(item_id=item.pk, buyer=buyer, reason="size_fit", comment=comment, refund_to=refund_to)
    if to in (S.RETURN_REJECTED, S.RETURN_ESCALATED):
        order_item_return_reject(item_id=item.pk, actor=seller, reason="Worn")
    if to == S.RETURN_ESCALATED:
        order_item_return_escalate(item_id=item.pk, buyer=buyer, comment="Never worn")
    if to in (S.RETURN_APPROVED, S.RETURN_RECEIVED):
        order_item_return_approve(item_id=item.pk, actor=seller)
    if to == S.RETURN_RECEIVED:
        order_item_return_receive(item_id=item.pk, actor=seller, resellable=False)
    assert status_of(item) == to
    return item


def act(client, action, items, **data):
    ids = [ReturnRequest.objects.get(item=item).pk for item in items]
    return client.post(RETURNS, {"action": action, "_selected_action": ids, **data})


class TestReturnDecisions:
    def test_approve_overturns_an_escalated_refusal_as_staff_and_leaves_the_rest_named(self, admin_client, staff):
        escalated, approved = returned(S.RETURN_ESCALATED), returned(S.RETURN_APPROVED)
        response = act(admin_client, "approve_returns", [escalated, approved])
        assert response.status_code == 302
        assert status_of(escalated) == S.RETURN_APPROVED
        event = OrderEvent.objects.filter(item=escalated).latest("id")
        assert (event.actor_id, event.actor_role, event.from_status) == (staff.pk, ActorRole.STAFF, S.RETURN_ESCALATED)
        assert flashes(response) == [
            "Approved 1 return(s).",
            f"Left alone: {approved.order.number} “Cotton kurta” is return approved.",
        ]
        assert LogEntry.objects.filter(object_id=str(escalated.order_id)).count() == 1

    def test_refusing_asks_for_the_reason_first_then_refuses_through_the_service(self, admin_client):
        item = returned()
        page = act(admin_client, "reject_returns", [item])
        assert page.status_code == 200 and 'name="reason"' in page.content.decode()
        assert "Refuse 1 return" in page.content.decode()
        again = act(admin_client, "reject_returns", [item], apply="1", reason="   ")
        assert "This field is required." in again.content.decode()
        assert status_of(item) == S.RETURN_REQUESTED

        act(admin_client, "reject_returns", [item], apply="1", reason="Tags removed")
        assert status_of(item) == S.RETURN_REJECTED
        assert ReturnRequest.objects.get(item=item).rejection_reason == "Tags removed"

    def test_receiving_asks_whether_it_can_be_sold_again_and_restocks_if_so(self, admin_client):
        item = returned(S.RETURN_APPROVED)
        variant = only_variant(item.product)
        assert variant.stock == 8
        page = act(admin_client, "receive_returns", [item])
        assert 'name="resellable"' in page.content.decode()
        act(admin_client, "receive_returns", [item], apply="1")  # no answer: asked again
        assert status_of(item) == S.RETURN_APPROVED

        response = act(admin_client, "receive_returns", [item], apply="1", resellable="yes")
        assert response.status_code == 302
        assert status_of(item) == S.RETURN_RECEIVED
        assert only_variant(item.product).stock == 10
        assert Payout.objects.get(order_item=item).status == PayoutStatus.PENDING

    def test_staff_who_may_only_view_orders_get_no_decision(self, client):
        item = returned(S.RETURN_ESCALATED)
        client.force_login(staff_member("view_returnrequest", "view_order"))
        assert "approve_returns" not in client.get(RETURNS).content.decode()
        act(client, "approve_returns", [item])
        assert status_of(item) == S.RETURN_ESCALATED

    def test_the_list_filters_escalated_requests_and_shows_accounts_masked(self, admin_client):
        escalated, requested = returned(S.RETURN_ESCALATED), returned()
        response = admin_client.get(RETURNS, {"status": S.RETURN_ESCALATED})
        assert [r.item_id for r in response.context["cl"].result_list] == [escalated.pk]
        html = admin_client.get(RETURNS).content.decode()
        assert "UPI ••••@okaxis" in html and "meera.iyer" not in html
        assert requested.order.number in html

    def test_the_order_page_shows_its_return_masked_with_the_comment_escaped(self, admin_client):
        item = returned(refund_to=BANK, comment="<b>too small</b>")
        html = admin_client.get(f"/admin/orders/order/{item.order_id}/change/").content.decode()
        assert "A/c ••••6789 (HDFC0001234)" in html
        assert "50100123456789" not in html
        assert "Size or fit: &lt;b&gt;too small&lt;/b&gt;" in html

    def test_the_returns_list_query_count_is_flat(self, admin_client, assert_flat_query_count):
        returned()
        assert_flat_query_count(
            lambda: admin_client.get(RETURNS), lambda: [returned() for _ in range(4)], max_queries=12
        )


def pay_action(client, action, payouts, **data):
    return client.post(PAYOUTS, {"action": action, "_selected_action": [p.pk for p in payouts], **data})


@pytest.fixture
def payout():
    returned(S.RETURN_RECEIVED)
    return Payout.objects.get()


class TestPayouts:
    def test_the_list_shows_pending_payouts_with_their_age_masked_and_filters_by_status(self, admin_client, payout):
        Payout.objects.filter(pk=payout.pk).update(created_at=payout.created_at - timedelta(days=3, hours=1))
        returned(S.RETURN_RECEIVED, refund_to=BANK)
        paid = Payout.objects.latest("pk")
        payout_mark_paid(payout_id=paid.pk, utr="UTR9", staff=staff_member())
        response = admin_client.get(PAYOUTS, {"status__exact": PayoutStatus.PENDING})
        assert [p.pk for p in response.context["cl"].result_list] == [payout.pk]
        html = response.content.decode()
        assert '<td class="field-age">3</td>' in html
        assert "UPI ••••@okaxis" in html and "meera.iyer" not in html

    def test_the_payout_page_shows_the_account_in_full_only_to_staff_who_pay(self, admin_client, client, payout):
        page = f"{PAYOUTS}{payout.pk}/change/"
        assert "meera.iyer@okaxis" in admin_client.get(page).content.decode()
        client.force_login(staff_member("view_payout"))
        html = client.get(page).content.decode()
        assert "UPI ••••@okaxis" in html and "meera.iyer" not in html

    def test_mark_paid_asks_each_utr_then_returns_the_item(self, admin_client, payout):
        page = pay_action(admin_client, "mark_paid", [payout])
        assert f'name="utr_{payout.pk}"' in page.content.decode()
        response = pay_action(admin_client, "mark_paid", [payout], apply="1", **{f"utr_{payout.pk}": "utr777"})
        assert flashes(response) == ["Marked 1 payout paid; the items are returned."]
        payout.refresh_from_db()
        assert (payout.status, payout.utr) == (PayoutStatus.PAID, "UTR777")
        assert status_of(payout.order_item) == S.RETURNED

    def test_a_duplicate_utr_is_an_error_and_changes_nothing(self, admin_client, payout):
        returned(S.RETURN_RECEIVED)
        second = Payout.objects.latest("pk")
        payout_mark_paid(payout_id=payout.pk, utr="UTR1", staff=staff_member())
        response = pay_action(admin_client, "mark_paid", [second], apply="1", **{f"utr_{second.pk}": "utr1"})
        [message] = flashes(response)
        assert "This UTR is already recorded for another payout" in message
        second.refresh_from_db()
        assert (second.status, second.utr) == (PayoutStatus.PENDING, None)
        assert status_of(second.order_item) == S.RETURN_RECEIVED

    def test_mark_failed_takes_a_reason_and_mails_the_buyer(
        self, admin_client, payout, django_capture_on_commit_callbacks
    ):
        assert 'name="reason"' in pay_action(admin_client, "mark_failed", [payout]).content.decode()
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            pay_action(admin_client, "mark_failed", [payout], apply="1", reason="Invalid VPA")
        payout.refresh_from_db()
        assert (payout.status, payout.failure_reason) == (PayoutStatus.FAILED, "Invalid VPA")
        [message] = mail.outbox
        assert message.to == [payout.order_item.order.buyer.email]
        assert "Invalid VPA" in message.body

    def test_the_bank_export_lists_pending_payouts_in_full_with_formulas_escaped(self, admin_client, payout):
        returned(S.RETURN_RECEIVED, refund_to={**BANK, "account_name": "=HYPERLINK(1)"}, price="250.00", quantity=1)
        bank = Payout.objects.latest("pk")
        returned(S.RETURN_RECEIVED)
        paid = Payout.objects.latest("pk")
        payout_mark_paid(payout_id=paid.pk, utr="UTR5", staff=staff_member())
        response = pay_action(admin_client, "export_for_bank", [payout, bank, paid])
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"].startswith('attachment; filename="joycart-payouts-')
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        buyer_name = payout.order_item.order.buyer.display_name
        assert rows == [
            ["Payment mode", "Beneficiary name", "Account number or UPI id", "IFSC", "Amount", "Reference"],
            [
                "UPI",
                buyer_name,
                "meera.iyer@okaxis",
                "",
                "998.00",
                f"PAYOUT-{payout.pk}-{payout.order_item.order.number}",
            ],
            [
                "NEFT",
                "'=HYPERLINK(1)",
                "50100123456789",
                "HDFC0001234",
                "250.00",
                f"PAYOUT-{bank.pk}-{bank.order_item.order.number}",
            ],
        ]

    def test_staff_who_may_only_view_payouts_can_neither_pay_nor_export(self, client, payout):
        client.force_login(staff_member("view_payout"))
        html = client.get(PAYOUTS).content.decode()
        assert "export_for_bank" not in html and "mark_paid" not in html
        response = pay_action(client, "export_for_bank", [payout])
        assert "meera.iyer" not in response.content.decode()
        pay_action(client, "mark_paid", [payout], apply="1", **{f"utr_{payout.pk}": "UTR1"})
        payout.refresh_from_db()
        assert payout.status == PayoutStatus.PENDING

    def test_the_payout_list_query_count_is_flat(self, admin_client, payout, assert_flat_query_count):
        assert_flat_query_count(
            lambda: admin_client.get(PAYOUTS),
            lambda: [returned(S.RETURN_RECEIVED) for _ in range(4)],
            max_queries=12,
        )
