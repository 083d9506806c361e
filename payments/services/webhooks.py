"""Receiving Razorpay webhooks: verify, store once, answer, process once in the background, never lose one.

1. The HMAC of the raw body is checked before anything is parsed; a missing or bad signature
   is refused (400) and nothing is stored.
2. The event is stored once under its `X-Razorpay-Event-Id` (a unique column), in one INSERT,
   committed before the delivery is answered. The stored PENDING event is the work itself: an
   outbox that the drain task (`payments.tasks_online.webhook_events_drain`) empties, oldest
   first, each event under its row lock, skipping the ones another worker holds.
3. After that commit the delivery makes sure a drain will run: it queues one unless the
   `WebhookDrain` row says one is queued and not started (a drain deletes the row when it
   starts). Checked after the commit, such a drain will see the event; a burst of deliveries
   queues a drain or two, not one task per event. A backend that runs tasks at once (the
   embedded default, the tests) drains right there, so the answer carries the outcome and a
   failure never undoes the event.
4. A repeat of an event already PROCESSED or IGNORED changes nothing. A repeat of a FAILED one
   puts it back to PENDING, so it is tried again. Whatever a lost wake-up or a killed worker
   leaves PENDING is taken by the next drain, and by `manage.py replay_webhooks` from cron
   (README, Operations).
5. Processing runs in its own transaction holding the event's row lock, so a worker, a replay
   and a repeat processing one event at once process it once; the handler
   (`payments.webhooks.HANDLERS`) locks what it changes and only moves state forward.
6. If the handler raises, its writes are rolled back and the event is FAILED with the error,
   kept for `manage.py replay_webhooks`.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from joycart.errors import InvalidText, NotFound
from joycart.tasks import enqueues_with_transaction
from joycart.text import has_nul
from payments import locks
from payments.errors import InvalidSignature, InvalidWebhook, MissingEventId
from payments.gateway import get_gateway
from payments.models import WebhookDrain, WebhookEvent, WebhookOutcome
from payments.webhooks import HANDLERS

logger = logging.getLogger(__name__)

DONE = frozenset({WebhookOutcome.PROCESSED, WebhookOutcome.IGNORED})
MAX_EVENT_ID_LENGTH = WebhookEvent._meta.get_field("event_id").max_length
MAX_EVENT_TYPE_LENGTH = WebhookEvent._meta.get_field("event_type").max_length
DRAIN_TASK_PATH = "payments.tasks_online.webhook_events_drain"
# Events one drain task processes before it hands over to a new one, so that the queue's other
# tasks (the mail the captures queue) get their turn during a long burst.
DRAIN_BATCH = 200
# A queued drain that has not started after this long is taken for lost (its task row deleted,
# say) and no longer keeps deliveries from queueing another.
DRAIN_QUEUED_FOR = timedelta(minutes=1)


@dataclass(frozen=True)
class Received:
    """What a delivery is answered with: the event's id and its outcome so far."""

    event_id: str
    outcome: str


