"""The webhook endpoint: signature first, one stored event per id, processed once, failures kept for a replay;
and real deliveries from the sandbox to the live server."""

import hashlib
import hmac
import json
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from orders.models import OrderItemStatus
from payments import webhooks
from payments.models import Refund, RefundStatus, WebhookDrain, WebhookEvent, WebhookOutcome
from payments.services import webhooks as webhook_services
from payments.services.expiry import orders_expire_unpaid
from payments.services.outcome import Applied
from tests.conftest import SANDBOX_KEY_SECRET, SANDBOX_WEBHOOK_SECRET
from tests.factories import ProductFactory
from tests.orders.helpers import run_concurrently
from tests.payments.online_helpers import (
    WEBHOOK,
    age,
    buy_now_online,
    deliver,
    deliver_all,
    events,
    payment_of,
    place_online,
    placements,
    statuses,
)

S = OrderItemStatus


def sign(body: bytes, secret: str = SANDBOX_WEBHOOK_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(client, body: bytes, *, signature: str | None = "sign", event_id: str | None = "evt_test_1"):
    headers = {}
    if signature is not None:
        headers["HTTP_X_RAZORPAY_SIGNATURE"] = sign(body) if signature == "sign" else signature
    if event_id is not None:
        headers["HTTP_X_RAZORPAY_EVENT_ID"] = event_id
    return client.post(WEBHOOK, data=body, content_type="application/json", **headers)


def envelope(event: str = "payment.captured", **payload) -> bytes:
    return json.dumps({"entity": "event", "event": event, "payload": payload, "created_at": 1}).encode()


@pytest.fixture
def paid(buyer, product, sandbox_gateway, db):
    """An online order paid at the sandbox; its webhooks recorded, not delivered yet."""
    order = buy_now_online(buyer, product)
    sandbox_gateway.pay(payment_of(order).gateway_order_id)
    return order


@pytest.mark.django_db
class TestRefused:
    """400, logged, nothing stored, nothing changed."""

    def assert_refused(self, response, code: str, paid=None) -> None:
        assert response.status_code == 400, response.content
        assert response.json()["code"] == code
        assert not WebhookEvent.objects.exists()
        if paid is not None:
            assert statuses(paid) == [S.PENDING_PAYMENT]

    def test_any_method_but_post_gets_the_api_error_format(self, client):
        response = client.get(WEBHOOK)
        assert response.status_code == 405 and response["Allow"] == "POST"
        assert response.json() == {"detail": 'Method "GET" not allowed.', "code": "method_not_allowed"}
        assert not WebhookEvent.objects.exists()

    def test_a_forged_signature(self, client, paid, sandbox_gateway, caplog):
        captured = events(sandbox_gateway, "payment.captured")[0]
        self.assert_refused(deliver(client, captured, HTTP_X_RAZORPAY_SIGNATURE="f" * 64), "invalid_signature", paid)
        assert "Refused a webhook with a bad signature" in caplog.text

    def test_a_missing_signature_header(self, client, paid, sandbox_gateway, caplog):
        captured = events(sandbox_gateway, "payment.captured")[0]
        self.assert_refused(deliver(client, captured, HTTP_X_RAZORPAY_SIGNATURE=None), "invalid_signature", paid)
        assert "missing signature" in caplog.text

    def test_signed_with_the_key_secret_instead_of_the_webhook_secret(self, client, paid, sandbox_gateway):
        captured = events(sandbox_gateway, "payment.captured")[0]
        forged = sign(captured.body, SANDBOX_KEY_SECRET)
        self.assert_refused(deliver(client, captured, HTTP_X_RAZORPAY_SIGNATURE=forged), "invalid_signature", paid)

    def test_a_re_serialised_body(self, client, paid, sandbox_gateway):
        """The same JSON, re-encoded (spaces after separators): the signature was made over other bytes."""
        captured = events(sandbox_gateway, "payment.captured")[0]
        body = json.dumps(json.loads(captured.body)).encode()
        assert body != captured.body
        self.assert_refused(deliver(client, captured, body=body), "invalid_signature", paid)

    def test_malformed_json_even_signed(self, client, sandbox_gateway):
        self.assert_refused(post(client, b'{"event": "payment.captured",'), "invalid_webhook")

    @pytest.mark.parametrize("body", [b"[1, 2]", b'{"event": ""}', b'{"payload": {}}', b'"event"'])
    def test_json_that_is_no_event(self, client, sandbox_gateway, body):
        self.assert_refused(post(client, body), "invalid_webhook")

    def test_a_missing_event_id(self, client, sandbox_gateway):
        self.assert_refused(post(client, envelope(), event_id=None), "missing_event_id")

    def test_no_body_at_all(self, client, sandbox_gateway):
        self.assert_refused(post(client, b"", signature="0" * 64), "invalid_signature")

    def test_a_body_that_is_not_utf8_cannot_be_verified(self, client, sandbox_gateway):
        self.assert_refused(post(client, b"\xff\xfe{}"), "invalid_signature")

    def test_a_signed_payload_string_with_nul_is_refused_not_a_500(self, client, sandbox_gateway, caplog):
        """PostgreSQL's jsonb cannot hold \\u0000: storing the event used to fail with a 500."""
        self.assert_refused(post(client, envelope(notes={"comment": "a\x00b"})), "invalid_text")
        assert "holds a NUL character" in caplog.text

    def test_an_event_id_header_with_nul_is_refused_not_a_500(self, client, sandbox_gateway):
        self.assert_refused(post(client, envelope(), event_id="evt_1\x00"), "invalid_text")


@pytest.mark.django_db
class TestStoredAndProcessed:
    def test_an_unknown_event_is_stored_ignored_and_acknowledged(self, client, sandbox_gateway):
        response = post(client, envelope("payment.dispute.created"), event_id="evt_dispute")
        assert response.status_code == 200
        assert response.json() == {"event_id": "evt_dispute", "outcome": "IGNORED"}
        event = WebhookEvent.objects.get()
        assert (event.event_type, event.outcome, event.attempts) == ("payment.dispute.created", "IGNORED", 1)
        assert event.payload["event"] == "payment.dispute.created" and event.processed_at is not None

    def test_no_csrf_token_and_no_login_needed_even_with_cookies(self, logged_in_client, paid, sandbox_gateway):
        deliver_all(logged_in_client, sandbox_gateway)
        assert statuses(paid) == [S.PLACED]

    def test_a_failing_handler_keeps_the_event_failed_with_a_200_and_replay_fixes_it(
        self, client, paid, sandbox_gateway, monkeypatch, capsys
    ):
        def broken(envelope):
            raise RuntimeError("database hiccup")

        monkeypatch.setitem(webhooks.HANDLERS, "payment.captured", broken)
        captured = events(sandbox_gateway, "payment.captured")[0]
        response = deliver(client, captured)
        assert (response.status_code, response.json()["outcome"]) == (200, "FAILED")
        event = WebhookEvent.objects.get(event_id=captured.id)
        assert (event.outcome, event.detail, event.attempts) == ("FAILED", "RuntimeError: database hiccup", 1)
        assert statuses(paid) == [S.PENDING_PAYMENT]

        # A repeated delivery of a FAILED event is processed again (and fails again, still 200).
        assert deliver(client, captured).json()["outcome"] == "FAILED"
        assert WebhookEvent.objects.get(event_id=captured.id).attempts == 2

        monkeypatch.undo()
        call_command("replay_webhooks", "--failed")
        assert "Replayed 1 event(s): pending 0, processed 1, ignored 0, failed 0." in capsys.readouterr().out
        event.refresh_from_db()
        assert (event.outcome, event.attempts) == ("PROCESSED", 3)
        assert statuses(paid) == [S.PLACED] and placements(paid) == 1

    def test_replay_by_event_id_is_harmless_for_a_processed_event(self, client, paid, sandbox_gateway, capsys):
        deliver_all(client, sandbox_gateway)
        captured = events(sandbox_gateway, "payment.captured")[0]
        call_command("replay_webhooks", "--event-id", captured.id)
        assert "Replayed 1 event(s)" in capsys.readouterr().out
        assert WebhookEvent.objects.get(event_id=captured.id).outcome == WebhookOutcome.IGNORED  # nothing to change
        assert placements(paid) == 1

    def test_replay_without_options_takes_pending_and_failed_events(self, paid, sandbox_gateway, capsys):
        captured = events(sandbox_gateway, "payment.captured")[0]
        WebhookEvent.objects.create(
            event_id=captured.id, event_type="payment.captured", payload=json.loads(captured.body)
        )  # stored, then the process died before processing it
        call_command("replay_webhooks")
        assert "processed 1" in capsys.readouterr().out
        assert statuses(paid) == [S.PLACED]

    def test_replay_of_an_unknown_event_id_is_an_error(self, db):
        with pytest.raises(CommandError, match="No webhook event evt_nope"):
            call_command("replay_webhooks", "--event-id", "evt_nope")

    def test_refund_events_go_to_the_refund_service(self, client, sandbox_gateway, monkeypatch):
        calls = []

        def apply(*, refund_entity, succeeded):
            calls.append((refund_entity["id"], succeeded))
            return Applied(True, "refund applied")

        monkeypatch.setattr(webhooks.refunds, "refund_webhook_apply", apply)
        refund = {"id": "rfnd_1", "payment_id": "pay_1", "amount": 100, "status": "processed"}
        post(client, envelope("refund.processed", refund={"entity": refund}), event_id="evt_r1")
        post(client, envelope("refund.failed", refund={"entity": {**refund, "status": "failed"}}), event_id="evt_r2")
        assert calls == [("rfnd_1", True), ("rfnd_1", False)]
        assert set(WebhookEvent.objects.values_list("outcome", "detail")) == {("PROCESSED", "refund applied")}

    def test_a_repeat_of_a_processed_event_is_answered_and_applies_nothing(
        self, client, paid, sandbox_gateway, monkeypatch
    ):
        """The unique event id keeps the second copy out: 200 with the stored outcome, the handler not called."""
        deliver_all(client, sandbox_gateway)
        captured = events(sandbox_gateway, "payment.captured")[0]
        calls = []
        real_handler = webhooks.HANDLERS["payment.captured"]
        monkeypatch.setitem(
            webhooks.HANDLERS, "payment.captured", lambda envelope: calls.append(envelope) or real_handler(envelope)
        )
        response = deliver(client, captured)
        assert response.status_code == 200
        assert response.json() == {"event_id": captured.id, "outcome": "PROCESSED"}
        assert calls == [] and WebhookEvent.objects.filter(event_id=captured.id).count() == 1
        assert WebhookEvent.objects.get(event_id=captured.id).attempts == 1


@pytest.mark.django_db(transaction=True)
class TestRealDeliveries:
    """The sandbox posts signed webhooks over HTTP to the app on pytest-django's live server."""

    def test_twice_delivered_webhooks_place_the_order_once(
        self, buyer, product, sandbox_webhooks_to_live_server, django_capture_on_commit_callbacks
    ):
        sandbox = sandbox_webhooks_to_live_server
        order = buy_now_online(buyer, product)
        sandbox.webhook_mode("twice")
        sandbox.pay(payment_of(order).gateway_order_id)
        assert sandbox.wait_for_webhooks(10)
        assert [delivery.status for delivery in sandbox.deliveries] == [200] * 4
        assert statuses(order) == [S.PLACED] and placements(order) == 1
        assert WebhookEvent.objects.count() == 2

    def test_out_of_order_failure_then_capture(self, buyer, product, sandbox_webhooks_to_live_server):
        sandbox = sandbox_webhooks_to_live_server
        order = buy_now_online(buyer, product)
        sandbox.webhook_mode("reversed", batch=3)
        gateway_order_id = payment_of(order).gateway_order_id
        sandbox.fail(gateway_order_id)
        sandbox.pay(gateway_order_id)  # captured and order.paid complete the batch, delivered newest first
        assert sandbox.wait_for_webhooks(10)
        assert [d.event for d in sandbox.deliveries] == ["order.paid", "payment.captured", "payment.failed"]
        assert statuses(order) == [S.PLACED]
        payment = payment_of(order)
        assert payment.status == "CAPTURED" and payment.failed_at is None

    def test_a_failed_delivery_is_retried_and_stored_once(self, buyer, product, sandbox_webhooks_to_live_server):
        sandbox = sandbox_webhooks_to_live_server
        order = buy_now_online(buyer, product)
        real_url = sandbox.webhook_url
        sandbox.webhook_url = real_url.replace(WEBHOOK, "/api/v1/nowhere/")
        sandbox.pay(payment_of(order).gateway_order_id)
        sandbox.webhook_url = real_url  # the retries reach us
        assert sandbox.wait_for_webhooks(10)
        assert statuses(order) == [S.PLACED] and WebhookEvent.objects.count() == 2

    def test_a_late_capture_is_refunded_in_full_through_the_refund_pipeline(
        self, buyer, product, sandbox_webhooks_to_live_server
    ):
        sandbox = sandbox_webhooks_to_live_server
        order = buy_now_online(buyer, product, 2)
        age(order, 20)
        assert orders_expire_unpaid()["expired"] == 1
        sandbox.pay(payment_of(order).gateway_order_id)
        assert sandbox.wait_for_webhooks(10)
        deadline = time.monotonic() + 10
        while Refund.objects.filter(status=RefundStatus.REFUNDED).count() != 1 and time.monotonic() < deadline:
            sandbox.wait_for_webhooks(1)
            time.sleep(0.05)
        refund = Refund.objects.get()
        assert (refund.status, refund.amount, refund.order_item_id) == (RefundStatus.REFUNDED, Decimal("998.00"), None)
        payment = payment_of(order)
        assert (payment.status, payment.captured_amount, payment.refunded_amount) == (
            "CAPTURED",
            Decimal("998.00"),
            Decimal("998.00"),
        )
        [gateway_refund] = sandbox.refunds.values()
        assert (gateway_refund["amount"], gateway_refund["payment_id"]) == (99_800, payment.gateway_payment_id)
        assert statuses(order) == [S.CANCELLED]


def queued_drains() -> list[str]:
    """The statuses of the drain tasks in the database queue, oldest first."""
    from django_tasks_db.models import DBTaskResult

    drains = DBTaskResult.objects.filter(task_path=webhook_services.DRAIN_TASK_PATH).order_by("enqueued_at")
    return list(drains.values_list("status", flat=True))


def run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)


