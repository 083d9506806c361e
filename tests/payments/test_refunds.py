"""Refunds of cancelled, paid items: the real SDK against the sandbox gateway, tasks run after commit.

Transactional tests: the refund task is enqueued in the cancelling transaction and, with the
immediate backend, runs after it commits, as in development.
"""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.tasks import TaskResultStatus, task_backends

from orders.models import ActorRole, OrderItemStatus, PaymentMethod
from orders.services.lifecycle import order_item_cancel, order_item_transition
from payments.errors import RefundExceedsCaptured, RefundNotRetryable
from payments.gateway import to_paise
from payments.models import Payment, PaymentStatus, Refund, RefundStatus, WebhookEvent, WebhookOutcome
from payments.services import refunds
from payments.services.refunds import (
    MAX_SUBMIT_ATTEMPTS,
    refund_initiate,
    refund_retry,
    refund_retry_delay,
    refund_submit,
    refund_webhook_apply,
)
from tests.factories import ProductFactory, UserFactory
from tests.orders.helpers import items_of, make_buyer, order_of, stock_of
from tests.payments.online_helpers import deliver
from tests.payments.refund_helpers import (
    apply_refund_webhooks,
    captured_online_order,
    committed,
    gateway_refunds_of,
    payment_of,
    refund_events,
)

pytestmark = pytest.mark.django_db(transaction=True)

R = RefundStatus
REFUND_PATH = "/v1/payments/*/refund"


@pytest.fixture
def sandbox(sandbox_gateway):
    """The sandbox with refunds left pending until a test settles them."""
    sandbox_gateway.configure(refund_delay=None)
    return sandbox_gateway


@pytest.fixture
def three_items(sandbox):
    """A captured online order of ₹499 x 1, ₹250 x 2 and ₹1,000 x 3 (total ₹3,999)."""
    products = [ProductFactory(price=Decimal("499.00")), ProductFactory(price=Decimal("250.00"))]
    products.append(ProductFactory(price=Decimal("1000.00")))
    order = captured_online_order(sandbox, make_buyer(), dict(zip(products, (1, 2, 3), strict=True)))
    return order, items_of(order)


def cancel(item, actor=None, reason="changed my mind"):
    actor = actor or item.order.buyer
    return order_item_cancel(item_id=item.pk, actor=actor, reason=reason)


# --- the cancellation makes the refund ------------------------------------------------------


def test_cancelling_one_of_three_paid_items_refunds_that_item_alone(sandbox, three_items):
    order, (_first, second, _third) = three_items

    cancel(second)

    refund = Refund.objects.get()
    assert refund.order_item_id == second.pk
    assert refund.amount == Decimal("500.00")  # 2 x ₹250
    assert refund.reason == "changed my mind"
    assert refund.status == R.PROCESSING
    assert refund.attempts == 1 and refund.last_error == ""
    assert refund.idempotency_key.startswith("jcrf_") and len(refund.idempotency_key) >= 10
    payment = payment_of(order)
    assert payment.refunded_amount == Decimal("500.00") == committed(payment)
    assert payment.captured_amount == Decimal("3999.00")

    [at_gateway] = gateway_refunds_of(sandbox, payment)
    assert at_gateway["id"] == refund.gateway_refund_id
    assert at_gateway["amount"] == 50_000
    assert at_gateway["notes"] == {
        "refund_id": str(refund.pk),
        "refund_key": refund.idempotency_key,
        "order_number": order.number,
        "item_id": str(second.pk),
    }

    sandbox.settle_refund(refund.gateway_refund_id)
    assert apply_refund_webhooks(sandbox) == [f"refund {refund.pk} PROCESSING -> REFUNDED"]
    refund.refresh_from_db()
    assert refund.status == R.REFUNDED and refund.processed_at is not None
    assert payment_of(order).refunded_amount == Decimal("500.00")


@pytest.mark.parametrize("who", ["buyer", "seller", "staff"])
def test_buyer_seller_and_staff_cancellations_all_refund(sandbox, three_items, who):
    order, items = three_items
    item = items[2]
    actor = {"buyer": order.buyer, "seller": item.seller.user, "staff": UserFactory(is_staff=True)}[who]

    cancel(item, actor=actor, reason="out of stock")

    refund = Refund.objects.get(order_item=item)
    assert refund.amount == Decimal("3000.00") and refund.status == R.PROCESSING
    assert [r["amount"] for r in gateway_refunds_of(sandbox, payment_of(order))] == [300_000]