def webhook_receive(*, body: bytes, signature: str | None, event_id: str | None) -> Received:
    """One delivery: verified, stored once (committed), and a drain made sure of unless it is done.

    Call it outside a transaction (the view does): the drain must find the event committed.
    The outcome is PENDING while the event waits for the worker, its outcome when tasks run at once.
    """
    if not get_gateway().webhook_signature_valid(body=body, signature=signature):
        logger.warning(
            "Refused a webhook with a %s signature (event id %r)", "bad" if signature else "missing", event_id
        )
        raise InvalidSignature("The webhook signature is missing or not valid.")
    try:
        envelope = json.loads(body)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise InvalidWebhook("The webhook body is not JSON.") from exc
    if b"\\u0000" in body and has_nul(envelope):
        # jsonb cannot hold U+0000. JSON can spell it only as \u0000 (a raw one is not valid JSON), so
        # one byte search spares every other event the walk. Signed, so Razorpay's own: refused (and
        # retried by Razorpay) rather than altered; reconciliation reads the payment from the gateway.
        logger.warning("Refused webhook %r: a string in it holds a NUL character", event_id)
        raise InvalidText()
    event_type = envelope.get("event") if isinstance(envelope, dict) else None
    if not isinstance(event_type, str) or not 0 < len(event_type) <= MAX_EVENT_TYPE_LENGTH:
        raise InvalidWebhook("The webhook body names no event.")
    event_id = (event_id or "").strip()
    if not 0 < len(event_id) <= MAX_EVENT_ID_LENGTH:
        raise MissingEventId()

    if _event_insert(event_id=event_id, event_type=event_type, envelope=envelope):
        outcome = WebhookOutcome.PENDING
    else:
        # The same event, stored by an earlier (or a concurrent, now committed) delivery.
        outcome = WebhookEvent.objects.values_list("outcome", flat=True).get(event_id=event_id)
        if outcome in DONE:
            logger.info("Webhook %s %s repeated; already %s", event_type, event_id, outcome)
            return Received(event_id, outcome)
        if outcome == WebhookOutcome.FAILED:
            # Razorpay sent it again: try it again, as a replay would.
            WebhookEvent.objects.filter(event_id=event_id, outcome=WebhookOutcome.FAILED).update(
                outcome=WebhookOutcome.PENDING
            )
            outcome = WebhookOutcome.PENDING
    if webhook_drain_ensure():  # it ran at once: say how it ended
        outcome = WebhookEvent.objects.values_list("outcome", flat=True).get(event_id=event_id)
    return Received(event_id, outcome)


# Every delivery runs the next two statements, so they are written in SQL: the ORM spends more
# CPU compiling each than the database spends running it, and Django's ORM has no
# INSERT ... ON CONFLICT DO NOTHING that says whether it inserted. PostgreSQL and SQLite (3.35+)
# both run them as written. Identifiers come from the models' metadata; values are parameters,
# prepared by their fields as the ORM would send them.
EVENT_COLUMNS = ("event_id", "event_type", "payload", "received_at", "outcome", "detail", "attempts")


@cache
def _event_insert_statement() -> tuple[str, tuple]:
    """The INSERT, and the fields that prepare its parameters (EVENT_COLUMNS' order)."""
    meta, quote = WebhookEvent._meta, connection.ops.quote_name
    fields = tuple(meta.get_field(name) for name in EVENT_COLUMNS)
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    unique = quote(meta.get_field("event_id").column)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608 - see above
        f"ON CONFLICT ({unique}) DO NOTHING RETURNING 1"
    )
    return sql, fields


@cache
def _drain_queued_sql() -> str:
    meta, quote = WebhookDrain._meta, connection.ops.quote_name
    return f"SELECT 1 FROM {quote(meta.db_table)} WHERE {quote(meta.get_field('queued_at').column)} > %s LIMIT 1"  # noqa: S608


