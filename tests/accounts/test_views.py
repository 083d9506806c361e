import re

import pytest
from django.conf import settings
from django.core import mail

from accounts.models import Address, Store, User
from tests.factories import TEST_PASSWORD, AddressFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def page_login(client, user, password=TEST_PASSWORD):
    response = client.post("/accounts/login/", {"username": user.username, "password": password})
    assert response.status_code == 302, response.content.decode()
    return response


ADDRESS_FORM = {
    "name": "Arjun Rao",
    "phone": "098220 12345",
    "line1": "7 FC Road",
    "line2": "",
    "city": "Pune",
    "state": "MH",
    "pincode": "411004",
}


class TestRegisterAndLoginPages:
    def test_register_logs_the_new_user_in(self, client):
        response = client.post(
            "/accounts/register/",
            {"username": "kavya", "email": "kavya@example.com", "password1": TEST_PASSWORD, "password2": TEST_PASSWORD},
        )
        assert response.status_code == 302
        assert response.cookies[settings.JWT_ACCESS_COOKIE]["httponly"]
        home = client.get("/")
        assert 'data-testid="nav-user"' in home.content.decode()
        assert "kavya" in home.content.decode()

    def test_register_shows_field_errors(self, client, user):
        response = client.post(
            "/accounts/register/",
            {"username": user.username, "email": "x@example.com", "password1": "abc", "password2": "abd"},
        )
        assert response.status_code == 200
        form = response.context["form"]
        assert "username" in form.errors
        assert "password2" in form.errors
        assert User.objects.count() == 1

    def test_login_page_shows_a_form_error_for_wrong_password(self, client, user):
        response = client.post("/accounts/login/", {"username": user.username, "password": "nope"})
        assert response.status_code == 200
        assert "incorrect" in response.content.decode()
        assert settings.JWT_ACCESS_COOKIE not in response.cookies

    def test_login_follows_a_safe_next_but_not_an_external_one(self, client, user):
        response = client.post(
            "/accounts/login/?next=/accounts/addresses/",
            {"username": user.username, "password": TEST_PASSWORD, "next": "/accounts/addresses/"},
        )
        assert response.url == "/accounts/addresses/"
        client.cookies.clear()
        response = client.post(
            "/accounts/login/", {"username": user.username, "password": TEST_PASSWORD, "next": "https://evil.example/"}
        )
        assert response.url == "/"

    def test_blocked_user_sees_why_on_the_login_page(self, client, user):
        user.is_blocked = True
        user.save()
        response = client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
        assert "blocked" in response.content.decode()

    def test_logout_is_post_only_and_clears_cookies(self, client, user):
        page_login(client, user)
        assert client.get("/accounts/logout/").status_code == 405
        response = client.post("/accounts/logout/")
        assert response.status_code == 302
        assert response.cookies[settings.JWT_ACCESS_COOKIE].value == ""
        assert client.get("/accounts/profile/").status_code == 302

    def test_page_forms_are_csrf_protected(self, user):
        from django.test import Client

        strict = Client(enforce_csrf_checks=True)
        response = strict.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
        assert response.status_code == 403

    def test_nav_shows_role_links(self, client, staff):
        page_login(client, staff)
        html = client.get("/").content.decode()
        assert 'data-testid="nav-admin"' in html
        assert 'data-testid="nav-seller"' not in html

    def test_user_text_is_escaped(self, client):
        user = UserFactory(first_name="<script>alert(1)</script>")
        page_login(client, user)
        html = client.get("/").content.decode()
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;" in html


class TestProfilePage:
    def test_edit_name_and_email(self, client, user):
        page_login(client, user)
        response = client.post(
            "/accounts/profile/",
            {"profile-first_name": "Kiran", "profile-last_name": "Das", "profile-email": "kiran@example.com"},
        )
        assert response.status_code == 302
        user.refresh_from_db()
        assert (user.first_name, user.email) == ("Kiran", "kiran@example.com")

    def test_email_of_another_account_is_a_field_error(self, client, user, other_user):
        page_login(client, user)
        response = client.post(
            "/accounts/profile/",
            {"profile-first_name": "", "profile-last_name": "", "profile-email": other_user.email.upper()},
        )
        assert response.status_code == 200
        assert "email" in response.context["profile_form"].errors

    def test_change_password_keeps_this_browser_logged_in_and_ends_other_sessions(self, client, user):
        from django.test import Client

        other_device = Client()
        page_login(other_device, user)
        page_login(client, user)
        new_password = "Brand-New-Passw0rd"
        response = client.post(
            "/accounts/profile/",
            {
                "password-old_password": TEST_PASSWORD,
                "password-new_password1": new_password,
                "password-new_password2": new_password,
            },
        )
        assert response.status_code == 302
        assert client.get("/accounts/profile/").status_code == 200
        assert other_device.get("/accounts/profile/").status_code == 302
        user.refresh_from_db()
        assert user.check_password(new_password)

    def test_wrong_old_password_is_a_field_error(self, client, user):
        page_login(client, user)
        response = client.post(
            "/accounts/profile/",
            {"password-old_password": "wrong", "password-new_password1": "X", "password-new_password2": "X"},
        )
        assert "old_password" in response.context["password_form"].errors


