"""Whole-response caching for visitors who carry nothing personal.

A request with no login, no guest cart, no flash message and no session gets exactly
the same listing or product page as every other such visitor, so its finished response
is cached under the same versioned keys as the rest of the catalog (see catalog.cache).
A hit costs no database, template or DRF work, and with Redis no round trip either
(catalog.version_feed).

The key holds only the query parameters the view reads, and the view is shown only those,
so made-up parameters neither mint new entries nor leak into a response others are served.

The one per-visitor piece of such a page, the CSRF token of the add-to-cart form, is
left as a slot (`{% csrf_slot %}`) and filled on every HTML response, hit or miss.

Such a response says which it was in `X-Cache: hit` or `miss` (as CDNs do), so an operator or
the benchmark can count the hit rate from outside; a personal response carries no such header.

A listing page for a logged-in shopper differs from the shared one only by its nav (name, cart
badge, seller and admin links), all read from the shopper's cached snapshot (accounts.user_snapshot).
So each process also keeps such pages in its own memory (`per_user=True`), keyed on the shared
page's key and the generation of the snapshot they were rendered from: a change to the catalog
or to the shopper misses them. A request with a flash message is rendered as ever.

Hits are answered before most of the middleware by catalog.middleware.SharedResponseMiddleware;
this module holds what it and the views share: which requests are shareable, the keys, what
is stored and how a stored response is replayed.
"""

import functools
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, QueryDict
from django.middleware.csp import get_nonce
from django.middleware.csrf import get_token
from django.utils.crypto import salted_hmac
from django.utils.html import format_html
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.mixins import ListModelMixin
from rest_framework.pagination import PageNumberPagination
from rest_framework.settings import api_settings

from accounts.user_snapshot import SNAPSHOT_TTL_SECONDS, generation_of
from catalog import selectors
from catalog.cache import (
    canonical_query,
    listing_version,
    local_and_shared_set,
    local_then_shared_get,
    params_digest,
    product_versions,
    structure_version,
)
from joycart.db_router import primary_reads

PERSONAL_COOKIES = (
    settings.JWT_ACCESS_COOKIE,
    settings.JWT_REFRESH_COOKIE,
    settings.SESSION_COOKIE_NAME,
    "messages",
    "joycart_guest_cart",
)
CACHE_STATUS_HEADER = "X-Cache"


@functools.cache
def csrf_slot_marker() -> str:
    """The placeholder `{% csrf_slot %}` leaves in a shared page, filled per visitor below.

    Every occurrence in a shared response is replaced by a form field, so user text must never
    be able to spell it. Three walls: (1) user text reaches pages HTML-escaped, and escaping
    turns `<` into `&lt;`, so it cannot open an HTML comment, whatever the marker is;
    (2) the marker is secret, derived from SECRET_KEY, so even text that reaches a page
    unescaped (a `|safe` by mistake, a script block) cannot contain it knowingly; (3) it is
    filled only in text/html responses, because JSON carries user text verbatim.
    """
    secret = salted_hmac("catalog.response_cache.csrf_slot", "marker", algorithm="sha256").hexdigest()
    return f"<!--csrf-slot:{secret}-->"


@functools.cache
def _response_key_prefix() -> str:
    # Responses stored under another marker (an older release, another SECRET_KEY) would be
    # served with their slot unfilled, so the marker's fingerprint is part of every key.
    # "v2": what is stored became (body, Content-Type, the view's headers).
    fingerprint = hashlib.sha256(csrf_slot_marker().encode()).hexdigest()[:12]
    return f"catalog:response:v2:{fingerprint}"


def is_shareable(request: HttpRequest) -> bool:
    """Nothing in the request could make its response differ from another visitor's."""
    return (
        request.method in ("GET", "HEAD")
        and "HTTP_AUTHORIZATION" not in request.META
        and not any(name in request.COOKIES for name in PERSONAL_COOKIES)
        and (not request.path.startswith("/api/") or _asks_for_json(request))
    )


def _asks_for_json(request: HttpRequest) -> bool:
    # The browsable API (Accept: text/html, or ?format=api) renders per-visitor HTML with the
    # visitor's CSRF token in it; only JSON is shared.
    return "text/html" not in request.META.get("HTTP_ACCEPT", "") and request.GET.get(
        api_settings.URL_FORMAT_OVERRIDE, ""
    ) in ("", "json")


def _is_html(content_type: str) -> bool:
    return content_type.partition(";")[0].strip().lower() == "text/html"


