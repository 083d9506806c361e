"""A model-based test of the capture ledger: Hypothesis plays buyers, sellers, staff, the bank, Razorpay (the sandbox
gateway, through the real SDK), the webhook deliveries, the worker and cron in any order, and after every step the
ledger's promises are checked against the database and the sandbox's own books.

Promises, after every step:
- each gateway capture paid exactly one order, or has exactly one refund of its full amount (a FAILED one waits
  for staff), or is flagged for staff or resolved by them: one of these, never two;
- the refunds of a capture that are not FAILED add up to at most what it captured, as its ledger columns say, and
  the sandbox never holds more refunds against a payment than we committed (each of them one of our refund rows);
- no stock is lost or made: stock plus the units of live items is what the product started with;
- every item moved only as the transition table allows, and each order's status is derived from its items;
- no webhook fails to process.
At the end of each example everything is let settle (webhooks delivered, the worker and cron run, refunds processed,
failed ones retried by staff): then every capture the sandbox made is recorded, its money is placed or back with
the buyer (or resolved by staff), the sandbox's refunds equal ours, and `payments_audit --gateway` finds nothing.

How it runs: each example is one transaction, rolled back at its end; what waits for a commit runs when the step
ends (`commits`). Tasks go to `ModelTasks`: the webhook drain runs at once, as in development; refund submissions
and deferred expiry tasks wait for the model's worker, which may run them late, twice, with a gateway 5xx, a lost
response or a timeout, or crash before or after the gateway call. The clock (`timezone.now`) moves only when a
step says so (and a second per step).

Profiles: "ci" (the default) and "long" (`HYPOTHESIS_PROFILE=long`, for local runs).
"""

import os
import sys
import time
from collections import Counter
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import transaction
from django.tasks import task_backends
from django.tasks.backends.dummy import DummyBackend
from django.test import TestCase
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from cart.models import CartItem
from catalog.models import Product
from joycart.errors import DomainError
from orders.models import Order, OrderEvent, OrderItem, OrderItemStatus
from orders.services.checkout import checkout_place
from orders.services.lifecycle import (
    order_item_cancel,
    order_item_confirm,
    order_item_deliver,
    order_item_ship,
    order_status_derive,
)
from orders.transitions import transition_allowed
from payments.gateway import RazorpayGateway, to_paise
from payments.management.commands.reconcile_payments import DEFAULT_OLDER_THAN_MINUTES
from payments.models import (
    CaptureOutcome,
    GatewayCapture,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    WebhookEvent,
    WebhookOutcome,
)
from payments.sandbox.ledger import ApiError
from payments.services.attempts import payment_attempt_open
from payments.services.audit import AuditPeriod, payments_audit
from payments.services.captures import capture_refund, capture_resolve
from payments.services.expiry import orders_expire_unpaid
from payments.services.online import payment_signature_verify, payments_reconcile
from payments.services.refund_reconcile import refunds_reconcile
from payments.services.refunds import refund_retry
from payments.services.webhooks import webhook_receive
from tests.factories import ProductFactory, StoreFactory, UserFactory
from tests.orders.helpers import make_buyer, new_key, put_in_cart