class TestPasswordReset:
    def test_reset_by_email_sets_a_new_password(self, client, user):
        response = client.post("/accounts/password-reset/", {"email": user.email})
        assert response.status_code == 302
        assert len(mail.outbox) == 1
        link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
        form_page = client.get(link, follow=True)
        assert form_page.status_code == 200
        response = client.post(
            form_page.redirect_chain[-1][0],
            {"new_password1": "Reset-Passw0rd-123", "new_password2": "Reset-Passw0rd-123"},
        )
        assert response.status_code == 302
        user.refresh_from_db()
        assert user.check_password("Reset-Passw0rd-123")


class TestAddressPages:
    def test_add_edit_make_default_delete(self, client, user):
        page_login(client, user)
        assert "no saved addresses" in client.get("/accounts/addresses/").content.decode()

        assert client.post("/accounts/addresses/new/", ADDRESS_FORM).status_code == 302
        assert client.post("/accounts/addresses/new/", {**ADDRESS_FORM, "city": "Nashik"}).status_code == 302
        first, second = Address.objects.filter(user=user).order_by("id")
        assert first.is_default and first.phone == "9822012345"

        client.post(f"/accounts/addresses/{second.pk}/make-default/")
        assert Address.objects.get(is_default=True, user=user) == second

        client.post(f"/accounts/addresses/{first.pk}/edit/", {**ADDRESS_FORM, "city": "Satara"})
        first.refresh_from_db()
        assert first.city == "Satara"

        client.post(f"/accounts/addresses/{second.pk}/delete/")
        assert list(Address.objects.filter(user=user, is_default=True)) == [first]

    def test_bad_pincode_is_a_form_error(self, client, user):
        page_login(client, user)
        response = client.post("/accounts/addresses/new/", {**ADDRESS_FORM, "pincode": "1234"})
        assert response.status_code == 200
        assert "pincode" in response.context["form"].errors
        assert not Address.objects.exists()

    def test_another_users_address_pages_are_404(self, client, user):
        theirs = AddressFactory(user=UserFactory(), is_default=True)
        page_login(client, user)
        assert client.get(f"/accounts/addresses/{theirs.pk}/edit/").status_code == 404
        assert client.post(f"/accounts/addresses/{theirs.pk}/delete/").status_code == 404
        assert client.post(f"/accounts/addresses/{theirs.pk}/make-default/").status_code == 404
        assert Address.objects.filter(pk=theirs.pk).exists()

    def test_address_list_queries_do_not_grow_with_rows(self, client, user, assert_flat_query_count):
        page_login(client, user)
        AddressFactory.create_batch(2, user=user)
        assert_flat_query_count(
            lambda: client.get("/accounts/addresses/"),
            lambda: AddressFactory.create_batch(8, user=user),
            max_queries=6,
        )

    def test_anonymous_is_sent_to_login(self, client):
        response = client.get("/accounts/addresses/")
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/?next=")


class TestBecomingASeller:
    def test_non_seller_is_sent_from_the_portal_to_become_a_seller(self, client, user):
        page_login(client, user)
        response = client.get("/seller/")
        assert response.status_code == 302
        assert response.url == "/accounts/become-a-seller/"

    def test_register_a_store_and_reach_the_portal(self, client, user):
        page_login(client, user)
        response = client.post(
            "/accounts/become-a-seller/", {"name": "Blue Pottery Jaipur", "description": "Hand-made"}
        )
        assert response.status_code == 302
        assert response.url == "/seller/"
        portal = client.get("/seller/")
        assert portal.status_code == 200
        assert "Blue Pottery Jaipur" in portal.content.decode()
        assert Store.objects.get(user=user).slug == "blue-pottery-jaipur"

    def test_taken_store_name_is_a_form_error(self, client, user):
        StoreFactory(name="Blue Pottery Jaipur")
        page_login(client, user)
        response = client.post("/accounts/become-a-seller/", {"name": "blue pottery JAIPUR"})
        assert response.status_code == 200
        assert "name" in response.context["form"].errors

    def test_anonymous_portal_visit_goes_to_login(self, client):
        response = client.get("/seller/")
        assert response.url.startswith("/accounts/login/")


def test_pages_renew_an_expired_access_cookie_silently(client, user):
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    page_login(client, user)
    expired = AccessToken.for_user(user)
    expired.set_exp(lifetime=-timedelta(seconds=1))
    client.cookies[settings.JWT_ACCESS_COOKIE] = str(expired)

    response = client.get("/accounts/profile/")

    assert response.status_code == 200
    assert response.cookies[settings.JWT_ACCESS_COOKIE].value not in ("", str(expired))
