"""The catalog's read cache: versioned keys, so an edit is visible on the very next request.

- The listing version covers everything a listing shows (titles, prices, in-stock state,
  ratings, first images, which products and sellers are visible, categories, store names).
- The structure version covers what a product page shows beyond its own product's rows:
  which product a web address names and whether shoppers may see it (deleted, shown or hidden;
  its seller blocked, its store closed), its store's name, its category's name and parent
  (breadcrumbs) and return window. Rare changes: a sale never bumps it.
  (A new product needs no bump: a web address that names nothing is never cached.)
- Each product also has its own version, bumped on every change to it and to its reviews, their
  authors' names too, except a sale that leaves what its page shows of the stock as it was
  (`catalog.selectors.page_stock_shown`: 1,999 left instead of 2,000).
  Its stock version is bumped on every change of its stock, for what shows exact counts.
- A listing is keyed on the listing version; a product page (its HTML) and its reviews on
  (structure version, its product version); its API detail, which shows every variant's exact
  stock, on (structure version, product version, stock version). So a sale, a sell-out, a restock
  or a price change refreshes that product's pages and the listings, never another product's page.
- Callers say what changed (`bump_after_commit`, `structure_changed`); which versions that moves
  is decided here alone. Services bump after commit.
- What is stored under a version is read from the primary (joycart.db_router.primary_reads):
  a read replica may not have the rows of a version bumped a moment ago.
- The TTL is only a backstop. Every cache call tolerates a dead or full Redis: django-redis
  is configured to log and ignore connection errors and refused writes, so a miss falls
  through to the database.
"""

import hashlib
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import cache, caches
from django.db import transaction
from django.http import QueryDict
from django.utils.http import urlencode

from catalog import version_feed
from joycart.db_router import primary_reads

LISTING_VERSION_KEY = "catalog:listing-version"
STRUCTURE_VERSION_KEY = "catalog:structure-version"
# With Redis, values stored under versioned keys are also kept in each process (settings
# CACHES["local"], bounded): a hit then costs no round trip at all (see catalog.version_feed).
local_cache = caches["local"]
CACHE_TTL_SECONDS = 15 * 60
# A version that expires is simply replaced by a fresh one, which misses every old key.
VERSION_TTL_SECONDS = 7 * 24 * 3600


def _product_version_key(product_id: int) -> str:
    return f"catalog:product-version:{product_id}"


def _stock_version_key(product_id: int) -> str:
    return f"catalog:product-stock-version:{product_id}"


def _bump(key: str) -> None:
    if version_feed.enabled():
        version_feed.bump(key, fresh_version=_fresh_version(), timeout=VERSION_TTL_SECONDS)
        return
    try:
        cache.incr(key)
    except ValueError:
        # Unknown key (first bump, or evicted): any new value differs from every key built so far.
        cache.set(key, _fresh_version(), timeout=VERSION_TTL_SECONDS)


def _fresh_version() -> int:
    return time.time_ns()


def bump_after_commit(
    *,
    product_ids: Iterable[int] = (),
    stock_counts_of: Iterable[int] = (),
    listing: bool = True,
    structure: bool = False,
) -> None:
    """Invalidate after the transaction commits, so no reader caches the old rows again.

    What changed: the rows of `product_ids` (their pages); only exact stock counts of `stock_counts_of`,
    none of what their product page shows (`catalog.selectors.page_stock_shown`); with `listing`,
    something a listing shows (a title, a price, a first image, the in-stock state, a rating); with
    `structure`, something every product page shares (see the module's docstring), which listings show as well.
    """
    product_ids = set(product_ids)
    keys = [
        *_keys_for(listing=listing, structure=structure),
        *map(_product_version_key, sorted(product_ids)),
        # A product's own version covers its stock version's pages too.
        *map(_stock_version_key, sorted(set(stock_counts_of) - product_ids)),
    ]
    transaction.on_commit(lambda: _bump_all(keys))