settings.register_profile(
    "ci",
    max_examples=200,
    stateful_step_count=30,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile("long", settings.get_profile("ci"), max_examples=2000, stateful_step_count=50)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

S = OrderItemStatus
Outcome = CaptureOutcome
PRICES = [Decimal("2.00"), Decimal("3.50"), Decimal("499.00")]
REFUND_PATH = "/v1/payments/*/refund"
ORDER_PAYMENTS_PATH = "/v1/orders/*/payments"
# Short enough to keep a timeout cheap, long enough that a loaded machine does not time out by itself.
GATEWAY_TIMEOUT = 0.5
HANG = 0.7
RECONCILE_OLDER_THAN = timedelta(minutes=DEFAULT_OLDER_THAN_MINUTES)
REFUND_TASK = "payments.tasks.refund_submit"
EXPIRE_TASK = "payments.tasks_online.order_payment_expire"
WORKER_TASKS = frozenset({REFUND_TASK, EXPIRE_TASK})
RUN_AT_ONCE = frozenset({"payments.tasks_online.webhook_events_drain", "payments.tasks_online.payment_capture_resolve"})


# What the examples did, counted over the run and printed at its end.
did: Counter[str] = Counter()


def refused():
    """A refusal with a stable code (409, 403, ...) is an answer, not a failure; anything else propagates."""
    return suppress(DomainError)


class ModelTasks(DummyBackend):
    """The model's task queue: the webhook drain runs at once (as in development); refund submissions and the expiry
    wait for the model's worker (deferred ones until their time); mail is dropped, since it never moves money."""

    def enqueue(self, task, args, kwargs):
        result = super().enqueue(task, args, kwargs)
        if task.module_path not in WORKER_TASKS:
            self.results.pop()
            if task.module_path in RUN_AT_ONCE and task.run_after is None:
                task.call(*args, **kwargs)
        return result


class Clock:
    """`timezone.now` while the model runs: time moves only when the model says so."""

    def __init__(self) -> None:
        self.now = datetime.now(tz=UTC)

    def __call__(self) -> datetime:
        return self.now


class WorkerCrash(Exception):
    """The worker process died while running a task."""


@dataclass(frozen=True)
class Lines:
    """A checkout: quantities by product index."""

    quantities: tuple[tuple[int, int], ...]


CHECKOUT_LINES = st.dictionaries(st.integers(0, 2), st.integers(1, 3), min_size=1, max_size=3).map(
    lambda lines: Lines(tuple(sorted(lines.items())))
)
PAY_KINDS = ["matching", "short", "over", "wrong_currency", "declined"]
BROWSER_ACTIONS = ["opens the pay page", "returns with Checkout's signature", "returns with a forged signature"]
CRON_JOBS = ["nothing", "expire_unpaid_orders", "reconcile_payments"]
# Some products sell out, most do not (Hypothesis's simplest stock is the ample one).
STOCK = st.integers(0, 50).map(lambda n: 50 - n)
WEBHOOK_WAYS = ["in order", "out of order", "again", "lost"]
# Mostly not: a fault on every other call would leave little to see but faults.
RARELY = st.integers(0, 4).map(lambda n: n == 4)
REFUND_FAULTS = ["none", "server_error", "lost_response", "refused", "crash_before", "crash_after", "timeout"]


class LedgerMachine(RuleBasedStateMachine):
    """Rules pick what they act on (`which`) among what the last look at the ledger found they could act on."""

    def __init__(self, sandbox, clock: Clock) -> None:
        super().__init__()
        self.sandbox, self.clock = sandbox, clock
        self.started_at = clock.now
        sandbox.reset()
        sandbox.webhook_mode("never")  # the model delivers every event itself (webhook_receive)
        sandbox.configure(refund_delay=None)  # refunds settle when the model says
        self.tasks = task_backends["default"]
        self.tasks.clear()
        self.seen_events = 0
        self.undelivered: list = []
        self.delivered: list = []
        self.slow_attempts: list[str] = []
        self.initial_stock: dict[int, int] = {}
        self.orders: list[int] = []
        self.payable: list[str] = []  # gateway orders the sandbox would still take a payment for
        self.cancellable: list[OrderItem] = []
        self.movable: list[OrderItem] = []
        self.flagged: list[int] = []
        self.failed_refunds: list[int] = []
        self._atomic = transaction.atomic()
        self._atomic.__enter__()

    # --- plumbing -------------------------------------------------------------------------

    @contextmanager
    def commits(self):
        """The step's transactions commit as it ends: what waits for a commit runs then (the tasks are queued)."""
        try:
            with TestCase.captureOnCommitCallbacks(execute=True):
                yield
        finally:
            self.sandbox.faults.clear()  # a fault armed for this step never leaks into the next
            events = self.sandbox.events
            self.undelivered += events[self.seen_events :]
            self.seen_events = len(events)

    def tick(self, seconds: float = 1) -> None:
        self.clock.now += timedelta(seconds=seconds)

    def _order(self, order_id: int) -> Order:
        return Order.objects.get(pk=order_id)

    def _product(self, index: int) -> Product:
        return self.products[index % len(self.products)]

    def _gateway_order_id(self, order_id: int) -> str | None:
        return Payment.objects.filter(order_id=order_id).values_list("gateway_order_id", flat=True).get()

    def _ready_tasks(self) -> list:
        return [r for r in self.tasks.results if r.task.run_after is None or r.task.run_after <= self.clock.now]

    def _ready(self, module_path: str) -> list:
        return [r for r in self._ready_tasks() if r.task.module_path == module_path]

    def _run(self, result) -> None:
        self.tasks.results.remove(result)
        result.task.call(*result.args, **result.kwargs)

    # --- the world ------------------------------------------------------------------------

    @initialize(
        stocks=st.lists(STOCK, min_size=3, max_size=3),
        prices=st.lists(st.sampled_from(PRICES), min_size=3, max_size=3),
    )
    def open_the_shop(self, stocks, prices):
        stores = [StoreFactory(), StoreFactory()]
        self.products = [
            ProductFactory(store=stores[index % 2], stock=stock, price=price)
            for index, (stock, price) in enumerate(zip(stocks, prices, strict=True))
        ]
        self.initial_stock = {product.pk: product.stock for product in self.products}
        self.buyer = make_buyer()
        self.staff = UserFactory(is_staff=True, is_superuser=True)

    @rule(lines=CHECKOUT_LINES, gateway_down=RARELY)
    def checkout(self, lines, gateway_down):
        """An online checkout from the cart; with the gateway down it gets no gateway order (the pay page retries)."""
        CartItem.objects.filter(cart__user=self.buyer).delete()
        for index, quantity in lines.quantities:
            put_in_cart(self.buyer, self._product(index), quantity)
        if gateway_down:
            self.sandbox.fail_next(1, status=503, path="/v1/orders")
        try:
            with self.commits():
                order, _created = checkout_place(
                    buyer=self.buyer,
                    source="cart",
                    address_id=self.buyer.address.pk,
                    payment_method="ONLINE",
                    idempotency_key=new_key(),
                )
        except DomainError as refusal:
            did[f"checkout refused: {refusal.code}"] += 1
            return
        did["checkout"] += 1
        self.orders.append(order.pk)

    @precondition(lambda self: self.payable)
    @rule(which=st.integers(0, 9), kind=st.sampled_from(PAY_KINDS), slow=st.booleans())
    def buyer_pays(self, which, kind, slow):
        """A payment at the gateway: captured now, or (slow) left at the bank to be confirmed later; of the order's
        amount, short, over, or in another currency; or declined by the bank. The order may have expired: the
        gateway still takes the payment (Checkout was open in a tab)."""
        gateway_order_id = self.payable[which % len(self.payable)]
        amount = self.sandbox.orders[gateway_order_id]["amount"]
        amount = {"short": amount - 100, "over": amount + 100}.get(kind, amount)
        try:
            if kind == "declined":
                self.sandbox.fail(gateway_order_id)
            else:
                attempt = self.sandbox.start_payment(gateway_order_id, amount=amount)
        except ApiError:  # the gateway order is paid: Checkout offers no other payment
            return
        if kind == "wrong_currency":
            with self.sandbox.ledger.lock:
                self.sandbox.ledger.payments[attempt["id"]]["currency"] = "USD"
        if kind != "declined" and slow:
            self.slow_attempts.append(attempt["id"])
        elif kind != "declined":
            self.sandbox.complete_payment(attempt["id"])
        did[f"pay {kind}{' slow' if slow and kind != 'declined' else ''}"] += 1
        with self.commits():
            pass

    @precondition(lambda self: self.slow_attempts)
    @rule(which=st.integers(0, 9))
    def bank_confirms_a_slow_payment(self, which):
        payment_id = self.slow_attempts.pop(which % len(self.slow_attempts))
        self.sandbox.complete_payment(payment_id)
        did["bank confirms"] += 1
        with self.commits():
            pass

    @precondition(lambda self: self.orders)
    @rule(which=st.integers(0, 9), action=st.sampled_from(BROWSER_ACTIONS), gateway_down=RARELY)
    def buyers_browser(self, which, action, gateway_down):
        """The pay page (it makes the gateway order a failed checkout could not), or Checkout's callback with its
        signature, real or forged: the callback only marks the payment "confirming", it never pays."""
        if gateway_down:
            self.sandbox.fail_next(1, status=503, path="/v1/orders")
        order = self.orders[which % len(self.orders)]
        gateway_order_id = self._gateway_order_id(order)
        attempts = [p for p in self.sandbox.payments.values() if p["order_id"] == gateway_order_id]
        with self.commits(), refused():
            if action == "opens the pay page":
                payment_attempt_open(order=self._order(order))
            elif attempts:
                latest = attempts[-1]
                forged = action == "returns with a forged signature"
                signature = "0" * 64 if forged else self.sandbox.payment_signature(gateway_order_id, latest["id"])
                payment_signature_verify(
                    gateway_order_id=gateway_order_id,
                    gateway_payment_id=latest["id"],
                    signature=signature,
                    buyer=self.buyer,
                )
            did[f"browser {action}"] += 1

    # --- webhooks ---------------------------------------------------------------------------

    def _deliver(self, event) -> None:
        with self.commits():
            webhook_receive(body=event.body, signature=event.headers["X-Razorpay-Signature"], event_id=event.id)
        self.delivered.append(event)

    @precondition(lambda self: self.undelivered or self.delivered)
    @rule(how=st.sampled_from(WEBHOOK_WAYS), which=st.integers(0, 9))
    def razorpay_sends_webhooks(self, how, which):
        """Razorpay's deliveries: what is due, in order; one of them before the others; one again; or one never."""
        if how == "in order":
            while self.undelivered:
                self._deliver(self.undelivered.pop(0))
        elif how == "again" and self.delivered:
            self._deliver(self.delivered[which % len(self.delivered)])
        elif how == "out of order" and self.undelivered:
            self._deliver(self.undelivered.pop(which % len(self.undelivered)))
        elif how == "lost" and self.undelivered:
            self.undelivered.pop(which % len(self.undelivered))
        did[f"webhook {how}"] += 1

    # --- time, cron and the worker ----------------------------------------------------------

    @rule(minutes=st.sampled_from([1, 5, 14, 16, 61]), then=st.sampled_from(CRON_JOBS), gateway_down=RARELY)
    def time_passes(self, minutes, then, gateway_down):
        """The clock moves on, and then perhaps a cron job runs (with the gateway down, perhaps)."""
        self.tick(minutes * 60)
        did[f"time +{minutes} min"] += 1
        if then != "nothing":
            did[f"cron {then}{' (gateway down)' if gateway_down else ''}"] += 1
        if gateway_down:
            self.sandbox.fail_next(1, status=503)
        if then == "expire_unpaid_orders":
            with self.commits():
                did.update({f"expiry {k}": v for k, v in orders_expire_unpaid().items() if v})
        elif then == "reconcile_payments":  # as cron runs it: what changed in the last minutes is left to the worker
            with self.commits():
                payments_reconcile(older_than=RECONCILE_OLDER_THAN)
            with self.commits():
                refunds_reconcile(older_than=RECONCILE_OLDER_THAN)

    @precondition(lambda self: self._ready(EXPIRE_TASK))
    @rule(which=st.integers(0, 9))
    def worker_expires_an_order(self, which):
        """The expiry task checkout deferred to the order's deadline (it may find the order paid, or come back)."""
        ready = self._ready(EXPIRE_TASK)
        with self.commits():
            self._run(ready[which % len(ready)])
        did["task order_payment_expire"] += 1

    @precondition(lambda self: self._ready(REFUND_TASK))
    @rule(which=st.integers(0, 9), fault=st.sampled_from(REFUND_FAULTS), run_again=st.booleans())
    def worker_submits_a_refund(self, which, fault, run_again):
        """The refund task, with what can go wrong around its gateway call. `run_again` runs it once more at once
        (a task queued twice, a worker restarted on it). A crashed task is otherwise lost: reconciliation finds
        its refund still INITIATED."""
        ready = self._ready(REFUND_TASK)
        result = ready[which % len(ready)]
        did[f"task refund_submit, {fault}{', run again' if run_again else ''}"] += 1
        crash = fault.startswith("crash")
        with self.commits(), _refund_fault(self.sandbox, fault, result.kwargs["refund_id"]):
            self._run(result)
            if run_again and not crash:  # while a timed-out call still hangs at the gateway: its key answers 409
                result.task.call(*result.args, **result.kwargs)
        if run_again and crash:
            with self.commits():
                result.task.call(*result.args, **result.kwargs)

    @precondition(lambda self: any(r["status"] == "pending" for r in self.sandbox.ledger.refunds.values()))
    @rule(which=st.integers(0, 9), succeed=st.booleans())
    def razorpay_settles_a_refund(self, which, succeed):
        pending = [r["id"] for r in self.sandbox.refunds.values() if r["status"] == "pending"]  # oldest first
        self.sandbox.settle_refund(pending[which % len(pending)], succeed=succeed)
        did["gateway refund " + ("processed" if succeed else "failed")] += 1
        with self.commits():
            pass

    # --- people -----------------------------------------------------------------------------

    @precondition(lambda self: self.cancellable)
    @rule(which=st.integers(0, 9), who=st.sampled_from(["buyer", "seller", "staff"]))
    def someone_cancels_an_item(self, which, who):
        item = self.cancellable[which % len(self.cancellable)]
        actor = {"buyer": self.buyer, "seller": item.seller.user, "staff": self.staff}[who]
        with self.commits(), refused():
            order_item_cancel(item_id=item.pk, actor=actor, reason=f"cancelled by the {who}")
            did[f"cancel by {who}"] += 1

    @precondition(lambda self: self.movable)
    @rule(which=st.integers(0, 9))
    def seller_moves_an_item_on(self, which):
        item = self.movable[which % len(self.movable)]
        move = {S.PLACED: order_item_confirm, S.CONFIRMED: order_item_ship, S.SHIPPED: order_item_deliver}.get(
            item.status
        )
        if move is None:
            return
        with self.commits(), refused():
            move(item_id=item.pk, actor=item.seller.user)
            did[f"seller {move.__name__}"] += 1

    @precondition(lambda self: self.flagged or self.failed_refunds)
    @rule(which=st.integers(0, 9), action=st.sampled_from(["refund flagged", "resolve flagged", "retry failed"]))
    def staff_act(self, which, action):
        """Staff's admin actions: "Refund this capture now", "Mark resolved", and retrying a FAILED refund."""
        chosen = self.failed_refunds if action == "retry failed" else self.flagged
        if not chosen:
            return
        pk = chosen[which % len(chosen)]
        with self.commits(), refused():
            if action == "retry failed":
                refund_retry(refund_id=pk, actor=self.staff)
            elif action == "resolve flagged":
                capture_resolve(capture_id=pk, actor=self.staff, note="refunded from the Razorpay dashboard")
            else:
                capture_refund(capture_id=pk, actor=self.staff)
            did[f"staff {action}"] += 1

    # --- promises ---------------------------------------------------------------------------

    @invariant()
    def promises_hold(self):
        self.tick()
        ledger = Ledger.read()
        paid_at_gateway = {o["id"] for o in self.sandbox.ledger.orders.values() if o["status"] == "paid"}
        self.payable = [  # in our order (gateway ids are random: sorting by them would make runs differ)
            p.gateway_order_id
            for _pk, p in sorted(ledger.payments.items())
            if p.gateway_order_id and p.gateway_order_id not in paid_at_gateway
        ]
        self.cancellable = [item for item in ledger.items if item.status in (S.PLACED, S.CONFIRMED)]
        self.movable = [item for item in ledger.items if item.status in (S.PLACED, S.CONFIRMED, S.SHIPPED)]
        self.flagged = [c.pk for c in ledger.captures if c.outcome == Outcome.FLAGGED]
        self.failed_refunds = [r.pk for r in ledger.refunds if r.status == RefundStatus.FAILED]
        ledger.check_captures()
        ledger.check_money(self.sandbox)
        ledger.check_stock(self.initial_stock)
        ledger.check_items()

    def teardown(self):
        try:
            # Unless a step failed (its error is the report): let everything settle, then check the end state.
            if self.initial_stock and sys.exc_info()[0] is None:
                self._settle_everything()
                ledger = Ledger.read()
                ledger.check_settled(self.sandbox)
                self._audit_is_clean()
        finally:
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)

    def _settle_everything(self) -> None:
        """What production does over the following hours: Razorpay delivers and processes, the worker and cron run,
        and staff retry the refunds that FAILED."""
        for _round in range(6):
            self.tick(61 * 60)  # past every deadline, the hard timeout and reconciliation's recheck
            self.undelivered.sort(key=lambda event: self.sandbox.events.index(event))
            while self.undelivered:
                self._deliver(self.undelivered.pop(0))
            while self._ready_tasks():
                with self.commits():
                    self._run(self._ready_tasks()[0])
            with self.commits():
                orders_expire_unpaid()
            with self.commits():
                payments_reconcile(older_than=timedelta(0))
            with self.commits():
                refunds_reconcile(older_than=timedelta(0))
            for refund_id in Refund.objects.filter(status=RefundStatus.FAILED).values_list("pk", flat=True):
                with self.commits():
                    refund_retry(refund_id=refund_id, actor=self.staff)
            while self._ready_tasks():
                with self.commits():
                    self._run(self._ready_tasks()[0])
            for refund in self.sandbox.refunds.values():
                if refund["status"] == "pending":
                    self.sandbox.settle_refund(refund["id"], succeed=True)
            with self.commits():
                pass
            while self.undelivered:
                self._deliver(self.undelivered.pop(0))
            if self._settled():
                return

    def _settled(self) -> bool:
        return (
            not self.undelivered
            and not self.tasks.results
            and not Refund.objects.exclude(status=RefundStatus.REFUNDED).exists()
            and not GatewayCapture.objects.filter(outcome=Outcome.FLAGGED).exists()
            and not any(r["status"] == "pending" for r in self.sandbox.refunds.values())
        )

    def _audit_is_clean(self) -> None:
        period = AuditPeriod(
            since=self.started_at.date() - timedelta(days=1), until=self.clock.now.date() + timedelta(days=1)
        )
        audit = payments_audit(period=period, gateway=True)
        assert audit.unaccounted() == [], audit.unaccounted()
        assert audit.unreadable() == []