def _event_insert(*, event_id: str, event_type: str, envelope: dict) -> bool:
    """Store a new PENDING event, committed; False if its event id is stored already."""
    sql, fields = _event_insert_statement()
    values = (event_id, event_type, envelope, timezone.now(), WebhookOutcome.PENDING, "", 0)
    params = [field.get_db_prep_save(value, connection) for field, value in zip(fields, values, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


def _drain_queued() -> bool:
    """Whether a drain was queued, has not started, and is not taken for lost."""
    since = WebhookDrain._meta.get_field("queued_at").get_db_prep_value(timezone.now() - DRAIN_QUEUED_FOR, connection)
    with connection.cursor() as cursor:
        cursor.execute(_drain_queued_sql(), [since])
        return cursor.fetchone() is not None


def webhook_drain_ensure() -> bool:
    """Queue a drain of the PENDING events unless one is queued and not started; True if it ran at once.

    Call it after the events it is for were committed. The marker row has one primary key, so of
    the deliveries that find no drain queued at once, one queues it; the others wait for its
    commit and leave it to that drain, which starts after their events were committed.
    """
    from payments.tasks_online import webhook_events_drain as drain_task

    if not enqueues_with_transaction(drain_task):
        drain_task.enqueue()
        return True
    if _drain_queued():
        return False
    WebhookDrain.objects.filter(queued_at__lte=timezone.now() - DRAIN_QUEUED_FOR).delete()  # a lost one
    try:
        with transaction.atomic():  # the marker exactly when the task
            WebhookDrain.objects.create(pk=WebhookDrain.ONLY)
            drain_task.enqueue()
    except IntegrityError:
        pass  # another delivery queued it just now
    return False


def webhook_events_drain(*, limit: int | None = None) -> int:
    """Process the PENDING events, oldest first, until none is left or `limit` (DRAIN_BATCH) were taken;
    returns how many.

    Several workers drain at once without waiting for each other: each takes the oldest event
    nobody holds. At the limit it queues a drain to go on, and returns. That drain is queued
    without the marker: a worker runs at background priority (README, deployment) and must never
    hold a row that deliveries wait for; a delivery meanwhile queues at most one drain more.
    """
    from payments.tasks_online import webhook_events_drain as drain_task

    limit = DRAIN_BATCH if limit is None else limit
    WebhookDrain.objects.all().delete()  # started: deliveries from now on queue the next drain
    taken = 0
    while taken < limit:
        event = _event_process(locks.oldest_pending_webhook_event_lock)
        if event is None:
            return taken
        taken += 1
    drain_task.enqueue()
    return taken


def webhook_event_process(*, event_pk: int, force: bool = False) -> WebhookEvent:
    """Process one stored event through its handler, unless it is done (or `force`, for an operator's replay)."""
    return _event_process(lambda: locks.webhook_event_lock(event_pk=event_pk), force=force)


def _event_process(lock: Callable[[], WebhookEvent | None], *, force: bool = False) -> WebhookEvent | None:
    """Lock an event with `lock` (None: no event to process) and apply it, in one transaction.

    Whatever the handler raises, the event is kept, FAILED with the error, for a replay.
    """
    event = None
    try:
        with transaction.atomic():
            event = lock()
            if event is None or (event.outcome in DONE and not force):
                return event
            handler = HANDLERS.get(event.event_type)
            if handler is None:
                event.outcome, event.detail = WebhookOutcome.IGNORED, "no handler for this event type"
            else:
                applied = handler(event.payload)
                event.outcome = WebhookOutcome.PROCESSED if applied.changed else WebhookOutcome.IGNORED
                event.detail = applied.detail
            event.attempts += 1
            event.processed_at = timezone.now()
            event.save(update_fields=["outcome", "detail", "attempts", "processed_at"])
            return event
    except Exception as exc:
        if event is None:  # the lock itself failed: nothing was taken
            raise
        logger.exception("Webhook event %s failed; replay it with manage.py replay_webhooks", event.event_id)
        WebhookEvent.objects.filter(pk=event.pk).update(
            outcome=WebhookOutcome.FAILED,
            detail=f"{type(exc).__name__}: {exc}",
            attempts=F("attempts") + 1,
            processed_at=None,
        )
        return WebhookEvent.objects.get(pk=event.pk)


def webhooks_replay(
    *, event_id: str | None = None, failed_only: bool = False, pending_for: timedelta = timedelta(0)
) -> dict[str, int]:
    """Process stored events again through the same handlers.

    - `event_id`: that one event, whatever its outcome (handlers are idempotent);
    - `failed_only`: every FAILED event;
    - neither: every event not done yet: FAILED, or PENDING since at least `pending_for` (cron
      passes a few minutes, so it leaves the worker the events it is about to process).
    Returns how many were replayed and how many ended in each outcome.
    """
    if event_id is not None:
        events = WebhookEvent.objects.filter(event_id=event_id)
        if not events.exists():
            raise NotFound(f"No webhook event {event_id}.")
    elif failed_only:
        events = WebhookEvent.objects.filter(outcome=WebhookOutcome.FAILED)
    else:
        events = WebhookEvent.objects.filter(
            Q(outcome=WebhookOutcome.FAILED)
            | Q(outcome=WebhookOutcome.PENDING, received_at__lte=timezone.now() - pending_for)
        )
    counts = {"replayed": 0, **{outcome.lower(): 0 for outcome in WebhookOutcome.values}}
    for pk in list(events.order_by("received_at", "pk").values_list("pk", flat=True)):
        event = webhook_event_process(event_pk=pk, force=event_id is not None)
        counts["replayed"] += 1
        counts[event.outcome.lower()] += 1
    return counts
