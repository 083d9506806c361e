"""Every return move mails whom it concerns, after commit, as HTML with a plain-text alternative."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail

from orders.models import ReturnRequest
from orders.services.returns import (
    order_item_return_approve,
    order_item_return_escalate,
    order_item_return_receive,
    order_item_return_reject,
    order_item_return_request,
    order_item_return_withdraw,
    returns_auto_approve,
)
from payments.models import Payout, Refund
from payments.services.returns import payout_account_replace, payout_mark_failed, payout_mark_paid
from tests.factories import ProductFactory, UserFactory
from tests.orders.helpers import buy_now, make_buyer
from tests.payments.refund_helpers import apply_refund_webhooks, captured_online_order
from tests.returns.helpers import BANK, UPI, deliver, delivered_items

pytestmark = pytest.mark.django_db


def html_of(message) -> str:
    [alternative] = message.alternatives
    assert alternative.mimetype == "text/html"
    return alternative.content


def sent_to(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]


@pytest.fixture
def mails(django_capture_on_commit_callbacks):
    """`with mails() as outbox:` runs a service, its after-commit mails included; the outbox then holds only those."""

    class Capture:
        def __enter__(self):
            mail.outbox.clear()
            self.callbacks = django_capture_on_commit_callbacks(execute=True)
            self.callbacks.__enter__()
            return mail.outbox

        def __exit__(self, *exc):
            return self.callbacks.__exit__(*exc)

    return Capture


@pytest.fixture
def buyer():
    return make_buyer(email="meera@example.in")


@pytest.fixture
def item(buyer, django_capture_on_commit_callbacks):
    """A delivered Cash on Delivery item: two at ₹499.00."""
    product = ProductFactory(title="Cotton kurta", price=Decimal("499.00"), stock=10)
    with django_capture_on_commit_callbacks(execute=True):
        return deliver(buy_now(buyer, product, 2).items.get())


@pytest.fixture
def seller_email(item) -> str:
    return item.seller.user.email


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


def requested(item, buyer, refund_to=UPI, reason="size_fit", comment="Too tight"):
    return order_item_return_request(item_id=item.pk, buyer=buyer, reason=reason, comment=comment, refund_to=refund_to)


class TestCashOnDelivery:
    def test_a_request_mails_the_seller_only_with_the_reason_and_the_sla(self, item, buyer, seller_email, mails):
        with mails() as outbox:
            requested(item, buyer)
        [message] = outbox
        assert message.to == [seller_email]
        assert message.subject == f"Order {item.order.number}: return requested for Cotton kurta"
        assert "Reason: Size or fit: Too tight" in message.body
        assert "unanswered for 2 days is approved automatically" in message.body
        assert "Size or fit: Too tight" in html_of(message)

    def test_approval_receipt_and_payment_each_tell_the_buyer_where_the_money_is(
        self, item, buyer, seller_email, staff, mails
    ):
        seller = item.seller.user
        requested(item, buyer)
        with mails() as outbox:
            order_item_return_approve(item_id=item.pk, actor=seller)
        [approved] = outbox
        assert approved.to == [buyer.email]
        assert approved.subject == f"Return approved: Cotton kurta ({item.order.number})"
        assert "The seller approved your return of 2 \u00d7 Cotton kurta" in approved.body
        assert "Your refund of ₹998.00 starts as soon as they receive it" in approved.body

        with mails() as outbox:
            order_item_return_receive(item_id=item.pk, actor=seller, resellable=True)
        [received] = outbox  # the seller made the move: only the buyer hears
        assert received.to == [buyer.email]
        assert "We will pay ₹998.00 to UPI ••••@okaxis soon" in received.body
        assert "meera.iyer" not in received.body + html_of(received)

        with mails() as outbox:
            payout_mark_paid(payout_id=Payout.objects.get().pk, utr="UTR0042", staff=staff)
        [returned] = outbox
        assert returned.to == [buyer.email]
        assert returned.subject == f"Refund complete: Cotton kurta ({item.order.number})"
        assert "Your refund of ₹998.00 for 2 \u00d7 Cotton kurta" in returned.body and "is complete" in returned.body
        assert "UPI ••••@okaxis; the bank's reference (UTR) is UTR0042" in returned.body
        assert "UTR0042" in html_of(returned)
        assert sent_to(seller_email) == []

    def test_staff_receiving_it_tells_the_seller_whether_it_was_restocked(
        self, item, buyer, seller_email, staff, mails
    ):
        requested(item, buyer)
        order_item_return_approve(item_id=item.pk, actor=item.seller.user)
        with mails() as outbox:
            order_item_return_receive(item_id=item.pk, actor=staff, resellable=False, role="STAFF")
        [to_seller] = sent_to(seller_email)
        assert "JoyCart support marked the return" in to_seller.body
        assert "cannot be sold again, so your stock is unchanged" in to_seller.body
        assert len(outbox) == 2

    def test_a_withdrawal_tells_the_seller_and_never_says_delivered_again(self, item, buyer, seller_email, mails):
        requested(item, buyer)
        with mails() as outbox:
            order_item_return_withdraw(item_id=item.pk, buyer=buyer)
        [message] = outbox
        assert message.to == [seller_email]
        assert "withdrew their request to return 2 \u00d7 Cotton kurta" in message.body


class TestRefusalAndEscalation:
    def test_a_refusal_tells_the_buyer_why_escaped_in_html_and_that_they_may_escalate(
        self, item, buyer, seller_email, mails
    ):
        requested(item, buyer)
        with mails() as outbox:
            order_item_return_reject(item_id=item.pk, actor=item.seller.user, reason="Worn <b>& washed</b>")
        [message] = outbox
        assert message.to == [buyer.email]
        assert "The seller refused your request to return 2 \u00d7 Cotton kurta" in message.body
        assert "Reason: Worn <b>& washed</b>" in message.body
        assert "Worn &lt;b&gt;&amp; washed&lt;/b&gt;" in html_of(message)
        assert "<b>& washed" not in html_of(message)
        assert "ask JoyCart support to review it, once" in message.body

    def test_an_escalation_tells_the_seller_and_an_overturn_tells_both(self, item, buyer, seller_email, staff, mails):
        requested(item, buyer)
        order_item_return_reject(item_id=item.pk, actor=item.seller.user, reason="Worn")
        with mails() as outbox:
            order_item_return_escalate(item_id=item.pk, buyer=buyer, comment="Never worn, tags on")
        [escalated] = outbox
        assert escalated.to == [seller_email]
        assert "asked JoyCart support to review your refusal" in escalated.body
        assert "Their comment: Never worn, tags on" in escalated.body

        with mails() as outbox:
            order_item_return_approve(item_id=item.pk, actor=staff, role="STAFF")
        [to_buyer], [to_seller] = sent_to(buyer.email), sent_to(seller_email)
        assert "JoyCart support reviewed your return" in to_buyer.body and "overturned" in to_buyer.body
        assert "overturned your refusal: the return is approved" in to_seller.body
        assert len(outbox) == 2

    def test_staff_upholding_a_refusal_tells_both_it_is_final(self, item, buyer, seller_email, staff, mails):
        requested(item, buyer)
        order_item_return_reject(item_id=item.pk, actor=item.seller.user, reason="Worn")
        order_item_return_escalate(item_id=item.pk, buyer=buyer)
        with mails() as outbox:
            order_item_return_reject(item_id=item.pk, actor=staff, reason="Photos show wear", role="STAFF")
        [to_buyer], [to_seller] = sent_to(buyer.email), sent_to(seller_email)
        assert "upheld the refusal" in to_buyer.body and "This decision is final." in to_buyer.body
        assert "Reason: Photos show wear" in to_buyer.body
        assert "upheld your refusal" in to_seller.body
        assert len(outbox) == 2


def test_the_sla_job_tells_the_seller_and_the_buyer_it_approved_automatically(
    item, buyer, seller_email, settings, mails
):
    settings.RETURN_SELLER_SLA_DAYS = 3
    requested(item, buyer)
    ReturnRequest.objects.update(requested_at=ReturnRequest.objects.get().requested_at - timedelta(days=4))
    with mails() as outbox:
        assert returns_auto_approve() == 1
    [to_seller], [to_buyer] = sent_to(seller_email), sent_to(buyer.email)
    assert "was approved automatically because it was not answered within 3 days" in to_seller.body
    assert "did not answer within 3 days" in to_buyer.body
    assert len(outbox) == 2


class TestPayoutFailed:
    @pytest.fixture
    def payout(self, item, buyer):
        requested(item, buyer, refund_to=BANK)
        order_item_return_approve(item_id=item.pk, actor=item.seller.user)
        order_item_return_receive(item_id=item.pk, actor=item.seller.user, resellable=True)
        return Payout.objects.get()

    def test_the_buyer_is_asked_for_new_details_with_the_banks_reason(self, payout, buyer, staff, mails):
        with mails() as outbox:
            payout_mark_failed(payout_id=payout.pk, reason="Account <closed>", staff=staff)
        [message] = outbox
        assert message.to == [buyer.email]
        assert "new account details needed" in message.subject
        assert "₹998.00" in message.body and "A/c ••••6789 (HDFC0001234)" in message.body
        assert "The bank said: Account <closed>" in message.body
        assert "Account &lt;closed&gt;" in html_of(message)
        assert "50100123456789" not in message.body + html_of(message)

    def test_nothing_is_sent_once_the_buyer_has_replaced_the_account(
        self, payout, buyer, staff, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            payout_mark_failed(payout_id=payout.pk, reason="Account closed", staff=staff)
        payout_account_replace(item_id=payout.order_item_id, buyer=buyer, refund_to=UPI)
        mail.outbox.clear()
        for callback in callbacks:
            callback()
        assert mail.outbox == []


def test_online_receipt_and_refund_tell_the_buyer(sandbox_gateway, django_capture_on_commit_callbacks, mails):
    sandbox_gateway.configure(refund_delay=None)
    buyer = make_buyer()
    order = captured_online_order(sandbox_gateway, buyer, {ProductFactory(price=Decimal("250.00")): 2})
    [item] = delivered_items(order)
    order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged")
    order_item_return_approve(item_id=item.pk, actor=item.seller.user)
    with mails():
        order_item_return_receive(item_id=item.pk, actor=item.seller.user, resellable=False)
    [received] = sent_to(buyer.email)
    assert "A refund of ₹500.00 to the account you paid from has started" in received.body

    sandbox_gateway.settle_refund(Refund.objects.get().gateway_refund_id)
    with mails():
        apply_refund_webhooks(sandbox_gateway)
    [returned] = sent_to(buyer.email)
    assert returned.subject.startswith("Refund complete:")
    assert "Your refund of ₹500.00" in returned.body and "went back to the account you paid from" in returned.body