@contextmanager
def _refund_fault(sandbox, fault: str, refund_id: int):
    """Arm what goes wrong around the refund task's gateway call."""
    if fault == "server_error":
        sandbox.fail_next(1, status=503, path=REFUND_PATH)
    elif fault == "refused":
        sandbox.fail_next(1, status=400, path=REFUND_PATH)
    elif fault == "lost_response":
        sandbox.drop_next_response(1, path=REFUND_PATH)
    elif fault == "timeout":
        sandbox.hang_next(1, seconds=HANG, path=REFUND_PATH)
    if fault not in ("crash_before", "crash_after"):
        yield
        if fault == "timeout":
            _wait_for_the_hung_request(sandbox, refund_id)
        return
    original = RazorpayGateway.refund_create

    def crashing(gateway, **kwargs):
        if fault == "crash_after":
            original(gateway, **kwargs)
        raise WorkerCrash(fault)

    with mock.patch.object(RazorpayGateway, "refund_create", crashing), suppress(WorkerCrash):
        yield


def _wait_for_the_hung_request(sandbox, refund_id: int) -> None:
    """The sandbox carries out a hung call after we gave up on it: wait for it, so each step ends settled."""
    deadline = time.monotonic() + HANG + 0.5
    while time.monotonic() < deadline:
        if any(r["notes"] and r["notes"].get("refund_id") == str(refund_id) for r in sandbox.refunds.values()):
            return
        time.sleep(0.02)