def _keys_for(*, listing: bool, structure: bool) -> list[str]:
    """The one rule of which pages depend on what: see the module's docstring."""
    if structure:
        # Listings show what the structure version covers too: which products are visible, store and category names.
        return [LISTING_VERSION_KEY, STRUCTURE_VERSION_KEY]
    return [LISTING_VERSION_KEY] if listing else []


def _bump_all(keys: list[str]) -> None:
    for key in keys:
        _bump(key)


def structure_changed(**_signal_kwargs) -> None:
    """Receiver: something outside the catalog changed which products shoppers may see, or a store's name."""
    _bump_all(_keys_for(listing=True, structure=True))


def _versions(keys: list[str]) -> list[int] | None:
    """The current version of each key, starting missing ones; None when the cache is unreachable."""
    found = version_feed.feed.read(keys) if version_feed.enabled() else cache.get_many(keys)
    versions = []
    for key in keys:
        version = found.get(key)
        if version is None:
            version = _fresh_version()
            if not cache.add(key, version, timeout=VERSION_TTL_SECONDS):
                version = cache.get(key)
            if version is None:
                return None
            if version_feed.enabled():
                version_feed.feed.remember({key: version})
        versions.append(version)
    return versions


def listing_version() -> int | None:
    """None when the cache is unreachable: callers then skip caching."""
    versions = _versions([LISTING_VERSION_KEY])
    return None if versions is None else versions[0]


def structure_version() -> int | None:
    """None when the cache is unreachable: callers then skip caching."""
    versions = _versions([STRUCTURE_VERSION_KEY])
    return None if versions is None else versions[0]


def product_versions(product_id: int, *, exact_stock: bool = False) -> tuple[int, ...] | None:
    """(structure version, product version): what a product page is keyed on; with `exact_stock`, for what
    shows exact stock counts, the stock version as well. None when the cache is unreachable."""
    keys = [STRUCTURE_VERSION_KEY, _product_version_key(product_id)]
    if exact_stock:
        keys.append(_stock_version_key(product_id))
    versions = _versions(keys)
    return None if versions is None else tuple(versions)


def local_then_shared_get(key: str) -> Any:
    """Read a value that never changes under its key: this process's memory first, then the cache."""
    if not version_feed.enabled():
        return cache.get(key)
    value = local_cache.get(key)
    if value is None:
        value = cache.get(key)
        if value is not None:
            local_cache.set(key, value, timeout=CACHE_TTL_SECONDS)
    return value


def local_and_shared_set(key: str, value: Any, *, timeout: int | None = CACHE_TTL_SECONDS) -> None:
    cache.set(key, value, timeout=timeout)
    if version_feed.enabled():
        local_cache.set(key, value, timeout=CACHE_TTL_SECONDS if timeout is None else timeout)


def canonical_query(query: QueryDict, names: Iterable[str]) -> QueryDict:
    """One spelling of the query a view reads, which its cache key and its rendering both use.

    Only `names` are kept, so a made-up parameter (`?x=1`, `?x=2`, ...) cannot mint a new cache
    entry. Each keeps the value the view would read: the last of repeated values (what
    `QueryDict.get` and form fields return), stripped as form fields and `int()` strip it, and
    dropped when empty, since every cached view treats an empty parameter as an absent one.
    Sorted by name, so parameter order does not matter either.
    """
    kept = [(name, value) for name in sorted(set(names)) if (value := query.get(name, "").strip())]
    return QueryDict(urlencode(kept))


def params_digest(query: QueryDict) -> str:
    """A short cache-key part for a query already made canonical (see canonical_query)."""
    return hashlib.sha256(query.urlencode().encode()).hexdigest()[:32]


def cached(key: str | None, build: Callable[[], Any]) -> Any:
    """Return the cached value for `key`, building and storing it on a miss."""
    if key is None:
        return build()
    value = local_then_shared_get(key)
    if value is None:
        with primary_reads():
            value = build()
        local_and_shared_set(key, value)
    return value
