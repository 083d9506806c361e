"""Enqueueing background tasks so that they never run ahead of, or without, their data.

With the database queue (production) a task row is written in the caller's transaction: it
exists exactly when the data it is about was committed, and a crash after commit loses
nothing. Tasks that run at once (the embedded default and the tests) would run inside the
transaction, before commit, so they are deferred to `on_commit` instead.
"""

from django.db import transaction
from django.tasks import Task
from django_tasks_db import DatabaseBackend


def enqueues_with_transaction(task: Task) -> bool:
    """Whether `task.enqueue` writes a row in the caller's transaction (the database queue)."""
    return isinstance(task.get_backend(), DatabaseBackend)


def enqueue_with_transaction(task: Task, /, *args, **kwargs) -> None:
    if enqueues_with_transaction(task):
        task.enqueue(*args, **kwargs)
    else:
        transaction.on_commit(lambda: task.enqueue(*args, **kwargs), robust=True)
