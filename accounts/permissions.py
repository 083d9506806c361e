"""Role guards for the API. Every later app reuses these.

Blocked users never get this far: `JWTCookieAuthentication` refuses their tokens.
The checks repeat `is_blocked` anyway so a guard stays safe whatever authenticated the user.

- `IsActiveUser`: logged in and not blocked (the default for shopper endpoints).
- `IsSeller`: has an active store; scope querysets with `request.user.store`.
- `IsStaff`: a JoyCart admin.
"""

from rest_framework.permissions import BasePermission


def _is_active_user(user) -> bool:
    return bool(user and user.is_authenticated and not user.is_blocked)


class IsActiveUser(BasePermission):
    def has_permission(self, request, view) -> bool:
        return _is_active_user(request.user)


class IsSeller(BasePermission):
    message = "Only sellers can do this. Register a store first."

    def has_permission(self, request, view) -> bool:
        return _is_active_user(request.user) and request.user.is_seller


class IsStaff(BasePermission):
    message = "Only admins can do this."

    def has_permission(self, request, view) -> bool:
        return _is_active_user(request.user) and request.user.is_staff