def _fill_csrf_slot(request: HttpRequest, content: bytes, *, content_type: str) -> bytes:
    slot = csrf_slot_marker().encode()
    if not _is_html(content_type) or slot not in content:
        return content
    field = format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request))
    return content.replace(slot, field.encode())


def _show_only(request: HttpRequest, names: Iterable[str]) -> None:
    """Let the view see only the canonical query (catalog.cache.canonical_query).

    The cache key is built from the same query, so a cached response cannot depend on
    anything the key leaves out: a stray parameter would otherwise end up in the pagination
    links of a response served to everyone.
    """
    query = canonical_query(request.GET, names)
    request.GET = query
    # What absolute links are built from. A copy: META is the server's environ, whose query
    # string the access log should still show as sent.
    request.META = {**request.META, "QUERY_STRING": query.urlencode()}


def reads_query_params(*names: str):
    """Declare the query parameters a cached page view reads; it sees only those."""

    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            _show_only(request, names)
            return view(request, *args, **kwargs)

        wrapped.query_params = frozenset(names)
        return wrapped

    return decorator


def _query_params_read_by(view) -> frozenset[str]:
    """Declared by a page view (`reads_query_params`), derived for a DRF view."""
    declared = getattr(view, "query_params", None)
    if declared is not None:
        return declared
    api_view = getattr(view, "cls", None)  # set by APIView.as_view()
    if api_view is None:
        raise ImproperlyConfigured(f"{view.__name__}: declare the query parameters it reads (@reads_query_params)")
    return _api_view_query_params(api_view)


def _api_view_query_params(api_view) -> frozenset[str]:
    """Its filterset's filters and, for a list, its pagination's parameters.

    Derived rather than listed, so a filter added to the filterset is part of the key without
    anyone remembering it; a filter backend or pagination style not understood here fails at
    start-up instead of being left out of the key.
    """
    names = set()
    filterset = getattr(api_view, "filterset_class", None)
    for backend in api_view.filter_backends:
        if not issubclass(backend, DjangoFilterBackend) or getattr(api_view, "filterset_fields", None):
            raise ImproperlyConfigured(f"{api_view.__name__}: the cache cannot tell which parameters it filters on")
        if filterset is not None:
            names.update(filterset.base_filters)
    pagination = api_view.pagination_class if issubclass(api_view, ListModelMixin) else None
    if pagination is not None:
        if not issubclass(pagination, PageNumberPagination):
            raise ImproperlyConfigured(f"{api_view.__name__}: the cache cannot tell which parameters it pages with")
        names.update(name for name in (pagination.page_query_param, pagination.page_size_query_param) if name)
    return frozenset(names)


