"""The web's PostgreSQL connections run without JIT (a short statement pays more to compile than it saves), except
behind PgBouncer, which would refuse the startup option; the database URL's own `options` still apply."""

import json

import pytest
from django.db import connection

from tests.test_settings import manage

SHOW_OPTIONS = (
    "import json; from django.conf import settings; "
    "print(json.dumps({alias: db.get('OPTIONS', {}).get('options') for alias, db in settings.DATABASES.items()}))"
)


def database_options(**env: str) -> dict:
    result = manage("shell", "--no-imports", "-c", SHOW_OPTIONS, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_postgres_connection_has_jit_off():
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_every_postgres_alias_turns_jit_off_before_the_urls_own_options():
    options = database_options(
        DATABASE_URL="postgres://joycart@db.internal:5432/joycart?options=-c%20statement_timeout%3D5000",
        DATABASE_REPLICA_URLS="postgres://ro@replica.internal:5432/joycart",
    )
    # PostgreSQL applies `-c` settings in order, so the URL can turn JIT back on.
    assert options == {"default": "-c jit=off -c statement_timeout=5000", "replica_1": "-c jit=off"}


def test_behind_pgbouncer_no_startup_options_are_sent():
    options = database_options(
        DATABASE_URL="postgres://joycart@pgbouncer.internal:6432/joycart",
        DATABASE_REPLICA_URLS="postgres://ro@pgbouncer-replica.internal:6432/joycart",
        DATABASE_TRANSACTION_POOLING="1",
    )
    assert options == {"default": None, "replica_1": None}


def test_sqlite_gets_no_postgres_options():
    assert database_options() == {"default": None}
