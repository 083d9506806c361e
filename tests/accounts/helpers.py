from django.contrib.auth.models import Permission

from accounts.models import User
from tests.factories import UserFactory


def staff_member(*codenames: str, **fields) -> User:
    """A staff user who is not a superuser, with just these permissions (e.g. "change_user")."""
    member = UserFactory(is_staff=True, **fields)
    member.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    assert member.user_permissions.count() == len(codenames), codenames
    return User.objects.get(pk=member.pk)  # fresh: Django caches permissions on the instance


def superuser(**fields) -> User:
    return UserFactory(is_staff=True, is_superuser=True, **fields)
