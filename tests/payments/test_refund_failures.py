"""Finding 7: a FAILED refund is never silent.

Whichever way a refund becomes FAILED (the gateway refusing it, its `refund.failed` webhook, or
reconciliation reading the gateway), the staff get exactly one mail, after commit, with the
refund, the order, the buyer, the gateway's reason and a link to retry it; and the admin's home
page lists it until it is retried.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core import mail

from accounts.selectors import staff_alert_emails
from orders.services.lifecycle import order_item_cancel
from payments.models import Refund, RefundStatus
from payments.services.refund_reconcile import refunds_reconcile
from payments.services.refunds import refund_retry
from payments.staff_alerts import refund_failed_send
from tests.factories import ProductFactory, UserFactory
from tests.orders.helpers import items_of, make_buyer
from tests.payments.online_helpers import deliver
from tests.payments.refund_helpers import captured_online_order, payment_of, refund_events
from tests.payments.test_admin import REFUNDS, RETRY, cancelled_online_order

pytestmark = pytest.mark.django_db(transaction=True)

STAFF = ["ops@joycart.test", "finance@joycart.test"]
SITE = "https://shop.example.com"
ADMIN_HOME = "/admin/"


@pytest.fixture
def sandbox(sandbox_gateway):
    sandbox_gateway.configure(refund_delay=None)  # refunds stay pending until the test settles them
    return sandbox_gateway


@pytest.fixture
def staff_settings(settings):
    settings.JOYCART_STAFF_EMAILS = STAFF
    settings.JOYCART_SITE_URL = SITE
    return settings


def staff_mails() -> list:
    return [message for message in mail.outbox if message.to == STAFF]


def paid_lamp_order(sandbox):
    """A captured online order of one ₹300.00 lamp, by a buyer with a name and an e-mail address."""
    buyer = make_buyer(first_name="Asha", last_name="Rao", email="asha@example.com")
    return captured_online_order(sandbox, buyer, {ProductFactory(title="Brass lamp", price=Decimal("300.00")): 1})


def cancel_first_item(order) -> Refund:
    order_item_cancel(item_id=items_of(order)[0].pk, actor=order.buyer, reason="not needed")
    return Refund.objects.get(payment__order=order)


# --- the mail -------------------------------------------------------------------------------


def test_finding7_a_permanent_gateway_error_fails_the_refund_and_mails_the_staff_once(sandbox, staff_settings):
    order = paid_lamp_order(sandbox)
    # Someone refunded the whole payment at the gateway behind our back: our refund is refused (HTTP 400).
    sandbox.refund_create(payment_of(order).gateway_payment_id, {"amount": 30_000}, "outside-refund-1")

    refund = cancel_first_item(order)

    assert refund.status == RefundStatus.FAILED
    [alert] = staff_mails()
    assert alert.subject == f"Refund #{refund.pk} of ₹300.00 for {order.number} failed: retry it"
    assert f"Refund:  #{refund.pk}, ₹300.00 for 1 x Brass lamp" in alert.body
    assert f"Order:   {order.number}" in alert.body
    assert f"Buyer:   Asha Rao <asha@example.com> (user {order.buyer.username})" in alert.body
    assert "Reason:  The payment has been fully refunded already" in alert.body
    assert f"{SITE}/admin/payments/refund/{refund.pk}/change/" in alert.body
    assert f"{SITE}/admin/payments/refund/?status__exact=FAILED" in alert.body


def test_finding7_a_refund_failed_webhook_mails_once_and_its_repeats_mail_nobody(client, sandbox, staff_settings):
    order = paid_lamp_order(sandbox)
    sandbox.fail_next_refund(1)
    refund = cancel_first_item(order)
    sandbox.settle_refund(refund.gateway_refund_id)
    [failed] = refund_events(sandbox, "refund.failed")
    assert staff_mails() == []  # accepted by the gateway: nothing to say yet

    assert deliver(client, failed).json()["outcome"] == "PROCESSED"
    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    [alert] = staff_mails()
    assert f"Refund #{refund.pk} " in alert.subject
    assert "Reason:  The payment gateway reported that the refund failed." in alert.body

    deliver(client, failed)  # the same delivery again
    deliver(client, failed, HTTP_X_RAZORPAY_EVENT_ID=f"{failed.id}-resent")  # the same news, as a new event
    assert len(staff_mails()) == 1


def test_finding7_reconciliation_reading_a_failed_refund_mails_once(sandbox, staff_settings):
    order = paid_lamp_order(sandbox)
    sandbox.fail_next_refund(1)
    refund = cancel_first_item(order)
    sandbox.settle_refund(refund.gateway_refund_id)  # its webhook is lost

    assert refunds_reconcile(older_than=timedelta(0))["failed"] == 1
    assert refunds_reconcile(older_than=timedelta(0))["failed"] == 0

    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert len(staff_mails()) == 1


def test_finding7_a_retried_refund_that_fails_again_mails_again(sandbox, staff_settings, staff):
    order = paid_lamp_order(sandbox)
    sandbox.fail_next_refund(2)
    refund = cancel_first_item(order)
    sandbox.settle_refund(refund.gateway_refund_id)
    refunds_reconcile(older_than=timedelta(0))
    assert len(staff_mails()) == 1

    refund_retry(refund_id=refund.pk, actor=staff)
    refund.refresh_from_db()
    sandbox.settle_refund(refund.gateway_refund_id)
    refunds_reconcile(older_than=timedelta(0))

    refund.refresh_from_db()
    assert refund.status == RefundStatus.FAILED
    assert len(staff_mails()) == 2  # one per failure


def test_a_mail_about_an_attempt_already_retried_is_not_sent(sandbox, staff_settings, staff):
    """With the database queue the mail task may run late: after a retry, that failure is old news."""
    order = paid_lamp_order(sandbox)
    sandbox.refund_create(payment_of(order).gateway_payment_id, {"amount": 30_000}, "outside-refund-2")
    refund = cancel_first_item(order)
    failed_key = refund.idempotency_key
    mail.outbox.clear()
    refund_retry(refund_id=refund.pk, actor=staff)  # refused again: a new failure, a new mail
    assert len(staff_mails()) == 1

    refund_failed_send(refund_id=refund.pk, attempt_key=failed_key)

    assert len(staff_mails()) == 1


# --- who is told ----------------------------------------------------------------------------


@pytest.mark.django_db
class TestStaffAlertRecipients:
    def test_the_setting_comes_first(self, settings):
        settings.JOYCART_STAFF_EMAILS = ["ops@joycart.test", "OPS@joycart.test", "cfo@joycart.test"]
        settings.ADMINS = ["admin@joycart.test"]
        assert staff_alert_emails() == ["ops@joycart.test", "cfo@joycart.test"]

    def test_then_admins(self, settings):
        settings.JOYCART_STAFF_EMAILS = []
        settings.ADMINS = ["admin@joycart.test"]
        UserFactory(is_superuser=True, is_staff=True, email="root@joycart.test")
        assert staff_alert_emails() == ["admin@joycart.test"]

    def test_then_the_active_superusers_with_an_address(self, settings):
        settings.JOYCART_STAFF_EMAILS, settings.ADMINS = [], []
        UserFactory(is_superuser=True, is_staff=True, email="root@joycart.test")
        UserFactory(is_superuser=True, is_staff=True, email="")
        UserFactory(is_superuser=True, is_staff=True, email="gone@joycart.test", is_active=False)
        UserFactory(is_superuser=True, is_staff=True, email="blocked@joycart.test", is_blocked=True)
        UserFactory(is_staff=True, email="clerk@joycart.test")
        assert staff_alert_emails() == ["root@joycart.test"]


# --- the admin's home page ------------------------------------------------------------------


def failed_listed(response) -> str:
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    start = html.find('data-testid="failed-refunds"')
    return "" if start < 0 else html[start : html.index("</table>", start)]


class TestFinding7AdminHome:
    def test_finding7_failed_refunds_are_listed_with_links_until_retried(self, client, sandbox, staff):
        client.force_login(staff)
        failed = Refund.objects.get(payment__order=cancelled_online_order(sandbox, fail_at_gateway=True))
        cancelled_online_order(sandbox)  # PROCESSING: not listed

        listed = failed_listed(client.get(ADMIN_HOME))
        assert "Failed refunds: 1 waiting for a retry" in listed
        assert f'href="{REFUNDS}?status__exact=FAILED"' in listed
        assert f'href="{REFUNDS}{failed.pk}/change/"' in listed
        assert failed.payment.order.number in listed and "₹300.00" in listed
        assert listed.count('data-testid="failed-refund"') == 1

        client.post(REFUNDS, {"action": RETRY, "_selected_action": [failed.pk]})

        assert failed_listed(client.get(ADMIN_HOME)) == ""

    def test_finding7_staff_who_may_not_view_refunds_do_not_see_the_list(self, client, sandbox):
        cancelled_online_order(sandbox, fail_at_gateway=True)
        clerk = UserFactory(is_staff=True)
        clerk.user_permissions.add(Permission.objects.get(codename="view_payment"))
        client.force_login(clerk)
        assert failed_listed(client.get(ADMIN_HOME)) == ""

        viewer = UserFactory(is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_refund"))
        client.force_login(viewer)
        assert "Failed refunds: 1 waiting for a retry" in failed_listed(client.get(ADMIN_HOME))

    def test_finding7_the_home_page_lists_the_newest_five_and_counts_the_rest(self, client, sandbox, staff):
        client.force_login(staff)
        for _ in range(7):
            cancelled_online_order(sandbox, fail_at_gateway=True)
        listed = failed_listed(client.get(ADMIN_HOME))
        assert "Failed refunds: 7 waiting for a retry" in listed
        assert listed.count('data-testid="failed-refund"') == 5
        assert "See all 7" in listed

    def test_finding7_the_home_page_query_count_does_not_grow_with_failed_refunds(
        self, client, sandbox, staff, assert_flat_query_count
    ):
        client.force_login(staff)
        cancelled_online_order(sandbox, fail_at_gateway=True)
        assert_flat_query_count(
            lambda: client.get(ADMIN_HOME),
            lambda: [cancelled_online_order(sandbox, fail_at_gateway=True) for _ in range(6)],
            max_queries=8,
        )
