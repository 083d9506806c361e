"""Domain errors, the registry of every error code the API can answer, and the API exception handler.

Each error code is declared once, with its HTTP status and message: a `DomainError` subclass
declares its own (and is registered as it is defined); the codes DRF, simplejwt and our
authentication answer with are registered below. The API's answers, the page views' messages
and the OpenAPI document (`joycart.openapi`) are all derived from this registry, and the
exception handler refuses to send a code it does not know.

The API answers with DRF's error format plus that code, at the top level of every error body:
- a refusal: `{"detail": "...", "code": "out_of_stock"}`;
- field errors: `{"code": "invalid", "quantity": ["..."], ...}`, DRF's field map.
Pages show a domain error's `message` as a form error or flash message.
"""

import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from rest_framework import exceptions, status

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErrorCode:
    status: int
    code: str
    message: str


# (status, code) -> its entry. One code may mean the same thing at two statuses (an account blocked
# is 403 at login and 401 for its tokens); each pair is declared once.
ERROR_CODES: dict[tuple[int, str], ErrorCode] = {}


class UnregisteredErrorCode(Exception):
    """The API was about to answer with a code the registry does not know: declare it."""


# Tests set this, so an unregistered code fails the test that reaches it; in production it is logged.
strict_error_codes = False


def error_code_register(*, status_code: int, code: str, message: str) -> ErrorCode:
    entry = ErrorCode(status_code, code, message)
    if (status_code, code) in ERROR_CODES:
        raise TypeError(f"error code {code!r} at HTTP {status_code} is declared twice")
    ERROR_CODES[(status_code, code)] = entry
    return entry


# Where the API lives: what Django answers there itself (errors before any view) is JSON too.
API_PREFIX = "/api/"


def api_error_response(*, status_code: int, code: str, detail: str | None = None) -> JsonResponse:
    """The API's error body, for answers given outside DRF; `detail` defaults to the registry's message."""
    detail = detail if detail is not None else ERROR_CODES[(status_code, code)].message
    return JsonResponse({"detail": detail, "code": code}, status=status_code)


class DomainError(Exception):
    """A refusal with a stable code. A subclass that sets `code` registers it, with its status and message."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code: str = "invalid"
    message: str = "The request could not be completed."

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            error_code_register(status_code=cls.status_code, code=cls.code, message=cls.message)

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.message
        super().__init__(self.message)

    def to_api_exception(self) -> exceptions.APIException:
        exc = exceptions.APIException(detail=self.message, code=self.code)
        exc.status_code = self.status_code
        return exc


# What DRF, simplejwt and our authentication answer with, outside the domain errors.
VALIDATION_FAILED = error_code_register(
    status_code=400, code="invalid", message="Some fields are not valid: each one says why."
)
for _status, _code, _message in (
    (400, "parse_error", "The body could not be read as the content type it declares."),
    (400, "bad_request", "The request is malformed (its host, headers or size)."),
    (401, "not_authenticated", "Log in first: send a Bearer access token or the session cookies."),
    (401, "authentication_failed", "The credentials sent are not valid."),
    (401, "bad_authorization_header", "The Authorization header must be `Bearer <access token>`."),
    (401, "token_not_valid", "The token is not valid, or has expired."),
    (401, "user_not_found", "The token's user no longer exists."),
    (401, "user_inactive", "The token's user is inactive."),
    (401, "account_blocked", "The token's account is blocked."),
    (401, "password_changed", "The password has changed since this token was issued; log in again."),
    (401, "no_active_account", "The refresh token's account may no longer log in."),
    (405, "method_not_allowed", "This method is not allowed here."),
    (406, "not_acceptable", "This API answers only in JSON."),
    (415, "unsupported_media_type", "Send the body in a content type this operation accepts."),
    (500, "server_error", "Something went wrong on our side. It has been logged; try again later."),
):
    error_code_register(status_code=_status, code=_code, message=_message)


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    message = "Not found."


class PermissionDenied(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"
    message = "You do not have permission to do this."


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    message = "This conflicts with the current state."


class InvalidText(DomainError):
    """Text holding a NUL character, which no person types and PostgreSQL cannot store (see joycart.text)."""

    code = "invalid_text"
    message = "Text cannot contain NUL characters."


class Throttled(DomainError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "throttled"
    message = "Too many attempts. Try again later."

    def __init__(self, message: str | None = None, *, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)

    def to_api_exception(self) -> exceptions.APIException:
        # DRF's Throttled sets the Retry-After header from `wait`.
        exc = exceptions.Throttled(wait=self.retry_after, detail=self.message, code=self.code)
        return exc


def api_exception_handler(exc, context):
    """DRF's handler, with domain errors and model validation errors in DRF's format, and the code on top."""
    # Imported here: importing rest_framework.views loads the API's parser (settings), which needs this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DomainError):
        exc = exc.to_api_exception()
    elif isinstance(exc, DjangoValidationError):
        # A model or service validation that the serializer did not catch is still the client's fault.
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = _field_errors(response.data, codes=exc.get_codes())
    elif isinstance(response.data, dict) and "code" not in response.data:
        detail = response.data.get("detail")
        response.data["code"] = getattr(detail, "code", None) or getattr(exc, "default_code", None)
    _code_check(response)
    return response


def _field_errors(data, *, codes) -> dict:
    """DRF's field map with the code on top; a bare list of messages becomes `non_field_errors`."""
    if not isinstance(data, dict):
        data = {"non_field_errors": data if isinstance(data, list) else [data]}
    # A field refused for a NUL keeps its message beside the field, and the answer says so where every
    # other refusal has its code, so a client finds it in one place.
    code = InvalidText.code if _has_code(codes, InvalidText.code) else VALIDATION_FAILED.code
    return {"code": code, **data}


def _code_check(response) -> None:
    code = response.data.get("code") if isinstance(response.data, dict) else None
    if (response.status_code, code) in ERROR_CODES:
        return
    logger.error("The API answered HTTP %s with an unregistered error code %r", response.status_code, code)
    if strict_error_codes:
        raise UnregisteredErrorCode(f"HTTP {response.status_code} with code {code!r} is not in joycart.errors")


def _has_code(codes, code: str) -> bool:
    """Whether DRF's nested `get_codes()` structure (dicts and lists of codes) holds `code`."""
    if isinstance(codes, dict):
        return any(_has_code(each, code) for each in codes.values())
    if isinstance(codes, list):
        return any(_has_code(each, code) for each in codes)
    return codes == code