def stored(event) -> WebhookEvent:
    """A verified delivery stored as the endpoint stores it, with no drain queued (its wake-up lost)."""
    return WebhookEvent.objects.create(event_id=event.id, event_type=event.name, payload=json.loads(event.body))


# The worker closes its database connection when it is done, as a real process would.
@pytest.mark.django_db(transaction=True)
class TestOnTheDatabaseQueue:
    """Production: the delivery is stored and answered; `manage.py db_worker` drains the stored events afterwards."""

    @pytest.fixture(autouse=True)
    def _database_queue(self, settings):
        settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

    def test_the_answer_comes_before_processing_and_the_worker_places_the_order(self, client, paid, sandbox_gateway):
        from django_tasks_db.models import DBTaskResult

        captured = events(sandbox_gateway, "payment.captured")[0]
        response = deliver(client, captured)
        assert response.json() == {"event_id": captured.id, "outcome": "PENDING"}
        assert statuses(paid) == [S.PENDING_PAYMENT]  # answered, not processed yet
        assert queued_drains() == ["READY"]

        run_worker()
        event = WebhookEvent.objects.get(event_id=captured.id)
        assert (event.outcome, event.attempts) == ("PROCESSED", 1)
        assert statuses(paid) == [S.PLACED] and placements(paid) == 1
        # The buyer and seller hear of the order once; placing its item mails nobody, so queues no task.
        assert sorted(
            DBTaskResult.objects.filter(task_path__startswith="orders.").values_list("task_path", flat=True)
        ) == ["orders.tasks.order_placed_email_send"]

    def test_a_burst_of_deliveries_queues_one_drain_and_once_done_repeats_queue_nothing(
        self, client, paid, sandbox_gateway
    ):
        captured, order_paid = events(sandbox_gateway)[:2]
        for event in (captured, order_paid, captured, captured):
            assert deliver(client, event).json()["outcome"] == "PENDING"
        assert queued_drains() == ["READY"]

        run_worker()
        assert sorted(WebhookEvent.objects.values_list("outcome", flat=True)) == ["IGNORED", "PROCESSED"]
        assert deliver(client, captured).json()["outcome"] == "PROCESSED"
        assert queued_drains() == ["SUCCESSFUL"]
        assert placements(paid) == 1 and WebhookEvent.objects.get(event_id=captured.id).attempts == 1

    def test_a_delivery_after_the_drain_started_queues_the_next_one(self, client, paid, sandbox_gateway):
        """The drain deletes its marker as it starts: an event stored after that gets a drain of its own."""
        captured, order_paid = events(sandbox_gateway)[:2]
        deliver(client, captured)
        webhook_services.webhook_events_drain()  # as the worker's task does
        assert deliver(client, order_paid).json()["outcome"] == "PENDING"
        assert queued_drains() == ["READY", "READY"]
        run_worker()
        assert sorted(WebhookEvent.objects.values_list("outcome", flat=True)) == ["IGNORED", "PROCESSED"]

    def test_a_drain_whose_task_was_lost_is_queued_again_after_a_minute(self, client, paid, sandbox_gateway):
        from django_tasks_db.models import DBTaskResult

        captured, order_paid = events(sandbox_gateway)[:2]
        deliver(client, captured)
        DBTaskResult.objects.all().delete()  # an operator cleared the queue; the marker stays
        deliver(client, order_paid)
        assert queued_drains() == []  # within the minute the marker still counts

        WebhookDrain.objects.update(queued_at=timezone.now() - timedelta(minutes=2))
        deliver(client, order_paid)  # Razorpay's retry of the event, or any later delivery
        assert queued_drains() == ["READY"]
        run_worker()
        assert statuses(paid) == [S.PLACED] and placements(paid) == 1
        assert not WebhookEvent.objects.filter(outcome=WebhookOutcome.PENDING).exists()

    def test_events_whose_wake_up_was_lost_are_taken_by_the_next_drain(self, client, paid, sandbox_gateway):
        """A process killed between storing an event and queueing the drain: the next delivery's drain takes it."""
        captured, order_paid = events(sandbox_gateway)[:2]
        stranded = stored(captured)
        deliver(client, order_paid)
        run_worker()
        stranded.refresh_from_db()
        assert (stranded.outcome, stranded.attempts) == ("PROCESSED", 1)
        assert statuses(paid) == [S.PLACED] and placements(paid) == 1

    def test_a_long_backlog_is_drained_in_turns(self, buyer, store, sandbox_gateway, monkeypatch):
        """At its limit a drain queues the next one and returns, so the queue's other tasks get their turn.

        It queues it without taking the marker, which deliveries would wait for while a worker at
        background priority held it."""
        orders = [place_online(buyer, {ProductFactory(store=store): 1}) for _ in range(5)]
        for order in orders:
            sandbox_gateway.pay(payment_of(order).gateway_order_id)
        for event in events(sandbox_gateway, "payment.captured"):
            stored(event)
        WebhookDrain.objects.all().delete()
        assert webhook_services.webhook_events_drain(limit=2) == 2
        assert queued_drains() == ["READY"]
        assert not WebhookDrain.objects.exists()
        monkeypatch.setattr(webhook_services, "DRAIN_BATCH", 2)
        run_worker()
        assert queued_drains() == ["SUCCESSFUL", "SUCCESSFUL"]
        assert all(statuses(order) == [S.PLACED] for order in orders)

    def test_a_failed_event_is_kept_failed_and_replay_fixes_it(
        self, client, paid, sandbox_gateway, monkeypatch, capsys
    ):
        def broken(envelope):
            raise RuntimeError("database hiccup")

        monkeypatch.setitem(webhooks.HANDLERS, "payment.captured", broken)
        captured, order_paid = events(sandbox_gateway)[:2]
        deliver(client, captured)
        deliver(client, order_paid)
        run_worker()
        event = WebhookEvent.objects.get(event_id=captured.id)
        assert (event.outcome, event.detail) == ("FAILED", "RuntimeError: database hiccup")
        # One broken event does not stop the drain: the next one was processed (order.paid places the order).
        assert statuses(paid) == [S.PLACED]

        monkeypatch.undo()
        call_command("replay_webhooks")
        assert "ignored 1" in capsys.readouterr().out
        event.refresh_from_db()
        assert (event.outcome, event.attempts) == ("IGNORED", 2)
        assert placements(paid) == 1

    def test_a_repeat_of_a_failed_event_is_tried_again(self, client, paid, sandbox_gateway, monkeypatch):
        """Not left for the replay: Razorpay sending it again puts it back in the drain's way."""
        monkeypatch.setitem(webhooks.HANDLERS, "payment.captured", lambda envelope: 1 / 0)
        captured = events(sandbox_gateway, "payment.captured")[0]
        deliver(client, captured)
        run_worker()
        assert WebhookEvent.objects.get(event_id=captured.id).outcome == WebhookOutcome.FAILED
        monkeypatch.undo()
        assert deliver(client, captured).json()["outcome"] == "PENDING"
        assert queued_drains() == ["SUCCESSFUL", "READY"]
        run_worker()
        assert statuses(paid) == [S.PLACED]
        assert WebhookEvent.objects.get(event_id=captured.id).attempts == 2


