"""Row locks of the accounts app: user rows, in primary-key order.

A user row is locked alone: nothing else is locked while it is held, and nothing holding an
order, product or payment lock locks a user. See the global order in docs/architecture.md.
"""

from collections.abc import Iterable

from django.db.models import Q

from accounts.models import User


def admin_rights_lock(*, user_ids: Iterable[int]) -> dict[int, User]:
    """Lock every superuser's row and the given users' rows; return them, fresh, by primary key.

    Every change to who may act as an admin takes this lock first, so two such changes (two
    superusers demoting each other) run one after the other, and the second decides on the rows
    the first committed. A user promoted meanwhile may be missing from the result: that only
    undercounts the superusers, so a refusal, never a lock-out, follows.
    """
    rows = User.objects.select_for_update().filter(Q(is_superuser=True) | Q(pk__in=list(user_ids))).order_by("pk")
    return {row.pk: row for row in rows}


def address_book_lock(*, user_id: int) -> None:
    """Lock the owner's user row: changes to one address book run one after another, so the
    one-default rule (also a partial unique index) never sees two defaults."""
    User.objects.select_for_update().filter(pk=user_id).exists()
