"""The catalog's read cache: versioned keys, so an edit is visible on the very next request.

- The listing version covers everything a listing shows (titles, prices, in-stock state,
  first images, which sellers are visible). Services bump it after commit.
- Each product also has its own version, bumped on every change to it, stock included,
  so a sale refreshes the product page without flushing every cached listing.
- The TTL is only a backstop. Every cache call tolerates a dead Redis: django-redis is
  configured to log and ignore connection errors, so a miss falls through to the database.
"""

import hashlib
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import cache
from django.db import transaction

LISTING_VERSION_KEY = "catalog:listing-version"
CACHE_TTL_SECONDS = 15 * 60
# A version that expires is simply replaced by a fresh one, which misses every old key.
VERSION_TTL_SECONDS = 7 * 24 * 3600


def _product_version_key(product_id: int) -> str:
    return f"catalog:product-version:{product_id}"


def _bump(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:
        # Unknown key (first bump, or evicted): any new value differs from every key built so far.
        cache.set(key, _fresh_version(), timeout=VERSION_TTL_SECONDS)


def _fresh_version() -> int:
    return time.time_ns()


def bump_after_commit(*, product_ids: Iterable[int] = (), listing: bool = True) -> None:
    """Invalidate after the transaction commits, so no reader caches the old rows again."""
    ids = list(product_ids)

    def bump() -> None:
        if listing:
            _bump(LISTING_VERSION_KEY)
        for product_id in ids:
            _bump(_product_version_key(product_id))

    transaction.on_commit(bump)


def listing_changed(**_signal_kwargs) -> None:
    """Receiver: something outside the catalog changed which products shoppers may see."""
    _bump(LISTING_VERSION_KEY)


def listing_version() -> int | None:
    """None when the cache is unreachable: callers then skip caching."""
    version = cache.get(LISTING_VERSION_KEY)
    if version is None:
        version = _fresh_version()
        if not cache.add(LISTING_VERSION_KEY, version, timeout=VERSION_TTL_SECONDS):
            version = cache.get(LISTING_VERSION_KEY)
    return version


def product_versions(product_id: int) -> tuple[int, int] | None:
    """(listing version, product version) in one round trip; None when the cache is unreachable."""
    key = _product_version_key(product_id)
    found = cache.get_many([LISTING_VERSION_KEY, key])
    listing = found.get(LISTING_VERSION_KEY) or listing_version()
    version = found.get(key)
    if version is None:
        version = _fresh_version()
        if not cache.add(key, version, timeout=VERSION_TTL_SECONDS):
            version = cache.get(key)
    if listing is None or version is None:
        return None
    return listing, version


def params_digest(params: Iterable[tuple[str, str]]) -> str:
    """A stable key for a query string: parameter order and empty values do not matter."""
    normalised = "&".join(f"{k}={v}" for k, v in sorted(params) if v != "")
    return hashlib.sha256(normalised.encode()).hexdigest()[:32]


def cached(key: str | None, build: Callable[[], Any]) -> Any:
    """Return the cached value for `key`, building and storing it on a miss."""
    if key is None:
        return build()
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, timeout=CACHE_TTL_SECONDS)
    return value
