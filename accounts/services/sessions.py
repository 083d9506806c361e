"""Logging in and out: credentials, throttling, and the JWT pair a session carries."""

import hashlib
import time

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.core.cache import cache
from django.db import transaction
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.auth import TokenPair, user_may_authenticate
from accounts.errors import AccountBlocked, InvalidCredentials, LoginThrottled
from accounts.models import User

# Concurrent requests from one browser may all carry the same expiring refresh token.
# The first rotates it; the others reuse that result for a few seconds instead of
# failing on the now-blacklisted token and logging the user out.
ROTATION_GRACE_SECONDS = 30


class RefreshRejected(Exception):
    """The refresh token is invalid, expired, blacklisted, or its user may not log in."""


# --- Failed-login throttling ----------------------------------------------------------


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _failure_keys(*, username: str, ip: str) -> list[tuple[str, int]]:
    return [
        (f"login-fail:user:{_digest(username.strip().lower())}", settings.LOGIN_FAILURES_PER_USERNAME),
        (f"login-fail:ip:{_digest(ip)}", settings.LOGIN_FAILURES_PER_IP),
    ]


def login_throttle_check(*, username: str, ip: str) -> None:
    """Refuse an attempt once a username or an IP has used up its failures for the window."""
    now = time.time()
    for key, limit in _failure_keys(username=username, ip=ip):
        if (cache.get(key) or 0) >= limit:
            window_ends_at = cache.get(f"{key}:ends") or now + settings.LOGIN_FAILURE_WINDOW_SECONDS
            raise LoginThrottled(retry_after=max(1, int(window_ends_at - now) + 1))


def login_failure_record(*, username: str, ip: str) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    for key, _limit in _failure_keys(username=username, ip=ip):
        # The window opens at the first failure; `add` never resets a running one.
        cache.add(f"{key}:ends", time.time() + window, timeout=window)
        cache.add(key, 0, timeout=window)
        try:
            cache.incr(key)
        except ValueError:
            # The key expired between add and incr: this failure opens a new window.
            cache.set(key, 1, timeout=window)


def login_failures_clear(*, username: str) -> None:
    key, _limit = _failure_keys(username=username, ip="")[0]
    cache.delete_many([key, f"{key}:ends"])


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
        refresh = RefreshToken(raw_refresh)
    except TokenError as exc:
        raise RefreshRejected(str(exc)) from exc
    user = User.objects.filter(pk=refresh.get("user_id")).first()
    if not user_may_authenticate(user):
        raise RefreshRejected("This account may not log in.")
    with transaction.atomic():
        refresh.blacklist()
        refresh.set_jti()
        refresh.set_exp()
        refresh.set_iat()
        refresh.outstand()
    rotated = TokenPair(access=str(refresh.access_token), refresh=str(refresh))
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


def session_login(*, identifier: str, password: str, ip: str) -> tuple[User, TokenPair]:
    """Check credentials and open a session; the caller puts the pair into cookies or a body."""
    login_throttle_check(username=identifier, ip=ip)
    user = authenticate(request=None, username=identifier, password=password)
    if user is None:
        login_failure_record(username=identifier, ip=ip)
        raise InvalidCredentials()
    if user.is_blocked:
        raise AccountBlocked()
    login_failures_clear(username=identifier)
    update_last_login(None, user)
    return user, tokens_issue(user=user)


def session_logout(*, raw_refresh: str | None) -> None:
    """End the session: its refresh token can never be used again."""
    if not raw_refresh:
        return
    try:
        RefreshToken(raw_refresh).blacklist()
    except TokenError:
        # Already expired or blacklisted: the session is over either way.
        return
