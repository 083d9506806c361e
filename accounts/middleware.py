from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.utils.functional import SimpleLazyObject
from rest_framework_simplejwt.exceptions import AuthenticationFailed

from accounts.auth import (
    TokenPair,
    access_token_or_none,
    clear_auth_cookies,
    set_auth_cookies,
    user_checked,
    user_from_access_token,
)
from accounts.services.sessions import RefreshRejected, tokens_rotate
from accounts.user_snapshot import page_user

ADMIN_PREFIX = "/admin/"


class JWTCookieMiddleware:
    """Keeps the browser's JWT cookies alive and turns them into `request.user` for pages.

    - An expired or missing access cookie is renewed silently from a valid refresh cookie
      (rotated, the old one blacklisted); the new pair is set on the response.
    - A refresh that fails, or a token whose user is now blocked, logs the browser out:
      both cookies are cleared.
    - The Django admin keeps its own session login, so its paths are left alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.jwt_rotated = None
        request.jwt_clear = False
        self._renew_or_drop_expired_access(request)
        if not request.path.startswith(ADMIN_PREFIX):
            request.user = SimpleLazyObject(lambda: self._cookie_user(request))
        response = self.get_response(request)
        if settings.JWT_ACCESS_COOKIE in response.cookies:
            return response  # the view (login, logout, password change) already decided
        if request.jwt_clear:
            clear_auth_cookies(response)
        elif request.jwt_rotated is not None:
            set_auth_cookies(response, request.jwt_rotated)
        return response

    def _renew_or_drop_expired_access(self, request) -> None:
        request.jwt_access_token = access_token_or_none(request.COOKIES.get(settings.JWT_ACCESS_COOKIE))
        if request.jwt_access_token is not None:
            return
        if settings.JWT_REFRESH_COOKIE not in request.COOKIES:
            if request.COOKIES.pop(settings.JWT_ACCESS_COOKIE, None) is not None:
                request.jwt_clear = True
            return
        try:
            pair: TokenPair = tokens_rotate(raw_refresh=request.COOKIES[settings.JWT_REFRESH_COOKIE])
        except RefreshRejected:
            request.jwt_clear = True
            request.COOKIES.pop(settings.JWT_ACCESS_COOKIE, None)
            request.COOKIES.pop(settings.JWT_REFRESH_COOKIE, None)
            return
        # Later layers (DRF authentication, the lazy user below) read the renewed token.
        request.COOKIES[settings.JWT_ACCESS_COOKIE] = pair.access
        request.COOKIES[settings.JWT_REFRESH_COOKIE] = pair.refresh
        request.jwt_rotated = pair
        request.jwt_access_token = access_token_or_none(pair.access)

    def _cookie_user(self, request):
        # Decoded once above: verifying the signature again would cost as much as the first time.
        token = request.jwt_access_token
        if token is None:
            return AnonymousUser()
        try:
            if request.method in ("GET", "HEAD"):
                # A safe request changes no cart, so the nav's badge comes with the user, from a
                # snapshot every change to them forgets; a request that writes starts from the rows.
                return page_user(token, load=_user_with_cart_count, check=user_checked)
            return user_from_access_token(token)
        except AuthenticationFailed as exc:
            request.jwt_clear = True
            if exc.get_codes() == "account_blocked":
                messages.error(request, "Your account is blocked, so you have been logged out.", fail_silently=True)
            return AnonymousUser()


def _user_with_cart_count(token):
    return user_from_access_token(token, with_cart_count=True)
