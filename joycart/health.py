"""Readiness: what `/readyz` reports about the shop's dependencies.

The database is the only one the shop cannot serve without. A dead Redis only slows pages (every
cache reader falls back to the database), and a backed-up task queue only delays mail, refunds and
webhook processing: both report `degraded`, which monitoring should see, but a load balancer must
not take a working process out of rotation for them.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.models import Case, Count, F, Min, When
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.models import DBTaskResult, get_date_max

logger = logging.getLogger(__name__)

OK = "ok"
DEGRADED = "degraded"
DOWN = "down"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class QueueBacklog:
    ready: int  # tasks due now and not yet taken by a worker
    oldest_age_seconds: float | None  # how long the longest-waiting of them has waited


def database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.exception("Readiness: the database does not answer")
        return False
    return True


def cache_answers() -> bool:
    """A write and a read back, under a key of this probe's own: a Redis that refuses writes (full) must
    not pass on an earlier probe's value. django-redis is told to swallow a dead Redis's errors (pages
    must not fail with it), so a missing value, not an exception, is what usually says it is down."""
    key = f"readyz-probe:{get_random_string(12)}"
    try:
        cache.set(key, OK, timeout=5)
        answered = cache.get(key) == OK
    except Exception:
        logger.exception("Readiness: the cache does not answer")
        return False
    if not answered:
        logger.warning("Readiness: the cache does not answer")
    return answered


def task_queue_backlog(*, now: datetime | None = None) -> QueueBacklog:
    """The database queue's due tasks, in one query. A deferred task has waited since its `run_after`,
    not since it was queued; django-tasks-db stores "no run_after" as a far-future date."""
    now = now or timezone.now()
    waiting_since = Case(
        When(run_after=get_date_max(), then=F("enqueued_at")),
        default=Greatest("enqueued_at", "run_after"),
    )
    backlog = DBTaskResult.objects.ready().aggregate(ready=Count("pk"), waiting_since=Min(waiting_since))
    since = backlog["waiting_since"]
    age = None if since is None else round(max((now - since).total_seconds(), 0.0), 1)
    return QueueBacklog(ready=backlog["ready"], oldest_age_seconds=age)


def _queue_report(database_ok: bool) -> dict:
    max_age = settings.READYZ_QUEUE_MAX_AGE_SECONDS
    if not database_ok:
        return {"status": UNKNOWN, "max_age_seconds": max_age}
    try:
        backlog = task_queue_backlog()
    except DatabaseError:
        logger.exception("Readiness: the task queue cannot be read")
        return {"status": UNKNOWN, "max_age_seconds": max_age}
    late = backlog.oldest_age_seconds is not None and backlog.oldest_age_seconds > max_age
    return {
        "status": DEGRADED if late else OK,
        "ready": backlog.ready,
        "oldest_age_seconds": backlog.oldest_age_seconds,
        "max_age_seconds": max_age,
    }


def readiness_report() -> dict:
    """`status` is `down` only when the database does not answer; `degraded` when Redis or the queue lag."""
    database_ok = database_answers()
    cache_ok = cache_answers()
    queue = _queue_report(database_ok)
    if not database_ok:
        status = DOWN
    elif not cache_ok or queue["status"] != OK:
        status = DEGRADED
    else:
        status = OK
    return {
        "status": status,
        "database": OK if database_ok else DOWN,
        "cache": OK if cache_ok else DOWN,
        "queue": queue,
    }
