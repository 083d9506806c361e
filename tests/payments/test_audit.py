"""`manage.py payments_audit`: every gateway order and capture of a period with what became of it, and any capture
whose money is unaccounted for (exit status 1, one stderr line each).

The ledger is built through the real services against the sandbox gateway (webhooks handed to our endpoint, the
refund task after each commit, refunds settled by the sandbox when the test says); the unaccounted cases are rows
a bug would leave behind, written directly.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import OrderItem, OrderItemStatus
from payments.models import CaptureOutcome, CaptureReason, GatewayCapture, Payment, PaymentStatus, Refund
from payments.services.audit import AuditPeriod, Standing, payments_audit
from payments.services.captures import capture_resolve
from payments.services.expiry import orders_expire_unpaid
from tests.factories import ProductFactory
from tests.payments.online_helpers import age, buy_now_online, deliver, payment_of

pytestmark = pytest.mark.django_db

TODAY = "today"


class Shop:
    """Online orders, paid at the sandbox, their webhooks delivered to our endpoint as they come."""

    def __init__(self, sandbox, client, committing, buyer) -> None:
        self.sandbox, self.client, self.committing, self.buyer = sandbox, client, committing, buyer
        self.seen = 0

    def order(self, price: str = "499.00"):
        with self.committing():
            return buy_now_online(self.buyer, ProductFactory(price=Decimal(price)))

    def deliver(self) -> None:
        """Every event the sandbox sent since the last call, each once, the refund task run after each commit."""
        emitted = list(self.sandbox.events)
        with self.committing():
            for event in emitted[self.seen :]:
                assert deliver(self.client, event).status_code == 200
        self.seen = len(emitted)

    def pay(self, order, **kwargs) -> str:
        paid = self.sandbox.pay(payment_of(order).gateway_order_id, **kwargs)
        self.deliver()
        return paid["id"]

    def second_capture(self, order) -> str:
        """The order paid, then a slower attempt captured too: refunded in full against its own id."""
        gateway_order_id = payment_of(order).gateway_order_id
        slow = self.sandbox.start_payment(gateway_order_id)
        self.pay(order)
        self.sandbox.complete_payment(slow["id"])
        self.deliver()
        return slow["id"]

    def late_capture(self, order, **kwargs) -> str:
        """Paid after the order expired: refunded in full."""
        age(order, 20)
        orders_expire_unpaid()
        return self.pay(order, **kwargs)

    def settle_refund(self, gateway_payment_id: str, *, succeed: bool) -> None:
        refund = GatewayCapture.objects.get(gateway_payment_id=gateway_payment_id).refunds.get()
        self.sandbox.settle_refund(refund.gateway_refund_id, succeed=succeed)
        self.deliver()


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def shop(sandbox_gateway, client, committing, buyer) -> Shop:
    sandbox_gateway.configure(refund_delay=None)  # refunds stay pending until the test settles them
    return Shop(sandbox_gateway, client, committing, buyer)


def audit(*args: str) -> tuple[int, str, list[str]]:
    """Run the command: (exit status, stdout, stderr lines)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("payments_audit", *args, stdout=out, stderr=err)
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    return status, out.getvalue(), err.getvalue().splitlines()


def summary(out: str) -> str:
    return out.strip().splitlines()[-1]


@pytest.fixture
def every_accounted_outcome(shop, staff):
    """One capture of each accounted-for outcome; returns their gateway payment ids by standing."""
    placed = shop.pay(shop.order())
    refunded = shop.late_capture(shop.order())
    shop.settle_refund(refunded, succeed=True)
    pending = shop.second_capture(shop.order())
    flagged = shop.pay(shop.order(), amount=100)
    resolved = shop.pay(shop.order(), amount=150)
    capture_resolve(
        capture_id=GatewayCapture.objects.get(gateway_payment_id=resolved).pk,
        actor=staff,
        note="refunded from the Razorpay dashboard",
    )
    return {
        Standing.PLACED: placed,
        Standing.REFUNDED: refunded,
        Standing.REFUND_PENDING: pending,
        Standing.FLAGGED: flagged,
        Standing.RESOLVED: resolved,
    }


def line_of(out: str, gateway_payment_id: str) -> str:
    [line] = [line for line in out.splitlines() if gateway_payment_id in line]
    return line