@pytest.mark.django_db
def test_replay_from_cron_leaves_fresh_pending_events_to_the_worker(paid, sandbox_gateway, capsys):
    """`replay_webhooks --pending-minutes 5` takes an event PENDING for 5 minutes (its task was lost), not a newer one."""
    fresh, stale = events(sandbox_gateway)[:2]
    for event in (fresh, stale):
        WebhookEvent.objects.create(event_id=event.id, event_type=event.name, payload=json.loads(event.body))
    WebhookEvent.objects.filter(event_id=stale.id).update(received_at=timezone.now() - timedelta(minutes=6))
    call_command("replay_webhooks", "--pending-minutes", "5")
    assert "Replayed 1 event(s)" in capsys.readouterr().out
    assert WebhookEvent.objects.get(event_id=fresh.id).outcome == WebhookOutcome.PENDING
    assert WebhookEvent.objects.get(event_id=stale.id).outcome != WebhookOutcome.PENDING
    assert statuses(paid) == [S.PLACED]


@pytest.mark.django_db
def test_processing_a_capture_costs_the_same_queries_for_one_item_or_many(
    buyer, store, sandbox_gateway, django_assert_max_num_queries
):
    """Every item of the order is placed in one move: the query count does not grow with the items."""
    counts = []
    for size in (1, 4):
        order = place_online(buyer, {ProductFactory(store=store): 1 for _ in range(size)})
        sandbox_gateway.pay(payment_of(order).gateway_order_id)
        captured = events(sandbox_gateway, "payment.captured")[-1]
        stored = WebhookEvent.objects.create(
            event_id=captured.id, event_type=captured.name, payload=json.loads(captured.body)
        )
        with django_assert_max_num_queries(16) as context:  # with the capture recorded in the ledger
            assert webhook_services.webhook_event_process(event_pk=stored.pk).outcome == WebhookOutcome.PROCESSED
        assert statuses(order) == [S.PLACED] * size and placements(order) == size
        counts.append(len(context.captured_queries))
    assert counts[0] == counts[1], counts


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestRaces:
    """Real threads behind a barrier on PostgreSQL, with the database queue."""

    @pytest.fixture(autouse=True)
    def _database_queue(self, settings):
        settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

    def test_twelve_deliveries_of_one_new_event_at_once_store_it_once_with_one_drain(self, paid, sandbox_gateway):
        captured = events(sandbox_gateway, "payment.captured")[0]
        signature = captured.headers["X-Razorpay-Signature"]

        results = run_concurrently(
            lambda i: webhook_services.webhook_receive(body=captured.body, signature=signature, event_id=captured.id),
            12,
        )

        assert all(isinstance(result, webhook_services.Received) for result in results), results
        assert WebhookEvent.objects.filter(event_id=captured.id).count() == 1
        assert queued_drains() == ["READY"]
        run_worker()
        assert statuses(paid) == [S.PLACED] and placements(paid) == 1

    def test_four_workers_draining_at_once_apply_each_event_once(self, buyer, store, sandbox_gateway):
        orders = [place_online(buyer, {ProductFactory(store=store): 1}) for _ in range(6)]
        for order in orders:
            sandbox_gateway.pay(payment_of(order).gateway_order_id)
        for event in events(sandbox_gateway):  # payment.captured and order.paid of each order
            stored(event)

        taken = run_concurrently(lambda i: webhook_services.webhook_events_drain(), 4)

        assert sum(taken) == 12, taken
        assert all(statuses(order) == [S.PLACED] and placements(order) == 1 for order in orders)
        outcomes = Counter(WebhookEvent.objects.values_list("outcome", "attempts"))
        assert outcomes == {("PROCESSED", 1): 6, ("IGNORED", 1): 6}, outcomes

    def test_the_worker_and_a_replay_processing_one_event_at_once_apply_it_once(self, paid, sandbox_gateway):
        captured, order_paid = events(sandbox_gateway)[:2]
        stored = [
            WebhookEvent.objects.create(event_id=event.id, event_type=event.name, payload=json.loads(event.body))
            for event in (captured, order_paid)
        ]

        results = run_concurrently(lambda i: webhook_services.webhook_event_process(event_pk=stored[i % 2].pk), 6)

        assert all(isinstance(result, WebhookEvent) and result.outcome != "FAILED" for result in results), results
        assert statuses(paid) == [S.PLACED] and placements(paid) == 1
        assert sorted(WebhookEvent.objects.values_list("outcome", "attempts")) == [("IGNORED", 1), ("PROCESSED", 1)]


@pytest.mark.django_db
def test_the_openapi_schema_documents_the_plain_django_webhook_view(client):
    operation = client.get("/api/v1/schema/?format=json").json()["paths"][WEBHOOK]["post"]
    assert operation["security"] == [] and set(operation["responses"]) == {"200", "400", "405"}
    assert {parameter["name"] for parameter in operation["parameters"]} == {
        "X-Razorpay-Signature",
        "X-Razorpay-Event-Id",
    }