def test_cancelling_every_item_refunds_the_whole_capture_in_one_refund_each(sandbox, three_items):
    order, items = three_items
    for item in items:
        cancel(item)

    payment = payment_of(order)
    assert Refund.objects.count() == 3
    assert payment.refunded_amount == payment.captured_amount == Decimal("3999.00")
    at_gateway = gateway_refunds_of(sandbox, payment)
    assert sorted(r["amount"] for r in at_gateway) == [49_900, 50_000, 300_000]
    assert sandbox.payments[payment.gateway_payment_id]["refund_status"] == "full"


def test_cod_cancellation_makes_no_refund(sandbox):
    order = order_of(make_buyer(), {ProductFactory(): 2})
    cancel(items_of(order)[0])
    assert not Refund.objects.exists()
    assert payment_of(order).status == PaymentStatus.NOT_REQUIRED
    assert sandbox.refunds == {}


def test_an_unpaid_online_item_cancelled_on_expiry_makes_no_refund(sandbox):
    product = ProductFactory(stock=5)
    order = order_of(make_buyer(), {product: 2})
    Payment.objects.filter(order=order).update(method=PaymentMethod.ONLINE, status=PaymentStatus.PENDING)
    order.items.update(status=OrderItemStatus.PENDING_PAYMENT)
    order.__class__.objects.filter(pk=order.pk).update(payment_method=PaymentMethod.ONLINE)

    item = order_item_transition(
        item_id=items_of(order)[0].pk,
        to_status=OrderItemStatus.CANCELLED,
        actor=None,
        role=ActorRole.SYSTEM,
        reason="payment not received",
    )

    assert item.status == OrderItemStatus.CANCELLED
    assert not Refund.objects.exists()
    assert stock_of(product) == 5


# --- the gateway fails, or its answer is lost -----------------------------------------------


def test_a_5xx_is_retried_and_the_gateway_holds_exactly_one_refund(sandbox, three_items):
    order, items = three_items
    sandbox.fail_next(1, status=503, path=REFUND_PATH)

    cancel(items[0])

    refund = Refund.objects.get()
    # The immediate backend cannot defer a retry: the refund waits, INITIATED, with the error noted.
    assert refund.status == R.INITIATED
    assert refund.attempts == 1 and "HTTP 503" in refund.last_error
    assert gateway_refunds_of(sandbox, payment_of(order)) == []
    key = refund.idempotency_key

    assert refund_submit(refund_id=refund.pk).startswith(f"refund {refund.pk} is PROCESSING")

    refund.refresh_from_db()
    assert (refund.status, refund.attempts, refund.idempotency_key) == (R.PROCESSING, 2, key)
    [at_gateway] = gateway_refunds_of(sandbox, payment_of(order))
    assert at_gateway["id"] == refund.gateway_refund_id and at_gateway["amount"] == 49_900


def test_a_lost_response_after_the_gateway_refunded_does_not_refund_twice(sandbox, three_items):
    order, items = three_items
    sandbox.drop_next_response(1)

    cancel(items[2])

    refund = Refund.objects.get()
    assert refund.status == R.INITIATED and refund.attempts == 1 and refund.gateway_refund_id is None
    [made] = gateway_refunds_of(sandbox, payment_of(order))  # the gateway did it; we never heard

    refund_submit(refund_id=refund.pk)  # the retry, with the same key

    refund.refresh_from_db()
    assert refund.status == R.PROCESSING and refund.gateway_refund_id == made["id"]
    assert gateway_refunds_of(sandbox, payment_of(order)) == [made]
    assert sandbox.payments[payment_of(order).gateway_payment_id]["amount_refunded"] == 300_000