class TestReport:
    def test_every_outcome_is_printed_and_a_clean_ledger_exits_0(self, every_accounted_outcome):
        status, out, err = audit()

        assert (status, err) == (0, [])
        for standing, gateway_payment_id in every_accounted_outcome.items():
            assert f"{gateway_payment_id}  " in line_of(out, gateway_payment_id)
            assert f"  {standing}" in line_of(out, gateway_payment_id)
        assert "resolved: refunded from the Razorpay dashboard" in line_of(out, every_accounted_outcome["resolved"])
        assert "order already paid by another capture" in line_of(out, every_accounted_outcome["refund pending"])
        assert summary(out).endswith(
            "5 gateway orders, 6 captures (placed 2, refunded 1, refund pending 1, refund failed 0, flagged 1, "
            "resolved 1); 0 unaccounted for."
        )

    def test_a_failed_refund_is_unaccounted_for_exits_1_and_is_named_on_stderr(self, shop, every_accounted_outcome):
        failed = shop.late_capture(shop.order(), amount=120)
        shop.settle_refund(failed, succeed=False)

        status, out, err = audit()

        assert status == 1
        [line] = err
        assert line.startswith("UNACCOUNTED ") and failed in line
        assert "FAILED (The payment gateway reported that the refund failed.): retry it in the admin" in line
        assert "  refund failed" in line_of(out, failed) and line_of(out, failed).endswith("UNACCOUNTED")
        assert "refund failed 1" in summary(out) and summary(out).endswith("; 1 unaccounted for.")

    def test_an_order_with_no_capture_is_listed_with_its_payment(self, shop):
        order = shop.order()
        status, out, _err = audit()
        assert status == 0
        assert f"{order.number}  {payment_of(order).gateway_order_id}  ₹499.00  no capture (payment PENDING)" in out


# --- what the audit calls unaccounted for: the rows a bug would leave behind -----------------


def _paid_item_cancelled_without_refund(shop) -> str:
    order = shop.order()
    paid = shop.pay(order)
    OrderItem.objects.filter(order=order).update(status=OrderItemStatus.CANCELLED)
    return paid


def _refunded_capture_without_refund(shop) -> str:
    order = shop.order()
    age(order, 20)
    orders_expire_unpaid()
    GatewayCapture.objects.create(
        payment=payment_of(order),
        gateway_payment_id="pay_NoRefundRow00",
        gateway_order_id=payment_of(order).gateway_order_id,
        amount=Decimal("499.00"),
        currency="INR",
        captured_at=timezone.now(),
        outcome=CaptureOutcome.REFUNDED,
        reason=CaptureReason.ORDER_CLOSED,
    )
    return "pay_NoRefundRow00"


def _captured_payment_without_capture(shop) -> str:
    order = shop.order()
    Payment.objects.filter(order=order).update(
        status=PaymentStatus.CAPTURED, gateway_payment_id="pay_GhostCapture0", captured_amount=Decimal("499.00")
    )
    return "pay_GhostCapture0"


def _refunds_short_of_the_capture(shop) -> str:
    late = shop.late_capture(shop.order())
    Refund.objects.filter(capture__gateway_payment_id=late).update(amount=Decimal("400.00"))
    GatewayCapture.objects.filter(gateway_payment_id=late).update(refunded_amount=Decimal("400.00"))
    return late


def _flagged_capture_refunded_by_hand_in_the_ledger(shop) -> str:
    flagged = shop.pay(shop.order(), amount=100)
    capture = GatewayCapture.objects.get(gateway_payment_id=flagged)
    Refund.objects.create(
        payment=capture.payment, capture=capture, amount=Decimal("1.00"), idempotency_key="jcrf_by_hand_000"
    )
    GatewayCapture.objects.filter(pk=capture.pk).update(refunded_amount=Decimal("1.00"))
    return flagged


@pytest.mark.parametrize(
    ("arrange", "problem"),
    [
        (_paid_item_cancelled_without_refund, "is cancelled and nothing refunds its ₹499.00"),
        (_refunded_capture_without_refund, "refunded in full, but no refund of its ₹499.00 exists"),
        (_captured_payment_without_capture, "the payment is CAPTURED as pay_GhostCapture0, but no such capture"),
        (_refunds_short_of_the_capture, "its refunds add up to ₹400.00, not the ₹499.00 captured"),
        (_flagged_capture_refunded_by_hand_in_the_ledger, "flagged for staff, yet refunds are against it"),
    ],
    ids=[
        "paid-item-cancelled-unrefunded",
        "refunded-without-refund",
        "captured-without-capture",
        "refunds-short",
        "flagged-and-refunded",
    ],
)
def test_money_a_bug_left_unaccounted_for_exits_1_naming_it(shop, arrange, problem):
    shop.pay(shop.order())  # an accounted-for capture beside it is not named
    named = arrange(shop)

    status, _out, err = audit()

    assert status == 1
    [line] = err
    assert named in line and problem in line, line


# --- the period -------------------------------------------------------------------------------


def _moved_to(order, when: datetime) -> None:
    """Pretend the order, its payment, captures and refunds all happened at `when`."""
    Payment.objects.filter(order=order).update(created_at=when)
    GatewayCapture.objects.filter(payment__order=order).update(created_at=when)
    Refund.objects.filter(payment__order=order).update(updated_at=when)


