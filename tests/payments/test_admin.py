"""The payments admin: read-only payments, refunds (with "Retry failed refunds") and webhook events."""

import re
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.utils import timezone

from joycart.errors import PermissionDenied
from orders.services.lifecycle import order_item_cancel
from payments.gateway import GatewayPayment
from payments.models import (
    CaptureOutcome,
    CaptureReason,
    GatewayCapture,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    WebhookEvent,
    WebhookOutcome,
)
from payments.services.captures import capture_refund, capture_resolve
from payments.services.expiry import orders_expire_unpaid
from payments.services.online import payment_capture_apply
from tests.factories import ProductFactory, UserFactory
from tests.orders.helpers import buy_now, items_of, make_buyer
from tests.payments.online_helpers import age, buy_now_online
from tests.payments.refund_helpers import apply_refund_webhooks, captured_online_order, payment_of

# Transactional: a cancellation's refund task runs after its transaction commits, as in development.
pytestmark = pytest.mark.django_db(transaction=True)

PAYMENTS = "/admin/payments/payment/"
REFUNDS = "/admin/payments/refund/"
EVENTS = "/admin/payments/webhookevent/"
CAPTURES = "/admin/payments/gatewaycapture/"
RETRY = "retry_failed_refunds"


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def sandbox(sandbox_gateway):
    sandbox_gateway.configure(refund_delay=None)
    return sandbox_gateway


