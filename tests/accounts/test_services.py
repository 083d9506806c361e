import threading

import pytest
from django.db import connection

from accounts.errors import StoreAlreadyExists, StoreNameTaken
from accounts.models import Address, Store
from accounts.services.addresses import address_create, address_delete
from accounts.services.stores import store_create
from tests.factories import UserFactory

ADDRESS = {
    "name": "Race Tester",
    "phone": "9876543210",
    "line1": "1 Lock Lane",
    "city": "Chennai",
    "state": "TN",
    "pincode": "600001",
}


def run_concurrently(target, count: int) -> list:
    """Run `target(i)` in `count` threads released together; return results or raised errors."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = target(index)
        except Exception as exc:  # noqa: BLE001 - the test inspects every outcome
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.django_db
def test_deleting_the_last_address_leaves_no_default_behind():
    user = UserFactory()
    address = address_create(user=user, **ADDRESS)
    address_delete(address=address)
    assert not Address.objects.filter(user=user).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_addresses_leave_exactly_one_default():
    user = UserFactory()
    results = run_concurrently(lambda i: address_create(user=user, **{**ADDRESS, "city": f"City {i}"}), 6)
    assert all(isinstance(r, Address) for r in results), results
    assert Address.objects.filter(user=user).count() == 6
    assert Address.objects.filter(user=user, is_default=True).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_default_switches_leave_exactly_one_default():
    user = UserFactory()
    for i in range(4):
        address_create(user=user, **{**ADDRESS, "city": f"City {i}"})
    results = run_concurrently(lambda i: address_create(user=user, is_default=True, **ADDRESS), 4)
    assert all(isinstance(r, Address) for r in results), results
    assert Address.objects.filter(user=user, is_default=True).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_store_registrations_create_one_store_and_explain_the_rest():
    user = UserFactory()
    results = run_concurrently(lambda i: store_create(user=user, name=f"Rush Store {i}"), 4)
    stores = [r for r in results if isinstance(r, Store)]
    assert len(stores) == 1
    assert all(isinstance(r, StoreAlreadyExists) for r in results if not isinstance(r, Store)), results
    assert Store.objects.filter(user=user).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_of_one_name_in_different_case_keep_it_unique():
    users = [UserFactory() for _ in range(4)]
    names = ["Spice Route", "SPICE ROUTE", "spice route", "Spice ROUTE"]
    results = run_concurrently(lambda i: store_create(user=users[i], name=names[i]), 4)
    assert sum(isinstance(r, Store) for r in results) == 1
    assert all(isinstance(r, StoreNameTaken) for r in results if not isinstance(r, Store)), results
