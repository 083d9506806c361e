import pytest

from tests.accounts.helpers import staff_member, superuser


@pytest.fixture
def root(db):
    return superuser(username="root")


@pytest.fixture
def other_root(db):
    return superuser(username="other_root")


@pytest.fixture
def helper(db):
    """Staff who may view and change users, but is no superuser: the attacker of the admin-rights tests."""
    return staff_member("view_user", "change_user", username="helper")