def flashes(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def changelist_ids(response) -> set[int]:
    assert response.status_code == 200, response.status_code  # an unknown filter redirects with ?e=1
    return {obj.pk for obj in response.context["cl"].result_list}


FILTER = re.compile(r'<details data-filter-title="([^"]+)" open>(.*?)</details>', re.S)
CHOICE = re.compile(r'<a href="([^"]*)">([^<]*)</a>')


def sidebar(response) -> dict[str, dict[str, str]]:
    """The filter sidebar as a staff member sees it: {title: {choice label: link}}."""
    html = response.content.decode()
    return {
        title: {unescape(label): unescape(link) for link, label in CHOICE.findall(block)}
        for title, block in FILTER.findall(html)
    }


def follow_filter(client, url: str, response, title: str, label: str):
    """Click a choice in the sidebar of `response`: the link it renders, not a query string we made up."""
    return client.get(url + sidebar(response)[title][label])


def cancelled_online_order(sandbox, *, fail_at_gateway: bool = False, items: int = 1):
    """A captured online order with its first item cancelled; its refund FAILED at the gateway if asked."""
    if fail_at_gateway:
        sandbox.fail_next_refund(1)
    products = {ProductFactory(price=Decimal("300.00")): 1 for _ in range(items)}
    order = captured_online_order(sandbox, make_buyer(), products)
    order_item_cancel(item_id=items_of(order)[0].pk, actor=order.buyer, reason="not needed")
    if fail_at_gateway:
        refund = Refund.objects.get(order_item=items_of(order)[0])
        sandbox.settle_refund(refund.gateway_refund_id)
        apply_refund_webhooks(sandbox)  # earlier refunds' events again: they change nothing
    return order


def flag(payment: Payment, amount: Decimal = Decimal("1.00")) -> GatewayCapture:
    """A capture of the payment's gateway order that is not the order's, waiting for staff."""
    return GatewayCapture.objects.create(
        payment=payment,
        gateway_payment_id=f"pay_flagged{payment.pk}",
        gateway_order_id=payment.gateway_order_id or "order_x",
        amount=amount,
        currency="INR",
        captured_at=timezone.now(),
        outcome=CaptureOutcome.FLAGGED,
        reason=CaptureReason.MISMATCH,
        detail=f"captured INR {amount} for an order of INR {payment.amount}",
    )


def event(event_id: str, event_type: str = "payment.captured", outcome: str = WebhookOutcome.PROCESSED, **payload):
    return WebhookEvent.objects.create(
        event_id=event_id,
        event_type=event_type,
        payload={"event": event_type, **payload},
        outcome=outcome,
        detail="done",
    )


# --- access -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [PAYMENTS, CAPTURES, REFUNDS, EVENTS])
def test_shoppers_are_sent_to_the_admin_login(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith("/admin/login/")


@pytest.mark.parametrize("url", [PAYMENTS, CAPTURES, REFUNDS, EVENTS])
def test_staff_without_payment_permissions_are_refused(client, url):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(url).status_code == 403


# --- payments -----------------------------------------------------------------------------


class TestPayments:
    def test_filters_by_method_status_and_flagged(self, admin_client, sandbox):
        online = captured_online_order(sandbox, make_buyer(), {ProductFactory(): 1})
        cod = buy_now(make_buyer(), ProductFactory())
        flagged = captured_online_order(sandbox, make_buyer(), {ProductFactory(): 1})
        flag(payment_of(flagged))
        online_pk, cod_pk, flagged_pk = (payment_of(o).pk for o in (online, cod, flagged))

        assert changelist_ids(admin_client.get(PAYMENTS, {"method__exact": "COD"})) == {cod_pk}
        assert changelist_ids(admin_client.get(PAYMENTS, {"status__exact": PaymentStatus.CAPTURED})) == {
            online_pk,
            flagged_pk,
        }
        assert changelist_ids(admin_client.get(PAYMENTS, {"flagged": "1"})) == {flagged_pk}
        assert changelist_ids(admin_client.get(PAYMENTS, {"flagged": "0"})) == {online_pk, cod_pk}

    def test_the_sidebar_offers_method_status_and_flagged_and_its_links_narrow_the_rows(self, admin_client, sandbox):
        online = captured_online_order(sandbox, make_buyer(), {ProductFactory(): 1})
        cod = buy_now(make_buyer(), ProductFactory())
        flagged = captured_online_order(sandbox, make_buyer(), {ProductFactory(): 1})
        flag(payment_of(flagged))
        online_pk, cod_pk, flagged_pk = (payment_of(o).pk for o in (online, cod, flagged))

        listing = admin_client.get(PAYMENTS)
        filters = sidebar(listing)

        assert list(filters)[:3] == ["method", "status", "flagged"]
        assert set(filters["method"]) == {"All", "Cash on Delivery", "Online (Razorpay)"}
        assert set(filters["status"]) == {"All", *PaymentStatus.labels}
        assert set(filters["flagged"]) == {"All", "Yes", "No"}
        assert changelist_ids(listing) == {online_pk, cod_pk, flagged_pk}
        by_method = follow_filter(admin_client, PAYMENTS, listing, "method", "Online (Razorpay)")
        assert changelist_ids(by_method) == {online_pk, flagged_pk}
        by_status = follow_filter(admin_client, PAYMENTS, listing, "status", "Pending")
        assert changelist_ids(by_status) == {cod_pk}
        review = follow_filter(admin_client, PAYMENTS, listing, "flagged", "Yes")
        assert changelist_ids(review) == {flagged_pk}

    def test_detail_shows_the_gateway_side_and_refunds_read_only(self, admin_client, sandbox):
        order = cancelled_online_order(sandbox)
        payment = payment_of(order)
        response = admin_client.get(f"{PAYMENTS}{payment.pk}/change/")
        assert response.status_code == 200
        body = response.content.decode()
        assert payment.gateway_payment_id in body
        assert Refund.objects.get().gateway_refund_id in body
        assert admin_client.post(f"{PAYMENTS}{payment.pk}/change/", {}).status_code == 403
        assert admin_client.get(f"{PAYMENTS}add/").status_code == 403

    def test_changelist_query_count_is_flat(self, admin_client, sandbox, assert_flat_query_count):
        captured_online_order(sandbox, make_buyer(), {ProductFactory(): 1})
        assert_flat_query_count(
            lambda: admin_client.get(PAYMENTS),
            lambda: [captured_online_order(sandbox, make_buyer(), {ProductFactory(): 1}) for _ in range(5)],
            max_queries=10,
        )


# --- refunds ------------------------------------------------------------------------------


class TestRefunds:
    def test_filter_by_status(self, admin_client, sandbox):
        failed = cancelled_online_order(sandbox, fail_at_gateway=True)
        cancelled_online_order(sandbox)
        failed_refund = Refund.objects.get(payment__order=failed)
        assert failed_refund.status == RefundStatus.FAILED

        response = admin_client.get(REFUNDS, {"status__exact": RefundStatus.FAILED})

        assert changelist_ids(response) == {failed_refund.pk}
        assert len(changelist_ids(admin_client.get(REFUNDS))) == 2

    def test_the_sidebar_offers_status_and_the_action_list_offers_retry(self, admin_client, sandbox):
        failed = Refund.objects.get(payment__order=cancelled_online_order(sandbox, fail_at_gateway=True))
        processing = Refund.objects.get(payment__order=cancelled_online_order(sandbox))

        listing = admin_client.get(REFUNDS)
        filters = sidebar(listing)

        assert list(filters)[:2] == ["status", "created at"]
        assert set(filters["status"]) == {"All", *RefundStatus.labels}
        assert f'<option value="{RETRY}">Retry failed refunds</option>' in listing.content.decode()
        assert changelist_ids(listing) == {failed.pk, processing.pk}
        assert changelist_ids(follow_filter(admin_client, REFUNDS, listing, "status", "Failed")) == {failed.pk}
        assert changelist_ids(follow_filter(admin_client, REFUNDS, listing, "status", "Processing")) == {processing.pk}
        assert changelist_ids(follow_filter(admin_client, REFUNDS, listing, "status", "Refunded")) == set()

    def test_retry_sends_failed_refunds_again_and_leaves_the_rest(self, admin_client, sandbox, staff):
        failed = Refund.objects.get(payment__order=cancelled_online_order(sandbox, fail_at_gateway=True))
        processing = Refund.objects.get(payment__order=cancelled_online_order(sandbox))
        first_key = failed.idempotency_key

        assert RETRY in admin_client.get(REFUNDS).content.decode()
        response = admin_client.post(REFUNDS, {"action": RETRY, "_selected_action": [failed.pk, processing.pk]})

        assert response.status_code == 302
        assert flashes(response) == [
            "Retried 1 failed refund.",
            f"Not retried: #{processing.pk} is processing, not failed.",
        ]
        failed.refresh_from_db()
        assert failed.status == RefundStatus.PROCESSING  # submitted again once the retry committed
        assert failed.idempotency_key != first_key
        assert LogEntry.objects.filter(object_id=str(failed.pk), user=staff).exists()
        sandbox.settle_refund(failed.gateway_refund_id)
        apply_refund_webhooks(sandbox)
        failed.refresh_from_db()
        assert failed.status == RefundStatus.REFUNDED

    def test_staff_who_may_only_view_refunds_cannot_retry(self, client, sandbox):
        viewer = UserFactory(is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_refund"))
        client.force_login(viewer)
        failed = Refund.objects.get(payment__order=cancelled_online_order(sandbox, fail_at_gateway=True))

        listing = client.get(REFUNDS)
        assert listing.status_code == 200 and RETRY not in listing.content.decode()
        response = client.post(REFUNDS, {"action": RETRY, "_selected_action": [failed.pk]})

        assert response.status_code == 200  # "No action selected": the action is not offered
        failed.refresh_from_db()
        assert failed.status == RefundStatus.FAILED

    def test_refunds_are_read_only(self, admin_client, sandbox):
        refund = Refund.objects.get(payment__order=cancelled_online_order(sandbox))
        assert admin_client.get(f"{REFUNDS}{refund.pk}/change/").status_code == 200
        assert admin_client.post(f"{REFUNDS}{refund.pk}/change/", {"status": "REFUNDED"}).status_code == 403
        assert admin_client.post(f"{REFUNDS}{refund.pk}/delete/", {"post": "yes"}).status_code == 403
        assert admin_client.get(f"{REFUNDS}add/").status_code == 403

    def test_changelist_query_count_is_flat(self, admin_client, sandbox, assert_flat_query_count):
        cancelled_online_order(sandbox)
        assert_flat_query_count(
            lambda: admin_client.get(REFUNDS),
            lambda: [cancelled_online_order(sandbox) for _ in range(4)],
            max_queries=10,
        )


# --- webhook events -----------------------------------------------------------------------


class TestWebhookEvents:
    def test_read_only(self, admin_client):
        stored = event("evt_1")
        assert admin_client.get(f"{EVENTS}add/").status_code == 403
        assert admin_client.post(f"{EVENTS}{stored.pk}/change/", {"outcome": "IGNORED"}).status_code == 403
        assert admin_client.post(f"{EVENTS}{stored.pk}/delete/", {"post": "yes"}).status_code == 403
        response = admin_client.get(EVENTS)
        assert "delete_selected" not in response.content.decode()
        stored.refresh_from_db()
        assert stored.outcome == WebhookOutcome.PROCESSED

    def test_the_detail_page_is_a_view_with_nothing_to_save_and_the_list_nothing_to_add(self, admin_client):
        stored = event("evt_view")

        detail = admin_client.get(f"{EVENTS}{stored.pk}/change/")
        listing = admin_client.get(EVENTS)

        assert detail.status_code == 200
        body = detail.content.decode()
        assert 'name="_save"' not in body and 'name="_continue"' not in body
        assert f"{EVENTS}{stored.pk}/delete/" not in body
        assert f"{EVENTS}add/" not in listing.content.decode()
        assert (
            admin_client.post(EVENTS, {"action": "delete_selected", "_selected_action": [stored.pk]}).status_code == 200
        )
        assert WebhookEvent.objects.filter(pk=stored.pk).exists()

    def test_payload_is_pretty_printed_and_escaped(self, admin_client):
        stored = event("evt_2", note="<script>alert(1)</script>", amount=49_900)

        body = admin_client.get(f"{EVENTS}{stored.pk}/change/").content.decode()

        assert '<pre class="webhook-payload">{\n  &quot;amount&quot;: 49900,' in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert "<script>alert(1)" not in body

    def test_filters_by_type_and_outcome(self, admin_client):
        captured = event("evt_a", "payment.captured")
        refunded = event("evt_b", "refund.processed")
        ignored = event("evt_c", "subscription.charged", WebhookOutcome.IGNORED)
        failed = event("evt_d", "refund.processed", WebhookOutcome.FAILED)

        assert changelist_ids(admin_client.get(EVENTS, {"event_type": "refund.processed"})) == {refunded.pk, failed.pk}
        assert changelist_ids(admin_client.get(EVENTS, {"outcome__exact": "IGNORED"})) == {ignored.pk}
        assert changelist_ids(admin_client.get(EVENTS, {"outcome__exact": "FAILED"})) == {failed.pk}
        assert captured.pk in changelist_ids(admin_client.get(EVENTS))

    def test_the_sidebar_offers_type_and_outcome_and_its_links_narrow_the_rows(self, admin_client):
        captured = event("evt_a", "payment.captured")
        refunded = event("evt_b", "refund.processed")
        ignored = event("evt_c", "subscription.charged", WebhookOutcome.IGNORED)
        failed = event("evt_d", "refund.processed", WebhookOutcome.FAILED)

        listing = admin_client.get(EVENTS)
        filters = sidebar(listing)

        assert list(filters)[:2] == ["event type", "outcome"]
        assert set(filters["event type"]) == {"All", "payment.captured", "refund.processed", "subscription.charged"}
        assert set(filters["outcome"]) == {"All", *WebhookOutcome.labels}
        assert changelist_ids(listing) == {captured.pk, refunded.pk, ignored.pk, failed.pk}
        by_type = follow_filter(admin_client, EVENTS, listing, "event type", "refund.processed")
        assert changelist_ids(by_type) == {refunded.pk, failed.pk}
        by_outcome = follow_filter(admin_client, EVENTS, by_type, "outcome", "Failed")
        assert changelist_ids(by_outcome) == {failed.pk}  # both filters at once

    def test_changelist_query_count_is_flat(self, admin_client, assert_flat_query_count):
        event("evt_first")
        assert_flat_query_count(
            lambda: admin_client.get(EVENTS),
            lambda: [event(f"evt_more_{n}", "refund.processed") for n in range(8)],
            max_queries=8,
        )


# --- captures -----------------------------------------------------------------------------

REFUND_NOW = "refund_flagged_now"
RESOLVE = "mark_resolved"


def flagged_capture(sandbox, *, amount_paise: int = 100) -> GatewayCapture:
    """A real capture of ₹1.00 on an online order of ₹300.00 awaiting payment: flagged for staff."""
    order = buy_now_online(make_buyer(), ProductFactory(price=Decimal("300.00")))
    paid = sandbox.pay(payment_of(order).gateway_order_id, amount=amount_paise)
    assert payment_capture_apply(gateway_payment=GatewayPayment.from_razorpay(paid)).changed
    capture = GatewayCapture.objects.get(gateway_payment_id=paid["id"])
    assert capture.outcome == CaptureOutcome.FLAGGED
    return capture


class TestCaptures:
    def test_the_sidebar_filters_by_outcome_and_reason(self, admin_client, sandbox):
        flagged = flagged_capture(sandbox)
        paying = payment_of(captured_online_order(sandbox, make_buyer(), {ProductFactory(): 1})).captures.get()

        listing = admin_client.get(CAPTURES)
        filters = sidebar(listing)

        assert list(filters)[:2] == ["outcome", "reason"]
        assert set(filters["outcome"]) == {"All", *CaptureOutcome.labels}
        assert set(filters["reason"]) == {"All", *CaptureReason.labels}
        assert changelist_ids(listing) == {flagged.pk, paying.pk}
        assert changelist_ids(follow_filter(admin_client, CAPTURES, listing, "outcome", "Flagged for staff")) == {
            flagged.pk
        }
        by_reason = follow_filter(admin_client, CAPTURES, listing, "reason", CaptureReason.MISMATCH.label)
        assert changelist_ids(by_reason) == {flagged.pk}
        assert (
            "captured INR 1.00 for an order of INR 300.00"
            in admin_client.get(f"{CAPTURES}{flagged.pk}/change/").content.decode()
        )

    def test_refund_now_pays_a_flagged_capture_back_against_its_own_id_and_is_audited(
        self, admin_client, sandbox, staff, caplog
    ):
        flagged = flagged_capture(sandbox)
        paying = payment_of(captured_online_order(sandbox, make_buyer(), {ProductFactory(): 1})).captures.get()

        response = admin_client.post(CAPTURES, {"action": REFUND_NOW, "_selected_action": [flagged.pk, paying.pk]})

        assert response.status_code == 302
        assert flashes(response) == [
            "Refunded 1 capture in full.",
            f"Left alone: {paying.gateway_payment_id}: Only a capture flagged for staff can be refunded or resolved; "
            "this one is settled (paid the order).",
        ]
        flagged.refresh_from_db()
        assert (flagged.outcome, flagged.resolved_by, flagged.refunded_amount) == (
            CaptureOutcome.REFUNDED,
            staff,
            Decimal("1.00"),
        )
        refund = flagged.refunds.get()
        assert refund.status == RefundStatus.PROCESSING  # sent to the gateway once the action committed
        [at_gateway] = [r for r in sandbox.refunds.values() if r["id"] == refund.gateway_refund_id]
        assert (at_gateway["payment_id"], at_gateway["amount"]) == (flagged.gateway_payment_id, 100)
        assert paying.refunds.count() == 0
        entry = LogEntry.objects.get(object_id=str(flagged.pk), user=staff)
        assert "Refunded the flagged capture in full" in entry.get_change_message()
        assert f"capture_review action=refund capture={flagged.pk}" in caplog.text
        assert f"actor={staff.username}" in caplog.text

    def test_mark_resolved_asks_for_a_note_and_keeps_it_with_the_capture(self, admin_client, sandbox, staff, caplog):
        flagged = flagged_capture(sandbox)
        chosen = {"action": RESOLVE, "_selected_action": [flagged.pk]}

        asked = admin_client.post(CAPTURES, chosen)
        assert asked.status_code == 200
        assert "admin/payments/gatewaycapture/resolve.html" in [t.name for t in asked.templates]
        assert flagged.gateway_payment_id in asked.content.decode()
        no_note = admin_client.post(CAPTURES, {**chosen, "apply": "1", "note": "   "})
        assert no_note.status_code == 200 and no_note.context["form"].errors
        flagged.refresh_from_db()
        assert flagged.outcome == CaptureOutcome.FLAGGED

        note = "Refunded ₹1.00 from the Razorpay dashboard, ticket 4411."
        done = admin_client.post(CAPTURES, {**chosen, "apply": "1", "note": note})

        assert done.status_code == 302 and flashes(done) == ["Marked 1 capture resolved."]
        flagged.refresh_from_db()
        assert (flagged.outcome, flagged.resolution_note, flagged.resolved_by) == (
            CaptureOutcome.RESOLVED,
            note,
            staff,
        )
        assert flagged.resolved_at is not None and flagged.refunds.count() == 0 and sandbox.refunds == {}
        entry = LogEntry.objects.get(object_id=str(flagged.pk), user=staff)
        assert note in entry.get_change_message()
        assert f"capture_review action=resolve capture={flagged.pk}" in caplog.text

    def test_a_resolved_capture_is_never_refunded_by_the_expiry(self, admin_client, sandbox):
        flagged = flagged_capture(sandbox)
        admin_client.post(CAPTURES, {"action": RESOLVE, "_selected_action": [flagged.pk], "apply": "1", "note": "ok"})
        age(flagged.payment.order, 20)

        assert orders_expire_unpaid()["expired"] == 1

        flagged.refresh_from_db()
        assert flagged.outcome == CaptureOutcome.RESOLVED and sandbox.refunds == {}

    def test_staff_who_may_only_view_captures_can_neither_refund_nor_resolve(self, client, sandbox):
        viewer = UserFactory(is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_gatewaycapture"))
        client.force_login(viewer)
        flagged = flagged_capture(sandbox)

        listing = client.get(CAPTURES)
        assert listing.status_code == 200
        assert REFUND_NOW not in listing.content.decode() and RESOLVE not in listing.content.decode()
        for action in (REFUND_NOW, RESOLVE):
            response = client.post(
                CAPTURES, {"action": action, "_selected_action": [flagged.pk], "apply": "1", "note": "x"}
            )
            assert response.status_code == 200  # "No action selected": the action is not offered
        with pytest.raises(PermissionDenied):
            capture_refund(capture_id=flagged.pk, actor=viewer)
        with pytest.raises(PermissionDenied):
            capture_resolve(capture_id=flagged.pk, actor=viewer, note="by hand")

        flagged.refresh_from_db()
        assert flagged.outcome == CaptureOutcome.FLAGGED and sandbox.refunds == {}
        assert not LogEntry.objects.filter(object_id=str(flagged.pk)).exists()

    def test_captures_are_read_only(self, admin_client, sandbox):
        flagged = flagged_capture(sandbox)
        assert admin_client.get(f"{CAPTURES}{flagged.pk}/change/").status_code == 200
        assert admin_client.post(f"{CAPTURES}{flagged.pk}/change/", {"outcome": "PAID"}).status_code == 403
        assert admin_client.post(f"{CAPTURES}{flagged.pk}/delete/", {"post": "yes"}).status_code == 403
        assert admin_client.get(f"{CAPTURES}add/").status_code == 403
        flagged.refresh_from_db()
        assert flagged.outcome == CaptureOutcome.FLAGGED

    def test_changelist_query_count_is_flat(self, admin_client, sandbox, assert_flat_query_count):
        flagged_capture(sandbox)
        assert_flat_query_count(
            lambda: admin_client.get(CAPTURES),
            lambda: [flagged_capture(sandbox) for _ in range(3)],
            max_queries=10,
        )
