"""Whole-response caching for visitors who carry nothing personal.

A request with no login, no guest cart, no flash message and no session gets exactly
the same listing or product page as every other such visitor, so its finished response
is cached under the same versioned keys as the rest of the catalog (see catalog.cache).
A hit costs no database, template or DRF work, and with Redis no round trip either
(catalog.version_feed).

The one per-visitor piece of such a page, the CSRF token of the add-to-cart form, is
left as a slot (`{% csrf_slot %}`) and filled on every response, hit or miss.
"""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.html import format_html

from catalog import selectors
from catalog.cache import (
    listing_version,
    local_and_shared_set,
    local_then_shared_get,
    params_digest,
    product_versions,
)

CSRF_SLOT = "<!--joycart:csrf-slot-->"
PERSONAL_COOKIES = (
    settings.JWT_ACCESS_COOKIE,
    settings.JWT_REFRESH_COOKIE,
    settings.SESSION_COOKIE_NAME,
    "messages",
    "joycart_guest_cart",
)


def is_shareable(request: HttpRequest) -> bool:
    """Nothing in the request could make its response differ from another visitor's."""
    return (
        request.method in ("GET", "HEAD")
        and "HTTP_AUTHORIZATION" not in request.META
        and not any(name in request.COOKIES for name in PERSONAL_COOKIES)
        # The browsable API renders per-request HTML; only JSON is shared.
        and (not request.path.startswith("/api/") or "text/html" not in request.META.get("HTTP_ACCEPT", ""))
    )


def _fill_csrf_slot(request: HttpRequest, content: bytes) -> bytes:
    slot = CSRF_SLOT.encode()
    if slot not in content:
        return content
    field = format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request))
    return content.replace(slot, field.encode())


def shared_response_cache(key_for: Callable[..., str | None]):
    """Cache a view's 200 responses for shareable requests under `key_for(request, **kwargs)`.

    `key_for` returns None when the catalog version is unknown (cache down): no caching then.
    The wrapped view must not set cookies or flash messages on a shareable request.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            key = key_for(request, **kwargs) if is_shareable(request) else None
            if key is None:
                return view(request, *args, **kwargs)
            request.response_is_shared = True
            hit = local_then_shared_get(key)
            if hit is None:
                response = view(request, *args, **kwargs)
                if hasattr(response, "render"):
                    response.render()
                if response.status_code != 200 or response.cookies:
                    response.content = _fill_csrf_slot(request, response.content)
                    return response
                hit = (response.content, response["Content-Type"])
                local_and_shared_set(key, hit)
            content, content_type = hit
            return HttpResponse(_fill_csrf_slot(request, content), content_type=content_type)

        return wrapped

    return decorator


def _request_part(request: HttpRequest) -> str:
    # The host is part of the key: API responses carry absolute URLs.
    return f"{request.get_host()}:{request.path}:{params_digest(request.GET.items())}"


def listing_response_key(request: HttpRequest, **kwargs) -> str | None:
    version = listing_version()
    return None if version is None else f"catalog:response:{version}:{_request_part(request)}"


def product_response_key(request: HttpRequest, *, slug: str | None = None, pk: int | None = None) -> str | None:
    product_id = pk
    if product_id is None:
        product_id = selectors.visible_product_id_for_slug(slug=slug, listing_version=listing_version())
    versions = product_versions(product_id)
    if versions is None:
        return None
    return f"catalog:response:{versions[0]}-{versions[1]}:{_request_part(request)}"
