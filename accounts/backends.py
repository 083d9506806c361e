from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class UsernameOrEmailBackend(ModelBackend):
    """Log in with a username or an e-mail address, both case-insensitive.

    Usernames may not contain "@", so an identifier with one is always an e-mail.
    Blocked users still authenticate here; the login service refuses them with a
    message that says why, which a silent `None` could not.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        user_model = get_user_model()
        lookup = {"email__iexact": username} if "@" in username else {"username__iexact": username}
        user = user_model._default_manager.filter(**lookup).first()
        if user is None:
            # Hash anyway so response time does not reveal which accounts exist.
            user_model().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
