import threading
import time

import pytest
from django.db import connection

from accounts.errors import AdminAccountProtected, AdminActionRefused, StoreAlreadyExists, StoreNameTaken
from accounts.models import Address, Store, User
from accounts.services import users as users_services
from accounts.services.addresses import address_create, address_delete
from accounts.services.stores import store_create
from accounts.services.users import user_block, user_demote_admin, user_promote_to_admin, user_unblock
from tests.accounts.helpers import staff_member, superuser
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


# --- Admin rights ------------------------------------------------------------------------


def rights_of(user: User) -> tuple[bool, bool, bool, bool]:
    user = User.objects.get(pk=user.pk)
    return user.is_staff, user.is_superuser, user.is_active, user.is_blocked


def active_superusers() -> set[str]:
    return set(
        User.objects.filter(is_superuser=True, is_active=True, is_blocked=False).values_list("username", flat=True)
    )


@pytest.mark.django_db
class TestOnlySuperusersManageAdminRights:
    def test_staff_without_superuser_cannot_promote_self(self, helper, root):
        with pytest.raises(AdminActionRefused, match="Only a superuser can make a user an admin"):
            user_promote_to_admin(actor=helper, user=helper)
        assert rights_of(helper) == (True, False, True, False)

    def test_staff_without_superuser_cannot_promote_a_shopper(self, helper, user):
        with pytest.raises(AdminActionRefused, match="Only a superuser"):
            user_promote_to_admin(actor=helper, user=user)
        assert rights_of(user) == (False, False, True, False)

    def test_staff_without_superuser_cannot_demote_a_superuser(self, helper, root, other_root):
        with pytest.raises(AdminActionRefused, match="Only a superuser can demote an admin"):
            user_demote_admin(actor=helper, user=root)
        assert rights_of(root) == (True, True, True, False)

    def test_staff_without_superuser_cannot_demote_another_staff_member(self, helper):
        colleague = staff_member("view_user")
        with pytest.raises(AdminActionRefused, match="Only a superuser"):
            user_demote_admin(actor=helper, user=colleague)
        assert rights_of(colleague) == (True, False, True, False)

    def test_staff_without_superuser_cannot_block_a_superuser(self, helper, root, other_root):
        with pytest.raises(AdminAccountProtected, match="root is an admin account; only a superuser can block it"):
            user_block(actor=helper, user=root)
        assert rights_of(root) == (True, True, True, False)

    def test_staff_without_superuser_cannot_block_a_superuser_without_staff_status(self, helper, root):
        api_only = UserFactory(username="api_only", is_superuser=True)
        with pytest.raises(AdminAccountProtected, match="only a superuser can block it"):
            user_block(actor=helper, user=api_only)
        assert rights_of(api_only) == (False, True, True, False)

    def test_staff_without_superuser_cannot_unblock_a_blocked_admin_account(self, helper):
        blocked_admin = UserFactory(is_staff=True, is_blocked=True)
        with pytest.raises(AdminAccountProtected, match="only a superuser can unblock it"):
            user_unblock(actor=helper, user=blocked_admin)
        assert rights_of(blocked_admin) == (True, False, True, True)

    def test_staff_without_superuser_still_blocks_and_unblocks_shoppers(self, helper, user):
        user_block(actor=helper, user=user)
        assert rights_of(user) == (False, False, True, True)
        user_unblock(actor=helper, user=user)
        assert rights_of(user) == (False, False, True, False)

    def test_staff_who_may_only_view_users_cannot_block_a_shopper(self, user):
        viewer = staff_member("view_user")
        with pytest.raises(AdminActionRefused, match="You do not have permission to block users"):
            user_block(actor=viewer, user=user)
        assert rights_of(user) == (False, False, True, False)

    def test_a_shopper_calling_the_service_cannot_promote_themselves(self, user):
        with pytest.raises(AdminActionRefused, match="You do not have permission"):
            user_promote_to_admin(actor=user, user=user)
        assert rights_of(user) == (False, False, True, False)

    def test_a_superuser_demoted_meanwhile_cannot_act_with_a_stale_copy_of_themselves(self, root, other_root, user):
        User.objects.filter(pk=other_root.pk).update(
            is_staff=False, is_superuser=False
        )  # other_root still says superuser
        with pytest.raises(AdminActionRefused, match="You do not have permission"):
            user_promote_to_admin(actor=other_root, user=user)
        assert rights_of(user) == (False, False, True, False)

    def test_superuser_promotes_and_demotes_other_admins(self, root, user):
        user_promote_to_admin(actor=root, user=user)
        assert rights_of(user) == (True, True, True, False)
        user_demote_admin(actor=root, user=user)
        assert rights_of(user) == (False, False, True, False)

    def test_superuser_blocks_a_superuser_without_staff_status_while_another_remains(self, root):
        api_only = UserFactory(is_superuser=True)
        user_block(actor=root, user=api_only)
        assert rights_of(api_only) == (False, True, True, True)


@pytest.mark.django_db
class TestTheLastActiveSuperuserStays:
    def test_the_last_active_superuser_cannot_be_demoted(self, helper, root):
        with pytest.raises(AdminActionRefused, match="root is the last active superuser"):
            user_demote_admin(actor=helper, user=root)
        assert active_superusers() == {"root"}

    def test_inactive_and_blocked_superusers_do_not_count_as_another(self, root):
        superuser(is_active=False)
        superuser(is_blocked=True)
        stale = superuser(username="leaving")
        User.objects.filter(pk=stale.pk).update(is_active=False)  # deactivated after this copy was loaded
        with pytest.raises(AdminActionRefused, match="root is the last active superuser"):
            user_demote_admin(actor=stale, user=root)
        assert active_superusers() == {"root"}

    def test_the_last_active_superuser_cannot_be_blocked(self):
        # A superuser without staff status: the "demote them before blocking" rule does not apply.
        last = UserFactory(username="last", is_superuser=True)
        stale = superuser(username="leaving")
        User.objects.filter(pk=stale.pk).update(is_blocked=True)
        with pytest.raises(AdminActionRefused, match="last is the last active superuser"):
            user_block(actor=stale, user=last)
        assert active_superusers() == {"last"}

    def test_a_superuser_is_demoted_while_another_active_one_remains(self, root, other_root):
        user_demote_admin(actor=root, user=other_root)
        assert active_superusers() == {"root"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_superusers_demoting_each_other_at_once_leave_one_superuser(monkeypatch):
    """Each demotion locks every superuser's row before counting, so the second waits for the first
    and sees it: without the lock both would count two superusers and leave none."""
    first, second = superuser(username="first"), superuser(username="second")
    lock = users_services.admin_rights_lock

    def lock_then_dawdle(**kwargs):
        rows = lock(**kwargs)
        time.sleep(0.3)  # widen the window between deciding and writing, so the other thread is in it
        return rows

    monkeypatch.setattr(users_services, "admin_rights_lock", lock_then_dawdle)
    pairs = [(first, second), (second, first)]

    results = run_concurrently(lambda i: user_demote_admin(actor=pairs[i][0], user=pairs[i][1]), 2)

    assert sum(isinstance(r, User) for r in results) == 1, results
    assert sum(isinstance(r, AdminActionRefused) for r in results) == 1, results
    assert len(active_superusers()) == 1
