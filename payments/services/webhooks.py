"""Receiving Razorpay webhooks: verify, store once, answer, process once in the background, never lose one.

1. The HMAC of the raw body is checked before anything is parsed; a missing or bad signature
   is refused (400) and nothing is stored.
2. The event is stored once under its `X-Razorpay-Event-Id` (a unique column), and its
   processing is queued (`payments.tasks_online.webhook_event_process`); the delivery is then
   answered. With the database queue the task row is written in the event's transaction, so
   an event is never stored without its task, nor a task queued for an event rolled back.
   A backend that runs tasks at once (the embedded default, the tests) runs it after that
   transaction, so the answer carries the outcome and a failure never undoes the event.
3. A repeat of an event already PROCESSED or IGNORED queues nothing. A repeat of one not done
   yet queues it again only when no task of it is waiting, so a burst of repeats never piles
   up tasks; whatever is left PENDING (a worker killed mid-task) or FAILED is
   picked up by `manage.py replay_webhooks`, run from cron (README, Operations).
4. Processing runs in its own transaction holding the event's row lock, so a worker, a replay
   and a repeat processing one event at once process it once; the handler
   (`payments.webhooks.HANDLERS`) locks what it changes and only moves state forward.
5. If the handler raises, its writes are rolled back and the event is FAILED with the error,
   kept for `manage.py replay_webhooks`.
"""

import json
import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.tasks import TaskResultStatus
from django.utils import timezone

from joycart.errors import NotFound
from joycart.tasks import enqueues_with_transaction
from payments.errors import InvalidSignature, InvalidWebhook
from payments.gateway import get_gateway
from payments.models import WebhookEvent, WebhookOutcome
from payments.webhooks import HANDLERS

logger = logging.getLogger(__name__)

DONE = frozenset({WebhookOutcome.PROCESSED, WebhookOutcome.IGNORED})
MAX_EVENT_ID_LENGTH = WebhookEvent._meta.get_field("event_id").max_length
MAX_EVENT_TYPE_LENGTH = WebhookEvent._meta.get_field("event_type").max_length
PROCESS_TASK_PATH = "payments.tasks_online.webhook_event_process"


def webhook_receive(*, body: bytes, signature: str | None, event_id: str | None) -> WebhookEvent:
    """One delivery: verified, stored once, its processing queued unless done or already queued.

    Call it outside a transaction (the view does). Returns the stored event: PENDING while its
    task waits in the queue, its outcome when the task ran at once.
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
    event_type = envelope.get("event") if isinstance(envelope, dict) else None
    if not isinstance(event_type, str) or not 0 < len(event_type) <= MAX_EVENT_TYPE_LENGTH:
        raise InvalidWebhook("The webhook body names no event.")
    event_id = (event_id or "").strip()
    if not 0 < len(event_id) <= MAX_EVENT_ID_LENGTH:
        raise InvalidWebhook("The X-Razorpay-Event-Id header is missing.", code="missing_event_id")

    from payments.tasks_online import webhook_event_process as process_task

    queue_in_transaction = enqueues_with_transaction(process_task)
    try:
        # No savepoint around the insert: a repeat aborts this transaction, and is handled below.
        with transaction.atomic():
            event = WebhookEvent.objects.create(event_id=event_id, event_type=event_type, payload=envelope)
            if queue_in_transaction:
                process_task.enqueue(event_pk=event.pk)
    except IntegrityError:
        # The same event, stored by an earlier (or a concurrent, now committed) delivery.
        event = WebhookEvent.objects.get(event_id=event_id)
        if event.outcome in DONE:
            logger.info("Webhook %s %s repeated; already %s", event_type, event_id, event.outcome)
            return event
        if queue_in_transaction:
            # Two repeats at once may both queue it: harmless, processing holds the event's lock
            # and skips a done event; what matters is that tasks never grow with the repeats.
            if not _processing_queued(event_pk=event.pk):
                process_task.enqueue(event_pk=event.pk)
            return event
    if not queue_in_transaction:
        # Runs at once: the event is committed first, so a crash in processing leaves it stored.
        process_task.enqueue(event_pk=event.pk)
        event.refresh_from_db()
    return event


def _processing_queued(*, event_pk: int) -> bool:
    """Whether a task processing this event waits in the database queue.

    Only waiting (READY) tasks: the queue's partial index covers them, so this stays cheap however
    many finished tasks the table keeps. A repeat that comes while a worker runs the event's task
    queues one more, which finds the event done and does nothing.
    """
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path=PROCESS_TASK_PATH, args_kwargs__kwargs__event_pk=event_pk
    ).exists()


def webhook_event_process(*, event_pk: int, force: bool = False) -> WebhookEvent:
    """Process a stored event through its handler, unless it is done (or `force`, for an operator's replay)."""
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.select_for_update().get(pk=event_pk)
            if event.outcome in DONE and not force:
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
    except Exception as exc:  # whatever the handler raised, the event is kept, FAILED, for a replay
        logger.exception("Webhook event %s failed; replay it with manage.py replay_webhooks", event_pk)
        WebhookEvent.objects.filter(pk=event_pk).update(
            outcome=WebhookOutcome.FAILED,
            detail=f"{type(exc).__name__}: {exc}",
            attempts=F("attempts") + 1,
            processed_at=None,
        )
        return WebhookEvent.objects.get(pk=event_pk)


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
