"""Becoming a seller: one store per user, names unique regardless of case."""

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accounts.errors import StoreAlreadyExists, StoreNameTaken
from accounts.models import Store, User
from accounts.selectors import store_name_taken, user_has_store
from accounts.signals import seller_visibility_changed, store_renamed


def _unique_store_slug(name: str) -> str:
    base = slugify(name)[:80] or "store"
    slug, suffix = base, 2
    while Store.objects.filter(slug=slug).exists():
        slug, suffix = f"{base}-{suffix}", suffix + 1
    return slug


def store_create(*, user: User, name: str, description: str = "") -> Store:
    name = name.strip()
    if user_has_store(user=user):
        raise StoreAlreadyExists()
    if store_name_taken(name):
        raise StoreNameTaken()
    try:
        with transaction.atomic():
            store = Store.objects.create(
                user=user, name=name, slug=_unique_store_slug(name), description=description.strip()
            )
    except IntegrityError as exc:
        # A concurrent request won the race; say which rule it broke.
        if user_has_store(user=user):
            raise StoreAlreadyExists() from exc
        raise StoreNameTaken() from exc
    user.store = store
    return store


def store_save(*, store: Store, changed_fields: list[str]) -> Store:
    """Save an edited store (the admin's form); opening, closing or renaming it changes what shoppers see."""
    with transaction.atomic():
        store.save()
        if {"is_active", "user"} & set(changed_fields):  # another owner may be blocked
            transaction.on_commit(lambda: seller_visibility_changed.send(sender=Store, user=store.user))
        if {"name", "slug"} & set(changed_fields):
            transaction.on_commit(lambda: store_renamed.send(sender=Store, store=store))
    return store