@dataclass
class Ledger:
    """The rows the promises are about, read once per step."""

    captures: list[GatewayCapture]
    refunds: list[Refund]
    payments: dict[int, Payment]
    items: list[OrderItem]
    events: list[OrderEvent]

    @classmethod
    def read(cls) -> "Ledger":
        return cls(
            captures=list(GatewayCapture.objects.order_by("pk")),
            refunds=list(Refund.objects.order_by("pk")),
            payments={p.pk: p for p in Payment.objects.select_related("order")},
            items=list(OrderItem.objects.select_related("order", "seller__user").order_by("pk")),
            events=list(OrderEvent.objects.order_by("pk")),
        )

    def refunds_of(self, capture: GatewayCapture) -> list[Refund]:
        return [refund for refund in self.refunds if refund.capture_id == capture.pk]

    def check_captures(self) -> None:
        paid_per_payment: dict[int, int] = {}
        for capture in self.captures:
            refunds = self.refunds_of(capture)
            full = [r for r in refunds if r.order_item_id is None]
            for_items = [r for r in refunds if r.order_item_id is not None]
            payment = self.payments[capture.payment_id]
            paid = capture.outcome == Outcome.PAID
            refunded = capture.outcome == Outcome.REFUNDED and len(full) == 1 and full[0].amount == capture.amount
            with_staff = capture.outcome in (Outcome.FLAGGED, Outcome.RESOLVED) and not refunds
            assert [paid, refunded, with_staff].count(True) == 1, (capture, refunds)
            if paid:
                paid_per_payment[payment.pk] = paid_per_payment.get(payment.pk, 0) + 1
                assert not full, f"{capture} paid the order and is refunded in full too"
                assert payment.status == PaymentStatus.CAPTURED, payment
                assert payment.gateway_payment_id == capture.gateway_payment_id, (payment, capture)
                assert (capture.amount, capture.currency) == (payment.amount, payment.currency), (payment, capture)
            else:
                assert not for_items, f"{capture} did not pay the order, yet refunds its items"
        assert all(count == 1 for count in paid_per_payment.values()), paid_per_payment

    def check_money(self, sandbox) -> None:
        gateway_payments, gateway_refunds = sandbox.payments, list(sandbox.refunds.values())
        by_id = {refund.pk: refund for refund in self.refunds}
        captures = {capture.pk: capture for capture in self.captures}
        for capture in self.captures:
            committed = sum((r.amount for r in self.refunds_of(capture) if r.status != RefundStatus.FAILED), Decimal(0))
            assert committed == capture.refunded_amount <= capture.amount, (capture, committed)
            payment = self.payments[capture.payment_id]
            if payment.gateway_payment_id == capture.gateway_payment_id:
                assert payment.refunded_amount == capture.refunded_amount, (payment, capture)
                assert payment.captured_amount == capture.amount, (payment, capture)
            at_gateway = gateway_payments[capture.gateway_payment_id]
            assert (at_gateway["captured"], at_gateway["order_id"]) == (True, capture.gateway_order_id), at_gateway
            assert (at_gateway["amount"], at_gateway["currency"]) == (to_paise(capture.amount), capture.currency)
            gateway_live = sum(
                r["amount"]
                for r in gateway_refunds
                if r["payment_id"] == capture.gateway_payment_id and r["status"] != "failed"
            )
            assert gateway_live <= to_paise(capture.refunded_amount), (capture, gateway_live)
        for gateway_refund in gateway_refunds:
            ours = by_id.get(int(gateway_refund["notes"]["refund_id"]))
            assert ours is not None, f"the gateway refunded {gateway_refund} and we have no such refund"
            assert gateway_refund["payment_id"] == captures[ours.capture_id].gateway_payment_id, (gateway_refund, ours)
            assert gateway_refund["amount"] == to_paise(ours.amount), (gateway_refund, ours)
            if gateway_refund["status"] != "failed":
                assert gateway_refund["notes"]["refund_key"] == ours.idempotency_key, (gateway_refund, ours)
                assert ours.status != RefundStatus.FAILED, (gateway_refund, ours)
            if ours.gateway_refund_id == gateway_refund["id"] and ours.status == RefundStatus.REFUNDED:
                assert gateway_refund["status"] == "processed", (gateway_refund, ours)
        known_at_gateway = {gateway_refund["id"] for gateway_refund in gateway_refunds}
        for refund in self.refunds:
            if refund.status in (RefundStatus.PROCESSING, RefundStatus.REFUNDED):
                assert refund.gateway_refund_id in known_at_gateway, refund

    def check_stock(self, initial: dict[int, int]) -> None:
        live: dict[int, int] = dict.fromkeys(initial, 0)
        for item in self.items:
            if item.status != S.CANCELLED:
                live[item.product_id] += item.quantity
        stock = dict(Product.objects.filter(pk__in=initial).values_list("pk", "stock"))
        for product_id, started in initial.items():
            assert stock[product_id] + live[product_id] == started, (product_id, stock[product_id], live[product_id])

    def check_items(self) -> None:
        history: dict[int, list[OrderEvent]] = {}
        for event in self.events:
            history.setdefault(event.item_id, []).append(event)
        statuses: dict[int, list[str]] = {}
        paid_orders = {self.payments[c.payment_id].order_id for c in self.captures if c.outcome == Outcome.PAID}
        item_refunds = {r.order_item_id: r for r in self.refunds if r.order_item_id is not None}
        for item in self.items:
            placed, *moves = history[item.pk]  # checkout's own line, then every move
            assert (placed.from_status, placed.to_status) == ("", S.PENDING_PAYMENT), placed
            status = S.PENDING_PAYMENT
            for event in moves:
                assert event.from_status == status, (item, event)
                assert transition_allowed(from_status=status, to_status=event.to_status, role=event.actor_role), event
                status = event.to_status
            assert item.status == status, (item, status)
            statuses.setdefault(item.order_id, []).append(item.status)
            went_on = [event.to_status for event in moves][:1] == [S.PLACED]
            assert went_on == (item.order_id in paid_orders), (item, moves)
            if went_on and item.status == S.CANCELLED:
                refund = item_refunds.get(item.pk)
                assert refund is not None and refund.amount == item.line_total, (item, refund)
            else:
                assert item.pk not in item_refunds, item
        for item in self.items:
            assert item.order.status == order_status_derive(statuses[item.order_id]), item.order
        assert not WebhookEvent.objects.filter(outcome=WebhookOutcome.FAILED).exists()

    def check_settled(self, sandbox) -> None:
        """After everything settled: every capture recorded, placed or refunded (or resolved), and the books agree."""
        recorded = {capture.gateway_payment_id for capture in self.captures}
        ours = {p.gateway_order_id for p in self.payments.values() if p.gateway_order_id}
        for gateway_payment in sandbox.payments.values():
            if gateway_payment["captured"] and gateway_payment["order_id"] in ours:
                assert gateway_payment["id"] in recorded, f"capture {gateway_payment['id']} was never recorded"
        for capture in self.captures:
            assert capture.outcome != Outcome.FLAGGED, capture
            refunds = self.refunds_of(capture)
            assert all(r.status == RefundStatus.REFUNDED for r in refunds), refunds
            processed = sum(
                r["amount"]
                for r in sandbox.refunds.values()
                if r["payment_id"] == capture.gateway_payment_id and r["status"] == "processed"
            )
            assert processed == to_paise(capture.refunded_amount), (capture, processed)
            if capture.outcome == Outcome.REFUNDED:
                assert capture.refunded_amount == capture.amount, capture


@pytest.fixture
def clock():
    clock = Clock()
    with mock.patch("django.utils.timezone.now", clock):
        yield clock


@pytest.mark.django_db
@pytest.mark.timeout(0 if PROFILE == "long" else 900)
def test_the_capture_ledger_keeps_its_promises(sandbox_gateway, clock, settings_override):
    did.clear()
    started = time.monotonic()
    profile = settings.get_profile(PROFILE)
    run_state_machine_as_test(lambda: LedgerMachine(sandbox_gateway, clock), settings=profile)
    print(  # noqa: T201 - the run's record (shown with -s): how long, and that the model reached the places it should
        f"\nledger model, {PROFILE} profile: {profile.max_examples} examples x {profile.stateful_step_count} steps "
        f"in {time.monotonic() - started:.0f} s; did: {dict(sorted(did.items()))}"
    )


@pytest.fixture
def settings_override(settings):
    settings.TASKS = {"default": {"BACKEND": f"{__name__}.ModelTasks"}}
    settings.RAZORPAY_TIMEOUT_SECONDS = GATEWAY_TIMEOUT
    # The end-state check expects reconciliation to still watch every payment of the example's days.
    settings.RECONCILE_LOOKBACK_HOURS = 24 * 30
    return settings
