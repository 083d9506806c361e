from django.conf import settings
from django.middleware.csrf import rotate_token
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenRefreshView

from accounts import selectors
from accounts.auth import clear_auth_cookies, client_ip, set_auth_cookies
from accounts.errors import (
    AccountBlocked,
    DefaultAddressRequired,
    InvalidCredentials,
    InvalidRefreshToken,
    LoginThrottled,
    RegistrationThrottled,
    StoreAlreadyExists,
    StoreNameTaken,
)
from accounts.models import Address
from accounts.serializers import (
    AddressSerializer,
    LoginInputSerializer,
    LogoutInputSerializer,
    MeOutputSerializer,
    RegisterInputSerializer,
    StoreInputSerializer,
    StoreOutputSerializer,
    TokenPairOutputSerializer,
)
from accounts.services.addresses import address_create, address_delete, address_set_default, address_update
from accounts.services.limits import registration_attempt_record
from accounts.services.sessions import session_login, session_logout
from accounts.services.stores import store_create
from accounts.services.users import user_register
from joycart.errors import NotFound
from joycart.openapi import api_errors, error_code


class TokenRefreshApi(TokenRefreshView):
    """simplejwt's refresh: a new access token (and, with rotation, a new refresh token) for a refresh token."""

    @api_errors(error_code(401, "token_not_valid"), error_code(401, "no_active_account"))
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


DETAIL_RESPONSE = inline_serializer("Detail", {"detail": serializers.CharField()})
# The site, the API and the admin share the login budgets (per account, and per client address).
LOGIN_REFUSALS = (InvalidCredentials, AccountBlocked, LoginThrottled)


class RegisterApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        request=RegisterInputSerializer,
        responses={201: MeOutputSerializer},
    )
    @api_errors(RegistrationThrottled)
    def post(self, request):
        # The register page counts against the same budget; counted before any field is checked.
        registration_attempt_record(ip=client_ip(request))
        serializer = RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_register(**serializer.validated_data)
        return Response(MeOutputSerializer(user).data, status=status.HTTP_201_CREATED)


def _login(request):
    serializer = LoginInputSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    return session_login(
        identifier=serializer.validated_data["username"],
        password=serializer.validated_data["password"],
        ip=client_ip(request),
    )


class LoginApi(APIView):
    """Log in with a username or e-mail. The tokens go into HttpOnly cookies, never the body."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=LoginInputSerializer, responses={200: MeOutputSerializer})
    @api_errors(*LOGIN_REFUSALS)
    def post(self, request):
        user, pair = _login(request)
        # A new CSRF secret for the new session, as django.contrib.auth.login does.
        rotate_token(request)
        response = Response(MeOutputSerializer(user).data)
        set_auth_cookies(response, pair)
        return response


class LogoutApi(APIView):
    """End the session: the refresh cookie and the body's `refresh` token are both revoked.

    An expired or already revoked token answers 200, as the session is over either way; a
    `refresh` that is no JoyCart refresh token at all answers 400 `invalid_refresh_token`.
    """

    permission_classes = [AllowAny]

    @extend_schema(
        request=LogoutInputSerializer,
        responses={200: DETAIL_RESPONSE},
    )
    @api_errors(InvalidRefreshToken)
    def post(self, request):
        serializer = LogoutInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session_logout(
            cookie_refresh=request.COOKIES.get(settings.JWT_REFRESH_COOKIE),
            body_refresh=serializer.validated_data.get("refresh"),
        )
        response = Response({"detail": "Logged out."})
        clear_auth_cookies(response)
        return response


class TokenObtainApi(APIView):
    """Tokens in the body, for non-browser clients using `Authorization: Bearer`."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=LoginInputSerializer, responses={200: TokenPairOutputSerializer})
    @api_errors(*LOGIN_REFUSALS)
    def post(self, request):
        _user, pair = _login(request)
        return Response(TokenPairOutputSerializer(pair).data)


class MeApi(APIView):
    """The caller's profile. It also hands out the CSRF cookie that scripts echo in `X-CSRFToken`."""

    @method_decorator(ensure_csrf_cookie)
    @extend_schema(responses={200: MeOutputSerializer})
    def get(self, request):
        return Response(MeOutputSerializer(request.user).data)


class StoreCreateApi(APIView):
    @extend_schema(
        request=StoreInputSerializer,
        responses={201: StoreOutputSerializer},
    )
    @api_errors(StoreAlreadyExists, StoreNameTaken)
    def post(self, request):
        serializer = StoreInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        store = store_create(user=request.user, **serializer.validated_data)
        return Response(StoreOutputSerializer(store).data, status=status.HTTP_201_CREATED)


class AddressViewSet(viewsets.ModelViewSet):
    """The caller's own addresses. Someone else's address answers 404."""

    serializer_class = AddressSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return Address.objects.none()
        return selectors.user_addresses(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = address_create(user=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = address_update(address=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        address_delete(address=instance)

    @api_errors(DefaultAddressRequired)
    def update(self, request, *args, **kwargs):
        return super().update(request, *args, **kwargs)

    @api_errors(DefaultAddressRequired)
    def partial_update(self, request, *args, **kwargs):
        return super().partial_update(request, *args, **kwargs)

    @extend_schema(request=None, responses={200: AddressSerializer})
    @api_errors(NotFound)
    @action(detail=True, methods=["post"], url_path="make-default")
    def make_default(self, request, pk=None):
        address = address_set_default(address=self.get_object())
        return Response(AddressSerializer(address).data)
