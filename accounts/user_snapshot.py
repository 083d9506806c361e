"""What a page needs of its logged-in user, kept in the cache so a safe page request reads no database.

Loading the user for every page (the row, its store, the nav's cart badge) cost more CPU than the
rest of the page. A GET or HEAD page now builds `request.user` from a snapshot of those rows:

- A snapshot is only ever stored for a user who passed every check of the database path (exists,
  active, not blocked), and every use runs the same checks again on it (`check`: simplejwt's, with the
  password-revocation claim, and ours). A token the snapshot fails goes to the database, which decides.
- Every change to a user, their store or their cart forgets the user's snapshot, at once and again
  after commit: the signals below catch saves and deletes, the querysets of those models catch
  `update()` and the bulk writes (ForgetsCachedUsersQuerySet).
- A racing reader cannot store a stale snapshot over a newer change: each snapshot carries the
  user's generation (a random token) read *before* its rows were read, and forgetting deletes the
  generation too. A snapshot whose generation is no longer the current one is never used.
- Only safe requests use it: a request that writes loads its user from the database, so no write
  starts from cached values.
- It needs a cache all processes share (Redis, as production requires). The TTL is a backstop for a
  lost invalidation (Redis failing for a moment between a write and the next read).
"""

import functools
import hashlib
import secrets
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, models, transaction
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token

from joycart.db_router import primary_reads
from joycart.ids import parse_id

SNAPSHOT_TTL_SECONDS = 5 * 60
GENERATION_TTL_SECONDS = 24 * 3600
# Set on a user read under a generation: what a page rendered for them may be cached under.
GENERATION_ATTRIBUTE = "snapshot_generation"


def generation_of(user) -> str | None:
    """The generation `user` was read under, or None (anonymous, or not read through page_user).

    Anything cached for the user under it is as current as the user: forgetting them starts
    another generation, so it is never read again."""
    return getattr(user, GENERATION_ATTRIBUTE, None)


@functools.cache
def _columns() -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """The user's and the store's cached columns, and a name for that layout: a deploy that changes
    either model reads none of the snapshots the previous code stored."""
    from accounts.models import Store

    user_columns = tuple(field.attname for field in get_user_model()._meta.concrete_fields)
    store_columns = tuple(field.attname for field in Store._meta.concrete_fields)
    # Not hash(): every process must name the same keys, or one could not forget another's snapshot.
    layout = hashlib.sha256(repr((user_columns, store_columns)).encode()).hexdigest()[:8]
    return user_columns, store_columns, layout


def _keys(user_id: int) -> tuple[str, str]:
    layout = _columns()[2]
    return f"accounts:user-snapshot:{layout}:{user_id}", f"accounts:user-generation:{user_id}"


def forget_cached_users(user_ids: Iterable[int | None]) -> None:
    """The next page of each of these users reads them from the database again.

    Now, so the rest of this transaction (and a test) sees it, and after commit, so a reader that
    read the old rows meanwhile cannot leave them behind."""
    keys = [key for user_id in set(user_ids) if user_id is not None for key in _keys(user_id)]
    if not keys:
        return
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys), robust=True)


def page_user(token: Token, *, load, check):
    """The token's user for a safe page request, with its store and the nav's cart count.

    `load(token)` is the database path (it raises AuthenticationFailed for a refused token); it is
    called on a miss, and whenever the snapshot fails `check(token, user)`, the same checks on the
    snapshot's user."""
    user_id = parse_id(token.get(jwt_settings.USER_ID_CLAIM))
    if user_id is None:
        return load(token)
    snapshot_key, generation_key = _keys(user_id)
    found = cache.get_many([snapshot_key, generation_key])
    generation = found.get(generation_key)
    snapshot = found.get(snapshot_key)
    if generation is not None and snapshot is not None and snapshot["generation"] == generation:
        try:
            user = check(token, _user_from(snapshot))
        except AuthenticationFailed:
            pass  # an older token, say: the database answers
        else:
            setattr(user, GENERATION_ATTRIBUTE, generation)
            return user
    if generation is None:
        generation = secrets.token_hex(8)
        if not cache.add(generation_key, generation, timeout=GENERATION_TTL_SECONDS):
            generation = None  # another request started a generation meanwhile: store nothing this time
    with primary_reads():  # a replica may not have the change that just forgot the snapshot
        user = load(token)
    if generation is not None:
        cache.set(snapshot_key, _snapshot_of(user, generation=generation), timeout=SNAPSHOT_TTL_SECONDS)
        setattr(user, GENERATION_ATTRIBUTE, generation)
    return user


