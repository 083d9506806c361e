"""Reads of the accounts app, always scoped to who is asking."""

from django.conf import settings
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


def staff_alert_emails() -> list[str]:
    """Who is told when money needs a person: JOYCART_STAFF_EMAILS, else ADMINS, else the active superusers.

    Read when each mail is sent, so a superuser added later is told too; duplicates are dropped.
    """
    wanted = settings.JOYCART_STAFF_EMAILS or [_admin_email(admin) for admin in settings.ADMINS]
    if not wanted:
        superusers = User.objects.filter(is_superuser=True, is_active=True, is_blocked=False).exclude(email="")
        wanted = list(superusers.order_by("pk").values_list("email", flat=True))
    emails: dict[str, str] = {}
    for email in wanted:
        emails.setdefault(email.lower(), email)
    return list(emails.values())


def _admin_email(admin: str | tuple[str, str]) -> str:
    # ADMINS holds addresses; the (name, address) pairs of older Django versions are still read.
    return admin[1] if isinstance(admin, tuple | list) else admin