# What is stored for a response: its body (the CSRF slot unfilled), its Content-Type and the
# other headers its view set (DRF's `Vary: Accept` and `Allow`), so a hit, early
# (catalog.middleware) or in the view, answers exactly what the view answered.
CachedResponse = tuple[bytes, str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class SharedView:
    """What a view cached by `shared_response_cache` needs to find its response for a request."""

    key_for: Callable[..., str | None]
    params_read: frozenset[str]

    def key(self, request: HttpRequest, query: QueryDict, kwargs: dict) -> str | None:
        """`query` is the request's canonical query (catalog.cache.canonical_query) for this view."""
        return self.key_for(request, query, **kwargs)


def _replayable(request: HttpRequest, response: HttpResponse) -> bool:
    """Whether the stored body and headers, given to another visitor, are exactly what the view would
    answer them: a 200 that set no cookie, whose body holds no CSP nonce (it would be this request's, and
    the header of a later one names another), and that asks the middleware for nothing unusual."""
    return (
        response.status_code == 200
        and not response.cookies
        and not get_nonce(request)
        and not any(hasattr(response, name) for name in ("_csp_config", "_csp_ro_config", "xframe_options_exempt"))
    )


def _cached_response(response: HttpResponse) -> CachedResponse:
    headers = tuple(
        (name, value) for name, value in response.items() if name.lower() not in ("content-type", "content-length")
    )
    return response.content, response.get("Content-Type", ""), headers


def shared_response_replay(
    request: HttpRequest, hit: CachedResponse, *, cache_status: str | None = "hit"
) -> HttpResponse:
    """The stored response, with this visitor's CSRF token in its slot; `cache_status` is "miss" when it
    was stored by this very request, None for a personal page (no X-Cache header)."""
    content, content_type, headers = hit
    response = HttpResponse(_fill_csrf_slot(request, content, content_type=content_type), content_type=content_type)
    for name, value in headers:
        response[name] = value
    if cache_status is not None:
        response[CACHE_STATUS_HEADER] = cache_status
    return response


# Each process's copies of logged-in shoppers' pages (settings CACHES["personal"], bounded).
personal_cache = caches["personal"]


def _personal_key(request: HttpRequest, shared_key: str) -> str | None:
    """Where this logged-in shopper's copy of the page is kept; None when it must be rendered."""
    if request.method not in ("GET", "HEAD"):
        return None
    generation = generation_of(request.user)
    if generation is None or len(messages.get_messages(request)):
        return None
    return f"{shared_key}:user:{request.user.pk}:{generation}"


def _personal_response(request: HttpRequest, view, shared: "SharedView", args, kwargs) -> HttpResponse:
    _show_only(request, shared.params_read)
    shared_key = shared.key(request, request.GET, kwargs)
    key = None if shared_key is None else _personal_key(request, shared_key)
    if key is None:
        return view(request, *args, **kwargs)
    hit = personal_cache.get(key)
    if hit is None:
        request.csrf_token_as_slot = True
        response = view(request, *args, **kwargs)
        if hasattr(response, "render"):
            response.render()
        content_type = response.get("Content-Type", "")
        if not _replayable(request, response):
            response.content = _fill_csrf_slot(request, response.content, content_type=content_type)
            return response
        hit = _cached_response(response)
        personal_cache.set(key, hit, timeout=SNAPSHOT_TTL_SECONDS)
    return shared_response_replay(request, hit, cache_status=None)


def shared_response_cache(key_for: Callable[..., str | None], *, per_user: bool = False):
    """Cache a view's 200 responses for shareable requests under `key_for(request, query, **kwargs)`.

    With `per_user`, a logged-in shopper's page is kept too, in this process (see the module's
    docstring): only for a view whose page reads nothing of its visitor but the cached snapshot.

    `key_for` returns None when the catalog version is unknown (cache down): no caching then.
    On a shareable request the view sees only the query parameters it reads, canonically
    (see _show_only), and `key_for` keys on exactly those (`query`).
    The wrapped view must not set cookies or flash messages on a shareable request.
    A hit is usually answered before the view, by catalog.middleware.SharedResponseMiddleware,
    which finds the view's `shared_response`; the view answers the rest.
    """

    def decorator(view):
        shared = SharedView(key_for=key_for, params_read=_query_params_read_by(view))

        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            if not is_shareable(request):
                if per_user:
                    return _personal_response(request, view, shared, args, kwargs)
                return view(request, *args, **kwargs)
            _show_only(request, shared.params_read)
            key = shared.key(request, request.GET, kwargs)
            if key is None:
                return view(request, *args, **kwargs)
            request.response_is_shared = True
            hit = local_then_shared_get(key)
            if hit is None:
                with primary_reads():
                    response = view(request, *args, **kwargs)
                if hasattr(response, "render"):
                    response.render()
                if not _replayable(request, response):
                    content_type = response.get("Content-Type", "")
                    response.content = _fill_csrf_slot(request, response.content, content_type=content_type)
                    response[CACHE_STATUS_HEADER] = "miss"
                    return response
                hit = _cached_response(response)
                local_and_shared_set(key, hit)
                return shared_response_replay(request, hit, cache_status="miss")
            return shared_response_replay(request, hit)

        wrapped.shared_response = shared
        return wrapped

    return decorator


def _request_part(request: HttpRequest, query: QueryDict) -> str:
    # The host is part of the key: API responses carry absolute URLs.
    return f"{request.get_host()}:{request.path}:{params_digest(query)}"


def listing_response_key(request: HttpRequest, query: QueryDict, **kwargs) -> str | None:
    version = listing_version()
    return None if version is None else f"{_response_key_prefix()}:{version}:{_request_part(request, query)}"


def product_response_key(
    request: HttpRequest, query: QueryDict, *, slug: str | None = None, pk: int | None = None, exact_stock=False
) -> str | None:
    product_id = pk
    if product_id is None:
        product_id = selectors.visible_product_id_for_slug(slug=slug, structure_version=structure_version())
    versions = product_versions(product_id, exact_stock=exact_stock)
    if versions is None:
        return None
    return f"{_response_key_prefix()}:{'-'.join(map(str, versions))}:{_request_part(request, query)}"


def product_exact_stock_response_key(request: HttpRequest, query: QueryDict, **kwargs) -> str | None:
    """For a response that shows every variant's exact stock (the API's product detail)."""
    return product_response_key(request, query, exact_stock=True, **kwargs)