def _snapshot_of(user, *, generation: str) -> dict:
    from accounts.models import Store
    from cart.selectors import NAV_CART_COUNT

    user_columns, store_columns, _layout = _columns()
    try:
        store = user.store  # a closed store too: pages tell it apart
    except Store.DoesNotExist:
        store = None
    return {
        "generation": generation,
        "user": tuple(getattr(user, column) for column in user_columns),
        "store": None if store is None else tuple(getattr(store, column) for column in store_columns),
        "cart_count": getattr(user, NAV_CART_COUNT),
    }


def _user_from(snapshot: dict):
    from accounts.models import Store
    from cart.selectors import NAV_CART_COUNT

    user_columns, store_columns, _layout = _columns()
    user = get_user_model().from_db(DEFAULT_DB_ALIAS, user_columns, snapshot["user"])
    store = None
    if snapshot["store"] is not None:
        store = Store.from_db(DEFAULT_DB_ALIAS, store_columns, snapshot["store"])
        store._state.fields_cache["user"] = user
    # As select_related leaves it: a user without a store raises DoesNotExist, with no query.
    user._state.fields_cache["store"] = store
    setattr(user, NAV_CART_COUNT, snapshot["cart_count"])
    return user


class ForgetsCachedUsersQuerySet(models.QuerySet):
    """`update()` and the bulk writes send no signal, so these forget the users they touch themselves.

    `user_id_lookup` names the affected user's id from a row of this model."""

    user_id_lookup = "user_id"

    def update(self, **kwargs):
        user_ids = set(self.order_by().values_list(self.user_id_lookup, flat=True))
        rows = super().update(**kwargs)
        forget_cached_users(user_ids)
        return rows

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        forget_cached_users(self.user_ids_of(created))
        return created

    def user_ids_of(self, objs) -> set[int]:
        return {getattr(obj, self.user_id_lookup) for obj in objs}


# --- Saves and deletes --------------------------------------------------------------------


def _forget_user(sender, instance, **kwargs) -> None:
    forget_cached_users([instance.pk])


def _forget_owner(sender, instance, **kwargs) -> None:
    forget_cached_users([instance.user_id])


def _forget_previous_store_owner(sender, instance, update_fields=None, **kwargs) -> None:
    # A store handed to another user must leave its old owner's snapshot too.
    if instance.pk is None or (update_fields is not None and "user" not in update_fields):
        return
    forget_cached_users(sender._base_manager.filter(pk=instance.pk).values_list("user_id", flat=True))


def connect_signals() -> None:
    """For the models of this app: a user, and a store (which its owner's snapshot carries)."""
    from accounts.models import Store

    user_model = get_user_model()
    for signal in (models.signals.post_save, models.signals.post_delete):
        signal.connect(_forget_user, sender=user_model, dispatch_uid="user_snapshot_user")
        signal.connect(_forget_owner, sender=Store, dispatch_uid="user_snapshot_store")
    models.signals.pre_save.connect(
        _forget_previous_store_owner, sender=Store, dispatch_uid="user_snapshot_store_owner"
    )


def connect_owner_signals(model, *, owner_id) -> None:
    """For another app's model a snapshot depends on: `owner_id(instance, origin)` names the user to
    forget (`origin`: what started a delete, else None)."""

    def forget(sender, instance, origin=None, **kwargs) -> None:
        user_id = owner_id(instance, origin)
        # A delete of many rows (a cart emptied at checkout) forgets each owner once, not once a row.
        forgotten = delete_memo(origin, "_user_snapshot_forgotten", set)
        if user_id not in forgotten:
            forgotten.add(user_id)
            forget_cached_users([user_id])

    for signal in (models.signals.post_save, models.signals.post_delete):
        signal.connect(forget, sender=model, weak=False, dispatch_uid=f"user_snapshot_{model._meta.label_lower}")


def delete_memo(origin, name: str, empty):
    """A memo that lives as long as the delete `origin` started (a fresh one when there is none): what the
    receivers of a delete of many rows look up once rather than once a row."""
    if origin is None:
        return empty()
    memo = getattr(origin, name, None)
    if memo is None:
        memo = empty()
        setattr(origin, name, memo)
    return memo
