"""Online checkout, paying (again), the checkout's signature, captures and failures: the real SDK against
the sandbox gateway. Webhooks are the sandbox's own signed events, handed to our endpoint by the test
client; test_webhooks.py covers the endpoint's refusals and real deliveries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from orders.models import ActorRole, Order, OrderEvent, OrderItemStatus, OrderStatus
from payments.gateway import GatewayPayment
from payments.models import CaptureOutcome, CaptureReason, Payment, PaymentStatus, WebhookEvent, WebhookOutcome
from payments.services import online, refunds
from payments.services.captures import LATE_CAPTURE_REASON
from payments.services.expiry import orders_expire_unpaid
from payments.services.online import LATE_CAPTURE_RECHECK, payment_capture_apply, payments_reconcile
from tests.factories import ProductFactory, StoreFactory
from tests.orders.helpers import bearer, make_buyer, new_key, stock_of
from tests.payments.online_helpers import (
    CHECKOUT,
    VERIFY,
    age,
    buy_now_online,
    checkout_online,
    deliver,
    deliver_all,
    events,
    pay_url,
    payment_of,
    place_online,
    placements,
    statuses,
    success_fields,
)

pytestmark = pytest.mark.django_db

S = OrderItemStatus


@pytest.fixture
def buyer_api(buyer):
    return bearer(buyer)


@pytest.fixture
def refunds_started(monkeypatch):
    """Calls to `refund_initiate` (the refund pipeline is tested in test_refunds.py)."""
    calls = []
    monkeypatch.setattr(refunds, "refund_initiate", lambda **kwargs: calls.append(kwargs))
    return calls


@pytest.fixture
def order(buyer, product, sandbox_gateway, django_capture_on_commit_callbacks):
    """2 of a ₹499.00 product, awaiting payment, with its gateway order."""
    with django_capture_on_commit_callbacks(execute=True):
        return buy_now_online(buyer, product, 2)


# --- checkout -------------------------------------------------------------------------


class TestOnlineCheckout:
    def test_reserves_the_stock_and_creates_the_gateway_order(
        self, buyer_api, buyer, product, sandbox_gateway, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = checkout_online(buyer_api, buyer, product, 2)
        assert response.status_code == 201, response.content
        body = response.json()
        order = Order.objects.get(pk=body["id"])
        assert body["status"] == OrderStatus.PENDING_PAYMENT
        assert statuses(order) == [S.PENDING_PAYMENT]
        assert stock_of(product) == 8
        payment = payment_of(order)
        assert (payment.method, payment.status, payment.amount) == ("ONLINE", PaymentStatus.PENDING, Decimal("998.00"))
        [gateway_order] = sandbox_gateway.orders.values()
        assert payment.gateway_order_id == gateway_order["id"]
        assert (gateway_order["amount"], gateway_order["currency"], gateway_order["receipt"]) == (
            99_800,
            "INR",
            order.number,
        )
        assert gateway_order["notes"] == {"order_id": str(order.pk), "order_number": order.number}

        block = body["payment"]
        assert block["razorpay"]["order_id"] == payment.gateway_order_id
        assert block["razorpay"]["key_id"] == "rzp_test_fixture"
        assert (block["razorpay"]["amount"], block["razorpay"]["currency"]) == (99_800, "INR")
        assert block["razorpay"]["callback_url"] == "http://testserver/payments/razorpay/callback/"
        assert block["razorpay"]["checkout_url"].startswith(
            f"{sandbox_gateway.base_url}/checkout/{gateway_order['id']}?"
        )
        assert (block["captured_at"], block["verified_at"], block["last_failure"]) == (None, None, None)
        assert block["pay_by"]
        # No "order placed" e-mails until the money is captured.
        assert mail.outbox == []

    def test_cash_on_delivery_answers_as_before(self, buyer_api, buyer, product, sandbox_gateway):
        body = {"source": "buy_now", "product_id": product.pk, "address_id": buyer.address.pk, "payment_method": "COD"}
        response = buyer_api.post(CHECKOUT, body, format="json", HTTP_IDEMPOTENCY_KEY=new_key())
        assert set(response.json()["payment"]) == {"method", "status", "amount", "currency", "collected_at"}
        assert sandbox_gateway.orders == {}

    def test_a_replay_returns_the_same_order_and_gateway_order(self, buyer_api, buyer, product, sandbox_gateway):
        key = new_key()
        first = checkout_online(buyer_api, buyer, product, key=key)
        again = checkout_online(buyer_api, buyer, product, key=key)
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["payment"]["razorpay"]["order_id"] == first.json()["payment"]["razorpay"]["order_id"]
        assert len(sandbox_gateway.orders) == 1 and stock_of(product) == 9

    def test_gateway_down_keeps_the_order_and_pay_creates_the_gateway_order(
        self, buyer_api, buyer, product, sandbox_gateway, caplog
    ):
        sandbox_gateway.fail_next(1, status=503, path="/v1/orders")
        response = checkout_online(buyer_api, buyer, product)
        assert response.status_code == 201
        assert response.json()["status"] == OrderStatus.PENDING_PAYMENT
        assert response.json()["payment"]["razorpay"] is None
        assert "Could not create the gateway order" in caplog.text
        order = Order.objects.get()
        assert payment_of(order).gateway_order_id is None

        paid = buyer_api.post(pay_url(order))
        assert paid.status_code == 200, paid.content
        assert paid.json()["payment"]["razorpay"]["order_id"] == payment_of(order).gateway_order_id
        assert len(sandbox_gateway.orders) == 1

    def test_a_replay_creates_the_missing_gateway_order(self, buyer_api, buyer, product, sandbox_gateway):
        key = new_key()
        sandbox_gateway.fail_next(1, path="/v1/orders")
        assert checkout_online(buyer_api, buyer, product, key=key).json()["payment"]["razorpay"] is None
        assert checkout_online(buyer_api, buyer, product, key=key).json()["payment"]["razorpay"]["order_id"]
        assert Order.objects.count() == 1 and len(sandbox_gateway.orders) == 1


class TestPayAgain:
    def test_returns_the_same_gateway_order(self, buyer_api, order, sandbox_gateway):
        response = buyer_api.post(pay_url(order))
        assert response.status_code == 200
        assert response.json()["payment"]["razorpay"]["order_id"] == payment_of(order).gateway_order_id
        assert len(sandbox_gateway.orders) == 1

    def test_another_buyers_order_is_404(self, order):
        response = bearer(make_buyer()).post(pay_url(order))
        assert response.status_code == 404

    def test_needs_login(self, order, api_client):
        assert api_client.post(pay_url(order)).status_code in (401, 403)

    def test_a_captured_order_is_409(self, buyer_api, order, sandbox_gateway, client):
        sandbox_gateway.pay(payment_of(order).gateway_order_id)
        deliver_all(client, sandbox_gateway)
        response = buyer_api.post(pay_url(order))
        assert (response.status_code, response.json()["code"]) == (409, "payment_not_awaited")

    def test_an_expired_order_is_409(self, buyer_api, order):
        age(order, 16)
        assert buyer_api.post(pay_url(order)).status_code == 409  # past the deadline, even before the sweep
        assert orders_expire_unpaid()["expired"] == 1
        assert buyer_api.post(pay_url(order)).status_code == 409

    def test_gateway_still_down_is_503_and_the_order_is_kept(self, buyer, product, sandbox_gateway):
        sandbox_gateway.fail_next(2, path="/v1/orders")
        order = buy_now_online(buyer, product)
        response = bearer(buyer).post(pay_url(order))
        assert (response.status_code, response.json()["code"]) == (503, "gateway_unavailable")
        assert statuses(order) == [S.PENDING_PAYMENT]

    def test_a_cash_on_delivery_order_is_409(self, buyer, product, sandbox_gateway):
        from tests.orders.helpers import buy_now

        order = buy_now(buyer, product)
        assert bearer(buyer).post(pay_url(order)).status_code == 409


# --- the checkout's signature ---------------------------------------------------------


class TestVerify:
    def test_a_good_signature_is_200_and_only_marks_the_payment_verified(self, buyer_api, order, sandbox_gateway):
        paid = sandbox_gateway.pay(payment_of(order).gateway_order_id)
        response = buyer_api.post(VERIFY, success_fields(paid), format="json")
        assert response.status_code == 200, response.content
        payment = payment_of(order)
        assert payment.verified_at is not None
        assert payment.status == PaymentStatus.PENDING  # only the gateway's word captures
        assert statuses(order) == [S.PENDING_PAYMENT]
        assert response.json()["payment"]["verified_at"]

    def test_a_bad_signature_is_400_and_changes_nothing(self, buyer_api, order, sandbox_gateway):
        paid = sandbox_gateway.pay(payment_of(order).gateway_order_id)
        response = buyer_api.post(VERIFY, {**success_fields(paid), "razorpay_signature": "0" * 64}, format="json")
        assert (response.status_code, response.json()["code"]) == (400, "invalid_signature")
        assert payment_of(order).verified_at is None

    def test_the_signature_is_checked_against_the_stored_order_id(
        self, buyer_api, buyer, product, order, sandbox_gateway
    ):
        """A signature made for another gateway order (one the buyer paid ₹1 for, say) does not verify this one."""
        other = buy_now_online(buyer, product)
        paid = sandbox_gateway.pay(payment_of(other).gateway_order_id)
        fields = {**success_fields(paid), "razorpay_order_id": payment_of(order).gateway_order_id}
        assert buyer_api.post(VERIFY, fields, format="json").status_code == 400
        assert payment_of(order).verified_at is None

    def test_another_buyers_payment_is_404(self, order, sandbox_gateway):
        paid = sandbox_gateway.pay(payment_of(order).gateway_order_id)
        response = bearer(make_buyer()).post(VERIFY, success_fields(paid), format="json")
        assert response.status_code == 404
        assert payment_of(order).verified_at is None

    def test_an_unknown_order_is_404_and_missing_fields_400(self, buyer_api, order):
        fields = {"razorpay_order_id": "order_nope", "razorpay_payment_id": "pay_x", "razorpay_signature": "ab"}
        assert buyer_api.post(VERIFY, fields, format="json").status_code == 404
        assert buyer_api.post(VERIFY, {}, format="json").status_code == 400

    def test_needs_login(self, api_client):
        assert api_client.post(VERIFY, {}, format="json").status_code in (401, 403)


# --- capture --------------------------------------------------------------------------


class TestCapture:
    def test_the_webhook_places_every_item_once_and_mails_the_order(
        self, buyer, store, sandbox_gateway, client, django_capture_on_commit_callbacks
    ):
        other_store = StoreFactory()
        lamp, tea = ProductFactory(store=store), ProductFactory(store=other_store, price=Decimal("120.50"))
        with django_capture_on_commit_callbacks(execute=True):
            order = place_online(buyer, {lamp: 1, tea: 3})
        gateway_order_id = payment_of(order).gateway_order_id
        paid = sandbox_gateway.pay(gateway_order_id)
        with django_capture_on_commit_callbacks(execute=True):
            deliver(client, events(sandbox_gateway, "payment.captured")[0])

        assert statuses(order) == [S.PLACED, S.PLACED]
        order.refresh_from_db()
        assert order.status == OrderStatus.PLACED
        payment = payment_of(order)
        assert (payment.status, payment.captured_amount, payment.gateway_payment_id) == (
            PaymentStatus.CAPTURED,
            Decimal("860.50"),
            paid["id"],
        )
        assert payment.captured_at is not None
        moves = OrderEvent.objects.filter(order=order, to_status=S.PLACED)
        assert [(e.actor_id, e.actor_role, e.from_status) for e in moves] == [
            (None, ActorRole.SYSTEM, S.PENDING_PAYMENT)
        ] * 2
        subjects = sorted(message.subject for message in mail.outbox)
        assert f"Your JoyCart order {order.number} is placed" in subjects
        assert len([s for s in subjects if s.startswith(f"New order {order.number}")]) == 2
        [to_buyer] = [m for m in mail.outbox if m.to == [buyer.email]]
        assert "Paid ₹860.50" in to_buyer.body

    def test_callback_first_then_webhook(self, buyer_api, order, sandbox_gateway, client):
        paid = sandbox_gateway.pay(payment_of(order).gateway_order_id)
        assert buyer_api.post(VERIFY, success_fields(paid), format="json").status_code == 200
        assert statuses(order) == [S.PENDING_PAYMENT]
        deliver_all(client, sandbox_gateway)
        assert statuses(order) == [S.PLACED] and placements(order) == 1

    def test_webhook_first_then_callback(self, buyer_api, order, sandbox_gateway, client):
        paid = sandbox_gateway.pay(payment_of(order).gateway_order_id)
        deliver_all(client, sandbox_gateway)
        assert buyer_api.post(VERIFY, success_fields(paid), format="json").status_code == 200
        assert statuses(order) == [S.PLACED] and placements(order) == 1

    def test_the_same_event_twenty_times_is_one_transition_and_one_stored_event(self, order, sandbox_gateway, client):
        sandbox_gateway.pay(payment_of(order).gateway_order_id)
        captured = events(sandbox_gateway, "payment.captured")[0]
        responses = [deliver(client, captured) for _ in range(20)]
        assert {response.status_code for response in responses} == {200}
        assert placements(order) == 1
        assert WebhookEvent.objects.filter(event_id=captured.id).count() == 1
        assert WebhookEvent.objects.get(event_id=captured.id).attempts == 1

    def test_order_paid_with_payment_captured_is_one_transition(self, order, sandbox_gateway, client):
        sandbox_gateway.pay(payment_of(order).gateway_order_id)
        deliver_all(client, sandbox_gateway)
        assert placements(order) == 1
        outcomes = dict(WebhookEvent.objects.values_list("event_type", "outcome"))
        assert outcomes == {"payment.captured": WebhookOutcome.PROCESSED, "order.paid": WebhookOutcome.IGNORED}

    def test_order_paid_alone_places_the_order_too(self, order, sandbox_gateway, client):
        sandbox_gateway.pay(payment_of(order).gateway_order_id)
        deliver(client, events(sandbox_gateway, "order.paid")[0])
        assert statuses(order) == [S.PLACED]

    def test_an_amount_mismatch_is_flagged_and_nothing_is_placed(self, order, sandbox_gateway, client, caplog):
        sandbox_gateway.pay(payment_of(order).gateway_order_id, amount=100)
        deliver_all(client, sandbox_gateway)
        payment = payment_of(order)
        [capture] = payment.captures.all()
        assert (capture.outcome, capture.reason) == (CaptureOutcome.FLAGGED, CaptureReason.MISMATCH)
        assert payment.status == PaymentStatus.PENDING
        assert "captured INR 1.00 for an order of INR 998.00" in capture.detail
        assert statuses(order) == [S.PENDING_PAYMENT] and placements(order) == 0
        assert "flagged for staff review" in caplog.text

    def test_a_currency_mismatch_is_flagged(self, order, sandbox_gateway):
        paid = sandbox_gateway.pay(payment_of(order).gateway_order_id)
        applied = payment_capture_apply(gateway_payment=GatewayPayment.from_razorpay({**paid, "currency": "USD"}))
        assert applied.changed and "USD" in applied.detail
        assert payment_of(order).captures.get().outcome == CaptureOutcome.FLAGGED
        assert statuses(order) == [S.PENDING_PAYMENT]

    def test_a_capture_of_an_unknown_gateway_order_is_ignored(self, sandbox_gateway, client):
        gateway_order = sandbox_gateway.ledger.order_create({"amount": 500, "currency": "INR"})
        sandbox_gateway.pay(gateway_order["id"])
        deliver_all(client, sandbox_gateway)
        assert set(WebhookEvent.objects.values_list("outcome", flat=True)) == {WebhookOutcome.IGNORED}

    def test_the_gateway_order_is_found_by_our_notes_when_its_id_was_never_stored(self, order, sandbox_gateway, client):
        """The response to creating the gateway order was lost: order.paid carries our order id in its notes."""
        gateway_order_id = payment_of(order).gateway_order_id
        Payment.objects.filter(order=order).update(gateway_order_id=None)
        sandbox_gateway.pay(gateway_order_id)
        deliver(client, events(sandbox_gateway, "order.paid")[0])
        assert statuses(order) == [S.PLACED]
        assert payment_of(order).gateway_order_id == gateway_order_id

    def test_a_late_capture_after_expiry_is_refunded_in_full(
        self, order, product, sandbox_gateway, client, refunds_started, django_capture_on_commit_callbacks
    ):
        age(order, 20)
        assert orders_expire_unpaid()["expired"] == 1
        assert stock_of(product) == 10
        mail.outbox.clear()
        paid = sandbox_gateway.pay(payment_of(order).gateway_order_id)
        with django_capture_on_commit_callbacks(execute=True):
            deliver_all(client, sandbox_gateway)

        payment = payment_of(order)
        assert (payment.status, payment.gateway_payment_id, payment.captured_amount) == (
            PaymentStatus.CAPTURED,
            paid["id"],
            Decimal("998.00"),
        )
        assert statuses(order) == [S.CANCELLED] and placements(order) == 0
        assert len(refunds_started) == 1  # order.paid after payment.captured changes nothing
        [call] = refunds_started
        assert call["payment"].pk == payment.pk
        assert (call["amount"], call["reason"]) == (Decimal("998.00"), LATE_CAPTURE_REASON)
        assert call.get("order_item") is None
        [to_buyer] = mail.outbox
        assert to_buyer.to == [order.buyer.email]
        assert to_buyer.subject == f"Your payment for {order.number} is being refunded"
        assert "full refund of ₹998.00" in to_buyer.body

    def test_a_second_capture_on_a_captured_order_is_refunded_against_its_own_capture(
        self, order, sandbox_gateway, client, refunds_started
    ):
        paid = sandbox_gateway.pay(payment_of(order).gateway_order_id)
        deliver_all(client, sandbox_gateway)
        second = GatewayPayment.from_razorpay({**paid, "id": "pay_second"})
        assert payment_capture_apply(gateway_payment=second).changed
        payment = payment_of(order)
        assert payment.gateway_payment_id == paid["id"] and placements(order) == 1
        [call] = refunds_started
        assert (call["capture"].gateway_payment_id, call["amount"]) == ("pay_second", Decimal("998.00"))
        assert call["capture"].outcome == CaptureOutcome.REFUNDED


# --- failure --------------------------------------------------------------------------


class TestFailure:
    def test_a_failed_attempt_is_recorded_and_the_buyer_can_try_again(self, buyer_api, order, sandbox_gateway, client):
        gateway_order_id = payment_of(order).gateway_order_id
        sandbox_gateway.fail(gateway_order_id, description="Card declined by the bank")
        deliver_all(client, sandbox_gateway)
        payment = payment_of(order)
        assert (payment.failure_code, payment.failure_reason) == ("BAD_REQUEST_ERROR", "Card declined by the bank")
        assert payment.failed_at is not None and payment.status == PaymentStatus.PENDING
        block = buyer_api.get(f"/api/v1/orders/{order.pk}/").json()["payment"]
        assert block["last_failure"]["reason"] == "Card declined by the bank"

        again = buyer_api.post(pay_url(order))
        assert again.json()["payment"]["razorpay"]["order_id"] == gateway_order_id  # the same gateway order
        sandbox_gateway.pay(gateway_order_id)
        deliver_all(client, sandbox_gateway, "payment.captured")
        assert statuses(order) == [S.PLACED]

    def test_a_failure_after_the_capture_changes_nothing(self, order, sandbox_gateway, client):
        gateway_order_id = payment_of(order).gateway_order_id
        sandbox_gateway.fail(gateway_order_id)
        failed = events(sandbox_gateway, "payment.failed")[0]
        sandbox_gateway.pay(gateway_order_id)
        deliver_all(client, sandbox_gateway, "payment.captured")
        assert deliver(client, failed).status_code == 200
        payment = payment_of(order)
        assert payment.status == PaymentStatus.CAPTURED and payment.failed_at is None
        assert WebhookEvent.objects.get(event_id=failed.id).outcome == WebhookOutcome.IGNORED

    def test_an_older_attempts_failure_never_replaces_a_newer_one(self, order, sandbox_gateway):
        first = sandbox_gateway.fail(payment_of(order).gateway_order_id, description="first")
        second = sandbox_gateway.fail(payment_of(order).gateway_order_id, description="second")
        later = {**second, "created_at": second["created_at"] + 5}
        assert online.payment_failure_apply(gateway_payment=GatewayPayment.from_razorpay(later)).changed
        assert not online.payment_failure_apply(gateway_payment=GatewayPayment.from_razorpay(first)).changed
        assert payment_of(order).failure_reason == "second"


# --- reconciliation -------------------------------------------------------------------


class TestReconcile:
    def test_repairs_a_payment_whose_webhook_never_came(
        self, order, sandbox_gateway, django_capture_on_commit_callbacks
    ):
        sandbox_gateway.webhook_mode("never")
        sandbox_gateway.pay(payment_of(order).gateway_order_id)
        assert statuses(order) == [S.PENDING_PAYMENT]

        assert payments_reconcile(older_than=timedelta(minutes=5)) == {
            "checked": 0,
            "captured": 0,
            "failed": 0,
            "unchanged": 0,
            "errors": 0,
        }  # too recent to be overdue
        assert payments_reconcile(older_than=timedelta(0), dry_run=True)["captured"] == 1
        assert statuses(order) == [S.PENDING_PAYMENT]

        with django_capture_on_commit_callbacks(execute=True):
            counts = payments_reconcile(older_than=timedelta(0))
        assert counts == {"checked": 1, "captured": 1, "failed": 0, "unchanged": 0, "errors": 0}
        assert statuses(order) == [S.PLACED] and payment_of(order).status == PaymentStatus.CAPTURED
        assert f"Your JoyCart order {order.number} is placed" in [m.subject for m in mail.outbox]
        # Nothing left to do, and the webhook that comes at last changes nothing.
        assert payments_reconcile(older_than=timedelta(0))["checked"] == 0

    def test_records_a_failed_attempt_and_leaves_an_untouched_order(self, buyer, product, order, sandbox_gateway):
        untouched = buy_now_online(buyer, product)
        sandbox_gateway.fail(payment_of(order).gateway_order_id)
        counts = payments_reconcile(older_than=timedelta(0))
        assert counts == {"checked": 2, "captured": 0, "failed": 1, "unchanged": 1, "errors": 0}
        assert payment_of(order).failed_at is not None and payment_of(untouched).failed_at is None
        assert payments_reconcile(older_than=timedelta(0))["failed"] == 0  # recorded already

    def test_refunds_a_late_capture_whose_webhook_never_came(self, order, sandbox_gateway, refunds_started):
        sandbox_gateway.webhook_mode("never")
        age(order, 20)
        orders_expire_unpaid()
        sandbox_gateway.pay(payment_of(order).gateway_order_id)
        assert payments_reconcile(older_than=timedelta(minutes=10))["captured"] == 1
        assert [call["amount"] for call in refunds_started] == [Decimal("998.00")]

    def test_an_expired_orders_payment_is_read_again_only_now_and_then(self, order, sandbox_gateway, refunds_started):
        """Watched for a late capture for days, but not read from Razorpay every minute (its API is rate-limited)."""
        sandbox_gateway.webhook_mode("never")
        age(order, 20)
        orders_expire_unpaid()
        assert payments_reconcile(older_than=timedelta(minutes=10)) == {
            "checked": 1,
            "captured": 0,
            "failed": 0,
            "unchanged": 1,
            "errors": 0,
        }
        sandbox_gateway.pay(payment_of(order).gateway_order_id)  # captured late, its webhook lost
        assert payments_reconcile(older_than=timedelta(minutes=10))["checked"] == 0  # read just now: not yet

        Payment.objects.filter(order=order).update(
            gateway_checked_at=timezone.now() - LATE_CAPTURE_RECHECK - timedelta(seconds=1)
        )
        assert payments_reconcile(older_than=timedelta(minutes=10))["captured"] == 1
        assert [call["amount"] for call in refunds_started] == [Decimal("998.00")]

    def test_a_gateway_error_is_counted_and_tried_next_time(self, order, sandbox_gateway):
        sandbox_gateway.webhook_mode("never")
        sandbox_gateway.pay(payment_of(order).gateway_order_id)
        sandbox_gateway.fail_next(1, path="/v1/orders/*/payments")
        assert payments_reconcile(older_than=timedelta(0))["errors"] == 1
        assert payments_reconcile(older_than=timedelta(0))["captured"] == 1

    def test_cash_on_delivery_is_never_read_and_a_captured_payment_only_now_and_then(
        self, buyer, product, sandbox_gateway, client
    ):
        from tests.orders.helpers import buy_now

        buy_now(buyer, product)
        order = buy_now_online(buyer, product)
        sandbox_gateway.pay(payment_of(order).gateway_order_id)
        deliver_all(client, sandbox_gateway)
        assert payments_reconcile(older_than=timedelta(0)) == {
            "checked": 1,
            "captured": 0,
            "failed": 0,
            "unchanged": 1,
            "errors": 0,
        }  # the captured one, in case another capture's webhook was lost
        assert payments_reconcile(older_than=timedelta(0))["checked"] == 0  # not again within 15 minutes


def test_order_lists_cost_the_same_queries_however_many_online_orders(
    buyer, product, sandbox_gateway, assert_flat_query_count
):
    client = bearer(buyer)
    buy_now_online(buyer, product)

    def more():
        for _ in range(3):
            buy_now_online(buyer, product)

    assert_flat_query_count(lambda: client.get("/api/v1/orders/"), more, max_queries=8)


def test_pay_by_follows_the_timeout_setting(buyer_api, order, settings):
    settings.ORDER_PAYMENT_TIMEOUT_MINUTES = 30
    block = buyer_api.get(f"/api/v1/orders/{order.pk}/").json()["payment"]
    pay_by = timezone.datetime.fromisoformat(block["pay_by"])
    assert pay_by - order.created_at == timedelta(minutes=30)
