import pytest
from django.contrib import messages
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages

from accounts.models import User
from tests.accounts.helpers import staff_member
from tests.factories import TEST_PASSWORD, StoreFactory, UserFactory

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


def errors_flashed(response) -> str:
    return " | ".join(str(m) for m in get_messages(response.wsgi_request) if m.level == messages.ERROR)


def change_url(user: User) -> str:
    return f"{CHANGELIST}{user.pk}/change/"


def change_form(user: User, **fields) -> dict:
    """What the change form posts for `user`, with `fields` set on top."""
    return {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": "on",
        "_save": "Save",
        **fields,
    }


def account_state() -> list[tuple]:
    """Everything an attacker on the user admin would want to change, for every account."""
    return list(
        User.objects.order_by("pk").values_list(
            "pk", "username", "email", "password", "is_staff", "is_superuser", "is_active", "is_blocked"
        )
    ) + [
        (user.pk, sorted(user.groups.values_list("pk", flat=True)), user.user_permissions.count())
        for user in User.objects.order_by("pk")
    ]


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


@pytest.fixture
def helper_client(client, helper):
    client.force_login(helper)
    return client


@pytest.fixture
def every_permission(db) -> list[int]:
    return list(Permission.objects.values_list("pk", flat=True))


REFUSALS = {
    ("promote_to_admin", "root"): "Only a superuser can make a user an admin.",
    ("promote_to_admin", "helper"): "Only a superuser can make a user an admin.",
    ("demote_admin", "root"): "Only a superuser can demote an admin.",
    ("demote_admin", "helper"): "You cannot demote yourself.",
    ("block_users", "root"): "root is an admin account; only a superuser can block it.",
    ("block_users", "helper"): "You cannot block yourself.",
    ("unblock_users", "root"): "root is an admin account; only a superuser can unblock it.",
    ("unblock_users", "helper"): "helper is an admin account; only a superuser can unblock it.",
}


class TestStaffWithoutSuperuserActions:
    @pytest.mark.parametrize(("action", "target"), list(REFUSALS))
    def test_staff_without_superuser_cannot_change_admin_rights_through_the_actions(
        self, helper_client, helper, root, other_root, action, target
    ):
        before = account_state()
        response = run_action(helper_client, action, {"root": root, "helper": helper}[target])
        assert account_state() == before
        assert errors_flashed(response) == REFUSALS[action, target]
        assert not LogEntry.objects.exists()

    def test_staff_without_superuser_cannot_demote_the_only_superuser(self, helper_client, root):
        response = run_action(helper_client, "demote_admin", root)
        root.refresh_from_db()
        assert root.is_superuser and root.is_staff
        assert "root is the last active superuser" in errors_flashed(response)

    def test_staff_without_superuser_still_blocks_and_unblocks_shoppers(self, helper_client, user):
        response = run_action(helper_client, "block_users", user)
        user.refresh_from_db()
        assert user.is_blocked and "Blocked 1 user" in flashed(response)
        run_action(helper_client, "unblock_users", user)
        user.refresh_from_db()
        assert not user.is_blocked

    def test_staff_who_may_only_view_users_get_no_actions(self, client, user):
        client.force_login(staff_member("view_user"))
        listing = client.get(CHANGELIST)
        assert listing.status_code == 200 and "block_users" not in listing.content.decode()
        run_action(client, "block_users", user)  # forged
        user.refresh_from_db()
        assert not user.is_blocked


