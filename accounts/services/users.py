"""Accounts: registration, profile, password, and what admins do to users."""

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.auth import TokenPair
from accounts.errors import AdminActionRefused, EmailTaken, UsernameTaken
from accounts.models import User
from accounts.selectors import email_taken, username_taken
from accounts.services.sessions import tokens_issue, tokens_revoke_all
from accounts.signals import seller_visibility_changed


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
    user.first_name = first_name.strip()
    user.last_name = last_name.strip()
    user.email = email
    try:
        with transaction.atomic():
            user.save(update_fields=["first_name", "last_name", "email", "updated_at"])
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


def user_block(*, actor: User, user: User) -> User:
    if user.pk == actor.pk:
        raise AdminActionRefused("You cannot block yourself.")
    if user.is_staff:
        raise AdminActionRefused(f"{user.username} is an admin; demote them before blocking.")
    with transaction.atomic():
        user.is_blocked = True
        user.blocked_at = timezone.now()
        user.save(update_fields=["is_blocked", "blocked_at", "updated_at"])
        tokens_revoke_all(user=user)
        _announce_seller_visibility(user)
    return user


def user_unblock(*, actor: User, user: User) -> User:
    with transaction.atomic():
        user.is_blocked = False
        user.blocked_at = None
        user.save(update_fields=["is_blocked", "blocked_at", "updated_at"])
        _announce_seller_visibility(user)
    return user


def _announce_seller_visibility(user: User) -> None:
    transaction.on_commit(lambda: seller_visibility_changed.send(sender=User, user=user))


def user_promote_to_admin(*, actor: User, user: User) -> User:
    if user.is_blocked:
        raise AdminActionRefused(f"{user.username} is blocked; unblock them before promoting.")
    user.is_staff = True
    user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser", "updated_at"])
    return user


def user_demote_admin(*, actor: User, user: User) -> User:
    if user.pk == actor.pk:
        raise AdminActionRefused("You cannot demote yourself.")
    user.is_staff = False
    user.is_superuser = False
    user.save(update_fields=["is_staff", "is_superuser", "updated_at"])
    return user