def test_a_refusal_after_a_lost_response_finds_the_refund_the_gateway_made(sandbox, three_items):
    """The first request refunded and its answer was lost; the retry under the same key is refused (4xx).
    FAILED would let a staff retry, with a new key, refund the item twice."""
    order, items = three_items
    sandbox.drop_next_response(1)
    cancel(items[2])
    refund = Refund.objects.get()
    [made] = gateway_refunds_of(sandbox, payment_of(order))
    sandbox.fail_next(1, status=400, path=REFUND_PATH)

    refund_submit(refund_id=refund.pk)

    refund.refresh_from_db()
    assert (refund.status, refund.gateway_refund_id) == (R.PROCESSING, made["id"])
    assert payment_of(order).refunded_amount == Decimal("3000.00")  # still counted against the capture
    with pytest.raises(RefundNotRetryable):
        refund_retry(refund_id=refund.pk, actor=None)
    assert gateway_refunds_of(sandbox, payment_of(order)) == [made]


def test_a_refusal_is_not_final_while_the_gateway_cannot_say_what_it_holds(sandbox, three_items):
    order, items = three_items
    sandbox.drop_next_response(1)
    cancel(items[2])
    refund = Refund.objects.get()
    sandbox.fail_next(1, status=400, path=REFUND_PATH)
    sandbox.fail_next(1, status=503, path="/v1/payments/*/refunds")

    refund_submit(refund_id=refund.pk)

    refund.refresh_from_db()
    assert refund.status == R.INITIATED and refund.attempts == 2  # waits for the next attempt
    refund_submit(refund_id=refund.pk)  # the gateway answers again: the same refund, the same key
    refund.refresh_from_db()
    [made] = gateway_refunds_of(sandbox, payment_of(order))
    assert (refund.status, refund.gateway_refund_id) == (R.PROCESSING, made["id"])


def test_a_refusal_with_no_refund_at_the_gateway_fails_the_refund(sandbox, three_items):
    order, items = three_items
    sandbox.fail_next(1, status=400, path=REFUND_PATH)

    cancel(items[0])

    refund = Refund.objects.get()
    assert refund.status == R.FAILED and "HTTP 400" in refund.last_error
    assert gateway_refunds_of(sandbox, payment_of(order)) == []


def test_the_webhook_can_come_before_the_api_response_and_is_matched_by_the_notes(sandbox, three_items):
    order, items = three_items
    sandbox.drop_next_response(1)
    cancel(items[1])
    refund = Refund.objects.get()
    assert refund.gateway_refund_id is None

    [made] = gateway_refunds_of(sandbox, payment_of(order))
    sandbox.settle_refund(made["id"])
    assert apply_refund_webhooks(sandbox) == [f"refund {refund.pk} INITIATED -> REFUNDED"]

    refund.refresh_from_db()
    assert (refund.status, refund.gateway_refund_id) == (R.REFUNDED, made["id"])
    # The retry that was still to come has nothing left to do, and asks the gateway for nothing.
    assert "nothing to submit" in refund_submit(refund_id=refund.pk)
    assert len(sandbox.refunds) == 1


def test_the_api_response_after_the_webhook_keeps_the_refund_refunded(sandbox, three_items):
    """The submit's answer comes back after refund.processed was applied: forward only."""
    order, items = three_items
    sandbox.drop_next_response(1)
    cancel(items[0])
    refund = Refund.objects.get()
    [made] = gateway_refunds_of(sandbox, payment_of(order))
    sandbox.settle_refund(made["id"])
    apply_refund_webhooks(sandbox)

    refunds._submit_accepted(
        refund_id=refund.pk,
        key=refund.idempotency_key,
        gateway_refund=refunds.get_gateway().refund_fetch(made["id"]),
    )

    refund.refresh_from_db()
    assert refund.status == R.REFUNDED and refund.gateway_refund_id == made["id"]


def test_a_permanent_error_fails_the_refund_with_razorpays_description(sandbox, three_items, gateway):
    order, items = three_items
    payment = payment_of(order)
    # Someone refunded the whole payment at the gateway behind our back.
    gateway.refund_create(
        payment_id=payment.gateway_payment_id, amount_paise=399_900, idempotency_key="outside-refund-1", notes={}
    )

    cancel(items[0])

    refund = Refund.objects.get()
    assert refund.status == R.FAILED
    assert refund.failure_reason == "The payment has been fully refunded already"
    assert refund.attempts == 1 and "HTTP 400" in refund.last_error
    assert payment_of(order).refunded_amount == Decimal("0.00")  # a failed refund commits nothing


