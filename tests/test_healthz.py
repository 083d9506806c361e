"""/healthz is liveness (the process answers); /readyz is readiness (the database must answer; Redis
and the task queue can only make it `degraded`)."""

import socket
from datetime import timedelta

import pytest
from django.db import OperationalError, connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from joycart import health
from tests.conftest import TEST_REPLICA

pytestmark = pytest.mark.django_db


def dead_port() -> int:
    """A loopback port nothing listens on: bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(params=[True, False], ids=["redis-errors-ignored", "redis-errors-raised"])
def redis_down(request, settings):
    """The cache pointed at a dead Redis, with django-redis swallowing its errors (production's choice) or not."""
    working = settings.CACHES
    settings.CACHES = {
        **working,
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{dead_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1, "IGNORE_EXCEPTIONS": request.param},
        },
    }
    yield
    settings.CACHES = working  # before the autouse fixture clears every cache after the test


@pytest.fixture
def database_down(monkeypatch):
    def refused(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refused)


def queue_task(*, waited: timedelta, status: str = "READY", run_after=None) -> DBTaskResult:
    """A row of the database queue that was queued `waited` ago."""
    from django_tasks_db.models import get_date_max

    task = DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="orders.tasks.order_placed_email_send",
        backend_name="default",
        status=status,
        run_after=run_after or get_date_max(),
    )
    DBTaskResult.objects.filter(pk=task.pk).update(enqueued_at=timezone.now() - waited)
    return task


# --- /healthz ---------------------------------------------------------------------------


def test_healthz_answers_without_asking_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_stays_up_when_redis_is_down_so_the_load_balancer_keeps_the_process(client, redis_down):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_stays_up_when_the_database_is_down(client, database_down):
    assert client.get("/healthz").status_code == 200


# --- /readyz ----------------------------------------------------------------------------


def test_readyz_reports_every_dependency_ok(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "queue": {"status": "ok", "ready": 0, "oldest_age_seconds": None, "max_age_seconds": 300},
    }


def test_readyz_is_503_when_the_database_does_not_answer(client, database_down):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["database"] == "down"
    assert body["queue"]["status"] == "unknown"


def test_readyz_with_redis_down_is_degraded_but_stays_200(client, redis_down):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["cache"] == "down"
    assert body["database"] == "ok"


def test_readyz_counts_due_tasks_and_their_oldest_wait(client):
    queue_task(waited=timedelta(seconds=40))
    queue_task(waited=timedelta(seconds=5))
    # Not waiting for a worker: taken already, finished, or not due yet.
    queue_task(waited=timedelta(hours=2), status="RUNNING")
    queue_task(waited=timedelta(hours=2), status="SUCCESSFUL")
    queue_task(waited=timedelta(hours=2), run_after=timezone.now() + timedelta(minutes=5))
    queue = client.get("/readyz").json()["queue"]
    assert queue["status"] == "ok"
    assert queue["ready"] == 2
    assert 40 <= queue["oldest_age_seconds"] < 60


def test_a_deferred_task_has_waited_only_since_it_fell_due(client):
    queue_task(waited=timedelta(hours=1), run_after=timezone.now() - timedelta(seconds=30))
    queue = client.get("/readyz").json()["queue"]
    assert queue["ready"] == 1
    assert 30 <= queue["oldest_age_seconds"] < 60


def test_readyz_is_degraded_but_200_when_the_oldest_due_task_waited_too_long(client, settings):
    """No worker running (or too few): monitoring must see it; the load balancer must not drop the web."""
    settings.READYZ_QUEUE_MAX_AGE_SECONDS = 60
    queue_task(waited=timedelta(seconds=90))
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["queue"]["status"] == "degraded"
    assert response.json()["queue"]["max_age_seconds"] == 60


def test_readyz_asks_the_database_the_same_number_of_queries_however_long_the_queue(client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/readyz").status_code == 200
        return len(captured)

    empty = queries()
    for _ in range(5):
        queue_task(waited=timedelta(seconds=1))
    assert queries() == empty == 2  # SELECT 1, and one aggregate over the queue


def test_the_backlog_is_read_in_one_query(django_assert_num_queries):
    queue_task(waited=timedelta(seconds=3))
    with django_assert_num_queries(1):
        backlog = health.task_queue_backlog()
    assert backlog.ready == 1


def test_api_root_and_docs_are_served(client):
    assert client.get("/api/v1/").status_code == 200
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/auth/login/" in schema.content
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


# --- /readyz with read replicas ---------------------------------------------------------


@pytest.fixture
def replica(settings):
    """`replica_1` mirroring the test database (tests/conftest.py), configured as DATABASE_REPLICA_URLS does."""
    settings.DATABASE_REPLICAS = [TEST_REPLICA]
    yield connections[TEST_REPLICA]
    connections[TEST_REPLICA].close()  # its own connection, which would keep the test database from being dropped


@pytest.mark.django_db(databases=["default", TEST_REPLICA])
def test_readyz_reports_each_replica_that_answers(client, replica):
    body = client.get("/readyz").json()
    assert body["status"] == "ok"
    # The mirror is the primary itself, not a standby: PostgreSQL reports no lag for it, SQLite cannot tell.
    assert body["replicas"] == {TEST_REPLICA: {"status": "ok", "lag_seconds": None, "max_lag_seconds": 5}}


@pytest.mark.django_db(databases=["default", TEST_REPLICA])
def test_a_replica_that_does_not_answer_makes_readyz_degraded_but_200(client, replica, monkeypatch):
    """Its catalog reads fail, so monitoring must see it; every instance shares it, so none leaves rotation."""

    def refused(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(replica, "cursor", refused)
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"] == "ok"
    assert body["replicas"][TEST_REPLICA] == {"status": "down", "max_lag_seconds": 5}


@pytest.mark.django_db(databases=["default", TEST_REPLICA])
@pytest.mark.parametrize(("lag", "status"), [(5.0, "ok"), (5.1, "degraded")])
def test_a_replica_lagging_beyond_the_sticky_seconds_is_degraded(client, replica, monkeypatch, settings, lag, status):
    """Past the sticky seconds a client that has just written may read the replica without its own write."""
    settings.DATABASE_REPLICA_STICKY_SECONDS = 5
    monkeypatch.setattr(health, "replica_lag_seconds", lambda alias: lag)
    body = client.get("/readyz").json()
    assert body["status"] == status
    assert body["replicas"][TEST_REPLICA] == {"status": status, "lag_seconds": lag, "max_lag_seconds": 5}


@pytest.mark.postgres
@pytest.mark.django_db(databases=["default", TEST_REPLICA])
def test_the_lag_query_runs_on_postgresql_and_reads_no_lag_on_a_primary(replica):
    """The standby functions exist and answer on any PostgreSQL; a server that is not a standby has no lag."""
    assert health.replica_lag_seconds(TEST_REPLICA) is None


def test_without_replicas_readyz_has_no_replica_section(client):
    assert "replicas" not in client.get("/readyz").json()
