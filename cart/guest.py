"""A visitor's cart, kept in a signed cookie rather than the database or the session.

So browsing anonymously writes no rows and the nav badge costs no query. The cookie holds
`<variant id>:<quantity>` pairs joined by commas, in the order they were added
(`"12:3,40:1"`), signed with Django's `signing` under its own salt and timestamped, so it
can be neither forged nor replayed after 30 days. A cookie that fails any check reads as an
empty cart; so does one signed before carts held variants (its ids were products'), since the
salt names the variant format. Prices are never in it: the cart page always shows current prices.
"""

import re
from contextlib import suppress
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse

from accounts.models import User
from cart.errors import InvalidQuantity
from cart.models import MAX_LINES
from cart.services import cart_merge_guest, quantity_clean

GUEST_CART_COOKIE = "joycart_guest_cart"
GUEST_CART_SALT = "joycart.guest-cart.variants"
GUEST_CART_MAX_AGE = timedelta(days=30)

_PAIR = re.compile(r"([1-9]\d{0,18}):([1-9]\d?)", re.ASCII)
_REQUEST_CACHE = "_guest_cart_lines"


def _encode(lines: dict[int, int]) -> str:
    return ",".join(f"{variant_id}:{quantity}" for variant_id, quantity in lines.items())


def _decode(value: str) -> dict[int, int]:
    lines: dict[int, int] = {}
    for pair in value.split(",")[:MAX_LINES]:
        match = _PAIR.fullmatch(pair)
        if match is None:
            continue
        with suppress(InvalidQuantity):  # a cookie from before a rule changed: drop the line
            lines[int(match[1])] = quantity_clean(match[2])
    return lines


def guest_cart_read(request: HttpRequest) -> dict[int, int]:
    """The visitor's lines, `{variant_id: quantity}`; read once per request."""
    if not hasattr(request, _REQUEST_CACHE):
        value = request.get_signed_cookie(
            GUEST_CART_COOKIE, default="", salt=GUEST_CART_SALT, max_age=GUEST_CART_MAX_AGE
        )
        setattr(request, _REQUEST_CACHE, _decode(value))
    return dict(getattr(request, _REQUEST_CACHE))


def guest_cart_item_count(request: HttpRequest) -> int:
    return sum(guest_cart_read(request).values())


def guest_cart_write(request: HttpRequest, response: HttpResponse, lines: dict[int, int]) -> None:
    if not lines:
        guest_cart_clear(request, response)
        return
    setattr(request, _REQUEST_CACHE, dict(lines))
    response.set_signed_cookie(
        GUEST_CART_COOKIE,
        _encode(lines),
        salt=GUEST_CART_SALT,
        max_age=int(GUEST_CART_MAX_AGE.total_seconds()),
        httponly=True,
        secure=not settings.DEBUG,
        samesite="Lax",
        path="/",
    )


def guest_cart_clear(request: HttpRequest, response: HttpResponse) -> None:
    setattr(request, _REQUEST_CACHE, {})
    if GUEST_CART_COOKIE in request.COOKIES:
        response.delete_cookie(GUEST_CART_COOKIE, path="/", samesite="Lax")


def merge_guest_cart_into(request: HttpRequest, response: HttpResponse, user: User) -> None:
    """At login or registration on the pages: move the visitor's cart into the account.

    The cookie is cleared whatever it held, and what could not be merged as it was is flashed.
    """
    lines = guest_cart_read(request)
    if lines:
        for note in cart_merge_guest(user=user, guest_lines=lines):
            messages.warning(request, note)
    guest_cart_clear(request, response)
