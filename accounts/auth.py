"""JWT in HttpOnly cookies, shared by pages and the API.

- Browsers carry the access and refresh tokens in two HttpOnly, SameSite=Lax cookies
  (Secure unless DEBUG). Cookie-authenticated unsafe API requests must pass the CSRF check.
- Other clients send `Authorization: Bearer <access>`; no CSRF applies to them.
- `accounts.middleware.JWTCookieMiddleware` refreshes an expired access cookie from the
  refresh cookie, and makes `request.user` the cookie's user for pages.
"""

import functools
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from rest_framework.authentication import SessionAuthentication
from rest_framework.throttling import BaseThrottle
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import AccessToken, Token
from rest_framework_simplejwt.utils import aware_utcnow

from cart.selectors import NAV_CART_COUNT, cart_item_count_of


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str


def user_may_authenticate(user) -> bool:
    """simplejwt's USER_AUTHENTICATION_RULE: blocked and inactive users get no tokens."""
    return user is not None and user.is_active and not user.is_blocked


def client_ip(request) -> str:
    """DRF's NUM_PROXIES-aware address, the one its throttles use.

    ASGI servers on a unix socket report no client address; such requests share one bucket.
    """
    return BaseThrottle().get_ident(request) or "unknown"


def _cookie_kwargs() -> dict:
    return {"httponly": True, "secure": not settings.DEBUG, "samesite": "Lax", "path": "/"}


def set_auth_cookies(response: HttpResponse, pair: TokenPair) -> None:
    response.set_cookie(
        settings.JWT_ACCESS_COOKIE,
        pair.access,
        max_age=int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds()),
        **_cookie_kwargs(),
    )
    response.set_cookie(
        settings.JWT_REFRESH_COOKIE,
        pair.refresh,
        max_age=int(jwt_settings.REFRESH_TOKEN_LIFETIME.total_seconds()),
        **_cookie_kwargs(),
    )


def clear_auth_cookies(response: HttpResponse) -> None:
    for name in (settings.JWT_ACCESS_COOKIE, settings.JWT_REFRESH_COOKIE):
        response.delete_cookie(name, path="/", samesite="Lax")


class _UsersWithStore:
    """Where simplejwt's `get_user` looks the token's user up: our users, each with its store,
    which most requests read (`active_store`) and would otherwise fetch in a query of its own."""

    DoesNotExist = get_user_model().DoesNotExist
    objects = get_user_model().objects.select_related("store")


class _UsersWithStoreAndCart(_UsersWithStore):
    """And the nav's cart badge, which every page shows, in the same query."""

    objects = _UsersWithStore.objects.annotate(**{NAV_CART_COUNT: cart_item_count_of("pk")})


def user_from_access_token(token: Token, *, with_cart_count: bool = False):
    """The token's user, by simplejwt's own checks (the user exists and is active, and the token is
    not older than a password change: CHECK_REVOKE_TOKEN), and ours: a blocked user is refused.

    `with_cart_count` loads the nav's cart badge with the user; only for a request that cannot
    change the cart, since the count is the one from before the view ran."""
    authentication = JWTCookieAuthentication()
    if with_cart_count:
        authentication.user_model = _UsersWithStoreAndCart
    return authentication.get_user(token)


class _OneUser:
    """A user lookup for simplejwt that answers with a user already in hand (a cached snapshot), so
    `user_checked` runs exactly the checks of the database path on it."""

    DoesNotExist = get_user_model().DoesNotExist

    def __init__(self, user) -> None:
        self.objects = self
        self.user = user

    def get(self, **lookup):
        if [str(value) for value in lookup.values()] != [str(self.user.pk)]:
            raise self.DoesNotExist
        return self.user


def user_checked(token: Token, user):
    """`user`, if this token may act as it (see user_from_access_token); else AuthenticationFailed."""
    authentication = JWTCookieAuthentication()
    authentication.user_model = _OneUser(user)
    return authentication.get_user(token)


# Decoding and verifying a token cost as much CPU as the rest of a cached page. A token verified once
# stays genuine (only its expiry can change; access tokens have no blacklist), so each process
# remembers the last ones it verified and checks only their expiry again.
VERIFIED_TOKENS_KEPT = 1024


@functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)
def _verified_access_token(raw: str) -> AccessToken | None:
    try:
        return AccessToken(raw)
    except TokenError:
        # An undecodable, expired or wrong-type token simply means "no token".
        return None


def access_token_or_none(raw: str | None) -> AccessToken | None:
    if not raw:
        return None
    token = _verified_access_token(raw)
    if token is None:
        return None
    try:
        token.check_exp(current_time=aware_utcnow())
    except TokenError:
        return None
    return token


class JWTCookieAuthentication(JWTAuthentication):
    """Bearer header first; otherwise the access cookie, with DRF's CSRF check."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user_model = _UsersWithStore

    def authenticate(self, request):
        from_header = super().authenticate(request)
        if from_header is not None:
            return from_header
        token = access_token_or_none(request.COOKIES.get(settings.JWT_ACCESS_COOKIE))
        if token is None:
            # A stale cookie is no identity at all; protected endpoints answer 401.
            return None
        user = self.get_user(token)
        SessionAuthentication().enforce_csrf(request)
        return user, token

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if user.is_blocked:
            raise AuthenticationFailed("This account is blocked.", code="account_blocked")
        return user
