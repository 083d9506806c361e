"""The role guards every later app reuses: DRF permissions and page decorators."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from accounts.decorators import seller_required, staff_required
from accounts.permissions import IsSeller, IsStaff
from tests.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def api_view_with(permission):
    class Guarded(APIView):
        permission_classes = [permission]

        def get(self, request):
            return HttpResponse("ok")

    return Guarded.as_view()


def api_status(permission, user) -> int:
    request = APIRequestFactory().get("/guarded/")
    if user is not None:
        force_authenticate(request, user=user)
    return api_view_with(permission)(request).status_code


@pytest.mark.parametrize(
    ("permission", "who", "expected"),
    [
        (IsSeller, "anonymous", 401),
        (IsSeller, "shopper", 403),
        (IsSeller, "seller", 200),
        (IsSeller, "blocked_seller", 403),
        (IsSeller, "inactive_store", 403),
        (IsStaff, "shopper", 403),
        (IsStaff, "seller", 403),
        (IsStaff, "staff", 200),
    ],
)
def test_api_permissions(permission, who, expected):
    users = {
        "anonymous": None,
        "shopper": lambda: UserFactory(),
        "seller": lambda: StoreFactory().user,
        "blocked_seller": lambda: StoreFactory(user=UserFactory(is_blocked=True)).user,
        "inactive_store": lambda: StoreFactory(is_active=False).user,
        "staff": lambda: UserFactory(is_staff=True),
    }
    make = users[who]
    assert api_status(permission, make() if make else None) == expected


def page_request(user):
    request = RequestFactory().get("/guarded/")
    request.user = user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def ok_view(request):
    return HttpResponse("ok")


def test_seller_required_sends_shoppers_to_become_a_seller():
    response = seller_required(ok_view)(page_request(UserFactory()))
    assert response.status_code == 302
    assert response.url == "/accounts/become-a-seller/"


def test_seller_required_lets_sellers_in_and_anonymous_to_login():
    assert seller_required(ok_view)(page_request(StoreFactory().user)).status_code == 200
    assert seller_required(ok_view)(page_request(AnonymousUser())).url.startswith("/accounts/login/")


def test_staff_required_refuses_non_staff():
    with pytest.raises(PermissionDenied):
        staff_required(ok_view)(page_request(UserFactory()))
    assert staff_required(ok_view)(page_request(UserFactory(is_staff=True))).status_code == 200
