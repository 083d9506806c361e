from datetime import timedelta

import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import User
from tests.conftest import api_login, csrf_token
from tests.factories import TEST_PASSWORD, StoreFactory

pytestmark = pytest.mark.django_db

ACCESS = settings.JWT_ACCESS_COOKIE
REFRESH = settings.JWT_REFRESH_COOKIE


def expired_access_for(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=5))
    return str(token)


class TestRegister:
    def test_creates_a_shopper_and_answers_201(self, api_client):
        response = api_client.post(
            "/api/v1/auth/register/",
            {"username": "asha", "email": "Asha@Example.com", "password": TEST_PASSWORD},
            format="json",
        )
        assert response.status_code == 201
        assert response.data["username"] == "asha"
        assert response.data["is_seller"] is False
        assert "password" not in response.data
        assert User.objects.get(username="asha").check_password(TEST_PASSWORD)

    def test_weak_password_is_refused_with_a_field_error(self, api_client):
        response = api_client.post(
            "/api/v1/auth/register/",
            {"username": "asha", "email": "a@example.com", "password": "12345678"},
            format="json",
        )
        assert response.status_code == 400
        assert "password" in response.data
        assert not User.objects.filter(username="asha").exists()

    def test_email_is_unique_regardless_of_case(self, api_client, user):
        response = api_client.post(
            "/api/v1/auth/register/",
            {"username": "newname", "email": user.email.upper(), "password": TEST_PASSWORD},
            format="json",
        )
        assert response.status_code == 400
        assert response.data["email"][0].code == "email_taken"

    def test_username_is_unique_regardless_of_case(self, api_client, user):
        response = api_client.post(
            "/api/v1/auth/register/",
            {"username": user.username.upper(), "email": "fresh@example.com", "password": TEST_PASSWORD},
            format="json",
        )
        assert response.status_code == 400
        assert response.data["username"][0].code == "username_taken"

    def test_username_with_at_sign_is_refused(self, api_client):
        response = api_client.post(
            "/api/v1/auth/register/",
            {"username": "a@b", "email": "ab@example.com", "password": TEST_PASSWORD},
            format="json",
        )
        assert response.status_code == 400
        assert "username" in response.data


class TestLogin:
    def test_sets_httponly_lax_cookies_and_keeps_tokens_out_of_the_body(self, api_client, user):
        response = api_login(api_client, user)
        assert response.data["username"] == user.username
        assert "access" not in response.data and "refresh" not in response.data
        for name in (ACCESS, REFRESH):
            cookie = response.cookies[name]
            assert cookie["httponly"] is True
            assert cookie["samesite"] == "Lax"
        # DEBUG is off under pytest-django, which is how production runs.
        assert response.cookies[ACCESS]["secure"] is True

    def test_cookies_are_not_secure_in_debug_for_local_http(self, api_client, user, settings):
        settings.DEBUG = True
        response = api_login(api_client, user)
        assert not response.cookies[ACCESS]["secure"]

    def test_access_cookie_lives_minutes_and_refresh_days(self, api_client, user):
        response = api_login(api_client, user)
        assert 5 * 60 <= int(response.cookies[ACCESS]["max-age"]) <= 15 * 60
        assert int(response.cookies[REFRESH]["max-age"]) >= 24 * 3600

    def test_login_by_email_any_case(self, api_client, user):
        response = api_client.post(
            "/api/v1/auth/login/", {"username": user.email.upper(), "password": TEST_PASSWORD}, format="json"
        )
        assert response.status_code == 200

    def test_wrong_password_is_401_with_a_code(self, api_client, user):
        response = api_client.post(
            "/api/v1/auth/login/", {"username": user.username, "password": "nope"}, format="json"
        )
        assert response.status_code == 401
        assert response.data["code"] == "invalid_credentials"
        assert ACCESS not in response.cookies

    def test_me_returns_the_profile_with_the_store(self, api_client):
        store = StoreFactory(name="Kala Kendra")
        api_login(api_client, store.user)
        response = api_client.get("/api/v1/auth/me/")
        assert response.status_code == 200
        assert set(response.data) >= {"id", "username", "email", "is_seller", "store", "is_staff"}
        assert response.data["is_seller"] is True
        assert response.data["store"]["name"] == "Kala Kendra"
        assert response.data["is_staff"] is False

    def test_me_without_login_is_401(self, api_client):
        response = api_client.get("/api/v1/auth/me/")
        assert response.status_code == 401
        assert response.data["code"] == "not_authenticated"


