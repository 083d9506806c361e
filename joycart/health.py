"""Readiness: what `/readyz` reports about the shop's dependencies.

The database is the only one the shop cannot serve without. A dead Redis only slows pages (every
cache reader falls back to the database), and a backed-up task queue only delays mail, refunds and
webhook processing: both report `degraded`, which monitoring should see, but a load balancer must
not take a working process out of rotation for them.

Read replicas (when DATABASE_REPLICA_URLS names some) are reported one by one. One that does not
answer fails the catalog reads sent to it, and one that lags by more than the sticky seconds lets a
client miss its own write: both are `degraded`, for an operator to take the replica out. Every
instance reads through the same replicas, so failing readiness for them would empty the rotation.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, connections
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


# How far the replica's replay is behind the primary's last commit, in seconds: 0 when it has replayed
# all it received (an idle primary commits nothing, and the last replay time would otherwise keep ageing);
# NULL on a server that is not a standby.
_POSTGRES_REPLICA_LAG = """
    SELECT CASE
        WHEN NOT pg_is_in_recovery() THEN NULL
        WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
        ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
    END
"""


def replica_lag_seconds(alias: str) -> float | None:
    """The replica's replication lag; None where the database cannot tell (not a standby, or SQLite).
    Raises DatabaseError when the replica does not answer."""
    replica = connections[alias]
    with replica.cursor() as cursor:
        if replica.vendor != "postgresql":
            cursor.execute("SELECT 1")
            return None
        cursor.execute(_POSTGRES_REPLICA_LAG)
        lag = cursor.fetchone()[0]
    return None if lag is None else round(float(lag), 1)


def _replica_report(alias: str) -> dict:
    max_lag = settings.DATABASE_REPLICA_STICKY_SECONDS
    try:
        lag = replica_lag_seconds(alias)
    except DatabaseError:
        logger.exception("Readiness: the read replica %s does not answer", alias)
        return {"status": DOWN, "max_lag_seconds": max_lag}
    late = lag is not None and lag > max_lag
    if late:
        logger.warning("Readiness: the read replica %s lags %.1f s, above %d s", alias, lag, max_lag)
    return {"status": DEGRADED if late else OK, "lag_seconds": lag, "max_lag_seconds": max_lag}


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
    """`status` is `down` only when the database does not answer; `degraded` when Redis, the queue or a
    read replica is down or lags."""
    database_ok = database_answers()
    cache_ok = cache_answers()
    queue = _queue_report(database_ok)
    replicas = {alias: _replica_report(alias) for alias in settings.DATABASE_REPLICAS}
    if not database_ok:
        status = DOWN
    elif not cache_ok or queue["status"] != OK or any(each["status"] != OK for each in replicas.values()):
        status = DEGRADED
    else:
        status = OK
    report = {
        "status": status,
        "database": OK if database_ok else DOWN,
        "cache": OK if cache_ok else DOWN,
        "queue": queue,
    }
    if replicas:
        report["replicas"] = replicas
    return report
