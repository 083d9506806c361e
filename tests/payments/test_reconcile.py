"""`manage.py reconcile_payments`: refunds whose webhook (or task) never came are read from the gateway."""

import time
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from orders.services.lifecycle import order_item_cancel
from payments.models import Refund, RefundStatus
from payments.services import online
from payments.services.refund_reconcile import refunds_reconcile
from tests.factories import ProductFactory
from tests.orders.helpers import items_of, make_buyer, run_concurrently
from tests.payments.refund_helpers import (
    apply_refund_webhooks,
    captured_online_order,
    gateway_refunds_of,
    payment_of,
    refund_events,
)

pytestmark = pytest.mark.django_db(transaction=True)

R = RefundStatus


@pytest.fixture
def sandbox(sandbox_gateway):
    """Refunds settle by themselves 50 ms after they are made, and no webhook ever comes."""
    sandbox_gateway.configure(refund_delay=0.05)
    sandbox_gateway.webhook_mode("never")
    return sandbox_gateway


@pytest.fixture
def order(sandbox):
    products = [ProductFactory(price=Decimal("450.00")), ProductFactory(price=Decimal("120.00"))]
    return captured_online_order(sandbox, make_buyer(), dict.fromkeys(products, 1))


def cancel_first(order) -> Refund:
    item = items_of(order)[0]
    order_item_cancel(item_id=item.pk, actor=order.buyer, reason="no longer needed")
    return Refund.objects.get(order_item=item)


def wait_for_gateway(sandbox, status: str, count: int = 1) -> None:
    """Until `count` refunds settled at the gateway as `status`, and their (held) events were emitted."""
    deadline = time.monotonic() + 5
    while (
        sum(r["status"] == status for r in sandbox.refunds.values()) < count
        or len(refund_events(sandbox, f"refund.{status}")) < count
    ):
        assert time.monotonic() < deadline, sandbox.refunds
        time.sleep(0.02)


def reconcile(*args: str) -> str:
    out = StringIO()
    call_command("reconcile_payments", "--older-than-minutes", "0", *args, stdout=out)
    return out.getvalue()


def test_a_refund_whose_webhook_never_came_is_refunded_by_reconciliation(sandbox, order):
    refund = cancel_first(order)
    assert refund.status == R.PROCESSING
    wait_for_gateway(sandbox, "processed")
    assert "refund.processed" in [event.name for event in sandbox.held_events]  # never delivered

    output = reconcile()

    refund.refresh_from_db()
    assert refund.status == R.REFUNDED and refund.processed_at is not None
    assert "Refunds: checked 1, resubmitted 0, refunded 1, failed 0, pending 0, errors 0" in output
    assert "Payments: checked 1, captured 0, failed 0, unchanged 1" in output  # its capture, already recorded
    # The webhook, delivered at last, finds nothing left to do.
    assert "changes nothing" in apply_refund_webhooks(sandbox)[0]


def test_a_refund_that_failed_at_the_gateway_is_failed_by_reconciliation(sandbox, order):
    sandbox.fail_next_refund(1)
    refund = cancel_first(order)
    wait_for_gateway(sandbox, "failed")

    assert "failed 1" in reconcile()

    refund.refresh_from_db()
    assert refund.status == R.FAILED and refund.failure_reason
    assert payment_of(order).refunded_amount == Decimal("0.00")


def test_a_refund_never_submitted_is_submitted_again_with_its_key(sandbox, order):
    sandbox.fail_next(1, status=502, path="/v1/payments/*/refund")
    refund = cancel_first(order)
    assert refund.status == R.INITIATED and refund.attempts == 1

    assert "resubmitted 1" in reconcile()

    refund.refresh_from_db()
    assert refund.status == R.PROCESSING and refund.attempts == 2
    assert len(gateway_refunds_of(sandbox, payment_of(order))) == 1


