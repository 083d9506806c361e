"""Accounts: registration, profile, password, and what admins do to users."""

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.auth import TokenPair
from accounts.errors import AdminAccountProtected, AdminActionRefused, EmailTaken, UsernameTaken
from accounts.locks import admin_rights_lock
from accounts.models import User
from accounts.selectors import email_taken, username_taken
from accounts.services.sessions import tokens_issue, tokens_revoke_all
from accounts.signals import seller_visibility_changed, user_renamed
from joycart.errors import NotFound


def _password_validate(password: str, *, user: User, field: str) -> None:
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc


def user_register(*, username: str, email: str, password: str) -> User:
    """Create a shopper account. Password rules are Django's validators."""
    username = username.strip()
    email = User.objects.normalize_email(email.strip())
    if username_taken(username):
        raise UsernameTaken()
    if email_taken(email):
        raise EmailTaken()
    user = User(username=username, email=email)
    _password_validate(password, user=user, field="password")
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        # Lost a race with a registration of the same name or e-mail.
        if username_taken(username):
            raise UsernameTaken() from exc
        raise EmailTaken() from exc
    return user


def user_profile_update(*, user: User, first_name: str, last_name: str, email: str) -> User:
    email = User.objects.normalize_email(email.strip())
    if email_taken(email, exclude_user=user):
        raise EmailTaken()
    renamed = (user.first_name, user.last_name) != (first_name.strip(), last_name.strip())
    user.first_name = first_name.strip()
    user.last_name = last_name.strip()
    user.email = email
    try:
        with transaction.atomic():
            user.save(update_fields=["first_name", "last_name", "email", "updated_at"])
            if renamed:
                announce_user_renamed(user)
    except IntegrityError as exc:
        raise EmailTaken() from exc
    return user


def user_password_change(*, user: User, new_password: str) -> TokenPair:
    """Set a new password, end every other session, and return a fresh pair for this one."""
    _password_validate(new_password, user=user, field="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        tokens_revoke_all(user=user)
    return tokens_issue(user=user)


def user_password_reset_completed(*, user: User) -> None:
    """After a reset by e-mail, no session opened with the old password survives."""
    tokens_revoke_all(user=user)


# --- Admin actions --------------------------------------------------------------------
# The rules on admin rights live here, for every door (admin actions and forms, any API).
# Each action first takes `admin_rights_lock` and decides on the rows it re-read, so two
# admins acting on each other at once go one after the other and the second sees the first.

_ADMIN_RIGHTS_REFUSALS = {
    "promote": "Only a superuser can make a user an admin.",
    "demote": "Only a superuser can demote an admin.",
}


def user_is_admin_account(user: User) -> bool:
    return user.is_staff or user.is_superuser


def _is_active_superuser(user: User) -> bool:
    return user.is_superuser and user.is_active and not user.is_blocked


def user_may_grant_permissions(*, actor: User) -> bool:
    """Groups and permissions are granted only by superusers: staff who may change users or
    groups would otherwise give themselves every permission."""
    return _is_active_superuser(actor)


def user_manageable_by(*, actor: User, user: User) -> bool:
    """Whether `actor` may change `user` at all: edit, reset the password, block, delete.

    Admin accounts are a superuser's to manage. Otherwise a staff member who may change users
    could set a superuser's e-mail or password and take the account over, or lock them out.
    """
    return _is_active_superuser(actor) or not user_is_admin_account(user)


def user_require_manageable(*, actor: User, user: User, verb: str = "change") -> None:
    if not user_manageable_by(actor=actor, user=user):
        raise AdminAccountProtected(f"{user.username} is an admin account; only a superuser can {verb} it.")


def _require_superuser_for(*, actor: User, user: User, verb: str) -> None:
    """Only staff who may change users act on users; admin rights, and admin accounts, only superusers."""
    if not (actor.is_staff and actor.is_active and not actor.is_blocked and actor.has_perm("accounts.change_user")):
        raise AdminActionRefused(f"You do not have permission to {verb} users.")
    if verb in _ADMIN_RIGHTS_REFUSALS and not _is_active_superuser(actor):
        raise AdminActionRefused(_ADMIN_RIGHTS_REFUSALS[verb])
    user_require_manageable(actor=actor, user=user, verb=verb)


def _require_another_active_superuser(*, user: User, superusers: list[User], verb: str) -> None:
    """Someone must always be able to log in and manage the admins. Checked on the locked rows
    before who is asking: whoever it is, the shop is never left without an active superuser."""
    if _is_active_superuser(user) and not any(
        _is_active_superuser(other) for other in superusers if other.pk != user.pk
    ):
        raise AdminActionRefused(
            f"{user.username} is the last active superuser; make another superuser before you {verb} them."
        )


def _admin_rows_locked(*, actor: User, user: User) -> tuple[User, list[User]]:
    """Lock the rows an admin action decides on. `user` is re-read in place; the actor and every
    superuser are returned as they are now, not as the caller loaded them."""
    rows = admin_rights_lock(user_ids=[actor.pk, user.pk])
    if actor.pk not in rows or user.pk not in rows:
        raise NotFound("No such user.")
    user.refresh_from_db()
    return rows[actor.pk], [row for row in rows.values() if row.is_superuser]


def user_block(*, actor: User, user: User) -> User:
    if user.pk == actor.pk:
        raise AdminActionRefused("You cannot block yourself.")
    with transaction.atomic():
        actor_now, superusers = _admin_rows_locked(actor=actor, user=user)
        _require_another_active_superuser(user=user, superusers=superusers, verb="block")
        _require_superuser_for(actor=actor_now, user=user, verb="block")
        if user.is_staff:
            raise AdminActionRefused(f"{user.username} is an admin; demote them before blocking.")
        user.is_blocked = True
        user.blocked_at = timezone.now()
        user.save(update_fields=["is_blocked", "blocked_at", "updated_at"])
        tokens_revoke_all(user=user)
        _announce_seller_visibility(user)
    return user


def user_unblock(*, actor: User, user: User) -> User:
    with transaction.atomic():
        actor_now, _ = _admin_rows_locked(actor=actor, user=user)
        _require_superuser_for(actor=actor_now, user=user, verb="unblock")
        user.is_blocked = False
        user.blocked_at = None
        user.save(update_fields=["is_blocked", "blocked_at", "updated_at"])
        _announce_seller_visibility(user)
    return user


def announce_user_renamed(user: User) -> None:
    """After commit: pages that show the user's name (their reviews) refresh."""
    transaction.on_commit(lambda: user_renamed.send(sender=User, user=user))


def _announce_seller_visibility(user: User) -> None:
    transaction.on_commit(lambda: seller_visibility_changed.send(sender=User, user=user))


def user_promote_to_admin(*, actor: User, user: User) -> User:
    with transaction.atomic():
        actor_now, _ = _admin_rows_locked(actor=actor, user=user)
        _require_superuser_for(actor=actor_now, user=user, verb="promote")
        if user.is_blocked:
            raise AdminActionRefused(f"{user.username} is blocked; unblock them before promoting.")
        user.is_staff = True
        user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser", "updated_at"])
    return user


def user_demote_admin(*, actor: User, user: User) -> User:
    if user.pk == actor.pk:
        raise AdminActionRefused("You cannot demote yourself.")
    with transaction.atomic():
        actor_now, superusers = _admin_rows_locked(actor=actor, user=user)
        _require_another_active_superuser(user=user, superusers=superusers, verb="demote")
        _require_superuser_for(actor=actor_now, user=user, verb="demote")
        user.is_staff = False
        user.is_superuser = False
        user.save(update_fields=["is_staff", "is_superuser", "updated_at"])
    return user
