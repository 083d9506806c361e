"""Domain errors and the API exception handler.

Services raise `DomainError` subclasses with a stable `code`. The API turns them into
DRF's error format plus that code (`{"detail": "...", "code": "out_of_stock"}`); pages
show their `message` as a form error or flash message.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status


class DomainError(Exception):
    status_code: int = status.HTTP_400_BAD_REQUEST
    code: str = "invalid"
    message: str = "The request could not be completed."

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message or self.message
        if code:
            self.code = code
        super().__init__(self.message)

    def to_api_exception(self) -> exceptions.APIException:
        exc = exceptions.APIException(detail=self.message, code=self.code)
        exc.status_code = self.status_code
        return exc


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

    def __init__(self, message: str | None = None, *, retry_after: int, code: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, code=code)

    def to_api_exception(self) -> exceptions.APIException:
        # DRF's Throttled sets the Retry-After header from `wait`.
        exc = exceptions.Throttled(wait=self.retry_after, detail=self.message, code=self.code)
        return exc


def api_exception_handler(exc, context):
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
    if isinstance(response.data, dict) and "detail" in response.data and "code" not in response.data:
        detail = response.data["detail"]
        response.data["code"] = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
    elif (
        isinstance(exc, exceptions.ValidationError)
        and isinstance(response.data, dict)
        and "code" not in response.data
        and _has_code(exc.get_codes(), InvalidText.code)
    ):
        # A field refused for a NUL keeps its message beside the field, and the answer carries the
        # code where every other refusal has it, so a client finds it in one place.
        response.data["code"] = InvalidText.code
    return response


def _has_code(codes, code: str) -> bool:
    """Whether DRF's nested `get_codes()` structure (dicts and lists of codes) holds `code`."""
    if isinstance(codes, dict):
        return any(_has_code(each, code) for each in codes.values())
    if isinstance(codes, list):
        return any(_has_code(each, code) for each in codes)
    return codes == code
