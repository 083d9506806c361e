"""Enqueueing background tasks so that they never run ahead of, or without, their data, and so that
their log lines carry the id of the request that queued them.

With the database queue (production) a task row is written in the caller's transaction: it
exists exactly when the data it is about was committed, and a crash after commit loses
nothing. Tasks that run at once (the embedded default and the tests) would run inside the
transaction, before commit, so they are deferred to `on_commit` instead.
"""

from django.db import transaction
from django.db.models.signals import pre_save
from django.tasks import Task
from django.tasks.signals import log_task_started, task_finished, task_started
from django_tasks_db import DatabaseBackend

from joycart.request_context import current_request_id

# Where a queued task's row keeps the request id, beside the arguments (django-tasks-db reads only
# "args" and "kwargs" from it), so no task function has to take it.
REQUEST_ID_KEY = "request_id"


def enqueues_with_transaction(task: Task) -> bool:
    """Whether `task.enqueue` writes a row in the caller's transaction (the database queue)."""
    return isinstance(task.get_backend(), DatabaseBackend)


def enqueue_with_transaction(task: Task, /, *args, **kwargs) -> None:
    if enqueues_with_transaction(task):
        task.enqueue(*args, **kwargs)
    else:
        transaction.on_commit(lambda: task.enqueue(*args, **kwargs), robust=True)


def _queued_task_keeps_request_id(sender, instance, raw: bool = False, **kwargs) -> None:
    """A task row is written while its request (or the task that queued it) runs: every way of
    enqueueing (`enqueue`, `using(...).enqueue`, async) goes through this one save."""
    request_id = current_request_id.get()
    if request_id is not None and instance._state.adding and not raw:
        instance.args_kwargs = {**instance.args_kwargs, REQUEST_ID_KEY: request_id}


def _running_task_takes_request_id(sender, task_result, **kwargs) -> None:
    """In `db_worker`, each task's lines carry its own request's id, or none. A task the immediate
    backend runs is inside its request already, which has the id set (and no database row)."""
    db_result = getattr(task_result, "db_result", None)
    if db_result is not None:
        current_request_id.set(db_result.args_kwargs.get(REQUEST_ID_KEY))


def _finished_task_drops_request_id(sender, task_result, **kwargs) -> None:
    if getattr(task_result, "db_result", None) is not None:
        current_request_id.set(None)


def request_ids_follow_tasks() -> None:
    from django_tasks_db.models import DBTaskResult

    pre_save.connect(_queued_task_keeps_request_id, sender=DBTaskResult, dispatch_uid="joycart-task-request-id")
    # Django's own "Task ... RUNNING" line is written by a receiver connected when django.tasks loads;
    # connected again after ours, it carries the id too. Its "finished" line runs before ours anyway.
    task_started.disconnect(log_task_started)
    task_started.connect(_running_task_takes_request_id, dispatch_uid="joycart-task-request-id")
    task_started.connect(log_task_started)
    task_finished.connect(_finished_task_drops_request_id, dispatch_uid="joycart-task-request-id")
