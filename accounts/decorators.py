"""Role guards for pages, the counterparts of `accounts.permissions`.

- `login_required` (Django's): anonymous visitors go to the login page and come back.
- `seller_required`: non-sellers are sent to the "become a seller" page.
- `staff_required`: non-staff get 403.
Blocked users are anonymous to pages (`JWTCookieMiddleware`), so they fail every guard.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect


def seller_required(view):
    @login_required
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not request.user.is_seller:
            messages.info(request, "Register your store to open the seller portal.")
            return redirect("accounts:store_create")
        return view(request, *args, **kwargs)

    return guarded


def staff_required(view):
    @login_required
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return guarded