class TestStaffWithoutSuperuserChangeForm:
    def test_staff_without_superuser_cannot_grant_rights_through_a_shoppers_change_form(
        self, helper_client, user, every_permission
    ):
        group = Group.objects.create(name="Everything")
        group.permissions.set(every_permission)
        form = change_form(
            user,
            first_name="Renamed",
            is_staff="on",
            is_superuser="on",
            groups=[group.pk],
            user_permissions=every_permission,
        )
        response = helper_client.post(change_url(user), form)
        assert response.status_code == 302
        user.refresh_from_db()
        assert user.first_name == "Renamed"  # what a helper may edit is still saved
        assert not user.is_staff and not user.is_superuser
        assert not user.groups.exists() and not user.user_permissions.exists()

    def test_staff_without_superuser_cannot_grant_themselves_rights_through_their_change_form(
        self, helper_client, helper, root, every_permission
    ):
        group = Group.objects.create(name="Everything")
        group.permissions.set(every_permission)
        before = account_state()
        response = helper_client.post(
            change_url(helper),
            change_form(helper, is_staff="on", is_superuser="on", groups=[group.pk], user_permissions=every_permission),
            follow=True,
        )
        assert account_state() == before
        assert (
            errors_flashed(response)
            == "helper is an admin account; only a superuser can change it. Nothing was changed."
        )

    def test_staff_without_superuser_cannot_take_over_a_superuser_through_the_change_form(
        self, helper_client, root, every_permission
    ):
        before = account_state()
        response = helper_client.post(
            change_url(root),
            change_form(root, email="attacker@example.com", username="root", user_permissions=every_permission),
            follow=True,
        )
        assert account_state() == before
        assert "root is an admin account; only a superuser can change it" in errors_flashed(response)

    def test_a_superusers_change_form_is_read_only_to_staff_without_superuser(self, helper_client, root):
        response = helper_client.get(change_url(root))
        assert response.status_code == 200
        assert response.context["has_change_permission"] is False
        assert 'name="_save"' not in response.content.decode()

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_staff_without_superuser_cannot_set_a_superusers_password(self, helper_client, root, method):
        new_password = {"password1": "Att4cker-Chosen-Pass", "password2": "Att4cker-Chosen-Pass"}
        response = getattr(helper_client, method)(f"{CHANGELIST}{root.pk}/password/", new_password, follow=True)
        root.refresh_from_db()
        assert root.check_password(TEST_PASSWORD)
        assert response.redirect_chain[-1][0] == change_url(root)
        assert "only a superuser can change it" in errors_flashed(response)

    def test_staff_without_superuser_cannot_delete_a_superuser(self, client, root):
        client.force_login(staff_member("view_user", "change_user", "delete_user"))
        assert client.post(f"{CHANGELIST}{root.pk}/delete/", {"post": "yes"}).status_code == 403
        client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [root.pk], "post": "yes"})
        assert User.objects.filter(pk=root.pk).exists()

    def test_staff_without_superuser_still_sets_a_shoppers_password(self, helper_client, user):
        new_password = {"password1": "Supp0rt-Reset-Pass", "password2": "Supp0rt-Reset-Pass", "usable_password": "true"}
        response = helper_client.post(f"{CHANGELIST}{user.pk}/password/", new_password)
        assert response.status_code == 302
        user.refresh_from_db()
        assert user.check_password("Supp0rt-Reset-Pass")

    def test_staff_without_superuser_cannot_give_their_group_permissions(self, client, every_permission):
        group = Group.objects.create(name="Support")
        member = staff_member("view_group", "change_group")
        member.groups.add(group)
        client.force_login(member)
        client.post(f"/admin/auth/group/{group.pk}/change/", {"name": "Support", "permissions": every_permission})
        assert not group.permissions.exists()


class TestSuperuserChangeForm:
    def test_superuser_grants_groups_and_permissions_but_admin_rights_only_through_the_actions(
        self, admin_client, user
    ):
        group = Group.objects.create(name="Support")
        view_orders = Permission.objects.get(codename="view_order")
        form = change_form(user, is_staff="on", is_superuser="on", groups=[group.pk], user_permissions=[view_orders.pk])
        assert admin_client.post(change_url(user), form).status_code == 302
        user.refresh_from_db()
        assert list(user.groups.all()) == [group] and list(user.user_permissions.all()) == [view_orders]
        assert not user.is_staff and not user.is_superuser

    def test_superuser_cannot_deactivate_an_admin_in_the_change_form(self, admin_client, root):
        form = change_form(root)
        del form["is_active"]  # an unticked box
        assert admin_client.post(change_url(root), form).status_code == 302
        root.refresh_from_db()
        assert root.is_active

    def test_superuser_edits_another_admins_account_and_password(self, admin_client, root):
        assert admin_client.post(change_url(root), change_form(root, email="root@joycart.example")).status_code == 302
        new_password = {"password1": "R00t-New-Password", "password2": "R00t-New-Password", "usable_password": "true"}
        assert admin_client.post(f"{CHANGELIST}{root.pk}/password/", new_password).status_code == 302
        root.refresh_from_db()
        assert root.email == "root@joycart.example" and root.check_password("R00t-New-Password")

    def test_superuser_gives_a_group_permissions(self, admin_client):
        group = Group.objects.create(name="Support")
        view_orders = Permission.objects.get(codename="view_order")
        admin_client.post(f"/admin/auth/group/{group.pk}/change/", {"name": "Support", "permissions": [view_orders.pk]})
        assert list(group.permissions.all()) == [view_orders]