def test_a_refund_the_gateway_fails_can_be_retried_by_staff_until_refunded(sandbox, three_items, staff):
    order, items = three_items
    sandbox.fail_next_refund(1)
    cancel(items[1])
    refund = Refund.objects.get()
    first_key, first_gateway_id = refund.idempotency_key, refund.gateway_refund_id

    sandbox.settle_refund(first_gateway_id)
    assert apply_refund_webhooks(sandbox) == [f"refund {refund.pk} PROCESSING -> FAILED"]
    refund.refresh_from_db()
    assert refund.status == R.FAILED and refund.failure_reason
    assert payment_of(order).refunded_amount == Decimal("0.00")

    refund_retry(refund_id=refund.pk, actor=staff)

    refund.refresh_from_db()
    assert refund.status == R.PROCESSING  # submitted again after the retry committed
    assert refund.idempotency_key != first_key and refund.gateway_refund_id != first_gateway_id
    assert f"Retried by {staff.username}" in refund.last_error and first_gateway_id in refund.last_error
    assert payment_of(order).refunded_amount == Decimal("500.00")

    sandbox.settle_refund(refund.gateway_refund_id)
    apply_refund_webhooks(sandbox, start=1)
    refund.refresh_from_db()
    assert refund.status == R.REFUNDED
    statuses = sorted(r["status"] for r in gateway_refunds_of(sandbox, payment_of(order)))
    assert statuses == ["failed", "processed"]
    assert sandbox.payments[payment_of(order).gateway_payment_id]["amount_refunded"] == 50_000

    # The first attempt's refund.failed, delivered again late, is about a refund we no longer track.
    first_failed = refund_events(sandbox, "refund.failed")[0].envelope["payload"]["refund"]["entity"]
    assert refund_webhook_apply(refund_entity=first_failed, succeeded=False).detail == "unknown refund"
    refund.refresh_from_db()
    assert refund.status == R.REFUNDED


def test_only_failed_refunds_can_be_retried(sandbox, three_items, staff):
    _order, items = three_items
    cancel(items[0])
    refund = Refund.objects.get()
    with pytest.raises(RefundNotRetryable):
        refund_retry(refund_id=refund.pk, actor=staff)


# --- webhooks only move forward -------------------------------------------------------------


def test_refund_webhooks_only_move_forward_and_repeat_harmlessly(sandbox, three_items):
    order, items = three_items
    cancel(items[0])
    refund = Refund.objects.get()
    sandbox.settle_refund(refund.gateway_refund_id)
    processed = refund_events(sandbox, "refund.processed")[0].envelope["payload"]["refund"]["entity"]

    first = refund_webhook_apply(refund_entity=processed, succeeded=True)
    assert first.changed and first.detail.endswith("-> REFUNDED")
    repeat = refund_webhook_apply(refund_entity=processed, succeeded=True)
    assert not repeat.changed and "changes nothing" in repeat.detail
    late_failure = {**processed, "status": "failed"}
    assert "changes nothing" in refund_webhook_apply(refund_entity=late_failure, succeeded=False).detail

    refund.refresh_from_db()
    assert refund.status == R.REFUNDED
    assert payment_of(order).refunded_amount == Decimal("499.00")


def test_a_refund_webhook_that_changes_nothing_is_stored_ignored(client, sandbox, three_items):
    """Staff reading the webhook log see which delivery moved the refund and which repeated it."""
    _, items = three_items
    cancel(items[0])
    refund = Refund.objects.get()
    sandbox.settle_refund(refund.gateway_refund_id)
    processed = refund_events(sandbox, "refund.processed")[0]

    assert deliver(client, processed).status_code == 200
    assert deliver(client, processed, HTTP_X_RAZORPAY_EVENT_ID="evt_refund_again").status_code == 200

    outcomes = dict(WebhookEvent.objects.values_list("event_id", "outcome"))
    assert outcomes == {processed.id: WebhookOutcome.PROCESSED, "evt_refund_again": WebhookOutcome.IGNORED}
    refund.refresh_from_db()
    assert refund.status == RefundStatus.REFUNDED