class TestPeriod:
    def test_by_default_yesterday_and_today_in_the_shops_time_zone(self, shop):
        today = timezone.localdate()
        local = timezone.get_current_timezone()
        orders = {name: shop.order() for name in ("two days ago", "yesterday", "today")}
        for days_back, name in enumerate(("today", "yesterday", "two days ago")):
            _moved_to(orders[name], datetime.combine(today - timedelta(days=days_back), datetime.min.time(), local))

        status, out, _err = audit()

        assert status == 0
        assert orders["today"].number in out and orders["yesterday"].number in out
        assert orders["two days ago"].number not in out

    def test_since_and_until_are_whole_local_days(self, shop, settings):
        settings.TIME_ZONE = "Asia/Kolkata"
        kolkata = timezone.get_current_timezone()
        before_midnight, after_midnight = shop.order(), shop.order()
        # 23:30 and 00:30 in Kolkata are 18:00 and 19:00 UTC of one and the same UTC day.
        _moved_to(before_midnight, datetime(2025, 3, 9, 23, 30, tzinfo=kolkata))
        _moved_to(after_midnight, datetime(2025, 3, 10, 0, 30, tzinfo=kolkata))

        _status, ninth, _err = audit("--since", "2025-03-09", "--until", "2025-03-09")
        _status, tenth, _err = audit("--since", "2025-03-10", "--until", "2025-03-10")
        _status, both, _err = audit("--since", "2025-03-09", "--until", "2025-03-10")

        assert before_midnight.number in ninth and after_midnight.number not in ninth
        assert after_midnight.number in tenth and before_midnight.number not in tenth
        assert before_midnight.number in both and after_midnight.number in both
        assert "Payments audit 2025-03-09 to 2025-03-09 (Asia/Kolkata): 1 gateway orders" in summary(ninth)

    def test_an_old_order_whose_refund_failed_in_the_period_is_reported(self, shop):
        order = shop.order()
        late = shop.late_capture(order)
        _moved_to(order, timezone.now() - timedelta(days=10))
        shop.settle_refund(late, succeed=False)  # today: the refund row changes now

        status, _out, err = audit()

        assert status == 1 and late in err[0]

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--since", "2025-03-10", "--until", "2025-03-09"], "--since 2025-03-10 is after --until 2025-03-09"),
            (["--since", "10/03/2025"], "'10/03/2025' is not a date: give YYYY-MM-DD"),
        ],
    )
    def test_a_bad_period_is_refused_with_a_message(self, args, message):
        from django.core.management.base import CommandError

        with pytest.raises(CommandError, match=message):
            call_command("payments_audit", *args, stdout=StringIO(), stderr=StringIO())

    def test_the_default_period_is_the_last_two_days(self):
        period = AuditPeriod.last_days(today=datetime(2025, 3, 10).date())
        assert (str(period.since), str(period.until)) == ("2025-03-09", "2025-03-10")


# --- the gateway ------------------------------------------------------------------------------


class TestGateway:
    def test_a_capture_recorded_only_at_the_gateway_is_unaccounted_for(self, shop):
        placed = shop.pay(shop.order())
        unseen_order = shop.order()
        unseen = shop.sandbox.pay(payment_of(unseen_order).gateway_order_id)["id"]  # its webhooks never come

        without_gateway = audit()
        status, out, err = audit("--gateway")

        assert without_gateway[0] == 0
        assert status == 1
        [line] = err
        assert unseen in line and "captured at the gateway, never recorded by JoyCart" in line
        assert "  not recorded  " in line_of(out, unseen) and "  placed" in line_of(out, placed)
        assert summary(out).endswith("not recorded 1); 1 unaccounted for; gateway read for 2, not for 0.")

    def test_an_unreachable_gateway_is_reported_once_and_exits_2(self, shop):
        shop.pay(shop.order())
        shop.order()
        shop.sandbox.fail_next(1, status=503, path="/v1/orders/*/payments")

        status, out, err = audit("--gateway")

        assert status == 2
        assert len(err) == 2 and all(line.startswith("NOT CHECKED ") for line in err)
        assert "the gateway did not answer" in err[0] and "not read: the gateway did not answer" in err[1]
        assert summary(out).endswith("gateway read for 0, not for 2.")


# --- cost ---------------------------------------------------------------------------------------


def test_the_query_count_does_not_grow_with_the_rows(shop, django_assert_max_num_queries):
    def grow() -> None:
        shop.pay(shop.order())
        shop.second_capture(shop.order())
        shop.late_capture(shop.order())

    def measured() -> tuple[int, int]:
        with django_assert_max_num_queries(4), CaptureQueriesContext(connection) as queries:
            report = payments_audit(period=AuditPeriod.last_days())
        return len(queries), len(report.captures)

    grow()
    small = measured()
    grow()
    grow()
    large = measured()

    assert (small[1], large[1]) == (4, 12)
    assert small[0] == large[0]
