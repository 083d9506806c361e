"""Delivery addresses. Each user with addresses has exactly one default.

Every change locks the owner's user row first, so concurrent edits of one address
book run one after another and the one-default rule (also a partial unique index)
never sees two defaults.
"""

from django.db import transaction

from accounts.errors import DefaultAddressRequired
from accounts.locks import address_book_lock
from accounts.models import Address, User
from accounts.validators import normalize_indian_mobile

ADDRESS_FIELDS = ("name", "phone", "line1", "line2", "city", "state", "pincode")


def _clear_default(user: User, *, keep: Address | None = None) -> None:
    others = Address.objects.filter(user=user, is_default=True)
    if keep is not None and keep.pk:
        others = others.exclude(pk=keep.pk)
    others.update(is_default=False)


def _validated(address: Address) -> Address:
    address.phone = normalize_indian_mobile(address.phone)
    # The one-default constraint is kept by the lock and `_clear_default`, not checked here.
    address.full_clean(exclude=["user"], validate_constraints=False)
    return address


def address_create(*, user: User, is_default: bool = False, **fields) -> Address:
    with transaction.atomic():
        address_book_lock(user_id=user.pk)
        first = not Address.objects.filter(user=user).exists()
        address = _validated(Address(user=user, is_default=is_default or first, **fields))
        if address.is_default:
            _clear_default(user)
        address.save()
    return address


def address_update(*, address: Address, is_default: bool | None = None, **fields) -> Address:
    with transaction.atomic():
        address_book_lock(user_id=address.user.pk)
        address.refresh_from_db()
        for name, value in fields.items():
            if name in ADDRESS_FIELDS:
                setattr(address, name, value)
        if is_default is False and address.is_default:
            raise DefaultAddressRequired()
        _validated(address)
        if is_default:
            _clear_default(address.user, keep=address)
            address.is_default = True
        address.save()
    return address


def address_set_default(*, address: Address) -> Address:
    return address_update(address=address, is_default=True)


def address_delete(*, address: Address) -> None:
    """Deleting the default hands the role to the most recently added remaining address."""
    with transaction.atomic():
        address_book_lock(user_id=address.user.pk)
        was_default = Address.objects.filter(pk=address.pk, is_default=True).exists()
        address.delete()
        if was_default:
            successor = Address.objects.filter(user=address.user).order_by("-created_at", "-id").first()
            if successor is not None:
                successor.is_default = True
                successor.save(update_fields=["is_default", "updated_at"])