def test_a_late_processed_after_failed_changes_nothing(sandbox, three_items):
    _order, items = three_items
    sandbox.fail_next_refund(1)
    cancel(items[0])
    refund = Refund.objects.get()
    sandbox.settle_refund(refund.gateway_refund_id)
    apply_refund_webhooks(sandbox)
    failed = refund_events(sandbox, "refund.failed")[0].envelope["payload"]["refund"]["entity"]

    assert (
        "changes nothing"
        in refund_webhook_apply(refund_entity={**failed, "status": "processed"}, succeeded=True).detail
    )
    refund.refresh_from_db()
    assert refund.status == R.FAILED


@pytest.mark.parametrize(
    "entity",
    [
        {},
        {"id": "rfnd_nobodyknowsme", "payment_id": "pay_x", "amount": 100, "notes": []},
        {"id": "rfnd_nobodyknowsme", "payment_id": "pay_x", "amount": 100, "notes": {"refund_id": "999999"}},
        {"id": "rfnd_nobodyknowsme", "notes": {"refund_id": "not a number"}},
    ],
)
def test_an_unknown_refund_is_reported_not_raised(sandbox, entity):
    assert refund_webhook_apply(refund_entity=entity, succeeded=True).detail == "unknown refund"


def test_notes_must_carry_the_current_key_payment_and_amount(sandbox, three_items):
    """Our refund id alone in the notes is not enough: a stale or foreign event never moves a refund."""
    _order, items = three_items
    sandbox.drop_next_response(1)
    cancel(items[0])
    refund = Refund.objects.get()
    [made] = sandbox.refunds.values()
    for wrong in ({"refund_key": "jcrf_someoneelse"}, {"amount": 100}, {"payment_id": "pay_other"}):
        entity = {**made, **{k: v for k, v in wrong.items() if k != "refund_key"}}
        if "refund_key" in wrong:
            entity["notes"] = {**made["notes"], "refund_key": wrong["refund_key"]}
        assert refund_webhook_apply(refund_entity=entity, succeeded=True).detail == "unknown refund"
    refund.refresh_from_db()
    assert refund.status == R.INITIATED and refund.gateway_refund_id is None


# --- the money check ------------------------------------------------------------------------


def test_refunds_never_exceed_the_captured_amount(sandbox, three_items):
    order, items = three_items
    cancel(items[2])  # ₹3,000 of ₹3,999
    payment = payment_of(order)

    with pytest.raises(RefundExceedsCaptured), transaction.atomic():
        refund_initiate(payment=payment, amount=Decimal("1000.00"), reason="too much")
    with transaction.atomic():
        refund_initiate(payment=payment, amount=Decimal("999.00"), reason="exactly the rest")

    payment.refresh_from_db()
    assert payment.refunded_amount == payment.captured_amount == committed(payment)


def test_a_cancel_the_capture_cannot_cover_is_refused_and_changes_nothing(sandbox, three_items):
    order, items = three_items
    # Say a full refund of a late capture already committed everything.
    Payment.objects.filter(order=order).update(captured_amount=Decimal("499.00"))
    cancel(items[0])

    with pytest.raises(RefundExceedsCaptured):
        cancel(items[1])

    assert items_of(order)[1].status == OrderItemStatus.PLACED
    assert Refund.objects.count() == 1


def test_refund_initiate_needs_the_callers_transaction(sandbox, three_items):
    order, _items = three_items
    with pytest.raises(RuntimeError, match="inside the transaction"):
        refund_initiate(payment=payment_of(order), amount=Decimal("1.00"), reason="")


# --- retries with backoff -------------------------------------------------------------------


def test_the_backoff_doubles_from_30_seconds_up_to_an_hour():
    delays = [refund_retry_delay(n) for n in range(1, MAX_SUBMIT_ATTEMPTS + 2)]
    assert [d.total_seconds() for d in delays] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert refund_retry_delay(1000) == timedelta(hours=1)
    with pytest.raises(ValueError):
        refund_retry_delay(0)


