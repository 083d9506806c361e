"""Logging in and out: the credential check every login door shares, and the JWT pair a session carries."""

import contextlib
import hashlib

from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.core.cache import cache
from django.db import transaction
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.auth import TokenPair
from accounts.errors import AccountBlocked, InvalidCredentials, InvalidRefreshToken
from accounts.models import User
from accounts.services.limits import login_attempt_reserve, login_attempt_succeeded

# Concurrent requests from one browser may all carry the same expiring refresh token.
# The first rotates it; the others reuse that result for a few seconds instead of
# failing on the now-blacklisted token and logging the user out.
ROTATION_GRACE_SECONDS = 30


class RefreshRejected(Exception):
    """The refresh token is invalid, expired, blacklisted, or its user may not log in."""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


# --- Tokens ---------------------------------------------------------------------------


def tokens_issue(*, user: User) -> TokenPair:
    refresh = RefreshToken.for_user(user)
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))


def tokens_rotate(*, raw_refresh: str) -> TokenPair:
    """Exchange a refresh token for a new pair, blacklisting the old one."""
    grace_key = f"jwt-rotated:{_digest(raw_refresh)}"
    rotated = cache.get(grace_key)
    if rotated is not None:
        if _is_blacklisted(rotated.refresh):
            raise RefreshRejected("The session has ended.")
        return rotated
    try:
        # simplejwt's own refresh, as /auth/token/refresh/ runs it: the token must be valid and not
        # blacklisted, its user must pass USER_AUTHENTICATION_RULE, and the old token is blacklisted
        # as the new one is recorded (ROTATE_REFRESH_TOKENS, BLACKLIST_AFTER_ROTATION).
        with transaction.atomic():
            issued = TokenRefreshSerializer().validate({"refresh": raw_refresh})
    except (TokenError, AuthenticationFailed) as exc:
        raise RefreshRejected(str(exc)) from exc
    except User.DoesNotExist as exc:  # deleted since the token was issued
        raise RefreshRejected("This account may not log in.") from exc
    rotated = TokenPair(access=issued["access"], refresh=issued["refresh"])
    cache.set(grace_key, rotated, timeout=ROTATION_GRACE_SECONDS)
    return rotated


def _is_blacklisted(raw_refresh: str) -> bool:
    try:
        RefreshToken(raw_refresh)
    except TokenError:
        return True
    return False


def tokens_revoke_all(*, user: User) -> int:
    """Blacklist every live refresh token of a user (block, password change)."""
    outstanding = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    created = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    return len(created)


# --- Login and logout -----------------------------------------------------------------


def credentials_verify(*, identifier: str, password: str, ip: str) -> User:
    """The one password check behind every login door: the site, the API and the admin.

    The attempt is drawn from the failure budgets before the hasher runs, so parallel guesses
    cannot outrun the limit; a wrong password leaves that attempt spent.
    """
    reservation = login_attempt_reserve(identifier=identifier, ip=ip)
    user = authenticate(request=None, username=identifier, password=password)
    if user is None:
        raise InvalidCredentials()
    login_attempt_succeeded(reservation)
    if user.is_blocked:
        raise AccountBlocked()
    return user


def session_login(*, identifier: str, password: str, ip: str) -> tuple[User, TokenPair]:
    """Check credentials and open a session; the caller puts the pair into cookies or a body."""
    user = credentials_verify(identifier=identifier, password=password, ip=ip)
    update_last_login(None, user)
    return user, tokens_issue(user=user)


def _refresh_token_revoke(raw_refresh: str) -> None:
    """Blacklist a refresh token a client names; InvalidRefreshToken if it is not one of ours at all.

    A client that sent the wrong thing (its access token, a truncated string) must hear so,
    or it would believe a session over that still lives. An expired or already blacklisted
    refresh token is fine: that session is over either way.
    """
    try:
        payload = token_backend.decode(raw_refresh)
    except TokenBackendExpiredToken:
        return
    except TokenBackendError as exc:
        raise InvalidRefreshToken() from exc
    if payload.get(jwt_settings.TOKEN_TYPE_CLAIM) != RefreshToken.token_type:
        raise InvalidRefreshToken()
    with contextlib.suppress(TokenError):
        RefreshToken(raw_refresh).blacklist()


def session_logout(*, cookie_refresh: str | None, body_refresh: str | None = None) -> None:
    """End the session: every refresh token the request carries can never be used again.

    Browsers carry theirs in the cookie; Bearer clients send theirs in the body. The cookie is
    revoked quietly whatever it holds (an expired or blacklisted one means the session is over
    already), and only after the body's token was accepted, so a rejected request changes nothing.
    """
    if body_refresh is not None:
        _refresh_token_revoke(body_refresh)
    if not cookie_refresh:
        return
    with contextlib.suppress(TokenError):
        RefreshToken(cookie_refresh).blacklist()
