from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


def login_user_lookup(identifier: str):
    """The account a login identifier names: an e-mail if it has an "@", else a username; any case.

    The login throttle keys its per-account budget by the same lookup, so one account's
    username and e-mail address share one budget.
    """
    lookup = {"email__iexact": identifier} if "@" in identifier else {"username__iexact": identifier}
    return get_user_model()._default_manager.filter(**lookup).first()


class UsernameOrEmailBackend(ModelBackend):
    """Log in with a username or an e-mail address, both case-insensitive.

    Usernames may not contain "@", so an identifier with one is always an e-mail.
    Blocked users still authenticate here; the login service refuses them with a
    message that says why, which a silent `None` could not.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        user = login_user_lookup(username)
        if user is None:
            # Hash anyway so response time does not reveal which accounts exist.
            get_user_model()().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