class TestRefresh:
    def test_expired_access_cookie_is_renewed_silently_from_the_refresh_cookie(self, api_client, user):
        api_login(api_client, user)
        old_refresh = api_client.cookies[REFRESH].value
        api_client.cookies[ACCESS] = expired_access_for(user)

        response = api_client.get("/api/v1/auth/me/")

        assert response.status_code == 200
        assert response.data["username"] == user.username
        assert response.cookies[ACCESS].value != ""
        assert response.cookies[REFRESH].value not in ("", old_refresh)
        assert AccessToken(response.cookies[ACCESS].value)["user_id"] == str(user.pk)

    def test_rotated_refresh_token_is_blacklisted(self, api_client, user):
        api_login(api_client, user)
        old_refresh = api_client.cookies[REFRESH].value
        api_client.cookies[ACCESS] = expired_access_for(user)
        api_client.get("/api/v1/auth/me/")

        bearer = APIClient()
        response = bearer.post("/api/v1/auth/token/refresh/", {"refresh": old_refresh}, format="json")
        assert response.status_code == 401

    def test_expired_access_without_refresh_is_401_and_clears_the_cookie(self, api_client, user):
        api_client.cookies[ACCESS] = expired_access_for(user)
        response = api_client.get("/api/v1/auth/me/")
        assert response.status_code == 401
        assert response.cookies[ACCESS].value == ""

    def test_concurrent_requests_with_the_same_refresh_cookie_stay_logged_in(self, user):
        """Two tabs renewing at once must not log each other out."""
        api_login(first := APIClient(), user)
        second = APIClient()
        second.cookies[REFRESH] = first.cookies[REFRESH].value
        for client in (first, second):
            client.cookies[ACCESS] = expired_access_for(user)

        assert first.get("/api/v1/auth/me/").status_code == 200
        assert second.get("/api/v1/auth/me/").status_code == 200


class TestLogout:
    def test_logout_clears_cookies_and_blacklists_the_refresh_token(self, logged_in_client, user):
        refresh = logged_in_client.cookies[REFRESH].value
        response = logged_in_client.post("/api/v1/auth/logout/")
        assert response.status_code == 200
        assert response.cookies[ACCESS].value == ""
        assert response.cookies[REFRESH].value == ""

        reuse = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")
        assert reuse.status_code == 401

    def test_refresh_cookie_reused_after_logout_does_not_log_back_in(self, logged_in_client, user):
        refresh = logged_in_client.cookies[REFRESH].value
        logged_in_client.post("/api/v1/auth/logout/")

        thief = APIClient()
        thief.cookies[REFRESH] = refresh
        response = thief.get("/api/v1/auth/me/")
        assert response.status_code == 401

    def test_a_rotated_token_cannot_revive_a_logged_out_session(self, api_client, user):
        api_login(api_client, user)
        old_refresh = api_client.cookies[REFRESH].value
        api_client.cookies[ACCESS] = expired_access_for(user)
        api_client.get("/api/v1/auth/me/")  # rotates; the old token now maps to the new pair for a few seconds
        api_client.credentials(HTTP_X_CSRFTOKEN=csrf_token(api_client))
        api_client.post("/api/v1/auth/logout/")

        replay = APIClient()
        replay.cookies[REFRESH] = old_refresh
        assert replay.get("/api/v1/auth/me/").status_code == 401


