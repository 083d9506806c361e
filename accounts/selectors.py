"""Reads of the accounts app, always scoped to who is asking."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Address, Store, User


def username_taken(username: str) -> bool:
    return User.objects.filter(username__iexact=username.strip()).exists()


def email_taken(email: str, *, exclude_user: User | None = None) -> bool:
    users = User.objects.filter(email__iexact=email.strip())
    if exclude_user is not None:
        users = users.exclude(pk=exclude_user.pk)
    return users.exists()


def store_name_taken(name: str) -> bool:
    return Store.objects.filter(name__iexact=name.strip()).exists()


def user_has_store(*, user: User) -> bool:
    """True for active and deactivated stores alike: a user never gets a second one."""
    return Store.objects.filter(user=user).exists()


def user_addresses(*, user: User) -> QuerySet[Address]:
    return Address.objects.filter(user=user).order_by("-is_default", "-created_at", "-id")


def user_address_get(*, user: User, address_id: int) -> Address:
    """Another user's address answers 404, so its existence does not leak."""
    return get_object_or_404(user_addresses(user=user), pk=address_id)


def user_default_address(*, user: User) -> Address | None:
    return user_addresses(user=user).filter(is_default=True).first()
