import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services.limits import local_counters
from accounts.services.users import user_block, user_unblock
from tests.conftest import api_login
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def bad_login(client, username, ip="10.0.0.1"):
    return client.post(
        "/api/v1/auth/login/", {"username": username, "password": "wrong-password"}, format="json", REMOTE_ADDR=ip
    )


def api_attempt(identifier, password, ip="10.0.0.1"):
    return APIClient().post(
        "/api/v1/auth/login/", {"username": identifier, "password": password}, format="json", REMOTE_ADDR=ip
    )


def page_attempt(identifier, password, ip="10.0.0.1"):
    return Client().post("/accounts/login/", {"username": identifier, "password": password}, REMOTE_ADDR=ip)


def admin_attempt(client, identifier, password, ip="10.0.0.1"):
    return client.post(
        "/admin/login/?next=/admin/", {"username": identifier, "password": password, "next": "/admin/"}, REMOTE_ADDR=ip
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


class TestOneBudgetPerAccount:
    def test_guesses_split_between_username_and_email_share_one_budget(self, user):
        for attempt in range(3):
            assert api_attempt(user.username, "wrong", ip=f"10.1.0.{attempt}").status_code == 401
        for attempt in range(2):
            assert api_attempt(user.email.upper(), "wrong", ip=f"10.2.0.{attempt}").status_code == 401

        for identifier in (user.username, user.email):
            response = api_attempt(identifier, TEST_PASSWORD, ip="10.3.0.1")
            assert response.status_code == 429
            assert response.data["code"] == "login_throttled"

    def test_probing_a_name_with_no_account_is_limited_and_answered_like_a_real_one(self, user):
        answers = {}
        for identifier in (user.username, "nobody-here", "nobody@example.com"):
            codes = [api_attempt(identifier, "wrong", ip=f"10.4.0.{n}").data["code"] for n in range(6)]
            answers[identifier] = codes
        assert answers[user.username] == ["invalid_credentials"] * 5 + ["login_throttled"]
        assert answers["nobody-here"] == answers["nobody@example.com"] == answers[user.username]

    def test_logging_into_your_own_account_does_not_wipe_your_address_failures(self, user):
        for attempt in range(19):
            assert api_attempt(f"victim{attempt}", "guess", ip="192.0.2.50").status_code == 401
        assert api_attempt(user.username, TEST_PASSWORD, ip="192.0.2.50").status_code == 200
        assert api_attempt("victim-19", "guess", ip="192.0.2.50").status_code == 401
        assert api_attempt("victim-20", "guess", ip="192.0.2.50").status_code == 429


class TestThreeLoginDoorsOneThrottle:
    def test_right_password_at_the_admin_after_six_wrong_is_refused_with_429_and_no_session(self, client, staff):
        for _ in range(6):
            admin_attempt(client, staff.username, "wrong")

        response = admin_attempt(client, staff.username, TEST_PASSWORD)

        assert response.status_code == 429
        assert 0 < int(response["Retry-After"]) <= settings.LOGIN_FAILURE_WINDOW_SECONDS
        assert "Too many failed login attempts" in response.content.decode()
        assert "_auth_user_id" not in client.session
        assert client.get("/admin/").status_code == 302  # still sent to the login page

    def test_wrong_passwords_at_the_admin_lock_the_site_and_the_api_for_that_account(self, client, staff):
        for _ in range(5):
            assert admin_attempt(client, staff.username, "wrong").status_code == 200

        assert api_attempt(staff.username, TEST_PASSWORD, ip="10.9.0.1").status_code == 429
        assert page_attempt(staff.email, TEST_PASSWORD, ip="10.9.0.2").status_code == 429

    def test_guesses_spread_over_the_three_doors_add_up_to_one_budget(self, staff):
        assert api_attempt(staff.username, "wrong", ip="10.5.0.1").status_code == 401
        assert api_attempt(staff.email, "wrong", ip="10.5.0.2").status_code == 401
        assert page_attempt(staff.username, "wrong", ip="10.5.0.3").status_code == 200
        assert admin_attempt(Client(), staff.username, "wrong", ip="10.5.0.4").status_code == 200
        assert admin_attempt(Client(), staff.email, "wrong", ip="10.5.0.5").status_code == 200

        assert admin_attempt(admin := Client(), staff.username, TEST_PASSWORD, ip="10.5.0.6").status_code == 429
        assert "_auth_user_id" not in admin.session
        assert api_attempt(staff.username, TEST_PASSWORD, ip="10.5.0.7").status_code == 429
        assert page_attempt(staff.username, TEST_PASSWORD, ip="10.5.0.8").status_code == 429

    def test_twenty_failures_from_one_address_across_accounts_and_doors_lock_that_address(self, staff):
        accounts = UserFactory.create_batch(20)
        for index, account in enumerate(accounts):
            door = (api_attempt, page_attempt, lambda *args, **kwargs: admin_attempt(Client(), *args, **kwargs))
            assert door[index % 3](account.username, "wrong", ip="198.51.100.9").status_code in (200, 401)

        assert api_attempt(staff.username, TEST_PASSWORD, ip="198.51.100.9").status_code == 429
        assert page_attempt(staff.username, TEST_PASSWORD, ip="198.51.100.9").status_code == 429
        assert admin_attempt(Client(), staff.username, TEST_PASSWORD, ip="198.51.100.9").status_code == 429
        # Another address is not affected, nor are the accounts themselves (one failure each).
        assert api_attempt(accounts[0].username, TEST_PASSWORD, ip="198.51.100.10").status_code == 200

    def test_admin_still_logs_staff_in_with_the_right_password(self, client, staff):
        response = admin_attempt(client, staff.username, TEST_PASSWORD)
        assert response.status_code == 302 and response["Location"] == "/admin/"
        assert client.get("/admin/").status_code == 200

    def test_blocked_staff_cannot_log_into_the_admin_and_is_told_why(self, client, staff):
        blocked = UserFactory(is_staff=True, is_blocked=True)
        response = admin_attempt(client, blocked.username, TEST_PASSWORD)
        assert response.status_code == 200
        assert "blocked" in response.content.decode()
        assert "_auth_user_id" not in client.session


@pytest.fixture
def redis_down(settings):
    """The default cache is django-redis pointed at a closed port, ignoring errors as in production."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
    }
    local_counters.clear()
    yield
    local_counters.clear()


def test_guessing_while_redis_is_down_is_still_limited_and_real_logins_still_work(redis_down, user):
    assert api_attempt(user.username, TEST_PASSWORD).status_code == 200
    for _ in range(5):
        assert api_attempt(user.username, "wrong").status_code == 401
    response = api_attempt(user.username, TEST_PASSWORD)
    assert response.status_code == 429
    assert response.data["code"] == "login_throttled"


class TestSignUpAndPasswordResetLimits:
    def test_twenty_first_sign_up_from_one_address_in_an_hour_is_429_and_creates_nobody(self, client):
        for attempt in range(20):
            mismatched = {"username": f"bot{attempt}", "email": f"bot{attempt}@example.com"}
            response = client.post("/accounts/register/", {**mismatched, "password1": "a", "password2": "b"})
            assert response.status_code == 200

        response = client.post(
            "/accounts/register/",
            {"username": "bot20", "email": "bot20@example.com", "password1": TEST_PASSWORD, "password2": TEST_PASSWORD},
        )

        assert response.status_code == 429
        assert 0 < int(response["Retry-After"]) <= 3600
        assert "Too many sign-ups" in response.content.decode()
        assert not User.objects.filter(username="bot20").exists()

    def test_sign_ups_split_between_the_page_and_the_api_share_one_budget(self, client):
        for attempt in range(10):
            client.post("/accounts/register/", {"username": f"p{attempt}", "email": "x", "password1": "a"})
            APIClient().post("/api/v1/auth/register/", {"username": f"a{attempt}"}, format="json")

        page = client.post("/accounts/register/", {"username": "late", "email": "late@example.com"})
        api = APIClient().post(
            "/api/v1/auth/register/",
            {"username": "late", "email": "late@example.com", "password": TEST_PASSWORD},
            format="json",
        )
        assert page.status_code == 429
        assert api.status_code == 429
        assert api.data["code"] == "registration_throttled"
        assert "Retry-After" in api
        assert not User.objects.filter(username="late").exists()

    def test_sign_up_limit_is_per_client_address(self, client):
        for attempt in range(20):
            client.post("/accounts/register/", {"username": f"bot{attempt}"}, REMOTE_ADDR="203.0.113.1")
        assert client.post("/accounts/register/", {}, REMOTE_ADDR="203.0.113.1").status_code == 429
        assert client.post("/accounts/register/", {}, REMOTE_ADDR="203.0.113.2").status_code == 200

    def test_mail_bombing_one_address_with_reset_requests_sends_three_mails(self, client, user):
        for spelling in (user.email, user.email.upper(), f" {user.email} ", user.email.title()):
            response = Client().post("/accounts/password-reset/", {"email": spelling}, REMOTE_ADDR="10.6.0.1")
            assert response.status_code == 302

        assert len(mail.outbox) == 3
        assert {message.to[0] for message in mail.outbox} == {user.email}

    def test_a_throttled_reset_answers_exactly_like_a_sent_one_and_an_unknown_address(self, user):
        def request_reset(email, ip):
            response = Client().post("/accounts/password-reset/", {"email": email}, REMOTE_ADDR=ip, follow=True)
            return response.redirect_chain, response.status_code, [t.name for t in response.templates]

        for attempt in range(3):
            sent = request_reset(user.email, ip=f"10.7.0.{attempt}")
        throttled = request_reset(user.email, ip="10.7.0.9")
        unknown = request_reset("nobody@example.com", ip="10.7.0.10")

        assert len(mail.outbox) == 3
        assert sent == throttled == unknown
        assert sent[0] == [("/accounts/password-reset/sent/", 302)]

    def test_eleventh_reset_request_from_one_client_address_is_429_whatever_the_address(self, user):
        for attempt in range(10):
            Client().post("/accounts/password-reset/", {"email": f"probe{attempt}@example.com"}, REMOTE_ADDR="10.8.0.1")

        for email in (user.email, "nobody@example.com"):
            response = Client().post("/accounts/password-reset/", {"email": email}, REMOTE_ADDR="10.8.0.1")
            assert response.status_code == 429
            assert "Retry-After" in response
            assert "Too many password reset requests" in response.content.decode()
        assert mail.outbox == []
        other = Client().post("/accounts/password-reset/", {"email": user.email}, REMOTE_ADDR="10.8.0.2")
        assert other.status_code == 302 and len(mail.outbox) == 1


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