class TestBearerLogout:
    """Bearer clients hold their refresh token in memory, not a cookie, and revoke it by naming it."""

    def test_stolen_refresh_token_is_useless_after_the_bearer_client_logs_out_with_it(self, user):
        pair = (
            APIClient()
            .post("/api/v1/auth/token/", {"username": user.username, "password": TEST_PASSWORD}, format="json")
            .data
        )
        client = APIClient(enforce_csrf_checks=True)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")

        response = client.post("/api/v1/auth/logout/", {"refresh": pair["refresh"]}, format="json")

        assert response.status_code == 200
        reuse = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
        assert reuse.status_code == 401

    def test_logout_with_a_token_that_is_not_a_refresh_token_is_400_not_a_false_all_clear(self, user):
        pair = (
            APIClient()
            .post("/api/v1/auth/token/", {"username": user.username, "password": TEST_PASSWORD}, format="json")
            .data
        )
        for wrong in (pair["access"], "not-a-token", pair["refresh"][:-4] + "AAAA"):
            response = APIClient().post("/api/v1/auth/logout/", {"refresh": wrong}, format="json")
            assert response.status_code == 400, wrong
            assert response.data["code"] == "invalid_refresh_token"
        # Nothing was revoked by the refused requests.
        assert (
            APIClient().post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json").status_code
            == 200
        )

    def test_logging_out_twice_or_with_an_expired_refresh_token_is_still_200(self, user):
        refresh = RefreshToken.for_user(user)
        expired = RefreshToken.for_user(user)
        expired.set_exp(lifetime=-timedelta(seconds=5))
        for raw in (str(refresh), str(refresh), str(expired)):
            assert APIClient().post("/api/v1/auth/logout/", {"refresh": raw}, format="json").status_code == 200

    def test_logout_body_and_cookie_are_both_revoked(self, logged_in_client, user):
        cookie_refresh = logged_in_client.cookies[REFRESH].value
        other_device = str(RefreshToken.for_user(user))

        assert (
            logged_in_client.post("/api/v1/auth/logout/", {"refresh": other_device}, format="json").status_code == 200
        )

        for raw in (cookie_refresh, other_device):
            assert APIClient().post("/api/v1/auth/token/refresh/", {"refresh": raw}, format="json").status_code == 401


class TestBearerTokens:
    def test_token_endpoint_returns_a_pair_that_works_as_bearer(self, api_client, user):
        response = api_client.post(
            "/api/v1/auth/token/", {"username": user.username, "password": TEST_PASSWORD}, format="json"
        )
        assert response.status_code == 200
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.data['access']}")
        assert client.get("/api/v1/auth/me/").data["username"] == user.username

    def test_refresh_endpoint_rotates(self, user):
        refresh = RefreshToken.for_user(user)
        response = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": str(refresh)}, format="json")
        assert response.status_code == 200
        assert response.data["refresh"] != str(refresh)

    def test_tokens_issued_before_a_password_change_stop_working(self, bearer_client, user):
        user.set_password("An0ther-Long-Secret")
        user.save()
        assert bearer_client.get("/api/v1/auth/me/").status_code == 401


class TestCsrf:
    def test_cookie_authenticated_post_without_csrf_token_is_403(self, api_client, user):
        api_login(api_client, user)
        response = api_client.post("/api/v1/stores/", {"name": "No Token Traders"}, format="json")
        assert response.status_code == 403
        assert "CSRF" in response.data["detail"]
        assert not hasattr(User.objects.get(pk=user.pk), "store")

    def test_cookie_authenticated_post_with_csrf_token_works(self, logged_in_client):
        response = logged_in_client.post("/api/v1/stores/", {"name": "Token Traders"}, format="json")
        assert response.status_code == 201

    def test_bearer_post_needs_no_csrf_token(self, bearer_client):
        response = bearer_client.post("/api/v1/stores/", {"name": "Bearer Bazaar"}, format="json")
        assert response.status_code == 201

    def test_safe_requests_need_no_csrf_token(self, api_client, user):
        api_login(api_client, user)
        assert api_client.get("/api/v1/auth/me/").status_code == 200
