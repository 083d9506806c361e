"""DATABASE_REPLICA_URLS adds read replicas, opened like the primary; without it there is one database and no
router. What the router decides is tested in test_read_replicas.py."""

import json

import pytest

from tests.test_settings import manage

ROUTER = "joycart.db_router.ReplicaRouter"
MIDDLEWARE = "joycart.db_router.ReplicaReadsMiddleware"


SHOW_DATABASES = (
    "import json; from django.conf import settings; from django.db import connections; "
    "print(json.dumps({'aliases': list(connections), 'routers': settings.DATABASE_ROUTERS, "
    f"'middleware': {MIDDLEWARE!r} in settings.MIDDLEWARE, 'databases': settings.DATABASES}}, default=str))"
)


def test_without_replica_urls_there_is_one_database_and_no_router():
    result = manage("shell", "--no-imports", "-c", SHOW_DATABASES)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert (shown["aliases"], shown["routers"], shown["middleware"]) == (["default"], [], False)


def test_replica_urls_add_numbered_aliases_opened_like_the_primary():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        SHOW_DATABASES,
        DATABASE_URL="postgres://joycart@primary.internal:5432/joycart",
        DATABASE_REPLICA_URLS="postgres://joycart@replica-a.internal:5432/joycart, postgres://ro@replica-b.internal/joycart",
        DATABASE_CONN_MAX_AGE="30",
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["aliases"] == ["default", "replica_1", "replica_2"]
    assert (shown["routers"], shown["middleware"]) == ([ROUTER], True)
    databases = shown["databases"]
    assert [databases[alias]["HOST"] for alias in shown["aliases"]] == [
        "primary.internal",
        "replica-a.internal",
        "replica-b.internal",
    ]
    for alias in shown["aliases"]:
        assert (databases[alias]["CONN_MAX_AGE"], databases[alias]["CONN_HEALTH_CHECKS"]) == (30, True)
    assert databases["replica_2"]["TEST"]["MIRROR"] == "default"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"DATABASE_REPLICA_URLS": "sqlite:///replica.db,replica.internal:5432"},
            "ImproperlyConfigured: DATABASE_REPLICA_URLS holds an invalid database URL (number 2).",
        ),
        (
            {"DATABASE_REPLICA_URLS": "postgres://joycart@replica.internal/joycart"},
            "ImproperlyConfigured: DATABASE_REPLICA_URLS must name databases of the same kind as DATABASE_URL.",
        ),
        (
            {"DATABASE_REPLICA_STICKY_SECONDS": "0"},
            "ImproperlyConfigured: DATABASE_REPLICA_STICKY_SECONDS must be a whole number of seconds, at least 1.",
        ),
    ],
)
def test_a_bad_replica_setting_stops_start_up_naming_the_variable(env, message):
    result = manage("check", **env)
    assert result.returncode != 0
    assert result.stderr.strip() == message


@pytest.mark.parametrize(("pooling", "disabled"), [("", False), ("1", True)])
def test_transaction_pooling_turns_off_server_side_cursors_on_every_alias(pooling, disabled):
    """Behind PgBouncer's transaction pooling a server-side cursor can vanish between two fetches."""
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        SHOW_DATABASES,
        DATABASE_URL="postgres://joycart@pgbouncer.internal:6432/joycart",
        DATABASE_REPLICA_URLS="postgres://ro@pgbouncer-replica.internal:6432/joycart",
        DATABASE_TRANSACTION_POOLING=pooling,
    )
    assert result.returncode == 0, result.stderr
    databases = json.loads(result.stdout)["databases"]
    assert [databases[alias].get("DISABLE_SERVER_SIDE_CURSORS", False) for alias in ("default", "replica_1")] == [
        disabled,
        disabled,
    ]