@pytest.fixture
def deferring_backend(settings):
    """A task backend that can defer (like the database queue) and keeps tasks instead of running them."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    backend = task_backends["default"]
    yield backend
    backend.clear()


def submits(backend) -> list:
    return [result for result in backend.results if result.task.module_path == "payments.tasks.refund_submit"]


def test_with_a_deferring_backend_a_retryable_error_is_rescheduled_with_backoff(sandbox, deferring_backend):
    order = captured_online_order(sandbox, make_buyer(), {ProductFactory(price=Decimal("700.00")): 1})
    cancel(items_of(order)[0])
    refund = Refund.objects.get()
    [enqueued] = submits(deferring_backend)
    assert enqueued.kwargs == {"refund_id": refund.pk} and enqueued.task.run_after is None
    deferring_backend.clear()

    sandbox.fail_next(2, status=500, path=REFUND_PATH)
    for attempt in (1, 2):
        refund_submit(refund_id=refund.pk)
        [again] = submits(deferring_backend)
        assert again.status == TaskResultStatus.READY and again.kwargs == {"refund_id": refund.pk}
        wait = again.task.run_after - again.enqueued_at
        assert abs(wait - refund_retry_delay(attempt)) < timedelta(seconds=2)
        deferring_backend.clear()
    refund.refresh_from_db()
    assert refund.status == R.INITIATED and refund.attempts == 2

    again.task.call(**again.kwargs)  # the worker runs it when it is due
    refund.refresh_from_db()
    assert refund.status == R.PROCESSING and refund.attempts == 3
    assert len(gateway_refunds_of(sandbox, payment_of(order))) == 1


def test_after_the_last_attempt_the_refund_waits_for_reconciliation(sandbox, deferring_backend):
    order = captured_online_order(sandbox, make_buyer(), {ProductFactory(): 1})
    cancel(items_of(order)[0])
    refund = Refund.objects.get()
    Refund.objects.filter(pk=refund.pk).update(attempts=MAX_SUBMIT_ATTEMPTS - 1)
    deferring_backend.clear()
    sandbox.fail_next(1, path=REFUND_PATH)

    assert refund_submit(refund_id=refund.pk).endswith("left INITIATED for reconciliation")

    assert submits(deferring_backend) == []
    refund.refresh_from_db()
    assert refund.status == R.INITIATED and refund.attempts == MAX_SUBMIT_ATTEMPTS


@pytest.fixture
def database_queue(settings):
    """Production's queue: task rows written in the caller's transaction (django-tasks-db)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def queued_submits():
    from django_tasks_db.models import DBTaskResult

    return list(DBTaskResult.objects.filter(task_path="payments.tasks.refund_submit").order_by("enqueued_at"))


def test_on_the_database_queue_the_refund_task_commits_with_the_cancellation(sandbox, database_queue):
    order = captured_online_order(sandbox, make_buyer(), {ProductFactory(price=Decimal("400.00")): 1})
    Payment.objects.filter(order=order).update(captured_amount=Decimal("100.00"))  # too little: refused

    with pytest.raises(RefundExceedsCaptured):
        cancel(items_of(order)[0])
    assert queued_submits() == [] and not Refund.objects.exists()

    Payment.objects.filter(order=order).update(captured_amount=Decimal("400.00"))
    cancel(items_of(order)[0])

    refund = Refund.objects.get()
    [queued] = queued_submits()
    assert queued.args_kwargs["kwargs"] == {"refund_id": refund.pk}
    assert refund.status == R.INITIATED and sandbox.refunds == {}  # the worker has not run it yet


def test_on_the_database_queue_a_retryable_error_defers_the_next_attempt(sandbox, database_queue):
    order = captured_online_order(sandbox, make_buyer(), {ProductFactory(): 1})
    cancel(items_of(order)[0])
    refund = Refund.objects.get()
    sandbox.fail_next(1, status=504, path=REFUND_PATH)

    refund_submit(refund_id=refund.pk)  # what the worker runs

    _first, retry = queued_submits()
    assert retry.args_kwargs["kwargs"] == {"refund_id": refund.pk}
    assert abs(retry.run_after - retry.enqueued_at - refund_retry_delay(1)) < timedelta(seconds=2)


