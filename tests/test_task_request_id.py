"""A task carries the id of the request that queued it into the worker, so the worker's lines about
an order's mail or refund can be found from the request that caused them."""

import logging

import pytest
from django.core.management import call_command
from django.tasks import task
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from joycart.request_context import current_request_id
from joycart.tasks import REQUEST_ID_KEY
from tests.conftest import request_id_bound
from tests.factories import TEST_PASSWORD, ProductFactory
from tests.orders.helpers import make_buyer, new_key

logger = logging.getLogger(__name__)
# What `note_request_id` saw, one entry per run.
seen_request_ids: list[str | None] = []


@task
def note_request_id() -> None:
    seen_request_ids.append(current_request_id.get())
    logger.info("the task ran")


@task
def queue_a_note() -> None:
    note_request_id.enqueue()


@pytest.fixture(autouse=True)
def _fresh_notes():
    seen_request_ids.clear()
    yield
    seen_request_ids.clear()


@pytest.fixture
def database_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=1)


@pytest.mark.django_db
def test_checkout_queues_its_mail_with_the_request_id_beside_the_arguments(database_queue):
    buyer = make_buyer()
    product = ProductFactory(stock=5)
    client = APIClient()
    token = client.post("/api/v1/auth/token/", {"username": buyer.username, "password": TEST_PASSWORD}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.data['access']}")
    body = {
        "source": "buy_now",
        "product_id": product.pk,
        "quantity": 1,
        "address_id": buyer.address.pk,
        "payment_method": "COD",
    }
    response = client.post(
        "/api/v1/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY=new_key(), HTTP_X_REQUEST_ID="checkout-7"
    )
    assert response.status_code == 201, response.content
    [queued] = DBTaskResult.objects.all()
    assert queued.args_kwargs[REQUEST_ID_KEY] == "checkout-7"
    # The task function still gets exactly its own arguments.
    assert queued.task_result.kwargs == {"order_id": response.json()["id"]}
    assert queued.task_result.args == []


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_each_task_under_its_own_request_id_and_no_other(database_queue, json_log_lines):
    with request_id_bound("req-1"):
        note_request_id.enqueue()
    note_request_id.enqueue()  # queued by a command or cron: no request
    with request_id_bound("req-2"):
        note_request_id.enqueue()

    run_worker()

    # A task from no request does not inherit the previous task's id, nor the next one's.
    assert seen_request_ids == ["req-1", None, "req-2"]
    assert current_request_id.get() is None
    lines = json_log_lines()
    ran = [line["request_id"] for line in lines if line["message"] == "the task ran"]
    assert ran == ["req-1", None, "req-2"]
    # The worker's own "RUNNING" and "SUCCESSFUL" lines about the task carry the id too.
    started = [line for line in lines if line["logger"] == "django.tasks" and "state=RUNNING" in line["message"]]
    finished = [line for line in lines if line["logger"] == "django.tasks" and "state=SUCCESSFUL" in line["message"]]
    assert [line["request_id"] for line in started] == ["req-1", None, "req-2"]
    assert [line["request_id"] for line in finished] == ["req-1", None, "req-2"]


@pytest.mark.django_db(transaction=True)
def test_a_task_queued_by_a_task_keeps_the_original_request_id(database_queue):
    """Chains (a refund's webhook drain, a retry) still lead back to the request that started them."""
    with request_id_bound("req-chain"):
        queue_a_note.enqueue()
    run_worker()
    assert seen_request_ids == ["req-chain"]
    assert [row.args_kwargs[REQUEST_ID_KEY] for row in DBTaskResult.objects.all()] == ["req-chain", "req-chain"]


@pytest.mark.django_db
def test_a_task_run_at_once_inside_the_request_keeps_the_request_id_after_it():
    """The immediate backend (development, tests) runs the task in the request: nothing to carry, and
    the request's later lines must keep their id."""
    with request_id_bound("req-now"):
        note_request_id.enqueue()
        assert current_request_id.get() == "req-now"
    assert seen_request_ids == ["req-now"]
