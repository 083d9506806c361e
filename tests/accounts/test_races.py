"""Real threads racing the login throttle: parallel guesses must not outrun the failure budget."""

import threading
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.orders.helpers import run_concurrently

GUESSES = 30


def thirty_parallel_wrong_guesses() -> tuple[list, int]:
    """Each guess from its own client address, so only the account's budget can stop them."""
    user = UserFactory()
    checks = 0
    lock = threading.Lock()
    verify = MD5PasswordHasher.verify

    def counting_verify(hasher, password, encoded):
        nonlocal checks
        with lock:
            checks += 1
        return verify(hasher, password, encoded)

    def guess(index: int):
        response = APIClient().post(
            "/api/v1/auth/login/",
            {"username": user.username, "password": f"guess-{index}"},
            format="json",
            REMOTE_ADDR=f"10.20.0.{index}",
        )
        return response.status_code, response.data["code"]

    with mock.patch.object(MD5PasswordHasher, "verify", counting_verify):
        results = run_concurrently(guess, GUESSES)
    return results, checks


def assert_at_most_the_budget_reached_the_hasher(results, checks) -> None:
    budget = settings.LOGIN_FAILURES_PER_ACCOUNT
    assert checks == budget, (checks, results)
    assert sorted(results).count((401, "invalid_credentials")) == budget, results
    assert sorted(results).count((429, "login_throttled")) == GUESSES - budget, results


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_thirty_parallel_password_guesses_on_redis_reach_the_hasher_only_five_times():
    assert_at_most_the_budget_reached_the_hasher(*thirty_parallel_wrong_guesses())


@pytest.mark.django_db(transaction=True)
def test_thirty_parallel_password_guesses_on_any_cache_reach_the_hasher_only_five_times():
    """The same race on whatever cache the suite runs with: local memory increments under its lock."""
    assert_at_most_the_budget_reached_the_hasher(*thirty_parallel_wrong_guesses())