def test_the_task_submits_the_refund(sandbox, deferring_backend):
    from payments.tasks import refund_submit as refund_submit_task

    order = captured_online_order(sandbox, make_buyer(), {ProductFactory(): 1})
    cancel(items_of(order)[0])
    refund = Refund.objects.get()
    assert refund.status == R.INITIATED  # enqueued, not run

    refund_submit_task.call(refund_id=refund.pk)

    refund.refresh_from_db()
    assert refund.status == R.PROCESSING
    assert to_paise(refund.amount) == sandbox.refunds[refund.gateway_refund_id]["amount"]


def test_the_sandbox_settles_the_refund_by_itself_and_its_webhook_finishes_it(sandbox_gateway, three_items):
    """Nothing held back: the sandbox processes the refund on its own timer, as Razorpay would."""
    sandbox_gateway.configure(refund_delay=0.05)
    _order, items = three_items
    cancel(items[0])

    deadline = time.monotonic() + 5
    while not refund_events(sandbox_gateway) and time.monotonic() < deadline:
        time.sleep(0.02)
    apply_refund_webhooks(sandbox_gateway)

    assert Refund.objects.get().status == R.REFUNDED


# --- the whole pipeline, with real webhook deliveries ----------------------------------------
# The live server shares SQLite's in-memory connection with the test, so the test touches the database
# only while no delivery is in flight: it waits on the sandbox (its refunds and events, then every
# delivery answered) before reading rows.


def settled_and_delivered(sandbox, count: int, timeout: float = 10.0) -> None:
    """Until `count` refunds settled at the sandbox, their events were emitted and every delivery answered."""
    deadline = time.monotonic() + timeout
    while (
        sum(r["status"] != "pending" for r in sandbox.refunds.values()) < count or len(refund_events(sandbox)) < count
    ):
        assert time.monotonic() < deadline, sandbox.refunds
        time.sleep(0.02)
    assert sandbox.wait_for_webhooks()


@pytest.mark.parametrize("mode", ["normal", "twice"])
def test_online_checkout_pay_cancel_and_the_webhook_refunds_it(sandbox_webhooks_to_live_server, mode):
    """Online checkout, capture by webhook, cancel, and refund.processed delivered to our endpoint by the sandbox."""
    from payments.models import WebhookEvent
    from tests.payments.online_helpers import place_online

    sandbox = sandbox_webhooks_to_live_server
    sandbox.webhook_mode(mode)
    order = place_online(make_buyer(), {ProductFactory(price=Decimal("650.00")): 1, ProductFactory(): 2})
    sandbox.pay(payment_of(order).gateway_order_id)
    assert sandbox.wait_for_webhooks()
    assert all(item.status == OrderItemStatus.PLACED for item in items_of(order))

    cancel(items_of(order)[0])
    settled_and_delivered(sandbox, 1)

    refund = Refund.objects.get()
    assert (refund.status, refund.amount, refund.attempts) == (R.REFUNDED, Decimal("650.00"), 1)
    [processed] = WebhookEvent.objects.filter(event_type="refund.processed")
    assert processed.outcome == "PROCESSED" and processed.detail == f"refund {refund.pk} PROCESSING -> REFUNDED"
    assert len(gateway_refunds_of(sandbox, payment_of(order))) == 1
    assert payment_of(order).refunded_amount == Decimal("650.00")


def test_a_refund_failed_by_webhook_is_retried_by_staff_and_refunded_by_webhook(sandbox_webhooks_to_live_server, staff):
    sandbox = sandbox_webhooks_to_live_server
    url, sandbox.webhook_url = sandbox.webhook_url, None  # the capture's own webhooks are not this test's
    order = captured_online_order(sandbox, make_buyer(), {ProductFactory(price=Decimal("300.00")): 1})
    assert sandbox.wait_for_webhooks()
    sandbox.webhook_url = url
    sandbox.fail_next_refund(1)

    cancel(items_of(order)[0])
    settled_and_delivered(sandbox, 1)
    refund = Refund.objects.get()
    assert refund.status == R.FAILED

    refund_retry(refund_id=refund.pk, actor=staff)
    settled_and_delivered(sandbox, 2)

    refund.refresh_from_db()
    assert refund.status == R.REFUNDED
    assert sorted(r["status"] for r in gateway_refunds_of(sandbox, payment_of(order))) == ["failed", "processed"]
