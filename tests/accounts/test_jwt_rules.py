"""Authentication runs simplejwt's own checks (user lookup, active, password change, refresh rotation
with blacklisting) plus ours (blocked users, deleted users, the store loaded with the user)."""

from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.auth import user_from_access_token
from accounts.services.sessions import RefreshRejected, tokens_issue, tokens_rotate
from tests.accounts.test_api_auth import expired_access_for
from tests.conftest import api_login
from tests.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
ACCESS, REFRESH = settings.JWT_ACCESS_COOKIE, settings.JWT_REFRESH_COOKIE


def _expired_session(user) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    api_login(client, user)
    client.cookies[ACCESS] = expired_access_for(user)
    return client


class TestRefreshRotation:
    def test_rotation_hands_out_a_new_pair_and_the_old_refresh_token_is_then_refused(self, user):
        old = tokens_issue(user=user).refresh
        new = tokens_rotate(raw_refresh=old)
        assert new.refresh != old
        assert AccessToken(new.access)["user_id"] == str(user.pk)
        with pytest.raises(TokenError, match="blacklisted"):
            RefreshToken(old)

    @pytest.mark.parametrize("change", ["blocked", "inactive", "deleted"])
    def test_a_user_who_may_no_longer_log_in_is_logged_out_not_renewed(self, change):
        user = UserFactory()
        client = _expired_session(user)
        if change == "deleted":
            user.delete()
        else:
            setattr(user, {"blocked": "is_blocked", "inactive": "is_active"}[change], change == "blocked")
            user.save()
        response = client.get("/api/v1/auth/me/")
        assert response.status_code == 401
        assert response.cookies[ACCESS].value == ""
        assert response.cookies[REFRESH].value == ""

    def test_a_forged_refresh_token_is_refused(self):
        with pytest.raises(RefreshRejected):
            tokens_rotate(raw_refresh="not.a.token")


class TestAccessTokenUser:
    def test_the_users_store_comes_in_the_same_query(self):
        seller = StoreFactory().user
        token = AccessToken.for_user(seller)
        with CaptureQueriesContext(connection) as queries:
            assert user_from_access_token(token).active_store is not None
        assert len(queries) == 1

    def test_a_bearer_token_of_a_blocked_user_is_refused_with_its_own_code(self, bearer_client, user):
        user.is_blocked = True
        user.save()
        response = bearer_client.get("/api/v1/auth/me/")
        assert (response.status_code, response.data["code"]) == (401, "account_blocked")

    def test_an_access_cookie_from_before_a_password_change_is_refused(self, api_client, user):
        api_login(api_client, user)
        user.set_password("An0ther-Secret-Phrase")
        user.save()
        api_client.cookies.pop(REFRESH)
        assert api_client.get("/api/v1/auth/me/").status_code == 401


def test_token_internals_are_left_to_simplejwt():
    """Our code asks simplejwt to check and rotate tokens; it never does it by hand again."""
    by_hand = ["get_md5_hash_password", ".set_jti(", ".outstand(", "REVOKE_TOKEN_CLAIM", "USER_ID_CLAIM]"]
    for path in sorted((ROOT / "accounts").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert not [needle for needle in by_hand if needle in text], path