def test_a_lost_response_and_a_lost_webhook_end_in_one_refund(sandbox, order):
    sandbox.drop_next_response(1)
    refund = cancel_first(order)
    assert refund.status == R.INITIATED
    wait_for_gateway(sandbox, "processed")

    assert "refunded 1" in reconcile()  # the resubmit's answer is the settled refund itself

    refund.refresh_from_db()
    [made] = gateway_refunds_of(sandbox, payment_of(order))
    assert (refund.status, refund.gateway_refund_id) == (R.REFUNDED, made["id"])


def test_dry_run_reads_but_changes_nothing(sandbox, order):
    sandbox.fail_next(1, status=500, path="/v1/payments/*/refund")
    waiting = cancel_first(order)
    other = items_of(order)[1]
    order_item_cancel(item_id=other.pk, actor=order.buyer, reason="also this")
    processed = Refund.objects.get(order_item=other)
    wait_for_gateway(sandbox, "processed")

    output = reconcile("--dry-run")

    assert output.startswith("Dry run, nothing changed.")
    assert "Refunds: checked 2, resubmitted 1, refunded 1" in output
    assert Refund.objects.get(pk=waiting.pk).status == R.INITIATED
    assert Refund.objects.get(pk=processed.pk).status == R.PROCESSING
    assert len(sandbox.refunds) == 1


def test_recent_refunds_are_left_alone(sandbox, order):
    refund = cancel_first(order)
    wait_for_gateway(sandbox, "processed")

    out = StringIO()
    call_command("reconcile_payments", "--older-than-minutes", "10", stdout=out)

    assert "Refunds: checked 0" in out.getvalue()
    assert Refund.objects.get(pk=refund.pk).status == R.PROCESSING


def test_a_refund_still_pending_is_asked_about_again_only_after_the_interval(sandbox_gateway):
    sandbox_gateway.configure(refund_delay=None)
    order = captured_online_order(sandbox_gateway, make_buyer(), {ProductFactory(): 1})
    refund = cancel_first(order)
    Refund.objects.filter(pk=refund.pk).update(updated_at=timezone.now() - timedelta(minutes=30))

    first = refunds_reconcile(older_than=timedelta(minutes=10))
    second = refunds_reconcile(older_than=timedelta(minutes=10))

    assert (first["pending"], second["checked"]) == (1, 0)
    assert Refund.objects.get(pk=refund.pk).status == R.PROCESSING


def test_a_gateway_error_is_counted_and_the_refund_waits_for_the_next_run(sandbox, order):
    refund = cancel_first(order)
    wait_for_gateway(sandbox, "processed")
    sandbox.fail_next(1, status=503, path="/v1/refunds/*")

    assert "errors 1" in reconcile()
    assert Refund.objects.get(pk=refund.pk).status == R.PROCESSING
    assert "refunded 1" in reconcile()


def test_the_command_reports_the_payments_side_too(sandbox, monkeypatch):
    calls = []

    def fake(*, older_than, dry_run):
        calls.append((older_than, dry_run))
        return {"checked": 3, "captured": 2}

    monkeypatch.setattr(online, "payments_reconcile", fake)
    out = StringIO()
    call_command("reconcile_payments", "--dry-run", "--older-than-minutes", "7", stdout=out)
    assert calls == [(timedelta(minutes=7), True)]
    assert "Payments: checked 3, captured 2" in out.getvalue()


def test_the_interval_cannot_be_negative():
    with pytest.raises(CommandError, match="negative"):
        call_command("reconcile_payments", "--older-than-minutes", "-1")


@pytest.mark.postgres
def test_concurrent_runs_with_the_webhook_make_one_refund(sandbox, order):
    """Cron may start a run while the last one is still going, and the webhook may come at last meanwhile."""
    sandbox.drop_next_response(1)
    refund = cancel_first(order)
    wait_for_gateway(sandbox, "processed")

    def run(index: int):
        if index == 3:
            return apply_refund_webhooks(sandbox)
        return refunds_reconcile(older_than=timedelta(0))

    results = run_concurrently(run, 4)

    assert not [result for result in results if isinstance(result, Exception)], results
    refund.refresh_from_db()
    assert refund.status == R.REFUNDED
    assert len(sandbox.refunds) == 1
    assert len(refund_events(sandbox)) == 1
