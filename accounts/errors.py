from joycart.errors import Conflict, DomainError, PermissionDenied, Throttled


class InvalidCredentials(DomainError):
    status_code = 401
    code = "invalid_credentials"
    message = "The username or password is incorrect."


class AccountBlocked(PermissionDenied):
    code = "account_blocked"
    message = "This account is blocked. Contact support if you think this is a mistake."


class LoginThrottled(Throttled):
    code = "login_throttled"
    message = "Too many failed login attempts. Try again later."


class RegistrationThrottled(Throttled):
    code = "registration_throttled"
    message = "Too many sign-ups from your network. Try again later."


class PasswordResetThrottled(Throttled):
    # Only ever about the client's address: a limit per e-mail address must not show,
    # or the answer would say which addresses have accounts.
    code = "password_reset_throttled"
    message = "Too many password reset requests from your network. Try again later."


class InvalidRefreshToken(DomainError):
    code = "invalid_refresh_token"
    message = "That is not a refresh token issued by JoyCart."


class UsernameTaken(DomainError):
    code = "username_taken"
    message = "That username is taken."


class EmailTaken(DomainError):
    code = "email_taken"
    message = "An account with this e-mail address already exists."


class StoreAlreadyExists(Conflict):
    code = "store_exists"
    message = "You already have a store."


class StoreNameTaken(DomainError):
    code = "store_name_taken"
    message = "A store with this name already exists."


class DefaultAddressRequired(DomainError):
    code = "default_address_required"
    message = "You need a default address. Make another address the default instead."


class AdminActionRefused(PermissionDenied):
    code = "admin_action_refused"


class AdminAccountProtected(AdminActionRefused):
    """Admin accounts are managed only by superusers, so a staff member cannot take one over."""

    message = "Only a superuser can change an admin account."
