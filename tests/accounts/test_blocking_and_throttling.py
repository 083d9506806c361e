import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.services.users import user_block, user_unblock
from tests.conftest import api_login
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def bad_login(client, username, ip="10.0.0.1"):
    return client.post(
        "/api/v1/auth/login/", {"username": username, "password": "wrong-password"}, format="json", REMOTE_ADDR=ip
    )


class TestBlockedUsers:
    def test_login_is_refused_with_a_message_saying_blocked(self, api_client, user, staff):
        user_block(actor=staff, user=user)
        response = api_client.post(
            "/api/v1/auth/login/", {"username": user.username, "password": TEST_PASSWORD}, format="json"
        )
        assert response.status_code == 403
        assert response.data["code"] == "account_blocked"
        assert "blocked" in response.data["detail"]
        assert settings.JWT_ACCESS_COOKIE not in response.cookies

    def test_blocked_user_gets_no_bearer_token_either(self, api_client, user, staff):
        user_block(actor=staff, user=user)
        response = api_client.post(
            "/api/v1/auth/token/", {"username": user.username, "password": TEST_PASSWORD}, format="json"
        )
        assert response.status_code == 403

    def test_cookie_issued_before_the_block_is_rejected_on_the_next_request(self, api_client, user, staff):
        api_login(api_client, user)
        assert api_client.get("/api/v1/auth/me/").status_code == 200

        user_block(actor=staff, user=user)

        response = api_client.get("/api/v1/auth/me/")
        assert response.status_code in (401, 403)
        assert response.data["code"] == "account_blocked"

    def test_bearer_token_issued_before_the_block_is_rejected(self, bearer_client, user, staff):
        user_block(actor=staff, user=user)
        assert bearer_client.get("/api/v1/auth/me/").status_code in (401, 403)

    def test_refresh_tokens_are_revoked_by_the_block(self, user, staff):
        client = APIClient()
        response = client.post(
            "/api/v1/auth/token/", {"username": user.username, "password": TEST_PASSWORD}, format="json"
        )
        refresh = response.data["refresh"]
        user_block(actor=staff, user=user)
        user_unblock(actor=staff, user=user)
        # Unblocking does not resurrect sessions opened before the block.
        assert client.post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json").status_code == 401

    def test_pages_log_a_blocked_user_out(self, client, user, staff):
        client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
        assert client.get("/accounts/profile/").status_code == 200

        user_block(actor=staff, user=user)

        response = client.get("/accounts/profile/")
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")
        assert response.cookies[settings.JWT_ACCESS_COOKIE].value == ""


class TestLoginThrottling:
    def test_sixth_failure_for_one_username_is_429_with_retry_after(self, api_client, user):
        for attempt in range(5):
            assert bad_login(api_client, user.username, ip=f"10.0.0.{attempt}").status_code == 401
        response = bad_login(api_client, user.username, ip="10.0.0.99")
        assert response.status_code == 429
        assert response.data["code"] == "login_throttled"
        assert 0 < int(response["Retry-After"]) <= 600

    def test_even_the_right_password_waits_once_throttled(self, api_client, user):
        for _ in range(5):
            bad_login(api_client, user.username)
        response = api_client.post(
            "/api/v1/auth/login/", {"username": user.username, "password": TEST_PASSWORD}, format="json"
        )
        assert response.status_code == 429

    def test_username_counter_ignores_case(self, api_client, user):
        for attempt in range(5):
            bad_login(api_client, user.username.upper() if attempt % 2 else user.username)
        assert bad_login(api_client, user.username).status_code == 429

    def test_twenty_first_failure_from_one_ip_is_429(self, api_client):
        for attempt in range(20):
            assert bad_login(api_client, f"nobody{attempt}", ip="192.0.2.7").status_code == 401
        assert bad_login(api_client, "someone-new", ip="192.0.2.7").status_code == 429
        assert bad_login(api_client, "someone-new", ip="192.0.2.8").status_code == 401

    def test_a_successful_login_resets_the_username_counter(self, api_client, user):
        for _ in range(4):
            bad_login(api_client, user.username)
        api_login(api_client, user)
        for _ in range(5):
            assert bad_login(APIClient(), user.username).status_code == 401

    def test_token_endpoint_is_throttled_too(self, api_client, user):
        for _ in range(5):
            api_client.post("/api/v1/auth/token/", {"username": user.username, "password": "x"}, format="json")
        response = api_client.post(
            "/api/v1/auth/token/", {"username": user.username, "password": TEST_PASSWORD}, format="json"
        )
        assert response.status_code == 429

    def test_login_page_is_throttled_with_a_form_error(self, client, user):
        for _ in range(5):
            client.post("/accounts/login/", {"username": user.username, "password": "wrong"})
        response = client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
        assert response.status_code == 429
        assert "Retry-After" in response
        assert "Too many failed login attempts" in response.content.decode()


def test_login_without_a_client_address_is_refused_cleanly_not_a_500(user):
    from django.test import RequestFactory

    from accounts.api import LoginApi

    def attempt():
        request = RequestFactory().post(
            "/api/v1/auth/login/", {"username": user.username, "password": "wrong"}, content_type="application/json"
        )
        del request.META["REMOTE_ADDR"]  # as an ASGI server on a unix socket delivers it
        return LoginApi.as_view()(request)

    assert attempt().status_code == 401
