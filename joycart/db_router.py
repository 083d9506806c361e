"""Read replicas: which database answers a read (installed only when DATABASE_REPLICA_URLS names some).

Only the public catalog (what the listing, product, category, search and review pages read) may come
from a replica, and only when all of these hold:

- the request is a safe one (GET, HEAD, OPTIONS): `ReplicaReadsMiddleware` picks one replica at random
  for the whole request, so its reads agree with each other;
- the same client wrote nothing in the last DATABASE_REPLICA_STICKY_SECONDS: an unsafe request leaves a
  signed cookie that sends the client's next requests to the primary, so it reads its own writes;
- no transaction is open on the primary: a read inside `transaction.atomic()` must see its own writes;
- nothing is being stored in the shared catalog cache (`primary_reads`): a value stored under the new
  catalog version must hold that version's rows, which a lagging replica may not have yet.

Everything else reads the primary: every other model, every write, and code outside a request (the task
worker, management commands, the shell) unless it opts in with `replica_reads()`. A replica that cannot
be reached is not skipped: the reads sent to it fail until it is taken out of DATABASE_REPLICA_URLS (or
the platform's replica endpoint moves to a healthy one).
"""

import random
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.http import HttpRequest, HttpResponse

# What the public catalog pages and API show; `label_lower` of each model.
REPLICA_READ_MODELS = frozenset(
    {
        "catalog.category",
        "catalog.product",
        "catalog.productoption",
        "catalog.productvariant",
        "catalog.productimage",
        "accounts.store",
        "reviews.review",
    }
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PRIMARY_READS_COOKIE = "jc_primary_reads"
_COOKIE_SALT = "joycart.db_router.primary_reads"

# The replica this context may read the catalog from; None reads the primary.
catalog_read_alias: ContextVar[str | None] = ContextVar("catalog_read_alias", default=None)


@contextmanager
def _catalog_reads_from(alias: str | None) -> Iterator[None]:
    token = catalog_read_alias.set(alias)
    try:
        yield
    finally:
        catalog_read_alias.reset(token)


def replica_reads() -> AbstractContextManager[None]:
    """Inside, catalog reads outside transactions may come from a replica (a task or command opting in)."""
    replicas = settings.DATABASE_REPLICAS
    return _catalog_reads_from(random.choice(replicas) if replicas else None)  # noqa: S311 - load spreading


def primary_reads() -> AbstractContextManager[None]:
    """Inside, every read goes to the primary, whatever the request allows."""
    return _catalog_reads_from(None)


class ReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        alias = catalog_read_alias.get()
        if (
            alias is not None
            and model._meta.label_lower in REPLICA_READ_MODELS
            and not transaction.get_connection(DEFAULT_DB_ALIAS).in_atomic_block
        ):
            return alias
        # Said explicitly: left to Django, a row related to one read from a replica would be read there too.
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # Replicas hold the primary's rows: a row read from one may point at a row read from another.
        ours = {DEFAULT_DB_ALIAS, *settings.DATABASE_REPLICAS}
        return True if {obj1._state.db, obj2._state.db} <= ours else None

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        # Replicas copy the primary's schema by replication.
        return db == DEFAULT_DB_ALIAS


def _wrote_recently(request: HttpRequest) -> bool:
    # The deadline is read from the signed value: the cookie's own expiry is the client's to keep.
    deadline = request.get_signed_cookie(PRIMARY_READS_COOKIE, default=None, salt=_COOKIE_SALT)
    return deadline is not None and time.time() < float(deadline)


class ReplicaReadsMiddleware:
    """Lets a safe request read the catalog from a replica, unless the same client wrote moments ago."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in SAFE_METHODS:
            response = self.get_response(request)
            self._remember_write(response)
            return response
        if _wrote_recently(request):
            return self.get_response(request)
        with replica_reads():
            return self.get_response(request)

    @staticmethod
    def _remember_write(response: HttpResponse) -> None:
        """Until the replicas have surely caught up, this client's requests read the primary."""
        seconds = settings.DATABASE_REPLICA_STICKY_SECONDS
        response.set_signed_cookie(
            PRIMARY_READS_COOKIE,
            str(time.time() + seconds),
            salt=_COOKIE_SALT,
            max_age=seconds,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
