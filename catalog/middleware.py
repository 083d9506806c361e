"""Answers a shared catalog response from the cache before most of the middleware runs.

A cached listing, product page or catalog API response for a visitor who carries nothing personal
(catalog.response_cache.is_shareable) needs no session, user, token or message: only the headers
the rest of the stack puts on every response, and the visitor's CSRF cookie when the page has a
form. Going through the whole stack for it cost more than the hit itself, so this middleware,
right after the request log, looks the response up and, on a hit, runs only the middleware that
shape a response (REPLAYED, the very classes and settings of the full stack) around the replay.
On a miss, or for any request it is not sure about, it passes the request on unchanged: the view's
own cache (catalog.response_cache.shared_response_cache) then answers, or stores, as before.

Every middleware listed after this one must be named in REPLAYED or SKIPPED with why a hit can
do without it; an unknown one stops start-up, so a new header is never silently left off hits.
"""

import functools

from django.conf import settings
from django.core.exceptions import DisallowedHost, ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import Resolver404, get_urlconf, resolve
from django.utils.module_loading import import_string

from catalog.cache import canonical_query, local_then_shared_get
from catalog.response_cache import SharedView, is_shareable, shared_response_replay
from joycart.middleware import outside_the_body_has_nul

# Run around every early hit, in MIDDLEWARE's order: they set the headers and cookies a hit answers with.
REPLAYED = frozenset(
    {
        # HSTS, nosniff, Referrer-Policy, Cross-Origin-Opener-Policy; and the redirect to HTTPS.
        "django.middleware.security.SecurityMiddleware",
        # PREPEND_WWW and refused user agents (a path that resolves needs no APPEND_SLASH).
        "django.middleware.common.CommonMiddleware",
        # The CSRF cookie the filled slot needs, set or renewed exactly as on the full path.
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        # The policy header. A stored page never holds a nonce (catalog.response_cache._replayable).
        "django.middleware.csp.ContentSecurityPolicyMiddleware",
    }
)
# Left out of an early hit, and why that changes nothing in its response.
SKIPPED = {
    "whitenoise.middleware.WhiteNoiseMiddleware": "serves static files; a cached view's path is none",
    "joycart.middleware.RefuseNulMiddleware": "checked here first: a request with a NUL is passed on",
    "joycart.db_router.ReplicaReadsMiddleware": "a hit reads no database",
    "django.contrib.sessions.middleware.SessionMiddleware": "a shareable request has no session, a hit reads none",
    "django.contrib.auth.middleware.AuthenticationMiddleware": "a hit never reads request.user",
    "accounts.middleware.JWTCookieMiddleware": "a shareable request carries no token cookie",
    "django.contrib.messages.middleware.MessageMiddleware": "a shareable request has no messages, a hit adds none",
}

# Paths are the visitor's to choose: at most this many resolutions are remembered per process.
RESOLVED_PATHS_KEPT = 4096


@functools.lru_cache(maxsize=RESOLVED_PATHS_KEPT)
def _shared_view_at(urlconf: str, path_info: str) -> tuple[SharedView, tuple[tuple[str, object], ...]] | None:
    """The cached view a path resolves to, with its URL arguments; None for any other path."""
    try:
        match = resolve(path_info, urlconf)
    except Resolver404:
        return None
    shared = getattr(match.func, "shared_response", None)
    if shared is None or match.args:
        return None
    return shared, tuple(match.kwargs.items())


def _replay_chain(own_name: str):
    """The REPLAYED middleware of settings.MIDDLEWARE after `own_name`, as a handler around a replay.

    The handler takes the request and the stored response to replay."""
    after = settings.MIDDLEWARE[settings.MIDDLEWARE.index(own_name) + 1 :]
    unknown = [name for name in after if name not in REPLAYED and name not in SKIPPED]
    if unknown:
        raise ImproperlyConfigured(
            f"{own_name}: say whether an early cache hit runs {', '.join(unknown)} (REPLAYED) or not (SKIPPED)"
        )

    def replay(request: HttpRequest) -> HttpResponse:
        return shared_response_replay(request, request.shared_response_hit)

    handler = replay
    for name in reversed([name for name in after if name in REPLAYED]):
        handler = import_string(name)(handler)
    return handler


class SharedResponseMiddleware:
    """Placed right after joycart.request_log.RequestLogMiddleware, which still ids and logs every hit."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.replay = _replay_chain(f"{__name__}.{type(self).__name__}")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        hit = self._hit(request)
        if hit is None:
            return self.get_response(request)
        request.shared_response_hit = hit
        return self.replay(request)

    def _hit(self, request: HttpRequest):
        # Nothing is read before the NUL check; a logged-in page or a token's API call is not even resolved.
        if request.method not in ("GET", "HEAD") or outside_the_body_has_nul(request) or not is_shareable(request):
            return None
        found = _shared_view_at(get_urlconf() or settings.ROOT_URLCONF, request.path_info)
        if found is None:
            return None
        shared, kwargs = found
        try:
            request.get_host()  # part of the key; an unknown host is the full stack's 400
            key = shared.key(request, canonical_query(request.GET, shared.params_read), dict(kwargs))
        except (DisallowedHost, Http404):
            return None
        return None if key is None else local_then_shared_get(key)
