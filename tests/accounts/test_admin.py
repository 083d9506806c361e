import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages

from accounts.models import User
from tests.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/accounts/user/"


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def run_action(client, action: str, *users: User):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [u.pk for u in users], "index": 0}, follow=True
    )


def flashed(response) -> str:
    return " | ".join(str(m) for m in get_messages(response.wsgi_request))


class TestUserAdminActions:
    def test_block_and_unblock_write_log_entries(self, admin_client, user, staff):
        response = run_action(admin_client, "block_users", user)
        user.refresh_from_db()
        assert user.is_blocked and user.blocked_at is not None
        assert "Blocked 1 user" in flashed(response)
        assert LogEntry.objects.filter(user=staff, object_id=str(user.pk)).count() == 1

        run_action(admin_client, "unblock_users", user)
        user.refresh_from_db()
        assert not user.is_blocked
        assert LogEntry.objects.filter(user=staff, object_id=str(user.pk)).count() == 2

    def test_blocking_yourself_is_refused(self, admin_client, staff):
        response = run_action(admin_client, "block_users", staff)
        staff.refresh_from_db()
        assert not staff.is_blocked
        assert "cannot block yourself" in flashed(response)
        assert not LogEntry.objects.exists()

    def test_blocking_another_admin_is_refused_but_others_in_the_batch_are_blocked(self, admin_client, user):
        other_admin = UserFactory(is_staff=True)
        response = run_action(admin_client, "block_users", other_admin, user)
        other_admin.refresh_from_db()
        user.refresh_from_db()
        assert not other_admin.is_blocked
        assert user.is_blocked
        assert "is an admin" in flashed(response)

    def test_promote_and_demote(self, admin_client, user, staff):
        run_action(admin_client, "promote_to_admin", user)
        user.refresh_from_db()
        assert user.is_staff
        run_action(admin_client, "demote_admin", user)
        user.refresh_from_db()
        assert not user.is_staff
        assert LogEntry.objects.filter(object_id=str(user.pk)).count() == 2

    def test_promoting_a_blocked_user_is_refused(self, admin_client):
        blocked = UserFactory(is_blocked=True)
        response = run_action(admin_client, "promote_to_admin", blocked)
        blocked.refresh_from_db()
        assert not blocked.is_staff
        assert "is blocked" in flashed(response)

    def test_demoting_yourself_is_refused(self, admin_client, staff):
        response = run_action(admin_client, "demote_admin", staff)
        staff.refresh_from_db()
        assert staff.is_staff
        assert "cannot demote yourself" in flashed(response)


class TestUserAdminList:
    def test_search_by_username_and_email(self, admin_client):
        UserFactory(username="findme", email="other@example.com")
        UserFactory(username="someone", email="hidden@example.com")
        assert b"findme" in admin_client.get(CHANGELIST, {"q": "findme"}).content
        response = admin_client.get(CHANGELIST, {"q": "hidden@"})
        assert b"someone" in response.content and b"findme" not in response.content

    def test_filter_by_seller_staff_and_blocked(self, admin_client):
        seller = StoreFactory().user
        blocked = UserFactory(is_blocked=True)
        shopper = UserFactory()

        def listed(params) -> set[str]:
            return {u.username for u in admin_client.get(CHANGELIST, params).context["cl"].result_list}

        assert listed({"seller": "yes"}) == {seller.username}
        assert shopper.username in listed({"seller": "no"})
        assert listed({"is_blocked__exact": "1"}) == {blocked.username}
        assert listed({"is_staff__exact": "1"}) == {"staffer"}

    def test_user_list_query_count_is_flat(self, admin_client, assert_flat_query_count):
        StoreFactory.create_batch(3)
        assert_flat_query_count(
            lambda: admin_client.get(CHANGELIST), lambda: StoreFactory.create_batch(20), max_queries=12
        )

    def test_stores_admin_is_available(self, admin_client):
        store = StoreFactory(name="Admin Visible Store")
        assert b"Admin Visible Store" in admin_client.get("/admin/accounts/store/").content
        assert admin_client.get(f"/admin/accounts/store/{store.pk}/change/").status_code == 200

    def test_non_staff_cannot_open_the_admin(self, client, user):
        client.force_login(user)
        response = client.get(CHANGELIST)
        assert response.status_code == 302
        assert "/admin/login/" in response.url


class TestUserAdminAddForm:
    def test_admin_creates_a_user_with_an_email(self, admin_client):
        response = admin_client.post(
            "/admin/accounts/user/add/",
            {
                "username": "newbie",
                "email": "newbie@example.com",
                "usable_password": "true",
                "password1": "Adm1n-Made-Passw0rd",
                "password2": "Adm1n-Made-Passw0rd",
            },
        )
        assert response.status_code == 302, response.context["adminform"].form.errors
        assert User.objects.get(username="newbie").email == "newbie@example.com"

    def test_duplicate_email_in_another_case_is_a_form_error_not_a_crash(self, admin_client, user):
        response = admin_client.post(
            "/admin/accounts/user/add/",
            {
                "username": "copycat",
                "email": user.email.upper(),
                "usable_password": "true",
                "password1": "Adm1n-Made-Passw0rd",
                "password2": "Adm1n-Made-Passw0rd",
            },
        )
        assert response.status_code == 200
        assert not User.objects.filter(username="copycat").exists()
