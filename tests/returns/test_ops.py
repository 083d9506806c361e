"""`manage.py approve_stale_returns`: the SLA approval and the safety net for a lost completion, alone and racing."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from orders.models import ActorRole, OrderEvent, OrderItem, OrderItemStatus, ReturnRequest
from orders.services.returns import (
    order_item_return_approve,
    order_item_return_receive,
    order_item_return_request,
)
from payments.models import Refund, RefundStatus
from tests.factories import ProductFactory
from tests.orders.helpers import buy_now, make_buyer, run_concurrently
from tests.payments.refund_helpers import apply_refund_webhooks, captured_online_order
from tests.returns.helpers import UPI, deliver, delivered_items

S = OrderItemStatus


def requested_days_ago(days: float) -> OrderItem:
    """A delivered COD item whose return was requested `days` ago and never answered."""
    buyer = make_buyer()
    item = deliver(buy_now(buyer, ProductFactory(), 1).items.get())
    order_item_return_request(item_id=item.pk, buyer=buyer, reason="other", refund_to=UPI)
    ReturnRequest.objects.filter(item=item).update(
        requested_at=ReturnRequest.objects.get(item=item).requested_at - timedelta(days=days)
    )
    return item


def run_command() -> str:
    out = io.StringIO()
    call_command("approve_stale_returns", stdout=out)
    return out.getvalue().strip()


def status_of(item) -> str:
    return OrderItem.objects.values_list("status", flat=True).get(pk=item.pk)


@pytest.mark.django_db
def test_it_approves_requests_past_the_sla_as_the_system_and_says_how_many(settings):
    settings.RETURN_SELLER_SLA_DAYS = 2
    stale, fresh = requested_days_ago(2.1), requested_days_ago(1.9)
    assert (
        run_command() == "Approved 1 return request unanswered for 2 days; completed 0 returns whose refund was final."
    )
    assert (status_of(stale), status_of(fresh)) == (S.RETURN_APPROVED, S.RETURN_REQUESTED)
    event = OrderEvent.objects.filter(item=stale).latest("id")
    assert (event.actor_id, event.actor_role) == (None, ActorRole.SYSTEM)
    assert run_command().startswith("Approved 0 return requests")


@pytest.mark.django_db
def test_it_completes_a_return_whose_refund_is_final_when_the_task_was_lost(
    sandbox_gateway, django_capture_on_commit_callbacks
):
    sandbox_gateway.configure(refund_delay=None)
    buyer = make_buyer()
    order = captured_online_order(sandbox_gateway, buyer, {ProductFactory(price=Decimal("250.00")): 1})
    [item] = delivered_items(order)
    order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged")
    order_item_return_approve(item_id=item.pk, actor=item.seller.user)
    with django_capture_on_commit_callbacks(execute=True):
        order_item_return_receive(item_id=item.pk, actor=item.seller.user, resellable=False)
    refund = Refund.objects.get(order_item=item)
    sandbox_gateway.settle_refund(refund.gateway_refund_id)
    with django_capture_on_commit_callbacks(execute=False):  # the completion task is queued, then lost
        apply_refund_webhooks(sandbox_gateway)
    assert Refund.objects.get(pk=refund.pk).status == RefundStatus.REFUNDED
    assert status_of(item) == S.RETURN_RECEIVED

    assert run_command().endswith("completed 1 return whose refund was final.")
    assert status_of(item) == S.RETURNED
    assert run_command().endswith("completed 0 returns whose refund was final.")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_approve_each_stale_request_once():
    stale = [requested_days_ago(3) for _ in range(6)]
    fresh = requested_days_ago(0)

    results = run_concurrently(lambda _: run_command(), 2)

    assert not [result for result in results if isinstance(result, Exception)], results
    approved = [int(re.match(r"Approved (\d+) ", result).group(1)) for result in results]
    assert sum(approved) == len(stale), results
    for item in stale:
        assert status_of(item) == S.RETURN_APPROVED
        assert OrderEvent.objects.filter(item=item, to_status=S.RETURN_APPROVED).count() == 1
    assert status_of(fresh) == S.RETURN_REQUESTED
